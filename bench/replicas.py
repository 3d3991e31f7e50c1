"""Several replicas on PostgreSQL (docs/operations.md "Several replicas") against one
SQLite replica, in the same run:

- listing, aggregate: `GET api/packages/bench_listing` (100 versions, gzip, with a token,
  so every request goes through the token check and the change counter) from two wrk
  processes at once, each -t1 -c32; against the single SQLite replica both hit it, against
  the replicas each hits its own. Requests/s summed.
- failover: the leader is killed (SIGKILL) and a tag pushed at once; time until the
  survivor lists the new version.

    python3 bench/replicas.py TAGPUB_BINARY POSTGRES_ADMIN_URL

POSTGRES_ADMIN_URL names a role that may create databases; a fresh database is created
and dropped. wrk, the servers and PostgreSQL share the machine's cores: on a 2-core
machine the figure says how the work is split, not what separate machines would do.
"""

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_repos  # noqa: E402
from load import wrk  # noqa: E402
from servers import Tagpub, get, wait_for, write_registry  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
LISTING = "api/packages/bench_listing"


def psql(admin, sql):
    subprocess.run(["psql", "-q", admin, "-c", sql], check=True)


def registry(dir, repo, data, shared, secret_env=None):
    path, port = write_registry(dir, [(repo, None)], anonymous=False, data_dir=data)
    with open(path, "a") as f:
        if shared:
            f.write("store:\n  database_url_env: TAGPUB_DATABASE_URL\n")
            f.write("metrics:\n  public: true\n")  # the failover row reads each role
    return Tagpub(BINARY, path, port)


def aggregate(urls, headers):
    """wrk against each URL at once (-t1 -c32 each); summed requests/s."""
    results = [None] * len(urls)

    def one(i, url):
        try:
            results[i] = wrk(url, 32, SECONDS, headers, threads=1)
        except BaseException as e:  # a thread's SystemExit would vanish
            results[i] = e


    threads = [threading.Thread(target=one, args=(i, u)) for i, u in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        if not isinstance(r, dict):
            raise SystemExit(f"wrk failed: {r}")
    return sum(r["rps"] for r in results)


def main():
    global BINARY
    BINARY, admin = sys.argv[1], sys.argv[2]
    scratch = tempfile.mkdtemp(prefix="tagpub-bench-replicas.")
    repo = os.path.join(scratch, "listing.git")
    gen_repos.package_repo(repo, "bench_listing", 100)
    name = f"tagpub_bench_{os.getpid()}"
    psql(admin, f"CREATE DATABASE {name}")
    url = urllib.parse.urlparse(admin)._replace(path=f"/{name}").geturl()
    os.environ["TAGPUB_DATABASE_URL"] = url
    servers = []
    try:
        single = registry(os.path.join(scratch, "single"), repo, "data", False)
        single.run("sync")
        secret_single = single.issue_token()
        shared_data = os.path.join(scratch, "shared-data")
        a = registry(os.path.join(scratch, "a"), repo, shared_data, True)
        b = registry(os.path.join(scratch, "b"), repo, shared_data, True)
        secret = a.issue_token()
        auth = lambda s: {"Authorization": f"Bearer {s}"}
        for server, s in [(single, secret_single), (a, secret), (b, secret)]:
            servers.append(server)
            server.start(LISTING, auth(s))
        for server in servers:
            server.wait_idle()
        gz = "Accept-Encoding: gzip"
        one = [single.base + LISTING] * 2
        two = [a.base + LISTING, b.base + LISTING]
        aggregate(one, [gz, f"Authorization: Bearer {secret_single}"])  # warm-up
        aggregate(two, [gz, f"Authorization: Bearer {secret}"])
        singles, pairs = [], []
        for i in range(RUNS):
            print(f"replicas: run {i + 1}/{RUNS}", file=sys.stderr)
            singles.append(aggregate(one, [gz, f"Authorization: Bearer {secret_single}"]))
            pairs.append(aggregate(two, [gz, f"Authorization: Bearer {secret}"]))
        s, p = statistics.median(singles), statistics.median(pairs)
        print("| scenario | requests/s (median) | runs |")
        print("|---|---|---|")
        print(f"| one SQLite replica, 2 x wrk -t1 -c32 | {s:.0f} | {', '.join(f'{x:.0f}' for x in singles)} |")
        print(f"| two PostgreSQL replicas, one wrk -t1 -c32 each | {p:.0f} | {', '.join(f'{x:.0f}' for x in pairs)} |")
        print(f"| ratio two replicas / one | {p / s:.2f}x | target >= 1.6x |")

        # Failover: kill the leader, push a tag, time until the survivor lists it.
        def role(server):
            status, body, _ = get(server.base + "metrics", auth(secret))
            for line in body.decode(errors="replace").splitlines():
                if line.startswith("tagpub_leader "):
                    return int(line.split()[1])
            return None

        wait_for(lambda: {role(a), role(b)} == {0, 1}, 30, "one leader")
        leader, survivor = (a, b) if role(a) == 1 else (b, a)
        work = os.path.join(scratch, "work")
        subprocess.run(["git", "clone", "-q", "-b", "main", repo, work], check=True)
        with open(os.path.join(work, "pubspec.yaml"), "wb") as f:
            f.write(gen_repos.pubspec("bench_listing", "9.0.0"))
        git = ["git", "-C", work, "-c", "user.name=b", "-c", "user.email=b@example.test"]
        subprocess.run(git + ["commit", "-qam", "9.0.0"], check=True)
        subprocess.run(git + ["tag", "v9.0.0"], check=True)
        leader.proc.kill()
        leader.proc.wait()
        killed = time.monotonic()
        subprocess.run(git + ["push", "-q", "origin", "HEAD:main", "v9.0.0"], check=True)
        listed = lambda: b'"9.0.0"' in get(survivor.base + LISTING, auth(secret))[1]
        wait_for(lambda: survivor.alive() and listed(), 60, "the survivor listing 9.0.0")
        print(f"| leader killed -> next tag listed by the survivor | {time.monotonic() - killed:.2f} s | target < 10 s |")
    finally:
        for server in servers:
            server.stop()
        psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if not os.environ.get("BENCH_KEEP"):
            subprocess.run(["rm", "-rf", scratch])


if __name__ == "__main__":
    main()
