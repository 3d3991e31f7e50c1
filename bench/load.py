"""Load generation with wrk (keep-alive, closed loop) and the statistics the table shows."""

import os
import re
import statistics
import subprocess

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
SIZES = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}
LISTINGS_LUA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "listings.lua")


def wrk(url, connections, seconds, headers=(), names=None, threads=2):
    """One wrk run against `url` (loopback only). With `names` (a file of package names)
    the requests cycle through those listings. Returns requests/s, bytes/s and latency
    percentiles in ms; every answer must be a 2xx and no socket may fail."""
    assert url.startswith("http://127.0.0.1:"), "load goes to loopback only"
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    for h in headers:
        cmd += ["-H", h]
    env = dict(os.environ)
    if names:
        cmd += ["-s", LISTINGS_LUA]
        env["BENCH_NAMES"] = names
    out = subprocess.run(
        cmd + [url], stdout=subprocess.PIPE, check=True, timeout=seconds + 30, env=env
    ).stdout.decode()
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk against {url} saw errors:\n{out}")
    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "bps": size(re.search(r"Transfer/sec:\s+([\d.]+\w+)", out).group(1)),
    }
    for p in ("50", "90", "99"):
        value, unit = re.search(rf"^\s+{p}%\s+([\d.]+)(\w+)", out, re.M).groups()
        result[f"p{p}"] = float(value) * UNITS[unit]
    return result


def size(text):
    number, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(number) * SIZES[unit]


def median(runs, key):
    return statistics.median(r[key] for r in runs)
