//! `registry.yaml` as the tests write it. A server started with `server::start` gets its
//! `base_url`, `listen` and `data_dir` from there; a config for the binary alone comes
//! from [`write_config`].

use std::path::{Path, PathBuf};

/// A `repositories:` section with the repository at `path` alone, polled hourly: nothing
/// but the test (a `sync()`, a notification) makes the server read it during a test.
pub fn one_repository(path: &Path) -> String {
    format!(
        "repositories:\n  - url: {}\n    poll_interval: 1h\n",
        path.display()
    )
}

/// Writes `dir/registry.yaml` for commands that need no server: a `base_url` nothing
/// listens on, `data_dir: data`, then `body`. Returns the file's path.
pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    write_config_named(dir, "registry.yaml", body)
}

/// As [`write_config`], to `dir/name` (several configs sharing one data dir).
pub fn write_config_named(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("base_url: http://127.0.0.1:1/\ndata_dir: data\n{body}"),
    )
    .expect("write the config");
    path
}
