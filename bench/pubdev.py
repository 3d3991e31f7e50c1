"""The optional pub.dev-scale row of `bench/run` (BENCH_PUBDEV=1): 50,000 packages × 20
versions, about the size of a mirror of most of pub.dev.

How the store is populated, honestly and once: the same generated monorepos as the
10,000-package case (`gen_repos.monorepo`: 200 packages per repository, each package on
its own branch, 20 tags each), 250 of them, synced by `tagpub sync` itself, so every one
of the 1,000,000 archives and catalog rows is made by tagpub's own code paths (git
reading, tag evaluation, archive building, catalog writes). Nothing is faked; what makes
it affordable is that it is done once: the repositories and the synced data dir are kept
in BENCH_PUBDEV_DIR (default /dev/shm/tagpub-bench-pubdev when it has room, else
~/.cache/tagpub-bench-pubdev) and reused by later runs while the tagpub binary's store
format is the same (a `tagpub sync` of the kept store over unchanged repositories only
checks that nothing changed). Expect the first run to take tens of minutes on 2 cores
and about 5 GiB; later runs take a few minutes.

The measurements are those of the 10,000-package rows: cold start (spawn → first 200
on a listing), VmRSS once start-up syncs are done, and listing p50 round-robin over
1,000 random packages against the 10-package server of the same run.
"""

import os
import random
import shutil
import time
from concurrent.futures import ProcessPoolExecutor

from load import median, wrk
from servers import Tagpub, write_registry

REPOS, PER_REPO, VERSIONS = 250, 200, 20


def default_dir():
    shm = "/dev/shm"
    if os.access(shm, os.W_OK) and shutil.disk_usage(shm).free > 12 * 1024**3:
        return os.path.join(shm, "tagpub-bench-pubdev")
    return os.path.expanduser("~/.cache/tagpub-bench-pubdev")


def pubdev_scale(binary, runs, seconds, say, row, make_monorepo, gzip_header):
    base = os.environ.get("BENCH_PUBDEV_DIR") or default_dir()
    repos_dir = os.path.join(base, "repos")
    os.makedirs(repos_dir, exist_ok=True)
    say(f"pub.dev scale: {REPOS} monorepos × {PER_REPO} packages × {VERSIONS} versions in {base}"
        " (generated once, kept)")
    jobs = [(os.path.join(repos_dir, f"mono{r:03}.git"), f"pd_r{r:03}_", PER_REPO, VERSIONS)
            for r in range(REPOS)]
    with ProcessPoolExecutor(2) as pool:
        large = list(pool.map(kept_monorepo, [(make_monorepo, j) for j in jobs]))
    small = [kept_monorepo((make_monorepo, (os.path.join(repos_dir, "small.git"), "pd_s_", 10,
                                            VERSIONS)))]
    cases = {}
    for label, repo_list in (("large", large), ("small", small)):
        names = [n for _, ns in repo_list for n in ns]
        config, port = write_registry(os.path.join(base, label), repo_list,
                                      data_dir=os.path.join(base, label + "-data"))
        tagpub = Tagpub(binary, config, port)
        say(f"pub.dev scale: `tagpub sync` of {len(names):,} packages (quick once synced)")
        sync_seconds = tagpub.run("sync")[0]
        sample = random.Random(4).sample(names, min(1000, len(names)))
        names_file = os.path.join(base, label + ".names")
        with open(names_file, "w") as f:
            f.write("\n".join(sample) + "\n")
        cases[label] = dict(tagpub=tagpub, names=names_file, n=len(names), sync=sync_seconds,
                            probe=f"api/packages/{names[len(names) // 2]}",
                            cold=[], rss=[], hwm=[], wrk=[])
    try:
        for i in range(runs):
            for label, c in cases.items():
                say(f"pub.dev scale: run {i + 1}/{runs}: cold start of the {label} index")
                c["cold"].append(c["tagpub"].start(c["probe"]))
                c["tagpub"].wait_idle(600)
                time.sleep(15)  # as suite.SETTLE: freed pages go back over ~10 s
                c["rss"].append(c["tagpub"].status("VmRSS"))
                c["hwm"].append(c["tagpub"].status("VmHWM"))
                if i < runs - 1:
                    c["tagpub"].stop()
        for i in range(runs):
            say(f"pub.dev scale: run {i + 1}/{runs}: listing latency, {seconds} s each")
            for label in (("large", "small") if i % 2 == 0 else ("small", "large")):
                c = cases[label]
                c["wrk"].append(wrk(c["tagpub"].base, 64, seconds, [gzip_header], c["names"]))
    finally:
        for c in cases.values():
            c["tagpub"].stop()
    big, small = cases["large"], cases["small"]
    med = lambda c, k: sorted(c[k])[runs // 2]
    cold, rss = med(big, "cold"), med(big, "rss")
    p50 = {k: median(c["wrk"], "p50") for k, c in cases.items()}
    p99 = {k: median(c["wrk"], "p99") for k, c in cases.items()}
    what = f"pub.dev scale, {big['n']:,} packages × {VERSIONS} versions"
    rows = [
        row(f"{what}: cold start (spawn → first 200 on a listing)", f"{cold:.2f} s",
            f"{med(small, 'cold'):.2f} s ({small['n']} packages)", cold / med(small, "cold"),
            "< 2 s", cold < 2),
        row(f"{what}: resident memory (VmRSS) 15 s after start-up syncs are done",
            f"{rss:,.0f} MiB (peak {med(big, 'hwm'):,.0f})",
            f"{med(small, 'rss'):,.0f} MiB (peak {med(small, 'hwm'):,.0f})",
            rss / med(small, "rss"), "< 400 MiB", rss < 400),
        row(f"{what}: listing latency p50, 64 connections, round-robin over 1,000 packages",
            f"{p50['large']:.2f} ms (p99 {p99['large']:.2f})",
            f"{p50['small']:.2f} ms (p99 {p99['small']:.2f})",
            p50["large"] / p50["small"], "≤ 1.50×", p50["large"] <= 1.5 * p50["small"]),
    ]
    note = f"pub.dev scale: last `tagpub sync` of the kept store took {big['sync']:.0f} s (data in {base})"
    return rows, note


def kept_monorepo(args):
    """A generated monorepo, made once: its package names are kept beside it."""
    make_monorepo, (path, prefix, packages, versions) = args
    names_file = path + ".names"
    if os.path.exists(names_file):
        with open(names_file) as f:
            return path, f.read().split()
    shutil.rmtree(path, ignore_errors=True)  # a half-made one from an interrupted run
    path, names = make_monorepo((path, prefix, packages, versions))
    with open(names_file, "w") as f:
        f.write("\n".join(names))
    return path, names
