//! The `tagpub` binary: `sync`, `check`, and what a broken config does.

mod support;

use std::process::Command;
use support::GitRepo;

fn tagpub(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tagpub"))
        .args(["-c", dir.join("registry.yaml").to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tagpub");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_config(dir: &std::path::Path, repos: &str) {
    std::fs::write(
        dir.join("registry.yaml"),
        format!("base_url: http://127.0.0.1:1/\ndata_dir: data\n{repos}"),
    )
    .unwrap();
}

#[test]
fn sync_prints_a_summary_and_reports_rejections_without_failing() {
    let repo = GitRepo::init();
    repo.release("cli_pkg", "1.0.0", "v1.0.0");
    repo.release("cli_pkg", "1.0.0", "v1.1.0");
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let (code, stdout, stderr) = tagpub(dir.path(), &["sync"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("new cli_pkg 1.0.0 (tag v1.0.0)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("rejected tag v1.1.0 of cli_pkg"),
        "{stdout}"
    );
    assert!(
        stdout
            .contains("synced 1 repositories (0 unreachable): 1 new version(s), 1 rejected tag(s)"),
        "{stdout}"
    );
    // Plain lines, no progress bar, when stderr is not a terminal.
    assert!(!stderr.contains('\r'), "{stderr}");
    let (code, stdout, _) = tagpub(dir.path(), &["sync"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("0 new version(s), 1 rejected tag(s)"),
        "{stdout}"
    );
}

#[test]
fn check_reports_per_package_and_writes_nothing() {
    let repo = GitRepo::init();
    repo.release("checked", "1.0.0", "v1.0.0");
    repo.release("checked", "2.0.0", "v2.0.1");
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let (code, stdout, stderr) = tagpub(dir.path(), &["check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("package checked"), "{stdout}");
    assert!(stdout.contains("serve   1.0.0 (tag v1.0.0)"), "{stdout}");
    assert!(
        stdout.contains("reject  tag v2.0.1: pubspec.yaml says version 2.0.0"),
        "{stdout}"
    );
    assert!(
        !dir.path().join("data").exists(),
        "check must not write the data dir"
    );
}

#[test]
fn a_broken_config_is_fatal_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        "repositories:\n  - url: /x\n    tag_patern: v{{version}}\n",
    );
    for command in ["sync", "check", "serve"] {
        let (code, _, stderr) = tagpub(dir.path(), &[command]);
        assert_ne!(code, 0, "{command}");
        assert!(stderr.contains("tag_patern"), "{command}: {stderr}");
    }
    let (code, _, stderr) = tagpub(&dir.path().join("missing"), &["sync"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot read the config file"), "{stderr}");
}

#[test]
fn the_shipped_registry_yaml_serves_the_demo_package() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new(env!("CARGO_BIN_EXE_tagpub"))
        .args(["-c", root.join("registry.yaml").to_str().unwrap(), "check"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    for v in ["1.0.0", "1.1.0", "2.0.0-beta.1"] {
        assert!(
            stdout.contains(&format!("serve   {v} (tag v{v})")),
            "{stdout}"
        );
    }
}
