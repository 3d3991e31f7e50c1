//! One package name, one source: two repositories whose pubspecs name the same package
//! are never merged, whatever order their passes run in, and the one that does not
//! serve it is told so (sync, check, api/status), naming both.

use crate::support;

use std::path::Path;
use support::command::{command, tagpub};
use support::config::{write_config, write_config_named};
use support::server::{TestServer, start};
use support::wait::wait_for;
use support::{BareRepo, GitRepo};
use tagpub::auth::token;

const MEMBERS: &str = "members:\n  - {email: admin@acme.dev, admin: true}\n  - {email: bee@acme.dev}\nteams:\n  - {name: backend, members: [bee@acme.dev]}\n";

/// `shared_pkg` 2.0.0 in a repository only team backend reads, and `shared_pkg` 1.0.0 in
/// an open one; neither names its package in registry.yaml.
struct Pair {
    restricted: GitRepo,
    restricted_remote: BareRepo,
    open: GitRepo,
}

fn pair() -> Pair {
    let restricted = GitRepo::init();
    restricted.release("shared_pkg", "2.0.0", "v2.0.0");
    let restricted_remote = restricted.bare_clone();
    let open = GitRepo::init();
    open.release("shared_pkg", "1.0.0", "v1.0.0");
    Pair {
        restricted,
        restricted_remote,
        open,
    }
}

fn token_for(server: &TestServer, member: &str) -> String {
    token::issue(&server.state.store, member, "t", None, tagpub::clock::now())
        .unwrap()
        .secret
        .expose()
        .to_string()
}

fn versions_for(server: &TestServer, token: Option<&str>) -> Result<Vec<String>, u16> {
    let client = match token {
        Some(t) => server.client().with_token(t),
        None => server.client(),
    };
    match client.list("shared_pkg") {
        Ok(listing) => Ok(listing.versions()),
        Err(support::ClientError::Auth { status, .. }) => Err(status),
        Err(e) => panic!("{e:?}"),
    }
}

fn archive_status(server: &TestServer, version: &str) -> u16 {
    server
        .client()
        .get(&format!("packages/shared_pkg/versions/{version}.tar.gz"))
        .unwrap()
        .status
}

/// Regression: both repositories' passes raced at start-up, the listing held versions
/// from both, and readers came from whichever was stored first, so an anonymous caller
/// downloaded the restricted repository's archive. The restricted repository is a
/// remote (mirrored, so slower to read) to give the open one every chance to win.
#[test]
fn a_name_in_two_repositories_is_served_from_the_first_listed_only() {
    let p = pair();
    let restricted = format!(
        "  - url: file://{}\n    teams: [backend]\n    poll_interval: 1h\n",
        p.restricted_remote.path().display()
    );
    let open = format!(
        "  - url: {}\n    poll_interval: 1h\n",
        p.open.path().display()
    );
    for restricted_first in [true, false] {
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let repos = if restricted_first {
                format!("{restricted}{open}")
            } else {
                format!("{open}{restricted}")
            };
            // The poll loops start every pass at once; this pass runs beside them.
            let server = start(
                dir.path(),
                "",
                &format!("access:\n  anonymous_read: true\n{MEMBERS}repositories:\n{repos}"),
            );
            server.sync();
            let bee = token_for(&server, "bee@acme.dev");
            let admin = token_for(&server, "admin@acme.dev");
            assert_ne!(
                archive_status(&server, "2.0.0"),
                200,
                "anonymous got the restricted archive"
            );
            if restricted_first {
                assert_eq!(versions_for(&server, None), Err(401));
                assert_eq!(versions_for(&server, Some(&bee)), Ok(vec!["2.0.0".into()]));
                assert_eq!(
                    versions_for(&server, Some(&admin)),
                    Ok(vec!["2.0.0".into()])
                );
                assert_eq!(archive_status(&server, "1.0.0"), 401);
            } else {
                assert_eq!(versions_for(&server, None), Ok(vec!["1.0.0".into()]));
                assert_eq!(
                    versions_for(&server, Some(&admin)),
                    Ok(vec!["1.0.0".into()])
                );
                assert_eq!(archive_status(&server, "1.0.0"), 200);
                assert_eq!(archive_status(&server, "2.0.0"), 404);
            }
        }
    }
    drop(p.restricted);
}

