#!/usr/bin/env python3
"""The mirror's targets (issue 11), measured against a stand-in upstream shaped like
pub.dev that this script starts on 127.0.0.1 (no internet):

(a) a cached mirrored listing answers at >= 0.9x the requests/s of one of our own
    listings of as many versions (wrk, same run, as suite.py measures listings);
(b) a cold miss (a name tagpub never saw) costs no more than the upstream's own time
    plus 5 ms: medians over distinct names, the upstream asked directly and through
    tagpub, one after the other;
(c) 10,000 cached mirrored packages add < 20 MiB to the daemon's resident memory
    (VmRSS after asking for 10,000 distinct names, and after asking for them all again,
    against VmRSS before).

    mirror.py [SCRATCH_DIR TAGPUB_BINARY]     alone: prints the table (builds tagpub
                                              with `cargo build --release` when no
                                              binary is given)
    mirror.py upstream PORT_FILE [PREFIX:COUNT ...]   the stand-in upstream (internal)

suite.py calls `rows(scratch, binary)` for its table. BENCH_RUNS and BENCH_SECONDS as
in suite.py; BENCH_MIRROR_COLD (default 200) cold misses per side; BENCH_MIRROR_NAMES
(default 10000) names for the memory figure.
"""

import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_repos  # noqa: E402
from load import median, wrk  # noqa: E402
from servers import Tagpub, get, wait_for, write_registry  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
COLD = int(os.environ.get("BENCH_MIRROR_COLD", "200"))
NAMES = int(os.environ.get("BENCH_MIRROR_NAMES", "10000"))
GZIP = "Accept-Encoding: gzip"
PUB_HEADERS = {"Accept": "application/vnd.pub.v2+json", "Accept-Encoding": "gzip"}
# Versions of a stand-in package; a name ending in `_vN` has N.
DEFAULT_VERSIONS = 10
# Versions of the listing compared in (a), as suite.py's `bench_listing`.
HOT_VERSIONS = 100


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] mirror: {text}", file=sys.stderr, flush=True)


def row(what, tagpub, baseline, ratio, target, met):
    ratio_text = "—" if ratio is None else f"{ratio:.2f}×"
    return (what, tagpub, baseline, ratio_text, target, "yes" if met else "**no**")


# --- the stand-in upstream (runs in its own process: its GIL is not the bench's) ---


def tar_header(path, size):
    """A ustar header block, written by hand (tarfile's is ten times slower, and the
    memory case makes 100,000 archives)."""
    h = bytearray(512)

    def put(offset, width, text):
        data = text.encode()
        h[offset:offset + len(data)] = data[:width]

    put(0, 100, path)
    put(100, 8, "0000644\0")
    put(108, 8, "0000000\0")
    put(116, 8, "0000000\0")
    put(124, 12, f"{size:011o}\0")
    put(136, 12, f"{gen_repos.EPOCH:011o}\0")
    put(148, 8, " " * 8)
    put(156, 1, "0")
    put(257, 8, "ustar\x0000")
    put(148, 8, f"{sum(h):06o}\0 ")
    return bytes(h)


def pubspec_text(name, version):
    return gen_repos.pubspec(name, version).decode()


def pubspec_json(name, version):
    return {
        "name": name,
        "version": version,
        "description": f"Generated package {name} for the tagpub benchmark suite.",
        "repository": f"https://git.example.test/bench/{name}",
        "environment": {"sdk": "^3.0.0"},
        "dependencies": {"collection": "^1.18.0", "meta": "^1.9.0"},
    }


def archive(name, version):
    """The archive of NAME VERSION: a real .tar.gz (pubspec.yaml and a library), the
    same bytes every time, so its sha256 can be listed before anyone downloads it."""
    parts = []
    for path, text in (
        ("pubspec.yaml", pubspec_text(name, version)),
        (f"lib/{name}.dart", f"const version = '{version}';\n"),
    ):
        data = text.encode()
        parts += [tar_header(path, len(data)), data, b"\0" * (-len(data) % 512)]
    parts.append(b"\0" * 1024)
    return gzip.compress(b"".join(parts), compresslevel=6, mtime=0)


