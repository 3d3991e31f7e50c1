//! Real git repositories for tests, made by running the `git` binary in temp dirs.
//!
//! Every invocation runs in an isolated environment: no system or global config, `HOME`
//! inside the repository's temp dir, every inherited `GIT_*` variable removed (a test run
//! from inside a git hook would otherwise act on the outer repository), fixed identities,
//! and author/committer dates from a per-repository clock. Two repositories built by the
//! same steps therefore have the same commit ids.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicI64, Ordering};

use tempfile::TempDir;

/// The date of the first commit of every repository: 2023-11-14T22:13:20Z.
pub const EPOCH: i64 = 1_700_000_000;
/// How far the clock moves for every commit and annotated tag.
pub const TICK_SECONDS: i64 = 60;

pub const AUTHOR_NAME: &str = "Tess Tagger";
pub const AUTHOR_EMAIL: &str = "tess@example.test";
pub const COMMITTER_NAME: &str = "Cody Committer";
pub const COMMITTER_EMAIL: &str = "cody@example.test";

/// A realistic `pubspec.yaml` that the client accepts on Dart 3 (docs/protocol.md §1.3:
/// without an SDK constraint the version would be unusable).
pub fn pubspec(name: &str, version: &str) -> String {
    format!(
        "name: {name}\n\
         version: {version}\n\
         description: The {name} package, made by tagpub's integration tests.\n\
         environment:\n  sdk: ^3.0.0\n"
    )
}

/// A `git fast-import` stream of `count` releases of package `name` on `main`, tagged
/// `v1.0.0`, `v1.0.1`, …: each has its pubspec, an executable, a file under a path over
/// 100 bytes (a GNU long-name record) and `files` Dart-like sources of about `size`
/// bytes, two of them rewritten per release. Deterministic: the same arguments give the
/// same repository.
pub fn releases_stream(name: &str, count: usize, files: usize, size: usize) -> Vec<u8> {
    use std::fmt::Write;
    const WORDS: [&str; 12] = [
        "final", "const", "return", "class", "value", "widget", "state", "await", "async",
        "builder", "index", "count",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut text = |len: usize| {
        let mut out = String::new();
        while out.len() < len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let _ = writeln!(out, "{} {};", WORDS[(seed % 12) as usize], seed % 977);
        }
        out
    };
    let mut stream = String::new();
    let blob = |stream: &mut String, mark: usize, data: &str| {
        let _ = write!(stream, "blob\nmark :{mark}\ndata {}\n{data}\n", data.len());
    };
    let long = format!("lib/{}/deep.dart", "nested_directory_name".repeat(5));
    let mut sources: Vec<String> = (0..files).map(|_| text(size)).collect();
    for i in 0..count {
        let version = format!("1.0.{i}");
        let m = 10 * (i + 1) * (files + 4);
        sources[(2 * i) % files.max(1)] = text(size);
        sources[(2 * i + 1) % files.max(1)] = text(size);
        blob(&mut stream, m, &pubspec(name, &version));
        blob(&mut stream, m + 1, "#!/bin/sh\necho tool\n");
        blob(&mut stream, m + 2, &format!("// {version}\n"));
        for (f, source) in sources.iter().enumerate() {
            blob(&mut stream, m + 3 + f, source);
        }
        let _ = write!(
            stream,
            "commit refs/heads/main\ncommitter {COMMITTER_NAME} <{COMMITTER_EMAIL}> {} +0000\ndata 8\nrelease\n",
            1_700_000_000 + 60 * i
        );
        let _ = write!(
            stream,
            "deleteall\nM 100644 :{m} pubspec.yaml\nM 100755 :{} bin/tool.sh\nM 100644 :{} {long}\n",
            m + 1,
            m + 2
        );
        for f in 0..files {
            let _ = writeln!(
                stream,
                "M 100644 :{} lib/src/part{}/file_{f}.dart",
                m + 3 + f,
                f % 3
            );
        }
        let _ = write!(
            stream,
            "\nreset refs/tags/v{version}\nfrom refs/heads/main\n\n"
        );
    }
    stream.push_str("done\n");
    stream.into_bytes()
}

/// Where a repository's files live and how to run git on it; shared by both handles.
#[derive(Debug)]
struct Sandbox {
    // Held for its Drop: the directory disappears with the handle.
    _root: TempDir,
    home: PathBuf,
    repo: PathBuf,
    /// Objects created so far; the next one is dated `EPOCH + ticks * TICK_SECONDS`.
    ticks: AtomicI64,
}

impl Sandbox {
    fn new(repo_dir_name: &str) -> Sandbox {
        let root = tempfile::Builder::new()
            .prefix("tagpub-git-")
            .tempdir()
            .expect("cannot create a temp dir for a git repository");
        let home = root.path().join("home");
        let repo = root.path().join(repo_dir_name);
        fs::create_dir(&home).expect("cannot create the sandbox HOME");
        Sandbox {
            _root: root,
            home,
            repo,
            ticks: AtomicI64::new(0),
        }
    }

