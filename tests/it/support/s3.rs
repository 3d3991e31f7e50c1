//! A real S3-compatible server for the tests: `s3s-fs` (crates.io, `cargo install s3s-fs
//! --version 0.14.1 --locked --features binary`), on a free port of 127.0.0.1, with a
//! fresh directory and bucket per test. Its objects are plain files under
//! [`S3Server::bucket_dir`], so a test can also see and alter what the bucket holds.
//!
//! Found as `$TAGPUB_S3S_FS`, else `s3s-fs` on `PATH`, else `~/.cargo/bin/s3s-fs`.
//! Without it a test says why and passes, unless `TAGPUB_REQUIRE_S3` is set (as `.ci/run`
//! does), so that a missing server never passes unnoticed there.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const BUCKET: &str = "tagpub-test";
pub const ACCESS_KEY: &str = "tagpub-test-access";
pub const SECRET_KEY: &str = "tagpub-test-secret-d41d8cd98f00b204";
pub const INSTALL: &str = "cargo install s3s-fs --version 0.14.1 --locked --features binary";

/// A running `s3s-fs`, killed when dropped.
pub struct S3Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    root: tempfile::TempDir,
}

impl S3Server {
    /// A fresh server with an empty bucket [`BUCKET`]; `None` (after saying why) when the
    /// binary is missing and `TAGPUB_REQUIRE_S3` is not set.
    pub fn start() -> Option<S3Server> {
        let Some(binary) = binary() else {
            let why = format!(
                "the s3s-fs binary is not installed ({INSTALL}, or set TAGPUB_S3S_FS to its path)"
            );
            assert!(
                std::env::var_os("TAGPUB_REQUIRE_S3").is_none(),
                "TAGPUB_REQUIRE_S3 is set but {why}"
            );
            eprintln!("skipped: {why}");
            return None;
        };
        let root = tempfile::tempdir().expect("a directory for the S3 server");
        std::fs::create_dir(root.path().join(BUCKET)).expect("create the bucket");
        // The port is free when asked; another process may take it before the server binds
        // it, so a server that exits at once is started again on another port.
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let mut child = Command::new(&binary)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
                .arg(root.path())
                .env("RUST_LOG", "error")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
            let up = super::wait::poll(super::wait::PATIENCE, || {
                if child.try_wait().ok().flatten().is_some() {
                    return Some(false);
                }
                TcpStream::connect(("127.0.0.1", port)).ok().map(|_| true)
            });
            if up == Some(true) {
                return Some(S3Server {
                    child: Some(child),
                    endpoint: format!("http://127.0.0.1:{port}"),
                    root,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("{} never started listening", binary.display());
    }

    /// The directory holding the bucket's objects, one file per key.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root.path().join(BUCKET)
    }

    /// The file holding the object `key` of [`BUCKET`].
    pub fn object_file(&self, key: &str) -> PathBuf {
        self.bucket_dir().join(key)
    }

    /// Stops the server (SIGKILL), as when S3 becomes unreachable.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The `s3s-fs` binary, if installed.
pub fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("TAGPUB_S3S_FS") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("s3s-fs"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
        .map(|home| home.join("bin/s3s-fs"));
    on_path.chain(cargo_home).find(|p| p.is_file())
}

/// A listener that accepts connections and never answers: an S3 endpoint that hangs.
pub struct Silent {
    pub endpoint: String,
    _held: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                keep.lock().unwrap().push(stream);
            }
        });
        Silent {
            endpoint,
            _held: held,
        }
    }
}

/// How long a test lets an S3 call hang before the store must have given up.
pub const SHORT_TIMEOUT: Duration = Duration::from_secs(2);