class StandIn:
    def __init__(self):
        self.listings = {}
        self.hits = {}
        self.lock = threading.Lock()
        self.api = self.storage = None

    def count(self, key):
        with self.lock:
            self.hits[key] = self.hits.get(key, 0) + 1

    def listing(self, name):
        """pub.dev's shape: `latest`, `versions` with `archive_url` under the API
        host (answered by a redirect to the storage host) and `archive_sha256`."""
        body = self.listings.get(name)
        if body is None:
            m = re.search(r"_v(\d+)$", name)
            count = int(m.group(1)) if m else DEFAULT_VERSIONS
            versions = []
            for i in range(count):
                v = gen_repos.version_for(i)
                versions.append({
                    "version": v,
                    "pubspec": pubspec_json(name, v),
                    "archive_url": f"{self.api}api/archives/{name}-{v}.tar.gz",
                    "archive_sha256": hashlib.sha256(archive(name, v)).hexdigest(),
                    "published": "2024-01-01T00:00:00.000Z",
                })
            body = json.dumps({"name": name, "latest": versions[-1], "versions": versions}).encode()
            self.listings[name] = body
        return body


def serve_upstream(port_file, prepare):
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as pub.dev
        # Headers and body go out as two writes: without this, Nagle's algorithm and
        # the client's delayed ACK add 40 ms to every answer.
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def answer(self, status, body=b"", headers=()):
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = self.path.split("?", 1)[0]
            json_type = ("Content-Type", "application/json; charset=utf-8")
            if m := re.fullmatch(r"/api/packages/([a-z][a-z0-9_]*)", path):
                state.count("listing")
                if not m.group(1).startswith("mb"):
                    return self.answer(404, b'{"error":{"code":"NotFound","message":"no"}}', [json_type])
                return self.answer(200, state.listing(m.group(1)), [json_type])
            if re.fullmatch(r"/api/packages/[a-z0-9_]+/advisories", path):
                return self.answer(404, b'{"error":{"code":"NotFound","message":"none"}}', [json_type])
            if m := re.fullmatch(r"/api/archives/([a-z0-9_]+-[0-9.]+\.tar\.gz)", path):
                state.count("archive")
                return self.answer(303, headers=[("Location", f"{state.storage}storage/{m.group(1)}")])
            if m := re.fullmatch(r"/storage/([a-z0-9_]+)-([0-9.]+)\.tar\.gz", path):
                state.count("storage")
                return self.answer(200, archive(*m.groups()), [("Content-Type", "application/octet-stream")])
            if path == "/_stats":
                with state.lock:
                    body = json.dumps(state.hits).encode()
                return self.answer(200, body, [json_type])
            self.answer(404)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

    api, storage = Server(("127.0.0.1", 0), Handler), Server(("127.0.0.1", 0), Handler)
    state.api = f"http://127.0.0.1:{api.server_address[1]}/"
    state.storage = f"http://127.0.0.1:{storage.server_address[1]}/"
    for spec in prepare:
        prefix, count = spec.rsplit(":", 1)
        for i in range(int(count)):
            state.listing(f"{prefix}{i}")
    threading.Thread(target=storage.serve_forever, daemon=True).start()
    with open(port_file + ".tmp", "w") as f:
        f.write(state.api)
    os.rename(port_file + ".tmp", port_file)
    api.serve_forever()


class Upstream:
    """The stand-in as a child process, stopped by its pid."""

    def __init__(self, scratch, prepare):
        port_file = os.path.join(scratch, "upstream.url")
        if os.path.exists(port_file):
            os.remove(port_file)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "upstream", port_file, *prepare],
            stderr=open(os.path.join(scratch, "upstream.log"), "w"),
        )
        try:
            wait_for(lambda: self.alive() and os.path.exists(port_file), 300, "the stand-in upstream")
        except BaseException:
            self.stop()
            raise
        with open(port_file) as f:
            self.url = f.read()

    def alive(self):
        if self.proc.poll() is not None:
            raise SystemExit("the stand-in upstream exited; see its upstream.log")
        return True

    def stats(self):
        return json.loads(get(self.url + "_stats")[1])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# --- the measurements ---


class Client:
    """One keep-alive connection, as `dart pub` keeps one per host."""

    def __init__(self, base):
        host, port = base.split("//", 1)[1].rstrip("/").split(":")
        self.prefix = "/" + base.split("//", 1)[1].split("/", 1)[1]
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)

    def get(self, path):
        """(status, body, seconds) of one GET."""
        start = time.perf_counter()
        self.conn.request("GET", self.prefix + path, headers=PUB_HEADERS)
        response = self.conn.getresponse()
        body = response.read()
        return response.status, body, time.perf_counter() - start

    def close(self):
        self.conn.close()


def rss(tagpub):
    return tagpub.status("VmRSS")