    fn date(&self) -> String {
        let ticks = self.ticks.load(Ordering::SeqCst);
        format!("@{} +0000", EPOCH + ticks * TICK_SECONDS)
    }

    fn advance(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }

    /// A `git` command with the isolated environment, run in `cwd`.
    fn command(&self, cwd: &Path) -> Command {
        let mut cmd = Command::new("git");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GIT_") {
                cmd.env_remove(key);
            }
        }
        let date = self.date();
        cmd.current_dir(cwd)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", AUTHOR_NAME)
            .env("GIT_AUTHOR_EMAIL", AUTHOR_EMAIL)
            .env("GIT_COMMITTER_NAME", COMMITTER_NAME)
            .env("GIT_COMMITTER_EMAIL", COMMITTER_EMAIL)
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_DATE", &date)
            .args(["-c", "init.defaultBranch=main"])
            .args(["-c", "commit.gpgsign=false"])
            .args(["-c", "tag.gpgsign=false"])
            .args(["-c", "core.autocrlf=false"])
            .args(["-c", "advice.detachedHead=false"])
            // Local-path submodules are refused by default since git 2.38.1.
            .args(["-c", "protocol.file.allow=always"]);
        cmd
    }

    fn output<I, S>(&self, cwd: &Path, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        self.command(cwd)
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"))
    }

    fn run<I, S>(&self, cwd: &Path, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let args: Vec<_> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
        let out = self.output(cwd, &args);
        assert!(
            out.status.success(),
            "git {args:?} failed in {}: {}\n{}",
            cwd.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("git printed non-UTF-8 output")
            .trim_end()
            .to_owned()
    }
}

/// A working repository (with a work tree) on branch `main`, in its own temp dir.
#[derive(Debug)]
pub struct GitRepo {
    sandbox: Sandbox,
}

/// A bare repository, as a remote that tagpub mirrors from; see [`GitRepo::bare_clone`].
#[derive(Debug)]
pub struct BareRepo {
    sandbox: Sandbox,
}

impl GitRepo {
    /// `git init` in a fresh temp dir. The repository has no commit yet.
    pub fn init() -> GitRepo {
        let sandbox = Sandbox::new("work");
        fs::create_dir(&sandbox.repo).expect("cannot create the work tree");
        sandbox.run(&sandbox.repo, ["init", "--quiet"]);
        GitRepo { sandbox }
    }

    /// The work tree.
    pub fn path(&self) -> &Path {
        &self.sandbox.repo
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Runs git with the isolated environment in the work tree; panics on failure.
    /// Returns stdout without its trailing newline.
    pub fn run<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.sandbox.run(self.path(), args)
    }

    /// Like [`GitRepo::run`] but returns the raw output, for commands expected to fail.
    pub fn try_run<I, S>(&self, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.sandbox.output(self.path(), args)
    }

    fn file(&self, path: &str) -> PathBuf {
        let full = self.path().join(path);
        if let Some(parent) = full.parent() {
            fs::create_dir_all(parent).expect("cannot create parent dirs in the work tree");
        }
        full
    }

