//! The `tagpub` binary: `sync`, `check`, and what a broken config does.

use crate::support;

use std::path::Path;
use support::command::tagpub;
use support::config::write_config;
use support::daemon::Daemon;
use support::snapshot::redacted;
use support::wait::wait_for;
use support::{GitRepo, check_listing_shoulds, extract};

#[test]
fn sync_prints_a_summary_and_reports_rejections_without_failing() {
    let repo = GitRepo::init();
    repo.release("cli_pkg", "1.0.0", "v1.0.0");
    repo.release("cli_pkg", "1.0.0", "v1.1.0");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let (code, stdout, stderr) = tagpub(&config, &["sync"]);
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
    let (code, stdout, _) = tagpub(&config, &["sync"]);
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
    let config = write_config(
        dir.path(),
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    let (code, stdout, stderr) = tagpub(&config, &["check"]);
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
    let config = write_config(
        dir.path(),
        "repositories:\n  - url: /x\n    tag_patern: v{{version}}\n",
    );
    for command in ["sync", "check", "serve"] {
        let (code, _, stderr) = tagpub(&config, &[command]);
        assert_ne!(code, 0, "{command}");
        assert!(stderr.contains("tag_patern"), "{command}: {stderr}");
    }
    let missing = dir.path().join("missing/registry.yaml");
    let (code, _, stderr) = tagpub(&missing, &["sync"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cannot read the config file"), "{stderr}");
}

/// The README's first step as a newcomer takes it: the shipped `registry.yaml` (on a
/// free port) and demo repository, `tagpub check`, `tagpub serve`, and the client
/// listing and downloading `tagpub_hello`.
#[test]
fn the_shipped_registry_yaml_serves_the_demo_package() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    // A copy of both, laid out as in the checkout: the data dir lands in the temp dir.
    copy_dir(
        &root.join("examples/tagpub_hello.git"),
        &dir.path().join("examples/tagpub_hello.git"),
    );
    let port = free_port();
    let shipped = std::fs::read_to_string(root.join("registry.yaml")).unwrap();
    let (base_url, listen) = (
        format!("base_url: http://127.0.0.1:{port}/\n"),
        format!("listen: 127.0.0.1:{port}\n"),
    );
    let yaml: String = shipped
        .lines()
        .map(|line| match line.split_once(':') {
            Some(("base_url", _)) => base_url.clone(),
            Some(("listen", _)) => listen.clone(),
            _ => format!("{line}\n"),
        })
        .collect();
    assert!(
        yaml.contains(&base_url) && yaml.contains(&listen),
        "base_url and listen are top-level keys of:\n{shipped}"
    );
    let config = dir.path().join("registry.yaml");
    std::fs::write(&config, yaml).unwrap();

    let (code, stdout, _) = tagpub(&config, &["check"]);
    assert_eq!(code, 0, "{stdout}");
    for v in ["1.0.0", "1.1.0", "2.0.0-beta.1"] {
        assert!(
            stdout.contains(&format!("serve   {v} (tag v{v})")),
            "{stdout}"
        );
    }

    let mut daemon = Daemon::start(&config, &[], &[]);
    assert_eq!(daemon.base_url, format!("http://127.0.0.1:{port}/"));
    let client = daemon.client();
    wait_for("healthz", || {
        client.get("healthz").is_ok_and(|r| r.status == 200)
    });
    daemon.wait_until_listed("tagpub_hello", "2.0.0-beta.1");
    let listing = client.list("tagpub_hello").unwrap();
    check_listing_shoulds(&listing);
    assert_eq!(listing.versions(), ["1.0.0", "1.1.0", "2.0.0-beta.1"]);
    assert_eq!(listing.latest(), Some("1.1.0"));
    insta::assert_json_snapshot!("demo_listing", redacted(&listing.raw, &daemon.base_url));
    let mut archives = std::collections::BTreeMap::new();
    for v in listing.versions() {
        let listed = listing.version(&v).unwrap();
        // Checked against `archive_sha256` as the client does, then extracted.
        let download = client.download_response(listed).unwrap();
        assert_eq!(
            download.url, listed.archive_url,
            "served without a redirect"
        );
        assert_eq!(Some(&download.sha256), listed.archive_sha256.as_ref());
        let files = extract(&download.bytes).unwrap();
        assert_eq!(files.pubspec(), listed.pubspec, "{v}");
        archives.insert(v, files.paths());
    }
    insta::assert_json_snapshot!("demo_archives", archives);
    let log = daemon.stop();
    assert!(daemon.exit_status().is_some_and(|s| s.success()), "{log}");
}

/// A port nothing listens on right now (the system's pick for `127.0.0.1:0`), for a
/// config that must name its own `listen` address.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Copies the directory `from` to `to`, recursively (a bare repository: files and
/// directories only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

const TEAM_CONFIG: &str =
    "members:\n  - {email: admin@acme.dev, admin: true}\n  - {email: ci@acme.dev}\n";

#[test]
fn token_commands_issue_list_and_revoke() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), TEAM_CONFIG);
    let (code, stdout, stderr) = tagpub(
        &config,
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
    let (_, other, _) = tagpub(&config, &["token", "issue", "--member", "admin@acme.dev"]);
    let admin_secret = other.lines().last().unwrap().to_string();

    let (code, listing, _) = tagpub(&config, &["token", "list"]);
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

    let (code, out, _) = tagpub(&config, &["token", "revoke", &id]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("revoked {id}")), "{out}");
    let (_, listing, _) = tagpub(&config, &["token", "list", "--member", "ci@acme.dev"]);
    assert!(listing.contains("revoked"), "{listing}");
    let (code, out, _) = tagpub(&config, &["token", "revoke", "--member", "admin@acme.dev"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("revoked 1 token(s) of admin@acme.dev"),
        "{out}"
    );

    let (code, _, stderr) = tagpub(&config, &["token", "issue", "--member", "nobody@acme.dev"]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("nobody@acme.dev is not a member"),
        "{stderr}"
    );
    let (code, _, stderr) = tagpub(&config, &["token", "revoke", "tk_unknown"]);
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
    let config = write_config(dir.path(), TEAM_CONFIG);
    let file = dir.path().join("ci.token");
    let (code, stdout, stderr) = tagpub(
        &config,
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
    let repo = GitRepo::init();
    repo.release("logged", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "{TEAM_CONFIG}repositories:\n  - url: {}\n",
            repo.path().display()
        ),
    );
    let (_, stdout, _) = tagpub(&config, &["token", "issue", "--member", "ci@acme.dev"]);
    let secret = stdout.lines().last().unwrap().to_string();
    let (_, stdout, _) = tagpub(&config, &["token", "issue", "--member", "ci@acme.dev"]);
    let revoked = stdout.lines().last().unwrap().to_string();
    let (_, listing, _) = tagpub(&config, &["token", "list"]);
    let revoked_id = listing
        .lines()
        .filter(|l| l.contains("ci@acme.dev"))
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    tagpub(&config, &["token", "revoke", &revoked_id]);

    let mut daemon = Daemon::start(
        &config,
        &["--listen", "127.0.0.1:0"],
        &[("RUST_LOG", "trace")],
    );
    let client = daemon.client();
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
    let log = daemon.stop();
    assert!(daemon.exit_status().is_some_and(|s| s.success()));
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
