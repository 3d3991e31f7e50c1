//! The mirror over real HTTP: a stand-in upstream shaped like pub.dev (tests/it/mirror/
//! upstream.rs), tagpub in front of it with its own packages, and the client emulation.
//! The merged view, name collisions, `private`, allow/deny, sha256 mismatches, a dead
//! upstream, coalescing, retraction, discontinuation, advisories and access.

use crate::support;

mod edges;
mod failures;
mod offline;
mod resolve;
mod upstream;

use support::server::{TestServer, start};
use support::{ClientError, GitRepo};
use upstream::Upstream;

/// tagpub with two repositories (`acme_core`, private by pattern, and `widgets`), an
/// upstream, and the stand-in pub.dev behind it.
struct Setup {
    upstream: Upstream,
    server: TestServer,
    _repos: Vec<GitRepo>,
    dir: tempfile::TempDir,
}

fn our_repos() -> Vec<GitRepo> {
    let acme = GitRepo::init();
    acme.release("acme_core", "1.0.0", "v1.0.0");
    acme.release("acme_core", "1.1.0", "v1.1.0");
    let widgets = GitRepo::init();
    widgets.release("widgets", "2.0.0", "v2.0.0");
    vec![acme, widgets]
}

fn repositories(repos: &[GitRepo]) -> String {
    let mut out = String::from("repositories:\n");
    for r in repos {
        out.push_str(&format!(
            "  - url: {}\n    poll_interval: 1h\n",
            r.path().display()
        ));
    }
    out
}

/// `upstream_extra` goes under `upstream:` (indented by the caller), `extra` at the top.
fn setup_with(upstream_extra: &str, extra: &str) -> Setup {
    let upstream = Upstream::start();
    let repos = our_repos();
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "upstream:\n  url: {}\n  private: [\"acme_*\"]\n{upstream_extra}{extra}{}",
        upstream.url,
        repositories(&repos)
    );
    let server = start(dir.path(), "pub/", &body);
    server.sync();
    Setup {
        upstream,
        server,
        _repos: repos,
        dir,
    }
}

fn setup() -> Setup {
    setup_with("", "")
}

fn stats(s: &Setup) -> tagpub::mirror::Snapshot {
    s.server.state.mirror.stats.snapshot()
}

#[test]
fn public_names_come_from_the_upstream_under_our_hosted_url() {
    let s = setup();
    let sha = s.upstream.publish("http", "1.0.0", &[]);
    let client = s.server.client();
    let listing = client.list("http").expect("a mirrored listing");
    support::check_listing_shoulds(&listing);
    let v = listing.version("1.0.0").unwrap();
    assert_eq!(
        v.archive_url,
        format!("{}packages/http/versions/1.0.0.tar.gz", s.server.base_url),
        "the archive is ours, so the client sends our token and never meets the upstream"
    );
    assert_eq!(v.archive_sha256.as_deref(), Some(sha.as_str()));
    assert!(
        !listing.raw.to_string().contains(&s.upstream.url),
        "no upstream URL reaches the client"
    );
    let bytes = client
        .download(v)
        .expect("the archive, verified by the client");
    assert_eq!(bytes, s.upstream.archive_of("http", "1.0.0"));
    assert_eq!(s.upstream.count("api/archives/http-1.0.0.tar.gz"), 1);
    assert_eq!(s.upstream.count("storage/http-1.0.0.tar.gz"), 1);
    let stored = s
        .dir
        .path()
        .join(format!("data/archives/{}/{sha}.tar.gz", &sha[..2]));
    assert!(
        stored.is_file(),
        "kept in the same store as our own archives"
    );
    // From the store from now on: the upstream is not asked for it again.
    client.download(v).unwrap();
    assert_eq!(s.upstream.count("storage/http-1.0.0.tar.gz"), 1);
    // Our own packages are served as before, next to the mirrored ones.
    assert_eq!(client.list("widgets").unwrap().versions(), ["2.0.0"]);
    assert!(
        s.upstream.authorizations().is_empty(),
        "no token configured, none sent"
    );
}

