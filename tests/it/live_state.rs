//! One live state for the daemon and the command line: whatever a `tagpub` command
//! writes to the data dir while the daemon runs is in the daemon's answers once the
//! command returns (a revoked token on the very next request, the rest within a second).

use crate::support;

use std::path::Path;
use std::time::Duration;
use support::command;
use support::server::{TestServer, start};
use support::tarball::package_archive;
use support::wait::wait_within;
use support::{GitRepo, PubClient};
use tagpub::auth::token;

fn config(git: &GitRepo) -> String {
    // A file:// URL is fetched into a mirror, not watched: the daemon would not look at
    // it for an hour by itself.
    format!(
        r#"
access:
  anonymous_read: false
members:
  - {{email: admin@acme.dev, admin: true}}
  - {{email: alice@acme.dev}}
uploads:
  publishers: []
repositories:
  - url: {}
    poll_interval: 1h
"#,
        git.url()
    )
}

/// Runs the `tagpub` binary on the server's config; panics unless it succeeds.
fn tagpub(server: &TestServer, args: &[&str]) -> String {
    let (code, text) = command::tagpub_text(&server.config_path, args);
    assert_eq!(code, 0, "tagpub {args:?} failed: {text}");
    text
}

fn as_member(server: &TestServer, member: &str) -> (PubClient, String) {
    let issued = token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let client = server.client().with_token(issued.secret.expose());
    (client, issued.record.id)
}

fn registry(dir: &Path) -> (TestServer, GitRepo) {
    let git = GitRepo::init();
    git.release("gitpkg", "1.0.0", "v1.0.0");
    let server = start(dir, "", &config(&git));
    server.sync();
    (server, git)
}

#[test]
fn a_token_revoked_with_the_command_line_fails_on_the_very_next_request() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _git) = registry(dir.path());
    let (alice, id) = as_member(&s, "alice@acme.dev");
    // Read once, so the token is in the daemon's cache.
    assert_eq!(alice.get_api("api/packages/gitpkg").unwrap().status, 200);
    assert_eq!(alice.get_api("api/packages/gitpkg").unwrap().status, 200);
    tagpub(&s, &["token", "revoke", &id]);
    assert_eq!(alice.get_api("api/packages/gitpkg").unwrap().status, 401);
}

#[test]
fn a_tag_synced_with_the_command_line_is_served_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (s, git) = registry(dir.path());
    let (admin, _) = as_member(&s, "admin@acme.dev");
    assert_eq!(admin.list("gitpkg").unwrap().versions(), ["1.0.0"]);
    git.release("gitpkg", "1.1.0", "v1.1.0");
    let out = tagpub(&s, &["sync"]);
    assert!(out.contains("new gitpkg 1.1.0"), "{out}");
    wait_within(PROMISE, "the synced tag", || {
        admin.list("gitpkg").unwrap().versions() == ["1.0.0", "1.1.0"]
    });
}

#[test]
fn a_retraction_with_the_command_line_is_served_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _git) = registry(dir.path());
    let (admin, _) = as_member(&s, "admin@acme.dev");
    admin
        .publish(&package_archive("uploaded", "1.0.0", ""))
        .unwrap();
    let listed = |admin: &PubClient| {
        let listing = admin.list("uploaded").unwrap();
        let v = listing.version("1.0.0").unwrap();
        (v.retracted, listing.is_discontinued)
    };
    assert_eq!(listed(&admin), (false, false));
    tagpub(&s, &["package", "retract", "uploaded", "1.0.0"]);
    wait_within(PROMISE, "the retraction", || listed(&admin).0);
    tagpub(&s, &["package", "discontinue", "uploaded"]);
    wait_within(PROMISE, "the discontinuation", || listed(&admin).1);
}

/// Long enough for the watcher (app/live.rs) to look at the database a few times.
const A_FEW_CHECKS: Duration = Duration::from_millis(1500);

#[test]
fn token_writes_rebuild_nothing_but_a_retraction_by_the_command_line_does() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _git) = registry(dir.path());
    let (admin, _) = as_member(&s, "admin@acme.dev");
    admin
        .publish(&package_archive("uploaded", "1.0.0", ""))
        .unwrap();
    std::thread::sleep(A_FEW_CHECKS);
    let before = s.state.index_reloads();
    // Writes that change nothing served, by this process and by another one: token
    // uses flushed, a new token, a revoked one (which still fails at once).
    let (alice, _) = as_member(&s, "alice@acme.dev");
    assert_eq!(alice.get_api("api/packages/gitpkg").unwrap().status, 200);
    s.state.flush_token_uses().unwrap();
    let (bob, id) = as_member(&s, "alice@acme.dev");
    assert_eq!(bob.get_api("api/packages/gitpkg").unwrap().status, 200);
    tagpub(&s, &["token", "revoke", &id]);
    assert_eq!(bob.get_api("api/packages/gitpkg").unwrap().status, 401);
    std::thread::sleep(A_FEW_CHECKS);
    assert_eq!(
        s.state.index_reloads(),
        before,
        "token writes rebuilt the index"
    );
    tagpub(&s, &["package", "retract", "uploaded", "1.0.0"]);
    wait_within(PROMISE, "the retraction", || {
        admin
            .list("uploaded")
            .unwrap()
            .version("1.0.0")
            .unwrap()
            .retracted
    });
    assert!(s.state.index_reloads() > before);
    let metrics = admin.get_api("metrics").unwrap();
    assert!(
        metrics.text().contains(&format!(
            "tagpub_index_reloads_total {}",
            s.state.index_reloads()
        )),
        "{}",
        metrics.text()
    );
}

#[test]
fn a_daemon_starting_does_not_rebuild_the_index_it_just_built() {
    let dir = tempfile::tempdir().unwrap();
    let git = GitRepo::init();
    git.release("gitpkg", "1.0.0", "v1.0.0");
    {
        let first = start(dir.path(), "", &config(&git));
        first.sync();
    }
    let s = start(dir.path(), "", &config(&git));
    std::thread::sleep(A_FEW_CHECKS);
    assert_eq!(s.state.index_reloads(), 0);
}

/// A second is the promise; a few more absorb a busy machine.
const PROMISE: Duration = Duration::from_secs(5);
