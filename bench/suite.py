#!/usr/bin/env python3
"""The benchmark scenarios of issue "Performance"; `bench/run` calls this with a scratch
directory and the tagpub binary, and it prints the table.

    suite.py SCRATCH_DIR TAGPUB_BINARY [FAST_DIR]

FAST_DIR (default: SCRATCH_DIR) holds the data dir of the 10,000-package case.
BENCH_RUNS (default 3) and BENCH_SECONDS (default 10) set repetitions and wrk duration;
BENCH_LARGE_REPOS (default 50, of 200 packages each) shrinks the large index for a quick check.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_repos  # noqa: E402
from load import median, wrk  # noqa: E402
from servers import Nginx, Tagpub, get, write_registry  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# Seconds between the end of a daemon's start-up syncs and reading its settled memory.
SETTLE = 15
HERE = os.path.dirname(os.path.abspath(__file__))
GZIP = "Accept-Encoding: gzip"
MIB = 1024 * 1024


def say(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def row(what, tagpub, baseline, ratio, target, met):
    ratio_text = "—" if ratio is None else f"{ratio:.2f}×"
    return (what, tagpub, baseline, ratio_text, target, "yes" if met else "**no**")


def archive_building(scratch, binary):
    repo = os.path.join(scratch, "archive.git")
    say("archives: generating a repository with 200 tags of ~300 files")
    gen_repos.archive_repo(repo)
    tags = subprocess.run(
        ["git", "-C", repo, "tag"], stdout=subprocess.PIPE, check=True, env=gen_repos.GIT_ENV
    ).stdout.decode().split()
    out = os.path.join(scratch, "git-archives")
    os.makedirs(out, exist_ok=True)
    config, port = write_registry(os.path.join(scratch, "archive"), [(repo, None)])
    tagpub = Tagpub(binary, config, port)
    baseline, ours = [], []
    for i in range(RUNS):
        say(f"archives: run {i + 1}/{RUNS}: git archive × {len(tags)}, then tagpub sync")
        start = time.monotonic()
        for tag in tags:
            with open(os.path.join(out, tag + ".tar.gz"), "wb") as f:
                subprocess.run(
                    ["git", "-C", repo, "archive", "--format=tar.gz", tag],
                    stdout=f, check=True, env=gen_repos.GIT_ENV,
                )
        baseline.append(time.monotonic() - start)
        shutil.rmtree(os.path.join(scratch, "archive", "data"), ignore_errors=True)
        seconds, summary = tagpub.run("sync")
        assert f"{len(tags)} new version(s)" in summary, summary
        ours.append(seconds)
    idle = sorted(tagpub.run("sync")[0] * 1000 for _ in range(2 * RUNS + 1))
    b, t, idle_ms = sorted(baseline)[RUNS // 2], sorted(ours)[RUNS // 2], idle[RUNS]
    return [
        row(
            f"archives for all {len(tags)} tags × ~300 files: `tagpub sync`, empty data dir"
            f" (median of {RUNS})",
            f"{t:.2f} s", f"{b:.2f} s (`git archive --format=tar.gz` per tag)",
            t / b, "≤ 0.60×", t <= 0.6 * b,
        ),
        row(
            f"sync of that repository, nothing changed: `tagpub sync` wall time incl. process"
            f" start (median of {len(idle)})",
            f"{idle_ms:.0f} ms", "—", None, "< 50 ms", idle_ms < 50,
        ),
    ]


def http_serving(scratch, binary):
    base = os.path.join(scratch, "http")
    say("http: generating bench_listing (100 versions) and bench_big (a ~1 MiB archive)")
    gen_repos.package_repo(os.path.join(base, "listing.git"), "bench_listing", 100)
    gen_repos.package_repo(os.path.join(base, "big.git"), "bench_big", 1, MIB - 2048)
    repos = [(os.path.join(base, n), None) for n in ("listing.git", "big.git")]
    data = os.path.join(base, "data")
    anon = Tagpub(binary, *write_registry(os.path.join(base, "anon"), repos, True, data))
    token = Tagpub(binary, *write_registry(os.path.join(base, "token"), repos, False, data))
    anon.run("sync")
    secret = token.issue_token()
    bearer = f"Authorization: Bearer {secret}"
    nginx = None
    try:
        listing = "api/packages/bench_listing"
        anon.start(listing)
        token.start(listing, {"Authorization": f"Bearer {secret}"})
        anon.wait_idle()
        token.wait_idle()
        status, plain, _ = get(anon.base + listing)
        status_gz, gz, headers = get(anon.base + listing, {"Accept-Encoding": "gzip"})
        assert status == status_gz == 200 and headers.get("Content-Encoding") == "gzip"
        big = json.loads(get(anon.base + "api/packages/bench_big")[1])["latest"]
        archive_path = big["archive_url"].split("/", 3)[3]
        archive = get(anon.base + archive_path)[1]
        assert hashlib.sha256(archive).hexdigest() == big["archive_sha256"]
        www = os.path.join(base, "www")
        for path, body in [(listing, plain), (listing + ".gz", gz), (archive_path, archive)]:
            os.makedirs(os.path.dirname(os.path.join(www, path)), exist_ok=True)
            with open(os.path.join(www, path), "wb") as f:
                f.write(body)
        # nginx's workers drop root; they must be able to read the scratch directory.
        for d in (scratch, base, www):
            os.chmod(d, 0o755)
        nginx = Nginx(os.path.join(HERE, "nginx.conf.tmpl"), os.path.join(base, "nginx"), www)
        nginx.start(listing)
        assert get(nginx.base + listing, {"Accept-Encoding": "gzip"})[1] == gz
        assert get(nginx.base + archive_path)[1] == archive

        assert get(nginx.base + listing)[1] == plain
        listings = {
            "tagpub": (anon.base + listing, [GZIP]),
            "tagpub+token": (token.base + listing, [GZIP, bearer]),
            "nginx": (nginx.base + listing, [GZIP]),
            # A client that does not send Accept-Encoding (curl, scripts).
            "tagpub plain": (anon.base + listing, []),
            "nginx plain": (nginx.base + listing, []),
        }
        archives = {"tagpub": anon.base + archive_path, "nginx": nginx.base + archive_path}
        for url, headers in listings.values():
            wrk(url, 64, 2, headers)  # warm-up
        for url in archives.values():
            wrk(url, 16, 2)
        results = {k: [] for k in list(listings) + ["archive " + k for k in archives]}
        for i in range(RUNS):
            say(f"http: run {i + 1}/{RUNS}: listings (64 connections), archive (16), {SECONDS} s each")
            order = list(listings)[i % len(listings):] + list(listings)[: i % len(listings)]
            for name in order:
                url, headers = listings[name]
                results[name].append(wrk(url, 64, SECONDS, headers))
            for name in list(archives)[i % 2:] + list(archives)[: i % 2]:
                results["archive " + name].append(wrk(archives[name], 16, SECONDS))
    finally:
        anon.stop()
        token.stop()
        if nginx:
            nginx.stop()
    rps = {k: median(v, "rps") for k, v in results.items()}
    p99 = {k: median(v, "p99") for k, v in results.items()}
    size = len(archive) / MIB
    t_mib, n_mib = rps["archive tagpub"] * size, rps["archive nginx"] * size
    gz_note = f"gzip: nginx `gzip_static` of tagpub's own {len(gz):,} gzip bytes ({len(plain):,} plain)"
    return [
        row(
            f"listing, 100 versions, 64 connections, keep-alive, {gz_note}: requests/s",
            f"{rps['tagpub']:,.0f}", f"{rps['nginx']:,.0f}", rps["tagpub"] / rps["nginx"],
            "≥ 0.70×", rps["tagpub"] >= 0.7 * rps["nginx"],
        ),
        row(
            "same: p99 latency", f"{p99['tagpub']:.2f} ms", f"{p99['nginx']:.2f} ms",
            p99["tagpub"] / p99["nginx"], "< 5 ms", p99["tagpub"] < 5,
        ),
        row(
            "same with token authentication (anonymous reads off): requests/s",
            f"{rps['tagpub+token']:,.0f} (p99 {p99['tagpub+token']:.2f} ms)",
            f"{rps['nginx']:,.0f}", rps["tagpub+token"] / rps["nginx"],
            "≥ 1.00×", rps["tagpub+token"] >= rps["nginx"],
        ),
        row(
            "same without `Accept-Encoding: gzip` (curl, scripts): requests/s",
            f"{rps['tagpub plain']:,.0f} (p99 {p99['tagpub plain']:.2f} ms)",
            f"{rps['nginx plain']:,.0f} (the plain file)",
            rps["tagpub plain"] / rps["nginx plain"],
            "≥ 0.90×", rps["tagpub plain"] >= 0.9 * rps["nginx plain"],
        ),
        row(
            f"{len(archive) / MIB:.2f} MiB archive download, 16 connections: throughput",
            f"{t_mib:,.0f} MiB/s", f"{n_mib:,.0f} MiB/s (sendfile)", t_mib / n_mib,
            "≥ 0.70×", t_mib >= 0.7 * n_mib,
        ),
    ]


def large_index(scratch, binary, fast):
    base = os.path.join(scratch, "large")
    repos, per_repo, versions = int(os.environ.get("BENCH_LARGE_REPOS", "50")), 200, 20
    say(f"index: generating {repos} monorepos × {per_repo} packages × {versions} versions")

    jobs = [(os.path.join(base, f"mono{r:02}.git"), f"bench_r{r:02}_", per_repo, versions)
            for r in range(repos)]
    with ProcessPoolExecutor(2) as pool:  # one Python and one fast-import per core
        large = list(pool.map(make_monorepo, jobs))
    small = [make_monorepo((os.path.join(base, "small.git"), "bench_s_", 10, versions))]
    cases = {}
    for label, repo_list in (("large", large), ("small", small)):
        names = [n for _, ns in repo_list for n in ns]
        config, port = write_registry(
            os.path.join(base, label), repo_list, data_dir=os.path.join(fast, label + "-data")
        )
        tagpub = Tagpub(binary, config, port)
        say(f"index: initial `tagpub sync` of {len(names):,} packages")
        sync_seconds = tagpub.run("sync")[0]
        disk_seconds = None
        if label == "large":
            # The same initial sync with the data dir on disk (fsyncs cost there), in a
            # data dir of its own that is deleted afterwards.
            disk_config, _ = write_registry(
                os.path.join(base, "disk"), repo_list, data_dir=os.path.join(base, "disk-data")
            )
            say(f"index: initial `tagpub sync` of {len(names):,} packages, data dir on disk")
            disk_seconds = Tagpub(binary, disk_config, port).run("sync")[0]
            shutil.rmtree(os.path.join(base, "disk-data"))
        sample = random.Random(4).sample(names, min(1000, len(names)))
        names_file = os.path.join(base, label + ".names")
        with open(names_file, "w") as f:
            f.write("\n".join(sample) + "\n")
        probe = f"api/packages/{names[len(names) // 2]}"
        cases[label] = dict(tagpub=tagpub, names=names_file, probe=probe, n=len(names),
                            sync=sync_seconds, disk=disk_seconds, cold=[], listening=[], rss=[], rss_idle=[], hwm=[], wrk=[])
    try:
        for i in range(RUNS):
            for label, c in cases.items():
                say(f"index: run {i + 1}/{RUNS}: cold start of the {label} index")
                c["cold"].append(c["tagpub"].start(c["probe"]))
                c["listening"].append(c["tagpub"].listening_after)
                c["tagpub"].wait_idle()
                c["rss_idle"].append(c["tagpub"].status("VmRSS"))
                # jemalloc hands freed pages back over about ten seconds (its decay
                # time), by its background thread: the settled figure is what stays.
                time.sleep(SETTLE)
                c["rss"].append(c["tagpub"].status("VmRSS"))
                c["hwm"].append(c["tagpub"].status("VmHWM"))
                if i < RUNS - 1:
                    c["tagpub"].stop()
        for i in range(RUNS):
            say(f"index: run {i + 1}/{RUNS}: listing latency, large and small, {SECONDS} s each")
            for label in (("large", "small") if i % 2 == 0 else ("small", "large")):
                c = cases[label]
                c["wrk"].append(wrk(c["tagpub"].base, 64, SECONDS, [GZIP], c["names"]))
    finally:
        for c in cases.values():
            c["tagpub"].stop()
    big, small = cases["large"], cases["small"]
    med = lambda c, k: sorted(c[k])[RUNS // 2]
    cold, rss = med(big, "cold"), med(big, "rss")
    p50 = {k: median(c["wrk"], "p50") for k, c in cases.items()}
    p99 = {k: median(c["wrk"], "p99") for k, c in cases.items()}
    what = f"{big['n']:,} packages × {versions} versions"
    rows = [
        row(
            f"{what}: cold start (spawn → first 200 on a listing)",
            f"{cold:.2f} s (listening after {med(big, 'listening'):.2f} s)",
            f"{med(small, 'cold'):.2f} s ({small['n']} packages)",
            cold / med(small, "cold"), "< 2 s", cold < 2,
        ),
        row(
            f"{what}: resident memory (VmRSS) {SETTLE} s after start-up syncs are done",
            f"{rss:,.0f} MiB (when they were done {med(big, 'rss_idle'):,.0f}, peak {med(big, 'hwm'):,.0f})",
            f"{med(small, 'rss'):,.0f} MiB (peak {med(small, 'hwm'):,.0f})",
            rss / med(small, "rss"), "< 100 MiB", rss < 100,
        ),
        row(
            f"{what}: listing latency p50, 64 connections, round-robin over {min(1000, big['n']):,} packages"
            f" (small: all {small['n']})",
            f"{p50['large']:.2f} ms (p99 {p99['large']:.2f})",
            f"{p50['small']:.2f} ms (p99 {p99['small']:.2f})",
            p50["large"] / p50["small"], "≤ 1.50×", p50["large"] <= 1.5 * p50["small"],
        ),
    ]
    rows.append(row(
        f"{what}: initial `tagpub sync` (empty data dir), data dir on {fast}",
        f"{big['sync']:.1f} s", f"{big['disk']:.1f} s with the data dir on disk ({scratch})",
        None, "< 20 s on tmpfs", big["sync"] < 20,
    ))
    note = "the initial sync of the large index ran once per data dir (tmpfs, then disk)"
    return rows, note


def make_monorepo(job):
    path, prefix, packages, versions = job
    return path, gen_repos.monorepo(path, prefix, packages, versions)


def main():
    scratch, binary = sys.argv[1], sys.argv[2]
    fast = sys.argv[3] if len(sys.argv) > 3 else scratch
    started = time.monotonic()
    rows = archive_building(scratch, binary)
    rows += http_serving(scratch, binary)
    index_rows, note = large_index(scratch, binary, fast)
    rows += index_rows
    import mirror  # the mirror's rows (bench/mirror.py, issue 11)

    rows += mirror.rows(scratch, binary)
    notes = [note]
    if os.environ.get("BENCH_PUBDEV"):
        from pubdev import pubdev_scale
        pubdev_rows, pubdev_note = pubdev_scale(binary, RUNS, SECONDS, say, row, make_monorepo, GZIP)
        rows += pubdev_rows
        notes.append(pubdev_note)
    print(f"\n## tagpub benchmarks ({RUNS} runs, wrk {SECONDS} s each, medians; ratio = tagpub / baseline)\n")
    print("| what | tagpub | baseline | ratio | target | met? |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    for note in notes:
        print(f"- {note}")
    versions = [subprocess.run(cmd, capture_output=True, text=True) for cmd in
                (["nginx", "-v"], ["wrk", "-v"], [binary, "--version"])]
    print("- " + "; ".join((v.stdout + v.stderr).strip().splitlines()[0] for v in versions))
    print(f"- suite time {time.monotonic() - started:.0f} s; {os.cpu_count()} cores; loopback only")


if __name__ == "__main__":
    main()
