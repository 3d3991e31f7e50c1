#!/usr/bin/env python3
"""The soak benchmark of issue "Performance, round 2"; `bench/soak` calls this with a
scratch directory and the tagpub binary.

    soak.py SCRATCH_DIR TAGPUB_BINARY OUT_PREFIX MINUTES

What it does, all on 127.0.0.1: generates real git repositories, starts `tagpub serve` on
a registry.yaml with members, a team and tokens, measures the peak listing rate (wrk, 64
connections), then for MINUTES runs a steady mixed load at half of that peak:

- wrk, one 10-second run after another (`soak.lua`): listings and archive downloads,
  with and without a Bearer token, gzip and plain, paced to the target rate;
- a `dart pub publish`-shaped upload (the three steps of docs/protocol.md §5) of a new
  version every 20 s, then its listing checked;
- a new tag pushed with `git push` to a watched repository every 5 s, then its listing
  polled until the version is served;
- a config reload every 3 minutes (every 30 s in short runs): registry.yaml rewritten
  with an equivalent change (a member and a spare repository added or taken away, a
  comment), then the daemon's log checked for the reload.

Every 10 s one sample: VmRSS and open descriptors of the daemon (from /proc, read in the
middle of the interval), requests, p50/p99 and errors of that interval, and what the
side loads did. Samples go to OUT_PREFIX.csv, a plot to OUT_PREFIX.png, and the verdict
is printed.
"""

import csv
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tarfile
import threading
import time
import io
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_repos  # noqa: E402
from load import wrk  # noqa: E402
from servers import Tagpub, free_port, get  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
INTERVAL = 10  # seconds per sample
CONNECTIONS = 64
TAG_EVERY = 5
UPLOAD_EVERY = 20
VISIBLE_WITHIN = 30  # seconds a pushed tag or an upload may take to be listed
ADMIN, READER = "soak-admin@example.test", "soak-reader@example.test"
PUB_ACCEPT = "application/vnd.pub.v2+json"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
NICE = 10  # the load generator's niceness: the machine is shared


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def git(*args, cwd=None):
    subprocess.run(
        ["git", *args], cwd=cwd, check=True, env=gen_repos.GIT_ENV,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )


class Registry:
    """registry.yaml of the soak: a public monorepo, a monorepo readable by one team, the
    watched repository that gets new tags, and (toggled by reloads) a spare repository
    and a spare member."""

    def __init__(self, dir, repos):
        self.dir, self.repos = dir, repos
        os.makedirs(dir, exist_ok=True)
        self.path = os.path.join(dir, "registry.yaml")
        self.port = free_port()
        self.generation = 0

    def write(self, spare=True):
        p = self.repos
        lines = [
            f"# soak generation {self.generation}",
            f"base_url: http://127.0.0.1:{self.port}/",
            f"listen: 127.0.0.1:{self.port}",
            "data_dir: data",
            "access: {anonymous_read: true}",
            "members:",
            f"  - {{email: {ADMIN}, admin: true}}",
            f"  - {{email: {READER}}}",
        ]
        if spare:
            lines.append("  - {email: soak-spare@example.test}")
        lines += [
            f"teams: [{{name: soakteam, leaders: [], members: [{READER}]}}]",
            "repositories:",
            f"  - url: {p['public']}",
            "    poll_interval: 1h",
            "    packages:",
        ]
        lines += [
            f'      - {{path: pkgs/{n}, name: {n}, tag_pattern: "{n}-v{{{{version}}}}"}}'
            for n in p["public_names"]
        ]
        lines += [
            f"  - url: {p['team']}",
            "    poll_interval: 1h",
            "    teams: [soakteam]",
            "    packages:",
        ]
        lines += [
            f'      - {{path: pkgs/{n}, name: {n}, tag_pattern: "{n}-v{{{{version}}}}"}}'
            for n in p["team_names"]
        ]
        lines += [f"  - url: {p['live']}", "    poll_interval: 1h"]
        if spare:
            lines += [f"  - url: {p['spare']}", "    poll_interval: 1h"]
        # Written whole and renamed into place, as editors and config management do.
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)
        self.generation += 1


