#!/usr/bin/env python3
"""Generates the benchmark's git repositories with `git fast-import`.

Running `git commit`/`git tag` once per release would take minutes for the larger cases,
so each repository is written as one fast-import stream into a fresh bare repository.
Content is pseudo-random with a fixed seed: every run builds the same repositories.
Refs end up packed (`git pack-refs --all`), as in a repository that has been gc'd.

    gen_repos.py archive DIR [TAGS] [FILES]    one package, TAGS releases of ~FILES files
    gen_repos.py package DIR NAME VERSIONS [ASSET_BYTES]
    gen_repos.py monorepo DIR PREFIX PACKAGES VERSIONS
"""

import os
import random
import subprocess
import sys

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
}
EPOCH = 1_700_000_000
WORDS = (
    "final const var return if else for while class extends implements import "
    "package void int String bool double List Map Future async await this null "
    "true false value index count result builder widget state context"
).split()


def version_for(i):
    """The i-th release, in semver order: 1.0.0 .. 1.0.9, 1.1.0 .."""
    return f"1.{i // 10}.{i % 10}"


def pubspec(name, version):
    return (
        f"name: {name}\nversion: {version}\n"
        f"description: Generated package {name} for the tagpub benchmark suite.\n"
        f"repository: https://git.example.test/bench/{name}\n"
        "environment:\n  sdk: ^3.0.0\n"
        "dependencies:\n  collection: ^1.18.0\n  meta: ^1.9.0\n"
    ).encode()


def dart_source(rng, size):
    """Dart-looking text of about `size` bytes: compresses like real source code."""
    out, n = [], 0
    while n < size:
        line = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 10))) + ";\n"
        out.append(line)
        n += len(line)
    return "".join(out).encode()


class Stream:
    """A fast-import stream written straight into `git fast-import`'s stdin."""

    def __init__(self, git_dir):
        subprocess.run(["git", "init", "-q", "--bare", git_dir], check=True, env=GIT_ENV)
        self.proc = subprocess.Popen(
            ["git", "fast-import", "--quiet", "--done"],
            cwd=git_dir,
            env=GIT_ENV,
            stdin=subprocess.PIPE,
        )
        self.git_dir = git_dir
        self.mark = 0
        self.time = EPOCH

    def w(self, data):
        self.proc.stdin.write(data if isinstance(data, bytes) else data.encode())

    def blob(self, content):
        self.mark += 1
        self.w(f"blob\nmark :{self.mark}\ndata {len(content)}\n")
        self.w(content + b"\n")
        return self.mark

    def commit(self, ref, files, parent=None, deleteall=False):
        """`files`: {path: blob mark}. Returns the commit's mark."""
        self.mark += 1
        self.time += 60
        self.w(f"commit {ref}\nmark :{self.mark}\n")
        self.w(f"committer bench <bench@example.test> {self.time} +0000\ndata 7\nrelease\n")
        if parent:
            self.w(f"from :{parent}\n")
        if deleteall:
            self.w("deleteall\n")
        for path, mark in files.items():
            self.w(f"M 100644 :{mark} {path}\n")
        self.w("\n")
        return self.mark

    def tag(self, name, commit):
        self.w(f"reset refs/tags/{name}\nfrom :{commit}\n\n")

    def close(self):
        self.w("done\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit("git fast-import failed")
        # fast-import leaves one loose file per tag; a served repository has usually been
        # through `git gc`, which packs them.
        subprocess.run(["git", "pack-refs", "--all"], cwd=self.git_dir, check=True, env=GIT_ENV)


def archive_repo(git_dir, tags=200, files=300, name="bench_archive"):
    """One package at the root; every release changes ~10 files, the pubspec and the
    changelog. Tags v1.0.0, v1.0.1, .. (lightweight)."""
    rng = random.Random(1)
    s = Stream(git_dir)
    paths = ["README.md", "LICENSE"]
    paths += [f"lib/src/part{i // 40}/file_{i:03}.dart" for i in range(files - 40)]
    paths += [f"test/file_{i:02}_test.dart" for i in range(30)]
    paths += [f"example/file_{i}.dart" for i in range(8)]
    tree = {p: s.blob(dart_source(rng, rng.randint(500, 6000))) for p in paths}
    tree["lib/" + name + ".dart"] = s.blob(b"library;\nexport 'src/part0/file_000.dart';\n")
    parent = None
    changelog = b""
    for i in range(tags):
        v = version_for(i)
        changelog = f"## {v}\n\n- Release {v}.\n\n".encode() + changelog
        tree["pubspec.yaml"] = s.blob(pubspec(name, v))
        tree["CHANGELOG.md"] = s.blob(changelog)
        changed = tree if parent is None else {}
        for p in rng.sample(paths[2:], 10):
            tree[p] = changed[p] = s.blob(dart_source(rng, rng.randint(500, 6000)))
        if parent is not None:
            changed.update({k: tree[k] for k in ("pubspec.yaml", "CHANGELOG.md")})
        parent = s.commit("refs/heads/main", changed, parent)
        s.tag(f"v{v}", parent)
    s.close()


def package_repo(git_dir, name, versions, asset_bytes=0):
    """One package at the root with `versions` releases (tags v1.0.0, ..); with
    `asset_bytes`, an incompressible assets/blob.bin makes the archive about that big."""
    rng = random.Random(2)
    s = Stream(git_dir)
    tree = {"README.md": s.blob(dart_source(rng, 800))}
    if asset_bytes:
        tree["assets/blob.bin"] = s.blob(rng.randbytes(asset_bytes))
    parent = None
    for i in range(versions):
        v = version_for(i)
        tree["pubspec.yaml"] = s.blob(pubspec(name, v))
        tree[f"lib/{name}.dart"] = s.blob(f"const version = '{v}';\n".encode())
        parent = s.commit("refs/heads/main", tree, parent)
        s.tag(f"v{v}", parent)
    s.close()


def monorepo(git_dir, prefix, packages, versions):
    """`packages` packages under pkgs/NAME, each on its own branch (so a release's tree
    holds only its package and tags stay cheap to evaluate), tagged NAME-v1.0.0, ..
    Returns the package names."""
    rng = random.Random(3)
    s = Stream(git_dir)
    readme = s.blob(dart_source(rng, 600))
    names = [f"{prefix}{p:05}" for p in range(packages)]
    for name in names:
        parent = None
        for i in range(versions):
            v = version_for(i)
            tree = {
                f"pkgs/{name}/README.md": readme,
                f"pkgs/{name}/pubspec.yaml": s.blob(pubspec(name, v)),
                f"pkgs/{name}/lib/{name}.dart": s.blob(f"const version = '{v}';\n".encode()),
            }
            parent = s.commit(f"refs/heads/{name}", tree, parent, deleteall=True)
            s.tag(f"{name}-v{v}", parent)
    s.close()
    return names


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "archive":
        archive_repo(args[0], *map(int, args[1:]))
    elif cmd == "package":
        package_repo(args[0], args[1], *map(int, args[2:]))
    elif cmd == "monorepo":
        monorepo(args[0], args[1], int(args[2]), int(args[3]))
    else:
        raise SystemExit(__doc__)