    /// Feeds `stream` to `git fast-import` (many commits and tags in one process, where
    /// `git commit` per release would take minutes); panics on failure.
    pub fn fast_import(&self, stream: &[u8]) -> &Self {
        use std::io::Write;
        let mut child = self
            .sandbox
            .command(self.path())
            .args(["fast-import", "--quiet", "--done"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("cannot run git fast-import");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(stream)
            .expect("cannot feed git fast-import");
        let status = child.wait().expect("git fast-import did not finish");
        assert!(status.success(), "git fast-import failed: {status}");
        self
    }

    /// Writes a file (mode 0644), creating parent directories.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let full = self.file(path);
        fs::write(&full, contents).expect("cannot write a work-tree file");
        fs::set_permissions(&full, fs::Permissions::from_mode(0o644))
            .expect("cannot chmod a work-tree file");
        self
    }

    /// Writes an executable file (mode 0755), creating parent directories.
    pub fn write_exec(&self, path: &str, contents: impl AsRef<[u8]>) -> &Self {
        let full = self.file(path);
        fs::write(&full, contents).expect("cannot write a work-tree file");
        fs::set_permissions(&full, fs::Permissions::from_mode(0o755))
            .expect("cannot chmod a work-tree file");
        self
    }

    /// Creates a symlink at `path` pointing at `target` (taken literally, as git stores it).
    pub fn symlink(&self, path: &str, target: &str) -> &Self {
        std::os::unix::fs::symlink(target, self.file(path)).expect("cannot create a symlink");
        self
    }

    /// Removes a file, a symlink or a whole directory from the work tree.
    pub fn remove(&self, path: &str) -> &Self {
        let full = self.path().join(path);
        let meta = fs::symlink_metadata(&full).expect("nothing to remove at that path");
        if meta.is_dir() {
            fs::remove_dir_all(&full).expect("cannot remove a directory");
        } else {
            fs::remove_file(&full).expect("cannot remove a file");
        }
        self
    }

    /// `git add -A` then commits (empty commits allowed); returns the commit id.
    pub fn commit(&self, message: &str) -> String {
        self.run(["add", "-A"]);
        self.run(["commit", "--quiet", "--allow-empty", "-m", message]);
        self.sandbox.advance();
        self.head()
    }

    /// The commit id of `HEAD`.
    pub fn head(&self) -> String {
        self.rev_parse("HEAD")
    }

    /// The object id a revision names (`v1.0.0^{commit}`, `main~1`, ...).
    pub fn rev_parse(&self, rev: &str) -> String {
        self.run(["rev-parse", "--verify", rev])
    }

    /// A lightweight tag at `HEAD`.
    pub fn tag(&self, name: &str) -> &Self {
        self.run(["tag", name]);
        self
    }

    /// An annotated tag at `HEAD`; returns the tag object's id.
    pub fn tag_annotated(&self, name: &str, message: &str) -> String {
        self.run(["tag", "-a", name, "-m", message]);
        self.sandbox.advance();
        self.rev_parse(&format!("refs/tags/{name}"))
    }

    /// A lightweight tag at `commit`.
    pub fn tag_at(&self, name: &str, commit: &str) -> &Self {
        self.run(["tag", name, commit]);
        self
    }

    pub fn delete_tag(&self, name: &str) -> &Self {
        self.run(["tag", "-d", name]);
        self
    }

    /// Moves (or creates) a lightweight tag to `commit`, like `git tag -f`.
    pub fn move_tag(&self, name: &str, commit: &str) -> &Self {
        self.run(["tag", "-f", name, commit]);
        self
    }

    /// Tag names, sorted by git.
    pub fn tags(&self) -> Vec<String> {
        lines(&self.run(["tag", "--list"]))
    }

    /// Writes `pubspec.yaml` and `lib/<name>.dart` at the root, commits and puts the
    /// lightweight tag `tag` on the commit; returns the commit id.
    pub fn release(&self, name: &str, version: &str, tag: &str) -> String {
        self.release_in("", name, version, tag)
    }

    /// Like [`GitRepo::release`] for a package in the sub-directory `dir` of a monorepo.
    pub fn release_in(&self, dir: &str, name: &str, version: &str, tag: &str) -> String {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{}/", dir.trim_end_matches('/'))
        };
        self.write(&format!("{prefix}pubspec.yaml"), pubspec(name, version));
        self.write(
            &format!("{prefix}lib/{name}.dart"),
            format!("/// {name} {version}\nconst String version = '{version}';\n"),
        );
        let commit = self.commit(&format!("release {name} {version}"));
        self.tag(tag);
        commit
    }

    /// Adds `other` as a submodule at `path` (a local-path URL) without committing.
    pub fn add_submodule(&self, other: &GitRepo, path: &str) -> &Self {
        let url = other.path().to_str().expect("temp paths are UTF-8");
        self.run(["submodule", "--quiet", "add", url, path]);
        self
    }

    /// A bare clone of this repository (all branches and tags), in its own temp dir.
    pub fn bare_clone(&self) -> BareRepo {
        let sandbox = Sandbox::new("remote.git");
        let src = self.path().to_str().expect("temp paths are UTF-8");
        let dst = sandbox.repo.to_str().expect("temp paths are UTF-8");
        sandbox.run(&self.sandbox.home, ["clone", "--quiet", "--bare", src, dst]);
        BareRepo { sandbox }
    }

    /// Makes `bare`'s tags exactly this repository's tags: new tags are pushed, moved tags
    /// are force-updated, tags deleted here are deleted there.
    pub fn push_tags_to(&self, bare: &BareRepo) -> &Self {
        self.push_refspecs(bare, &["+refs/tags/*:refs/tags/*"]);
        self
    }

    /// Makes `bare`'s branches and tags exactly this repository's (a forced, pruning push).
    pub fn push_to(&self, bare: &BareRepo) -> &Self {
        self.push_refspecs(
            bare,
            &["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
        );
        self
    }

    fn push_refspecs(&self, bare: &BareRepo, refspecs: &[&str]) {
        let dst = bare.path().to_str().expect("temp paths are UTF-8");
        let mut args = vec!["push", "--quiet", "--prune", dst];
        args.extend_from_slice(refspecs);
        self.run(args);
    }
}

impl BareRepo {
    /// The bare repository's directory (what tagpub's config names as the remote).
    pub fn path(&self) -> &Path {
        &self.sandbox.repo
    }

    /// `file://` URL of the repository.
    pub fn url(&self) -> String {
        format!("file://{}", self.path().display())
    }

    /// Runs git in the bare repository; panics on failure, returns trimmed stdout.
    pub fn run<I, S>(&self, args: I) -> String
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.sandbox.run(self.path(), args)
    }

    pub fn rev_parse(&self, rev: &str) -> String {
        self.run(["rev-parse", "--verify", rev])
    }

    /// Tag names, sorted by git.
    pub fn tags(&self) -> Vec<String> {
        lines(&self.run(["tag", "--list"]))
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}