def make_repos(scratch):
    say("generating git repositories (git fast-import)")
    repos = {
        "public": os.path.join(scratch, "public.git"),
        "team": os.path.join(scratch, "team.git"),
        "spare": os.path.join(scratch, "spare.git"),
        "live": os.path.join(scratch, "live.git"),
    }
    repos["public_names"] = gen_repos.monorepo(repos["public"], "soakpub_", 40, 20)
    repos["team_names"] = gen_repos.monorepo(repos["team"], "soakteam_", 10, 20)
    gen_repos.package_repo(repos["spare"], "soak_spare", 5)
    gen_repos.package_repo(repos["live"], "soak_live", 1)
    # A working clone that pushes new releases to the watched bare repository.
    clone = os.path.join(scratch, "live-clone")
    git("clone", "-q", "-b", "main", repos["live"], clone)
    git("config", "user.name", "soak", cwd=clone)
    git("config", "user.email", "soak@example.test", cwd=clone)
    repos["live_clone"] = clone
    return repos


class Side:
    """The publishes, tag pushes and reloads that run beside wrk, each on its own
    thread, recording events (time, kind, ok, seconds, detail)."""

    def __init__(self, registry, server, admin_token, reader_token, reload_every, log):
        self.registry, self.server = registry, server
        self.admin_token, self.reader_token = admin_token, reader_token
        self.reload_every, self.log = reload_every, log
        self.events, self.lock = [], threading.Lock()
        self.stop = threading.Event()
        self.threads = []

    def record(self, kind, ok, seconds, detail=""):
        with self.lock:
            self.events.append((time.monotonic(), kind, ok, seconds, detail))
        if not ok:
            say(f"ERROR {kind}: {detail}")

    def take(self):
        with self.lock:
            events, self.events = self.events, []
        return events

    def start(self):
        for target in (self.tags, self.uploads, self.reloads):
            t = threading.Thread(target=self.guard, args=(target,), daemon=True)
            t.start()
            self.threads.append(t)

    def guard(self, target):
        try:
            target()
        except Exception as e:  # noqa: BLE001 - a crash of the driver is an error too
            self.record(target.__name__, False, 0, f"driver crashed: {e!r}")

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(VISIBLE_WITHIN + 15)

    def listed(self, name, version, token=None):
        headers = {"Accept": PUB_ACCEPT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, body, _ = get(self.server.base + f"api/packages/{name}", headers)
        if status != 200:
            return False
        versions = {v["version"] for v in json.loads(body)["versions"]}
        return version in versions

    def wait_listed(self, name, version, token=None):
        start = time.monotonic()
        while time.monotonic() - start < VISIBLE_WITHIN:
            if self.listed(name, version, token):
                return time.monotonic() - start
            time.sleep(0.05)
        return None

    def tags(self):
        clone, n = self.registry.repos["live_clone"], 0
        while not self.stop.wait(TAG_EVERY):
            n += 1
            version = f"2.0.{n}"
            with open(os.path.join(clone, "pubspec.yaml"), "wb") as f:
                f.write(gen_repos.pubspec("soak_live", version))
            git("commit", "-q", "-am", f"release {version}", cwd=clone)
            git("tag", f"v{version}", cwd=clone)
            start = time.monotonic()
            git("push", "-q", "origin", "HEAD", f"v{version}", cwd=clone)
            waited = self.wait_listed("soak_live", version)
            ok = waited is not None
            self.record("tag", ok, time.monotonic() - start,
                        "" if ok else f"tag v{version} not listed {VISIBLE_WITHIN} s after its push")

    def uploads(self):
        n = 0
        while not self.stop.wait(UPLOAD_EVERY):
            n += 1
            version = f"1.0.{n}"
            start = time.monotonic()
            try:
                publish(self.server.base, self.admin_token, package_archive("soak_upload", version, n))
                ok = self.wait_listed("soak_upload", version, self.admin_token) is not None
                detail = "" if ok else f"soak_upload {version} not listed after its publish"
            except PublishError as e:
                ok, detail = False, str(e)
            self.record("upload", ok, time.monotonic() - start, detail)

    def reloads(self):
        while not self.stop.wait(self.reload_every):
            before = self.log_reloads()
            self.registry.write(spare=self.registry.generation % 2 == 0)
            start = time.monotonic()
            ok = False
            while time.monotonic() - start < VISIBLE_WITHIN:
                if self.log_reloads() > before:
                    ok = True
                    break
                time.sleep(0.05)
            self.record("reload", ok, time.monotonic() - start,
                        "" if ok else "no `reloaded` line in the log after rewriting registry.yaml")

    def log_reloads(self):
        with open(self.log) as f:
            return sum(1 for line in f if "reloaded " in line)


class PublishError(Exception):
    pass


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """The client does not follow the upload's redirect (docs/protocol.md §5.3)."""

    def redirect_request(self, *args, **kwargs):
        return None


def package_archive(name, version, n):
    """A .tar.gz shaped like the one `dart pub publish` makes: regular files, mode 0644."""
    files = {
        "pubspec.yaml": gen_repos.pubspec(name, version),
        "LICENSE": b"MIT\n",
        "README.md": f"# {name}\n\nRelease {version} of the soak.\n".encode(),
        f"lib/{name}.dart": f"const version = '{version}';\nconst n = {n};\n".encode(),
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.GNU_FORMAT) as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(content), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def publish(base, token, archive):
    """The three steps of `dart pub publish` (docs/protocol.md §5.2-§5.4)."""
    opener = urllib.request.build_opener(NoRedirect)
    auth = {"Authorization": f"Bearer {token}", "User-Agent": "Dart pub 3.5.0"}

    def send(request, expect):
        try:
            with opener.open(request, timeout=30) as r:
                status, body, headers = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, body, headers = e.code, e.read(), e.headers
        except OSError as e:
            raise PublishError(f"{request.full_url}: {e}") from e
        if status not in expect:
            raise PublishError(f"{request.get_method()} {request.full_url}: {status} {body[:300]!r}")
        return body, headers

    body, _ = send(urllib.request.Request(
        base + "api/packages/versions/new", headers={**auth, "Accept": PUB_ACCEPT}), (200,))
    form = json.loads(body)
    boundary = "dart-http-boundary-" + "".join(
        random.choice("+_-.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for _ in range(51))
    parts = []
    for key, value in form["fields"].items():
        parts.append(f'--{boundary}\r\ncontent-disposition: form-data; name="{key}"\r\n\r\n'
                     f"{value}\r\n".encode())
    parts.append(f'--{boundary}\r\ncontent-type: application/octet-stream\r\n'
                 f'content-disposition: form-data; name="file"; filename="package.tar.gz"\r\n\r\n'
                 .encode() + archive + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    upload = urllib.request.Request(
        form["url"], data=b"".join(parts), method="POST",
        headers={**auth, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    _, headers = send(upload, (200, 201, 202, 204, 301, 302, 303, 307, 308))
    location = headers.get("Location")
    if not location or not location.startswith("http"):
        raise PublishError(f"upload answered without an absolute Location: {location!r}")
    body, _ = send(urllib.request.Request(location, headers={**auth, "Accept": PUB_ACCEPT}), (200,))
    if "success" not in json.loads(body):
        raise PublishError(f"finalize: {body[:300]!r}")


def request_mix(server, reader_token, repos, path):
    """The wrk request file: listings and archive downloads, anonymous and with a token,
    gzip and plain. Archive paths are taken from the listings' archive_url."""
    base_path = "/"
    lines = []
    rng = random.Random(7)
    auth = {"Authorization": f"Bearer {reader_token}", "Accept": PUB_ACCEPT}

    def archives(name):
        status, body, _ = get(server.base + f"api/packages/{name}", auth)
        assert status == 200, (name, status)
        urls = [v["archive_url"] for v in json.loads(body)["versions"]]
        return [base_path + u.split("/", 3)[3] for u in urls]

    for name in repos["public_names"]:
        listing = f"/api/packages/{name}"
        lines += [f"0 1 {listing}"] * 6  # anonymous, gzip: what `dart pub get` sends
        lines += [f"1 1 {listing}"] * 2  # with a token
        lines += [f"0 0 {listing}"]  # plain (curl, scripts)
        lines += [f"0 0 {p}" for p in rng.sample(archives(name), 2)]
        lines += [f"1 0 {p}" for p in rng.sample(archives(name), 1)]
    for name in repos["team_names"]:
        listing = f"/api/packages/{name}"
        lines += [f"1 1 {listing}"] * 8  # a team's package: token only
        lines += [f"1 0 {p}" for p in rng.sample(archives(name), 3)]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return len(lines)


def proc_sample(pid):
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    return {
        "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
        "threads": int(status["Threads"].strip()),
    }


def heap_sample(base, admin_token):
    """jemalloc's allocated and resident MiB from the daemon's metrics (NaN when absent):
    resident growing while allocated stays flat is memory kept back, not data."""
    status, body, _ = get(base + "metrics", {"Authorization": f"Bearer {admin_token}"})
    found = dict(re.findall(r"^tagpub_heap_(allocated|resident)_bytes (\d+)$", body.decode(), re.M)) if status == 200 else {}
    return {k: int(found[k]) / 2**20 if k in found else float("nan") for k in ("allocated", "resident")}


def run_chunk(delay_ms, env, url):
    cmd = ["nice", "-n", str(NICE), "wrk", "-t2", f"-c{CONNECTIONS}", f"-d{INTERVAL}s",
           "--timeout", "5s", "-s", os.path.join(HERE, "soak.lua"), url]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**env, "SOAK_DELAY_MS": f"{delay_ms:.3f}"})


def parse_chunk(out):
    m = re.search(r"^SOAK (.*)$", out, re.M)
    if not m:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def main():
    scratch, binary, out_prefix, minutes = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    short = minutes <= 5
    reload_every = 30 if short else 180
    repos = make_repos(scratch)
    registry = Registry(os.path.join(scratch, "soak"), repos)
    registry.write()
    server = Tagpub(binary, registry.path, registry.port)
    _, out = server.run("token", "issue", "--member", ADMIN)
    admin_token = out.strip().splitlines()[-1]
    _, out = server.run("token", "issue", "--member", READER)
    reader_token = out.strip().splitlines()[-1]
    log = registry.path + ".serve.log"
    side = chunk = None
    try:
        say("starting tagpub serve and waiting for its start-up sync")
        server.start(wait_path=f"api/packages/{repos['team_names'][-1]}",
                     headers={"Authorization": f"Bearer {reader_token}"})
        server.wait_idle()
        pid = server.proc.pid
        # From here on the driver and everything it starts (wrk, git) yield the CPU to
        # the daemon and to the other users of the machine.
        os.nice(NICE)
        names = os.path.join(scratch, "names")
        with open(names, "w") as f:
            f.write("\n".join(repos["public_names"]) + "\n")
        say("peak: listings, gzip, 64 connections, 5 s (after a 2 s warm-up)")
        wrk(server.base + "api/packages/soakpub_00000", 64, 2, ["Accept-Encoding: gzip"], names)
        peak = wrk(server.base + "api/packages/soakpub_00000", 64, 5,
                   ["Accept-Encoding: gzip"], names)["rps"]
        target = peak / 2
        mix = os.path.join(scratch, "requests")
        lines = request_mix(server, reader_token, repos, mix)
        say(f"peak {peak:.0f} listings/s; steady load at {target:.0f} requests/s for "
            f"{minutes:g} min ({lines} distinct requests, {CONNECTIONS} connections)")
        env = {**os.environ, "SOAK_REQUESTS": mix, "SOAK_TOKEN": reader_token}
        # The first guess of the pause assumes a 1 ms answer; each interval corrects it
        # from the rate the previous one reached.
        delay_ms = max(0.0, CONNECTIONS * 1000 / target - 1.0)
        side = Side(registry, server, admin_token, reader_token, reload_every, log)
        side.start()
        rows, start, chunk = [], time.monotonic(), None
        intervals = int(minutes * 60 / INTERVAL)
        for i in range(intervals):
            chunk = run_chunk(delay_ms, env, server.base.rstrip("/"))
            time.sleep(INTERVAL / 2)
            server.alive()
            sample = proc_sample(pid)
            heap = heap_sample(server.base, admin_token)
            out = chunk.communicate(timeout=INTERVAL + 30)[0].decode()
            r = parse_chunk(out)
            events = side.take()
            rps = r["requests"] / (r["duration_us"] / 1e6)
            row = {
                "t_s": round(time.monotonic() - start),
                "rss_mib": round(sample["rss_mib"], 1),
                "fds": sample["fds"],
                "threads": sample["threads"],
                "heap_allocated_mib": round(heap["allocated"], 1),
                "heap_resident_mib": round(heap["resident"], 1),
                "requests": int(r["requests"]),
                "rps": round(rps),
                "p50_ms": round(r["p50_us"] / 1000, 3),
                "p99_ms": round(r["p99_us"] / 1000, 3),
                "max_ms": round(r["max_us"] / 1000, 1),
                "http_errors": int(sum(r[k] for k in ("status", "connect", "read", "write", "timeout"))),
                "uploads": sum(1 for e in events if e[1] == "upload"),
                "tags": sum(1 for e in events if e[1] == "tag"),
                "reloads": sum(1 for e in events if e[1] == "reload"),
                "side_errors": sum(1 for e in events if not e[2]),
                "tag_visible_max_s": round(max((e[3] for e in events if e[1] == "tag"), default=0), 3),
                "upload_max_s": round(max((e[3] for e in events if e[1] == "upload"), default=0), 3),
                # The machine's 1-minute load average: other users of a shared machine
                # show here, not in the daemon's figures.
                "loadavg": float(open("/proc/loadavg").read().split()[0]),
            }
            rows.append(row)
            say(f"{i + 1}/{intervals} {row['rps']} req/s p50 {row['p50_ms']} ms p99 "
                f"{row['p99_ms']} ms, RSS {row['rss_mib']} MiB (heap {row['heap_allocated_mib']}), {row['fds']} fds, "
                f"errors {row['http_errors'] + row['side_errors']}")
            if rps > 0:
                # The pause that was used made `rps`: scale the time per request towards
                # the target, by at most a third per interval, so that one interval of a
                # busy machine does not swing the next one far over the target.
                mean_ms = r["mean_us"] / 1000
                cycle = delay_ms + mean_ms
                wanted = min(max(cycle * rps / target, cycle * 0.75), cycle * 1.33)
                delay_ms = max(0.0, wanted - mean_ms)
        side.join()
        rows[-1]["side_errors"] += sum(1 for e in side.take() if not e[2])
        verdict = judge(rows, peak, target, minutes, log)
    finally:
        if side:
            side.stop.set()
        if chunk and chunk.poll() is None:
            chunk.kill()
            chunk.wait()
        server.stop()
    write_csv(out_prefix + ".csv", rows)
    plot(out_prefix + ".png", rows, verdict["warmup_s"], peak, target)
    say(f"samples in {out_prefix}.csv, plot in {out_prefix}.png")
    return 0 if verdict["pass"] else 1


def flat(rows, key, warmup_s):
    """Post-warm-up samples against their reference (the median of the first minute after
    warm-up): pass when every one is within ±10%."""
    after = [r[key] for r in rows if r["t_s"] > warmup_s]
    reference = statistics.median(after[:6])
    low, high = min(after), max(after)
    end = statistics.median(after[-6:])
    ok = low >= 0.9 * reference and high <= 1.1 * reference
    return ok, reference, low, high, end


def judge(rows, peak, target, minutes, log):
    warmup_s = min(300, minutes * 60 / 4)
    after = [r for r in rows if r["t_s"] > warmup_s]
    http_errors = sum(r["http_errors"] for r in rows)
    side_errors = sum(r["side_errors"] for r in rows)
    with open(log) as f:
        log_lines = [ANSI.sub("", line.rstrip()) for line in f]
    log_errors = [line for line in log_lines if re.search(r"\bERROR\b|panicked", line)]
    log_warnings = [line for line in log_lines if re.search(r"\bWARN\b", line)]
    errors = http_errors + side_errors + len(log_errors)
    rss = flat(rows, "rss_mib", warmup_s)
    fds = flat(rows, "fds", warmup_s)
    third = max(1, len(after) // 3)
    p99_first = statistics.median(r["p99_ms"] for r in after[:third])
    p99_last = statistics.median(r["p99_ms"] for r in after[-third:])
    p99_all = statistics.median(r["p99_ms"] for r in after)
    spikes = sum(1 for r in after if r["p99_ms"] > 5 * p99_all)
    p99_ok = p99_last <= 1.5 * p99_first and spikes <= 0.05 * len(after)
    requests = sum(r["requests"] for r in rows)
    print()
    print(f"soak: {minutes:g} min, {len(rows)} samples of {INTERVAL} s, warm-up {warmup_s:.0f} s")
    print(f"- peak listing rate {peak:.0f} req/s (wrk, 64 connections, gzip); target {target:.0f} req/s; "
          f"reached {statistics.median(r['rps'] for r in after):.0f} req/s (median after warm-up)")
    print(f"- machine: {os.cpu_count()} cores, 1-minute load average median "
          f"{statistics.median(r['loadavg'] for r in rows):.1f}, max {max(r['loadavg'] for r in rows):.1f}")
    print(f"- {requests} requests, {sum(r['uploads'] for r in rows)} publishes, "
          f"{sum(r['tags'] for r in rows)} tags pushed (slowest listed after "
          f"{max(r['tag_visible_max_s'] for r in rows):.2f} s), {sum(r['reloads'] for r in rows)} reloads")
    print(f"- errors: {errors} ({http_errors} HTTP, {side_errors} publish/tag/reload, "
          f"{len(log_errors)} ERROR lines in the daemon's log) -> {'pass' if errors == 0 else 'FAIL'}")
    for line in log_errors[:5]:
        print(f"    {line[:300]}")
    print(f"- {len(log_warnings)} WARN lines in the daemon's log (not counted as errors)")
    for line in log_warnings[:3]:
        print(f"    {line[:300]}")
    for name, (ok, ref, low, high, end), unit in (("RSS", rss, " MiB"), ("descriptors", fds, "")):
        print(f"- {name} after warm-up: reference {ref:g}{unit} (median of the first minute), "
              f"min {low:g}, max {high:g}, end {end:g} (median of the last minute); "
              f"every sample within ±10% -> {'pass' if ok else 'FAIL'}")
    print(f"- p99 after warm-up: median {p99_all:.2f} ms; first third {p99_first:.2f} ms, last third "
          f"{p99_last:.2f} ms (stable: last ≤ 1.5× first), {spikes} interval(s) over 5× the median "
          f"(allowed: 5% of {len(after)}), worst {max(r['p99_ms'] for r in after):.2f} ms "
          f"-> {'pass' if p99_ok else 'FAIL'}")
    passed = errors == 0 and rss[0] and fds[0] and p99_ok
    print(f"- verdict: {'PASS' if passed else 'FAIL'}")
    return {"pass": passed, "warmup_s": warmup_s}


def write_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def plot(path, rows, warmup_s, peak, target):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t_s"] / 60 for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(8, 8), sharex=True)
    series = [
        ("RSS (MiB)", [("VmRSS", [r["rss_mib"] for r in rows]),
                       ("heap resident", [r["heap_resident_mib"] for r in rows]),
                       ("heap allocated", [r["heap_allocated_mib"] for r in rows])]),
        ("open descriptors", [("fds", [r["fds"] for r in rows])]),
        ("latency (ms)", [("p99", [r["p99_ms"] for r in rows]), ("p50", [r["p50_ms"] for r in rows])]),
        ("requests/s", [("done", [r["rps"] for r in rows])]),
    ]
    for ax, (label, lines) in zip(axes, series):
        for name, values in lines:
            ax.plot(t, values, label=name, linewidth=1)
        ax.set_ylabel(label)
        if label.startswith("latency"):
            ax.set_yscale("log")
        else:
            ax.set_ylim(bottom=0)
        ax.axvspan(0, warmup_s / 60, color="0.9", zorder=0)
        ax.grid(True, linewidth=0.3)
        if len(lines) > 1:
            ax.legend(loc="upper right", fontsize=8)
    errors = [r["t_s"] / 60 for r in rows if r["http_errors"] or r["side_errors"]]
    for ax in axes:
        for x in errors:
            ax.axvline(x, color="red", linewidth=0.8)
    axes[-1].axhline(target, color="0.5", linestyle="--", linewidth=0.8)
    axes[-1].set_xlabel("minutes (grey: warm-up; red lines: intervals with errors)")
    fig.suptitle(f"tagpub soak: mixed load at half the peak ({target:.0f} of {peak:.0f} req/s), "
                 f"samples every {INTERVAL} s", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=80)


if __name__ == "__main__":
    # SIGTERM ends the run like Ctrl-C: through the finally blocks that stop the daemon.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("interrupted; stopped the daemon")
        sys.exit(130)
