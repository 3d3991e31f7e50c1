"""The processes under test: tagpub (`sync`, `serve`, `token issue`) and nginx, each on
127.0.0.1 with a free port, each stopped by the pid this suite started."""

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.002)


def get(url, headers=None):
    """(status, body bytes, headers) of a GET; the body is returned as sent (no
    decoding of gzip)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except OSError:
        return None, b"", {}


def write_registry(dir, repositories, anonymous=True, data_dir="data"):
    """Writes DIR/registry.yaml; `repositories` are (url, packages) with packages a list
    of monorepo package names (tag pattern NAME-v{{version}}) or None for one package
    at the root. Returns (config path, port)."""
    os.makedirs(dir, exist_ok=True)
    port = free_port()
    lines = [
        f"base_url: http://127.0.0.1:{port}/",
        f"listen: 127.0.0.1:{port}",
        f"data_dir: {data_dir}",
        f"access: {{anonymous_read: {'true' if anonymous else 'false'}}}",
        "members: [{email: bench@example.test}]",
        "repositories:",
    ]
    for url, packages in repositories:
        lines += [f"  - url: {url}", "    poll_interval: 1h"]
        if packages:
            lines.append("    packages:")
            lines += [
                f'      - {{path: pkgs/{n}, name: {n}, tag_pattern: "{n}-v{{{{version}}}}"}}'
                for n in packages
            ]
    path = os.path.join(dir, "registry.yaml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path, port


class Tagpub:
    def __init__(self, binary, config, port):
        self.binary, self.config, self.port = binary, config, port
        self.base = f"http://127.0.0.1:{port}/"
        self.proc = None

    def run(self, *args):
        """Runs a subcommand to completion; returns (seconds, stdout)."""
        start = time.monotonic()
        out = subprocess.run(
            [self.binary, "-c", self.config, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        return time.monotonic() - start, out.stdout.decode()

    def issue_token(self):
        _, out = self.run("token", "issue", "--member", "bench@example.test")
        return out.strip().splitlines()[-1]

    def start(self, wait_path=None, headers=None):
        """Starts `serve` and waits until the log says it listens (kept in
        `listening_after`) and then until `wait_path`, if given, answers 200. Returns
        seconds from spawn to that moment."""
        log = open(self.config + ".serve.log", "w")
        start = time.monotonic()
        self.proc = subprocess.Popen(
            [self.binary, "-c", self.config, "serve"], stdout=log, stderr=log
        )
        listening = lambda: "on http://" in open(log.name).read()
        wait_for(lambda: self.alive() and listening(), 120, f"tagpub listening ({self.config})")
        self.listening_after = time.monotonic() - start
        if wait_path:
            ready = lambda: get(self.base + wait_path, headers)[0] == 200
            wait_for(lambda: self.alive() and ready(), 120, f"tagpub serving {wait_path}")
        return time.monotonic() - start

    def alive(self):
        if self.proc.poll() is not None:
            raise SystemExit(f"tagpub exited; see {self.config}.serve.log")
        return True

    def status(self, key):
        """A /proc/PID/status field in MiB (VmRSS, VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_idle(self, timeout=120):
        """Waits until the process used under 2% of a core over one second (its start-up
        sync of every repository is done). Returns the seconds waited."""
        start = time.monotonic()
        previous = self.cpu_seconds()
        while time.monotonic() - start < timeout:
            time.sleep(1)
            now = self.cpu_seconds()
            if now - previous < 0.02:
                break
            previous = now
        return time.monotonic() - start

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class Nginx:
    def __init__(self, template, prefix, root):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        os.makedirs(os.path.join(prefix, "tmp"), exist_ok=True)
        self.conf = os.path.join(prefix, "nginx.conf")
        with open(template) as f:
            text = f.read().format(port=self.port, root=root, prefix=prefix)
        with open(self.conf, "w") as f:
            f.write(text)
        self.prefix, self.proc = prefix, None

    def start(self, wait_path):
        self.proc = subprocess.Popen(
            ["nginx", "-p", self.prefix, "-c", self.conf, "-g", "daemon off;"],
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: get(self.base + wait_path)[0] == 200, 10, "nginx")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # SIGQUIT: graceful stop of the master and the workers it started.
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
