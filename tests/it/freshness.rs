//! A pushed tag becomes a version without waiting for the poll interval: file watching,
//! coalesced notifications, polling as the safety net, and what the status shows.

use crate::support;

use support::GitRepo;
use support::server::{TestServer, start};
use support::wait::wait_for;

fn listed(server: &TestServer, package: &str, version: &str) -> bool {
    server
        .client()
        .list(package)
        .is_ok_and(|l| l.version(version).is_some())
}

fn key(server: &TestServer) -> String {
    server.state.config.load().repositories[0].key.clone()
}

#[test]
fn a_tag_pushed_to_a_watched_local_bare_repository_is_served_without_any_webhook() {
    let work = GitRepo::init();
    work.release("watched", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {}\n    poll_interval: 1h\n",
            bare.path().display()
        ),
    );
    wait_for("the first pass", || listed(&server, "watched", "1.0.0"));
    work.release("watched", "1.1.0", "v1.1.0");
    work.push_tags_to(&bare);
    wait_for("the pushed tag", || listed(&server, "watched", "1.1.0"));
    // ... and a local working clone too, where tags are made in place.
    work.release("watched", "1.2.0", "v1.2.0");
    work.push_tags_to(&bare);
    wait_for("the second pushed tag", || {
        listed(&server, "watched", "1.2.0")
    });
}

#[test]
fn polling_picks_up_a_tag_when_every_notification_was_lost() {
    let work = GitRepo::init();
    work.release("polled", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    // file:// is mirrored, so nothing watches it: only polling can find the new tag.
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: file://{}\n    poll_interval: 1s\n",
            bare.path().display()
        ),
    );
    wait_for("the first pass", || listed(&server, "polled", "1.0.0"));
    work.release("polled", "2.0.0", "v2.0.0");
    work.push_tags_to(&bare);
    wait_for("the next poll", || listed(&server, "polled", "2.0.0"));
}

#[test]
fn a_burst_of_fifty_notifications_produces_one_fetch() {
    let work = GitRepo::init();
    work.release("bursty", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: file://{}\n    poll_interval: 1h\n",
            bare.path().display()
        ),
    );
    let key = key(&server);
    wait_for("the first pass", || {
        server.state.tracker.fetches(&key) == 1 && !server.state.wake_pending(&key)
    });
    work.release("bursty", "1.1.0", "v1.1.0");
    work.push_tags_to(&bare);
    for _ in 0..50 {
        assert!(server.state.notify(&key));
    }
    wait_for("the fetch", || listed(&server, "bursty", "1.1.0"));
    wait_for("the pass to be recorded", || {
        server.state.tracker.fetches(&key) >= 2
    });
    assert!(
        !server.state.wake_pending(&key),
        "no second fetch is queued"
    );
    assert_eq!(
        server.state.tracker.fetches(&key),
        2,
        "fifty notifications, one fetch"
    );
}

#[test]
fn status_shows_fetches_versions_and_rejections_to_admins_only() {
    let work = GitRepo::init();
    work.release("reported", "1.0.0", "v1.0.0");
    work.release("reported", "1.0.0", "v1.1.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "access:\n  anonymous_read: true\nmembers:\n  - {{email: admin@acme.dev, admin: true}}\n  - {{email: dev@acme.dev}}\nrepositories:\n  - url: {}\n    poll_interval: 1h\n",
            work.path().display()
        ),
    );
    server.sync();
    let token = |m: &str| {
        tagpub::auth::token::issue(&server.state.store, m, "", None, tagpub::clock::now())
            .unwrap()
            .secret
            .expose()
            .to_string()
    };
    assert_eq!(server.client().get_api("api/status").unwrap().status, 401);
    let dev = server.client().with_token(&token("dev@acme.dev"));
    assert_eq!(dev.get_api("api/status").unwrap().status, 403);
    let admin = server.client().with_token(&token("admin@acme.dev"));
    let status = admin.get_api("api/status").unwrap();
    assert_eq!(status.status, 200);
    let body = status.json();
    let repo = &body["repositories"][0];
    assert!(repo["last_fetch"].is_string(), "{repo}");
    assert_eq!(repo["last_fetch_ok"], true);
    assert_eq!(
        repo["packages"]["reported"]["served"][0]["version"],
        "1.0.0"
    );
    assert_eq!(repo["packages"]["reported"]["served"][0]["tag"], "v1.0.0");
    assert_eq!(repo["packages"]["reported"]["rejected_count"], 1);
    assert_eq!(repo["warnings_count"], 0);
    let rejected = &repo["packages"]["reported"]["rejected"][0];
    assert_eq!(rejected["tag"], "v1.1.0");
    assert!(
        rejected["reason"]
            .as_str()
            .unwrap()
            .contains("says version 1.0.0"),
        "{rejected}"
    );

    let metrics = admin.get("metrics").unwrap();
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for needle in [
        "# TYPE tagpub_fetches_total counter",
        "tagpub_fetch_failures_total{repository=",
        "# TYPE tagpub_tag_to_served_seconds histogram",
        "tagpub_tag_to_served_seconds_bucket{le=\"+Inf\"}",
        "tagpub_packages 1",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}