#[test]
fn our_names_are_never_merged_with_the_upstreams_versions() {
    let s = setup();
    // Dependency confusion: the upstream has packages named like ours, with higher
    // versions; one matches `private`, one does not.
    s.upstream.publish("acme_core", "99.0.0", &[]);
    s.upstream.publish("widgets", "99.0.0", &[]);
    let client = s.server.client();
    assert_eq!(
        client.list("acme_core").unwrap().versions(),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(client.list("widgets").unwrap().versions(), ["2.0.0"]);
    let archive = client
        .get("packages/widgets/versions/99.0.0.tar.gz")
        .unwrap();
    assert_eq!(archive.status, 404);
    assert_eq!(s.upstream.count_prefix("api/packages/acme_core"), 0);
    assert_eq!(s.upstream.count_prefix("api/packages/widgets"), 0);
    assert_eq!(s.upstream.count_prefix("api/archives/"), 0);
    // A name that differs from ours only in case is not fetched either.
    s.upstream.publish("Widgets", "1.0.0", &[]);
    assert!(matches!(
        client.list("Widgets"),
        Err(ClientError::NotFound { .. })
    ));
    assert_eq!(s.upstream.count_prefix("api/packages/Widgets"), 0);
}

#[test]
fn a_private_name_we_do_not_have_yet_is_404_and_never_asked_upstream() {
    let s = setup();
    s.upstream.publish("acme_payments", "1.0.0", &[]);
    s.upstream.publish("ACME_Payments", "1.0.0", &[]);
    let client = s.server.client();
    for name in ["acme_payments", "ACME_Payments", "Acme_payments"] {
        assert!(
            matches!(client.list(name), Err(ClientError::NotFound { .. })),
            "{name}"
        );
        let archive = client
            .get(&format!("packages/{name}/versions/1.0.0.tar.gz"))
            .unwrap();
        assert_eq!(archive.status, 404, "{name}");
        let advisories = client
            .get_api(&format!("api/packages/{name}/advisories"))
            .unwrap();
        assert_eq!(advisories.status, 404, "{name}");
    }
    assert_eq!(s.upstream.count_prefix("api/"), 0, "nothing went upstream");
}

#[test]
fn a_name_registry_yaml_declares_as_ours_is_never_fetched_before_its_first_version() {
    let s = setup_with("", "uploads:\n  packages:\n    - {name: widget_next}\n");
    s.upstream.publish("widget_next", "9.0.0", &[]);
    s.upstream.publish("Widget_Next", "9.0.0", &[]);
    let client = s.server.client();
    for name in ["widget_next", "Widget_Next"] {
        assert!(
            matches!(client.list(name), Err(ClientError::NotFound { .. })),
            "{name}"
        );
    }
    assert_eq!(s.upstream.count_prefix("api/"), 0);
}

#[test]
fn allow_and_deny_decide_what_comes_from_upstream_and_a_reload_applies_them() {
    let s = setup_with(
        "  allow: [http, \"coll*\"]\n  deny: [collection_evil]\n",
        "",
    );
    for name in ["http", "path", "collection", "collection_evil"] {
        s.upstream.publish(name, "1.0.0", &[]);
    }
    let client = s.server.client();
    assert!(client.list("http").is_ok());
    assert!(client.list("collection").is_ok());
    for refused in ["path", "collection_evil"] {
        assert!(
            matches!(client.list(refused), Err(ClientError::NotFound { .. })),
            "{refused}"
        );
        assert_eq!(
            s.upstream.count_prefix(&format!("api/packages/{refused}")),
            0
        );
    }
    // Denying a name that is already cached takes effect on reload, cache or not.
    let config = std::fs::read_to_string(&s.server.config_path).unwrap();
    std::fs::write(
        &s.server.config_path,
        config.replace("deny: [collection_evil]", "deny: [collection_evil, http]"),
    )
    .unwrap();
    s.server.state.reload_config().unwrap();
    assert!(matches!(
        client.list("http"),
        Err(ClientError::NotFound { .. })
    ));
    let archive = client.get("packages/http/versions/1.0.0.tar.gz").unwrap();
    assert_eq!(archive.status, 404);
}

#[test]
fn fifty_concurrent_misses_make_one_upstream_request() {
    let s = setup();
    s.upstream.publish("http", "1.0.0", &[]);
    s.upstream.hold();
    let client = s.server.client();
    let bodies: Vec<serde_json::Value> = std::thread::scope(|scope| {
        let requests: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| client.list("http").map(|l| l.raw)))
            .collect();
        wait_for(
            || stats(&s).waiting == 50,
            "50 requests waiting on the upstream",
        );
        s.upstream.release();
        requests
            .into_iter()
            .map(|r| r.join().unwrap().unwrap())
            .collect()
    });
    assert!(bodies.iter().all(|b| *b == bodies[0]));
    assert_eq!(s.upstream.count("api/packages/http"), 1);
    assert_eq!(stats(&s).coalesced, 49);
    // The same for an archive nobody has fetched yet.
    let listing = client.list("http").unwrap();
    let v = listing.version("1.0.0").unwrap();
    s.upstream.hold();
    std::thread::scope(|scope| {
        let downloads: Vec<_> = (0..50)
            .map(|_| scope.spawn(|| client.download(v)))
            .collect();
        wait_for(
            || stats(&s).waiting == 50,
            "50 downloads waiting on the upstream",
        );
        s.upstream.release();
        for d in downloads {
            d.join().unwrap().expect("verified archive");
        }
    });
    assert_eq!(s.upstream.count("storage/http-1.0.0.tar.gz"), 1);
    assert_eq!(stats(&s).coalesced, 49 + 49);
}