def check_shape(tagpub, upstream, name):
    """The mirrored listing names our archive URLs, and an archive fetched through
    tagpub (redirect to the storage host, verified) is the one listed."""
    status, body, _ = get(tagpub.base + "api/packages/" + name)
    assert status == 200, (status, body[:300])
    listing = json.loads(body)
    latest = listing["latest"]
    assert latest["archive_url"].startswith(tagpub.base), latest["archive_url"]
    assert upstream.url not in body.decode()
    status, archive_bytes, _ = get(latest["archive_url"])
    assert status == 200 and hashlib.sha256(archive_bytes).hexdigest() == latest["archive_sha256"]
    return len(listing["versions"])


def cached_listing_rps(tagpub, own, mirrored):
    """RUNS × 3 back-to-back pairs of SECONDS / 3 each (the same wrk time as RUNS runs
    of SECONDS): on a shared machine the load of others drifts, and the ratio within a
    pair cancels that drift, so the figure is the median of the pairs' ratios."""
    urls = {
        "own": tagpub.base + "api/packages/" + own,
        "mirrored": tagpub.base + "api/packages/" + mirrored,
    }
    sizes = {k: len(get(u, {"Accept-Encoding": "gzip"})[1]) for k, u in urls.items()}
    for url in urls.values():
        wrk(url, 64, 2, [GZIP])  # warm-up
    results = {k: [] for k in urls}
    pairs, seconds = RUNS * 3, max(2, SECONDS // 3)
    say(f"(a) {pairs} pairs of own and mirrored listing, 64 connections, {seconds} s each")
    for i in range(pairs):
        for k in (("own", "mirrored") if i % 2 == 0 else ("mirrored", "own")):
            results[k].append(wrk(urls[k], 64, seconds, [GZIP]))
    ratios = [m["rps"] / o["rps"] for m, o in zip(results["mirrored"], results["own"])]
    return ({k: median(v, "rps") for k, v in results.items()},
            {k: median(v, "p99") for k, v in results.items()}, sizes, ratios)


def cold_misses(tagpub, upstream):
    """Interleaved: the upstream's own listing of a name nobody asked for yet, then
    tagpub's cold miss of another such name, COLD times. Both sides' bodies were
    prepared by the upstream at start, so both measure serving, not generating."""
    direct, through = Client(upstream.url), Client(tagpub.base)
    own_ms, ours_ms = [], []
    try:
        for i in range(COLD):
            status, _, s = direct.get(f"api/packages/mbcold_u{i}")
            assert status == 200, status
            own_ms.append(s * 1000)
            status, body, s = through.get(f"api/packages/mbcold_t{i}")
            assert status == 200, (status, body[:300])
            ours_ms.append(s * 1000)
    finally:
        direct.close()
        through.close()
    return own_ms, ours_ms


def warm_names(tagpub, names, threads=8):
    def work(chunk):
        client = Client(tagpub.base)
        try:
            for name in chunk:
                status, body, _ = client.get("api/packages/" + name)
                assert status == 200, (name, status, body[:300])
        finally:
            client.close()

    chunks = [names[i::threads] for i in range(threads)]
    start = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, chunks))
    return time.monotonic() - start


def memory(tagpub, upstream):
    names = [f"mbmem_{i}" for i in range(NAMES)]
    # Everything a first request sets up (worker threads, the HTTP client, pools) is
    # set up before the baseline: a few mirrored names, with the same concurrency.
    warm_names(tagpub, [f"mbpre_{i}" for i in range(64)])
    tagpub.wait_idle()
    before = rss(tagpub)
    say(f"(c) asking for {len(names):,} mirrored names (8 connections), RSS before {before:.1f} MiB")
    seconds = warm_names(tagpub, names)
    tagpub.wait_idle()
    after = rss(tagpub)
    asked = upstream.stats().get("listing", 0)
    say(f"(c) RSS after {after:.1f} MiB; asking for all of them again")
    again_seconds = warm_names(tagpub, names)
    tagpub.wait_idle()
    again = rss(tagpub)
    refetched = upstream.stats().get("listing", 0) - asked
    assert refetched == 0, f"{refetched} listings were fetched again within listing_ttl"
    return before, after, again, seconds, again_seconds, tagpub.status("VmHWM")


