//! What a failing or hostile upstream meets: archives whose bytes differ from the
//! listing, versions without a hash, a listed sha256 of one of our private archives, an
//! upstream that refuses us, is down, or never answers.

use super::support::server::start;
use super::{Setup, setup, setup_with, stats};

#[test]
fn an_archive_with_other_bytes_than_listed_is_a_502_and_is_not_stored() {
    let s = setup();
    let sha = s.upstream.publish("http", "1.0.0", &[]);
    s.upstream.tamper("http", "1.0.0");
    let client = s.server.client();
    let listing = client.list("http").unwrap();
    let v = listing.version("1.0.0").unwrap();
    for attempt in 1..=2 {
        let answer = client.get_url(&v.archive_url, true).unwrap();
        assert_eq!(answer.status, 502, "attempt {attempt}");
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains("does not match the sha256") && message.contains("http 1.0.0"),
            "{message}"
        );
    }
    assert_eq!(
        s.upstream.count("storage/http-1.0.0.tar.gz"),
        2,
        "asked again, never cached"
    );
    let archives = s.dir.path().join("data/archives");
    let stored: Vec<_> = walk(&archives);
    assert!(
        stored.iter().all(|p| !p.contains(&sha)) && stored.len() == 3,
        "only our own three archives are stored: {stored:?}"
    );
    let counters = stats(&s);
    assert_eq!(counters.upstream_requests["mismatch"], 2);
    assert!(
        counters
            .last_error
            .unwrap()
            .message
            .contains("not served, not stored")
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[test]
fn an_upstream_listing_the_sha256_of_our_private_archive_does_not_get_its_bytes() {
    let s = setup();
    let ours = s.server.client().list("acme_core").unwrap();
    let private_sha = ours
        .version("1.0.0")
        .unwrap()
        .archive_sha256
        .clone()
        .unwrap();
    // The sha256 of a private archive is in every app's pubspec.lock that uses it.
    s.upstream.publish("evil", "1.0.0", &[]);
    s.upstream.list_sha("evil", "1.0.0", &private_sha);
    let client = s.server.client();
    let listing = client.list("evil").unwrap();
    let answer = client
        .get_url(&listing.version("1.0.0").unwrap().archive_url, true)
        .unwrap();
    assert_eq!(
        answer.status, 502,
        "the upstream must serve the bytes itself"
    );
    assert!(!answer.body.starts_with(&[0x1f, 0x8b]), "no archive bytes");
    assert_eq!(s.upstream.count("storage/evil-1.0.0.tar.gz"), 1);
}

#[test]
fn an_upstream_that_refuses_tagpub_is_a_502_never_a_401() {
    // A 401 from our hosted-url would make the client delete its token for it.
    let s = setup();
    s.upstream.refuse_all();
    let answer = s.server.client().get_api("api/packages/http").unwrap();
    assert_eq!(answer.status, 502);
    assert!(answer.header("www-authenticate").is_none());
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("upstream.token_env"), "{message}");
}

#[test]
fn a_version_without_archive_sha256_is_not_served() {
    let s = setup();
    s.upstream.publish("http", "1.0.0", &[]);
    s.upstream.publish("http", "1.1.0", &[]);
    s.upstream.unhash("http", "1.1.0");
    s.upstream.publish("unhashed", "1.0.0", &[]);
    s.upstream.unhash("unhashed", "1.0.0");
    let client = s.server.client();
    assert_eq!(client.list("http").unwrap().versions(), ["1.0.0"]);
    let answer = client.get_api("api/packages/unhashed").unwrap();
    assert_eq!(answer.status, 502);
    assert!(
        answer.text().contains("archive_sha256"),
        "{}",
        answer.text()
    );
}

#[test]
fn stale_listings_and_stored_archives_are_served_while_the_upstream_is_down() {
    let s = setup_with("  listing_ttl: 0s\n", "");
    s.upstream.publish("http", "1.0.0", &[]);
    let client = s.server.client();
    let before = client.list("http").unwrap();
    client.download(before.version("1.0.0").unwrap()).unwrap();
    let Setup {
        upstream, server, ..
    } = s;
    upstream.stop();
    let after = client.list("http").expect("the stale copy");
    assert_eq!(after.raw, before.raw);
    client
        .download(after.version("1.0.0").unwrap())
        .expect("a stored archive needs no upstream");
    let counters = server.state.mirror.stats.snapshot();
    assert!(counters.stale_served >= 1, "{counters:?}");
    assert!(counters.last_error.is_some());
}

#[test]
fn a_never_seen_name_while_the_upstream_is_down_is_a_502_that_says_so() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", dead.local_addr().unwrap());
    drop(dead);
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &format!("upstream:\n  url: {url}\n"));
    let answer = server.client().get_api("api/packages/http").unwrap();
    assert_eq!(answer.status, 502);
    assert_eq!(answer.header("content-type"), Some(tagpub::http::JSON));
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains(&url) && message.contains("try again later"),
        "{message}"
    );
    // Right after, another unknown name fails at once rather than waiting again.
    assert_eq!(
        server.client().get_api("api/packages/meta").unwrap().status,
        502
    );
}

#[test]
fn an_upstream_that_does_not_answer_is_a_504_after_the_timeout() {
    // Accepts connections (the kernel does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", silent.local_addr().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!("upstream:\n  url: {url}\n  timeout: 1s\n"),
    );
    let answer = server.client().get_api("api/packages/http").unwrap();
    assert_eq!(answer.status, 504);
    assert!(
        answer.text().contains("did not answer in time"),
        "{}",
        answer.text()
    );
    assert_eq!(
        server.state.mirror.stats.snapshot().upstream_requests["timeout"],
        1
    );
    drop(silent);
}