fn status_json(server: &TestServer) -> serde_json::Value {
    let admin = token_for(server, "admin@acme.dev");
    let (status, _, json) = server
        .client()
        .with_token(&admin)
        .get_json("api/status")
        .unwrap();
    assert_eq!(status, 200, "{json}");
    json
}

/// Repository B serves `shared_pkg` before A, listed first, starts holding it too: B
/// keeps the name (its versions were served, and bytes are forever), A is refused for
/// good, and both are named wherever the conflict shows.
#[test]
fn an_earlier_repository_gaining_a_served_name_does_not_take_it_over() {
    let a = GitRepo::init();
    a.release_in("tools", "tools_pkg", "1.0.0", "tools-v1.0.0");
    let b = GitRepo::init();
    b.release("shared_pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "{MEMBERS}repositories:\n  - url: {}\n    poll_interval: 1h\n    packages:\n      - {{path: tools, tag_pattern: \"tools-v{{{{version}}}}\"}}\n      - {{path: shared, tag_pattern: \"shared-v{{{{version}}}}\"}}\n  - url: {}\n    poll_interval: 1h\n",
        a.path().display(),
        b.path().display()
    );
    let server = start(dir.path(), "", &config);
    server.sync();
    assert_eq!(versions_for(&server, None), Ok(vec!["1.0.0".into()]));

    a.release_in("shared", "shared_pkg", "3.0.0", "shared-v3.0.0");
    let reports = server.sync();
    assert_eq!(versions_for(&server, None), Ok(vec!["1.0.0".into()]));
    let a_path = a.path().display().to_string();
    let b_path = b.path().display().to_string();
    let refused = reports[0]
        .rejected
        .iter()
        .find(|p| p.tag == "shared-v3.0.0")
        .expect("A's tag is refused");
    assert!(
        refused.reason.contains(&a_path) && refused.reason.contains(&b_path),
        "{}",
        refused.reason
    );
    // Refused for good: recorded, so the next pass reports it without a new decision.
    let again = server.sync();
    assert_eq!(again[0].rejected.len(), 1, "{:?}", again[0].rejected);

    let status = status_json(&server);
    let conflicts = status["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 1, "{status}");
    assert_eq!(conflicts[0]["package"], "shared_pkg");
    assert_eq!(conflicts[0]["served_from"], b_path.as_str());
    assert_eq!(conflicts[0]["also_in"], a_path.as_str());
    let reason = status["repositories"][0]["packages"]["shared_pkg"]["rejected"][0]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains(&b_path), "{reason}");

    // `check` reads the catalog's owner and agrees with what is served.
    let (code, stdout, _) = tagpub(&server.config_path, &["check"]);
    assert_eq!(code, 0, "{stdout}");
    let a_section = section(&stdout, &a_path);
    assert!(
        a_section.contains("reject  tag shared-v3.0.0: package shared_pkg is already served from"),
        "{stdout}"
    );
    assert!(
        section(&stdout, &b_path).contains("serve   1.0.0 (tag v1.0.0)"),
        "{stdout}"
    );
}

/// The lines `check` prints for one repository.
fn section<'a>(stdout: &'a str, repo: &str) -> &'a str {
    let start = stdout
        .find(&format!("repository {repo}\n"))
        .unwrap_or_else(|| panic!("no section for {repo} in {stdout}"));
    let rest = &stdout[start + 1..];
    let end = rest.find("\nrepository ").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// `registry.yaml`'s `repositories:` listing `repos` in this order.
fn repositories(repos: &[&Path]) -> String {
    let list: String = repos
        .iter()
        .map(|r| format!("  - url: {}\n", r.display()))
        .collect();
    format!("repositories:\n{list}")
}

/// Regression: `check` said both repositories would serve `shared_pkg`.
#[test]
fn check_and_sync_name_both_repositories_holding_one_package() {
    let p = pair();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &repositories(&[p.restricted.path(), p.open.path()]),
    );
    let first = p.restricted.path().display().to_string();
    let second = p.open.path().display().to_string();

    let (code, stdout, stderr) = tagpub(&config, &["check"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        section(&stdout, &first).contains("serve   2.0.0 (tag v2.0.0)"),
        "{stdout}"
    );
    let later = section(&stdout, &second);
    assert!(!later.contains("    serve   "), "{stdout}");
    assert!(
        later.contains(&format!(
            "reject  tag v1.0.0: package shared_pkg is also in {first}, which comes first in registry.yaml"
        )) && later.contains(&second),
        "{stdout}"
    );
    assert!(!dir.path().join("data").exists(), "check wrote nothing");

    let (code, stdout, stderr) = tagpub(&config, &["sync"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("new shared_pkg 2.0.0 (tag v2.0.0)"),
        "{stdout}"
    );
    let refused = format!(
        "{second}: rejected tag v1.0.0 of shared_pkg: package shared_pkg is already served from {first}, so {second} cannot serve it too"
    );
    assert!(stdout.contains(&refused), "{stdout}");
    // And the log says it, naming both.
    assert!(
        stderr.contains(&format!(
            "package shared_pkg is already served from {first}, so {second}"
        )),
        "{stderr}"
    );
    // With a catalog, `check` says what the store decided, read without writing.
    let (code, stdout, _) = tagpub(&config, &["check"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        section(&stdout, &second).contains(&format!(
            "reject  tag v1.0.0: package shared_pkg is already served from {first}"
        )),
        "{stdout}"
    );
}

/// Two `tagpub sync` processes on one data dir whose configs list the repositories in
/// opposite orders: each would let its first repository claim the name, so only the
/// store can keep them apart.
#[test]
fn two_sync_processes_racing_never_mix_sources() {
    let p = pair();
    for _ in 0..4 {
        let dir = tempfile::tempdir().unwrap();
        let one = write_config_named(
            dir.path(),
            "one.yaml",
            &repositories(&[p.restricted.path(), p.open.path()]),
        );
        let two = write_config_named(
            dir.path(),
            "two.yaml",
            &repositories(&[p.open.path(), p.restricted.path()]),
        );
        // The catalog exists before the race: creating one is a race of its own
        // (switching a new file to WAL), not the one this test is about.
        drop(tagpub::store::Store::open(&dir.path().join("data")).unwrap());
        let spawn = |config: &Path| {
            command(config, &["sync"])
                .env("RUST_LOG", "error")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (one, two) = (spawn(&one), spawn(&two));
        for child in [one, two] {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let db = rusqlite::Connection::open(dir.path().join("data/tagpub.sqlite3")).unwrap();
        let sources: i64 = db
            .query_row(
                "SELECT COUNT(DISTINCT source_repo) FROM versions WHERE package = 'shared_pkg'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        let versions: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM versions WHERE package = 'shared_pkg'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            (sources, versions),
            (1, 1),
            "versions from both repositories were stored"
        );
    }
}

/// The server side of the same race: whatever order the passes end in, a listing never
/// holds versions from two repositories, and the later repository is told why.
#[test]
fn the_serve_race_never_mixes_versions_and_reports_the_later_repository() {
    let p = pair();
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let server = start(
            dir.path(),
            "",
            &format!(
                "{MEMBERS}repositories:\n  - url: {}\n    poll_interval: 1h\n  - url: {}\n    poll_interval: 1h\n",
                p.open.path().display(),
                p.restricted.path().display()
            ),
        );
        let reports = server.sync();
        assert_eq!(versions_for(&server, None), Ok(vec!["1.0.0".into()]));
        let second = p.restricted.path().display().to_string();
        let first = p.open.path().display().to_string();
        let reason = &reports[1].rejected[0].reason;
        assert!(
            reason.contains(&first) && reason.contains(&second),
            "{reason}"
        );
        wait_for("api/status to name both", || {
            let status = status_json(&server);
            status["repositories"][1]["packages"]["shared_pkg"]["rejected"][0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains(&first) && r.contains(&second))
        });
    }
}