def rows(scratch, binary):
    base = os.path.join(scratch, "mirror")
    os.makedirs(base, exist_ok=True)
    own = "bench_own"
    hot = f"mbhot_v{HOT_VERSIONS}"
    say(f"generating {own} ({HOT_VERSIONS} versions) and starting the stand-in upstream")
    gen_repos.package_repo(os.path.join(base, "own.git"), own, HOT_VERSIONS)
    upstream = Upstream(base, [f"mbcold_u:{COLD}", f"mbcold_t:{COLD}"])
    tagpub = None
    try:
        config, port = write_registry(
            os.path.join(base, "registry"), [(os.path.join(base, "own.git"), None)])
        with open(config, "a") as f:
            # A listing stays fresh for the whole run: (a) and (c) measure the cache.
            f.write(f"upstream:\n  url: {upstream.url}\n  listing_ttl: 1h\n")
        tagpub = Tagpub(binary, config, port)
        tagpub.run("sync")
        tagpub.start("api/packages/" + own)
        tagpub.wait_idle()
        versions = check_shape(tagpub, upstream, hot)
        assert versions == HOT_VERSIONS, versions
        rps, p99, sizes, ratios = cached_listing_rps(tagpub, own, hot)
        say(f"(b) {COLD} cold misses, interleaved with {COLD} listings asked of the upstream directly")
        own_ms, ours_ms = cold_misses(tagpub, upstream)
        # (c) in a fresh process, so the figure is the cache, not what (a) left behind.
        tagpub.stop()
        tagpub.start("api/packages/" + own)
        tagpub.wait_idle()
        before, after, again, warm_s, again_s, hwm = memory(tagpub, upstream)
    finally:
        if tagpub:
            tagpub.stop()
        upstream.stop()
    up, ours = statistics.median(own_ms), statistics.median(ours_ms)
    q = lambda v: statistics.quantiles(v, n=10)[-1]  # noqa: E731
    grown = max(after, again) - before
    ratio = statistics.median(ratios)
    spread = f"pair ratios {min(ratios):.2f}–{max(ratios):.2f}"
    return [
        row(
            f"mirror: cached mirrored listing ({HOT_VERSIONS} versions, {sizes['mirrored']:,} gzip"
            f" bytes) vs our own ({HOT_VERSIONS} versions, {sizes['own']:,}), 64 connections:"
            f" requests/s; ratio: median of {len(ratios)} back-to-back pairs ({spread})",
            f"{rps['mirrored']:,.0f} (p99 {p99['mirrored']:.2f} ms)",
            f"{rps['own']:,.0f} (p99 {p99['own']:.2f} ms)",
            ratio, "≥ 0.90×", ratio >= 0.9,
        ),
        row(
            f"mirror: cold miss, median of {COLD} distinct names ({DEFAULT_VERSIONS} versions"
            " each), one keep-alive connection",
            f"{ours:.2f} ms (p90 {q(ours_ms):.2f})",
            f"{up:.2f} ms (p90 {q(own_ms):.2f}) the upstream asked directly",
            ours / up, "≤ upstream + 5 ms", ours <= up + 5,
        ),
        row(
            f"mirror: resident memory added by {NAMES:,} cached mirrored packages"
            f" ({DEFAULT_VERSIONS} versions each; fetched in {warm_s:.0f} s, read again in"
            f" {again_s:.0f} s)",
            f"+{grown:.1f} MiB (VmRSS {after:.0f} after, {again:.0f} after reading all again;"
            f" peak {hwm:.0f})",
            f"{before:.0f} MiB before", None, "< 20 MiB", grown < 20,
        ),
    ]


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "upstream":
        return serve_upstream(sys.argv[2], sys.argv[3:])
    if len(sys.argv) > 2:
        scratch, binary, keep = sys.argv[1], sys.argv[2], True
    else:
        root = os.path.dirname(HERE)
        say("building tagpub (cargo build --release)")
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=root, check=True)
        scratch, keep = tempfile.mkdtemp(prefix="tagpub-bench-mirror."), bool(os.environ.get("BENCH_KEEP"))
        binary = os.path.join(scratch, "tagpub")
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        shutil.copy(os.path.join(target, "release", "tagpub"), binary)
    started = time.monotonic()
    try:
        table = rows(scratch, binary)
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n## tagpub mirror ({RUNS} runs, wrk {SECONDS} s each, medians)\n")
    print("| what | tagpub | baseline | ratio | target | met? |")
    print("|---|---|---|---|---|---|")
    for r in table:
        print("| " + " | ".join(r) + " |")
    print(f"\n- mirror bench time {time.monotonic() - started:.0f} s; {os.cpu_count()} cores; loopback only")


if __name__ == "__main__":
    main()
