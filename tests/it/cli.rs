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

const TEAM_CONFIG: &str =
    "members:\n  - {email: admin@acme.dev, admin: true}\n  - {email: ci@acme.dev}\n";

#[test]
fn token_commands_issue_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), TEAM_CONFIG);
    let (code, stdout, stderr) = tagpub(
        dir.path(),
        &[
            "token",
            "issue",
            "--member",
            "ci@acme.dev",
            "--name",
            "github",
            "--expires-in",
            "90d",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let secret = stdout.lines().last().unwrap().to_string();
    assert!(
        secret.starts_with("tagpub_") && !secret.contains(' '),
        "the secret is alone on the last line: {stdout}"
    );
    let (_, other, _) = tagpub(
        dir.path(),
        &["token", "issue", "--member", "admin@acme.dev"],
    );
    let admin_secret = other.lines().last().unwrap().to_string();

    let (code, listing, _) = tagpub(dir.path(), &["token", "list"]);
    assert_eq!(code, 0);
    assert!(
        listing.contains("ci@acme.dev")
            && listing.contains("github")
            && listing.contains("admin@acme.dev"),
        "{listing}"
    );
    assert!(
        !listing.contains(&secret[7..]) && !listing.contains(&admin_secret[7..]),
        "never secrets: {listing}"
    );
    let id = listing
        .lines()
        .find(|l| l.contains("ci@acme.dev"))
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let (code, out, _) = tagpub(dir.path(), &["token", "revoke", &id]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("revoked {id}")), "{out}");
    let (_, listing, _) = tagpub(dir.path(), &["token", "list", "--member", "ci@acme.dev"]);
    assert!(listing.contains("revoked"), "{listing}");
    let (code, out, _) = tagpub(
        dir.path(),
        &["token", "revoke", "--member", "admin@acme.dev"],
    );
    assert_eq!(code, 0);
    assert!(
        out.contains("revoked 1 token(s) of admin@acme.dev"),
        "{out}"
    );

    let (code, _, stderr) = tagpub(
        dir.path(),
        &["token", "issue", "--member", "nobody@acme.dev"],
    );
    assert_ne!(code, 0);
    assert!(
        stderr.contains("nobody@acme.dev is not a member"),
        "{stderr}"
    );
    let (code, _, stderr) = tagpub(dir.path(), &["token", "revoke", "tk_unknown"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("no token has the id tk_unknown"),
        "{stderr}"
    );
}

#[test]
fn token_issue_file_is_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), TEAM_CONFIG);
    let file = dir.path().join("ci.token");
    let (code, stdout, stderr) = tagpub(
        dir.path(),
        &[
            "token",
            "issue",
            "--member",
            "ci@acme.dev",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let written = std::fs::read_to_string(&file).unwrap();
    assert_eq!(written.trim(), stdout.lines().last().unwrap());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn tokens_never_appear_in_logs_or_error_bodies() {
    use std::io::{BufRead, BufReader};
    let repo = GitRepo::init();
    repo.release("logged", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    write_config(
        dir.path(),
        &format!(
            "{TEAM_CONFIG}repositories:\n  - url: {}\n",
            repo.path().display()
        ),
    );
    let (_, stdout, _) = tagpub(dir.path(), &["token", "issue", "--member", "ci@acme.dev"]);
    let secret = stdout.lines().last().unwrap().to_string();
    let (_, stdout, _) = tagpub(dir.path(), &["token", "issue", "--member", "ci@acme.dev"]);
    let revoked = stdout.lines().last().unwrap().to_string();
    let (_, listing, _) = tagpub(dir.path(), &["token", "list"]);
    let revoked_id = listing
        .lines()
        .filter(|l| l.contains("ci@acme.dev"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    tagpub(dir.path(), &["token", "revoke", &revoked_id]);

    let mut child = Command::new(env!("CARGO_BIN_EXE_tagpub"))
        .args([
            "-c",
            dir.path().join("registry.yaml").to_str().unwrap(),
            "serve",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("RUST_LOG", "trace")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut log = String::new();
    let addr = loop {
        let line = lines.next().expect("serve logs its address").unwrap();
        log.push_str(&line);
        log.push('\n');
        if let Some(at) = line.find("on http://") {
            break line[at + 10..].split('/').next().unwrap().to_string();
        }
    };
    let client = support::PubClient::new(&format!("http://{addr}/"));
    let mut bodies = String::new();
    for token in [
        &secret,
        &revoked,
        &format!("{secret}x"),
        &"Basic abc".to_string(),
    ] {
        for path in [
            "api/packages/logged",
            "api/packages/nope",
            "api/tokens",
            "packages/logged/versions/1.0.0.tar.gz",
        ] {
            let c = client.clone().with_token(token);
            let answer = c.get_api(path).unwrap();
            bodies.push_str(&answer.text());
            bodies.push_str(&format!("{:?}", answer.headers));
        }
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    for line in lines {
        log.push_str(&line.unwrap());
        log.push('\n');
    }
    assert!(child.wait().unwrap().success());
    assert!(
        log.contains("revoked token"),
        "revoked use is audited:\n{log}"
    );
    for s in [&secret, &revoked] {
        let needle = &s[7..];
        assert!(!log.contains(needle), "a token secret reached the log");
        assert!(
            !bodies.contains(needle),
            "a token secret reached a response"
        );
    }
}