pub fn wait_for(condition: impl Fn() -> bool, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn retraction_and_discontinuation_pass_through() {
    let s = setup();
    s.upstream.publish("old_http", "1.0.0", &[]);
    s.upstream.publish("old_http", "1.1.0", &[]);
    s.upstream.retract("old_http", "1.1.0");
    s.upstream.discontinue("old_http", Some("http"));
    let client = s.server.client();
    let listing = client.list("old_http").unwrap();
    assert!(listing.version("1.1.0").unwrap().retracted);
    assert!(!listing.version("1.0.0").unwrap().retracted);
    assert_eq!(listing.latest(), Some("1.0.0"));
    assert!(listing.is_discontinued);
    assert_eq!(listing.replaced_by.as_deref(), Some("http"));
    // A retracted version stays downloadable (docs/protocol.md §8.6).
    client.download(listing.version("1.1.0").unwrap()).unwrap();
}

#[test]
fn advisories_pass_through_for_mirrored_names_and_ours_have_none() {
    let s = setup();
    s.upstream.publish("http", "1.0.0", &[]);
    let advisory = serde_json::json!([{
        "id": "GHSA-xxxx-yyyy-zzzz", "summary": "A bad bug", "aliases": ["CVE-2024-1"],
        "affected": [{"package": {"name": "http", "ecosystem": "Pub"}, "versions": ["1.0.0"]}]
    }]);
    s.upstream.set_advisories("http", advisory.clone());
    let client = s.server.client();
    let listing = client.list("http").unwrap();
    assert_eq!(listing.raw["advisoriesUpdated"], "2024-05-03T14:38:46.123Z");
    let (status, _, body) = client.get_json("api/packages/http/advisories").unwrap();
    assert_eq!(status, 200);
    assert_eq!(body["advisories"], advisory);
    let ours = client.list("widgets").unwrap();
    assert!(ours.raw.get("advisoriesUpdated").is_none());
    let (status, _, _) = client.get_json("api/packages/widgets/advisories").unwrap();
    assert_eq!(status, 404);
}

#[test]
fn mirrored_packages_are_read_like_packages_without_teams() {
    let s = setup_with(
        "",
        "access:\n  anonymous_read: false\nmembers:\n  - {email: dev@acme.dev}\n",
    );
    s.upstream.publish("http", "1.0.0", &[]);
    let anonymous = s.server.client();
    for path in [
        "api/packages/http",
        "api/packages/http/advisories",
        "packages/http/versions/1.0.0.tar.gz",
    ] {
        let answer = anonymous.get_api(path).unwrap();
        assert_eq!(answer.status, 401, "{path}");
        assert!(
            answer
                .header("www-authenticate")
                .unwrap()
                .contains("dart pub token add")
        );
    }
    assert_eq!(
        s.upstream.count_prefix("api/"),
        0,
        "nothing fetched for strangers"
    );
    let token = tagpub::auth::token::issue(
        &s.server.state.store,
        "dev@acme.dev",
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let member = s.server.client().with_token(token.secret.expose());
    let listing = member.list("http").unwrap();
    member.download(listing.version("1.0.0").unwrap()).unwrap();
    assert!(
        s.upstream.authorizations().is_empty(),
        "our members' tokens never reach the upstream"
    );
}

#[test]
fn status_and_metrics_show_the_mirror() {
    let s = setup_with(
        "",
        "metrics:\n  public: true\nmembers:\n  - {email: admin@acme.dev, admin: true}\n",
    );
    s.upstream.publish("http", "1.0.0", &[]);
    let client = s.server.client();
    client.list("http").unwrap();
    client.list("http").unwrap();
    assert!(client.list("nope").is_err());
    let metrics = client.get("metrics").unwrap().text();
    for line in [
        "tagpub_upstream_requests_total{outcome=\"ok\"} 1",
        "tagpub_upstream_requests_total{outcome=\"not_found\"} 1",
        "tagpub_mirror_cache_hits_total 1",
        "tagpub_mirror_cache_misses_total 2",
        "tagpub_mirror_stale_served_total 0",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    assert!(metrics.contains("tagpub_upstream_bytes_total "));
    let token = tagpub::auth::token::issue(
        &s.server.state.store,
        "admin@acme.dev",
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let admin = s.server.client().with_token(token.secret.expose());
    let (status, _, body) = admin.get_json("api/status").unwrap();
    assert_eq!(status, 200);
    let mirror = &body["mirror"];
    assert_eq!(mirror["upstream"], s.upstream.url.as_str());
    assert_eq!(mirror["counters"]["cache_misses"], 2);
    assert_eq!(mirror["counters"]["upstream_requests"]["ok"], 1);
    assert!(mirror["counters"]["bytes_fetched"].as_u64().unwrap() > 0);
}
