//! Edges of the mirror: the legacy per-version endpoints for mirrored names, what the
//! web UI shows for them, an `archive_url` on another host than the upstream's (SSRF),
//! and upstream listings that are too large or not listings at all.

use super::support::web::Browser;
use super::{setup, setup_with};

#[test]
fn the_legacy_version_endpoints_serve_mirrored_versions_under_our_hosted_url() {
    let s = setup();
    let sha = s.upstream.publish("http", "1.0.0+1", &[]);
    s.upstream.publish("http", "1.1.0", &[]);
    s.upstream.publish("acme_payments", "1.0.0", &[]);
    let client = s.server.client();
    let base = &s.server.base_url;

    let (status, _, body) = client
        .get_json("api/packages/http/versions/1.0.0+1")
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], "1.0.0+1");
    assert_eq!(body["archive_sha256"], sha.as_str());
    assert_eq!(
        body["archive_url"],
        format!("{base}packages/http/versions/1.0.0%2B1.tar.gz"),
        "ours, never the upstream's"
    );
    assert_eq!(body["pubspec"]["name"], "http");
    let listing = client.list("http").unwrap();
    assert_eq!(listing.raw["versions"][0], body, "the listing's own entry");
    let missing = client.get_api("api/packages/http/versions/9.9.9").unwrap();
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("no version 9.9.9"),
        "{}",
        missing.text()
    );

    // Pre-2.8 clients ask for this path, and follow its redirect.
    let legacy = client.url("api/packages/http/versions/1.1.0/archive.tar.gz");
    let redirect = client.get_url(&legacy, false).unwrap();
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("location"),
        Some(format!("{base}packages/http/versions/1.1.0.tar.gz").as_str())
    );
    let followed = client.get_url(&legacy, true).unwrap();
    assert_eq!(followed.status, 200);
    assert_eq!(followed.body, s.upstream.archive_of("http", "1.1.0"));
    let missing = client
        .get_url(
            &client.url("api/packages/http/versions/9.9.9/archive.tar.gz"),
            false,
        )
        .unwrap();
    assert_eq!(missing.status, 404);

    // A private name: 404 on both, and the upstream is never asked.
    for path in [
        "api/packages/acme_payments/versions/1.0.0",
        "api/packages/acme_payments/versions/1.0.0/archive.tar.gz",
    ] {
        let answer = client.get_url(&client.url(path), false).unwrap();
        assert_eq!(answer.status, 404, "{path}");
    }
    assert_eq!(s.upstream.count_prefix("api/packages/acme_payments"), 0);
}

#[test]
fn legacy_version_endpoints_of_mirrored_names_need_what_the_listing_needs() {
    let s = setup_with(
        "",
        "access:\n  anonymous_read: false\nmembers:\n  - {email: dev@acme.dev}\n",
    );
    s.upstream.publish("http", "1.0.0", &[]);
    let anonymous = s.server.client();
    for path in [
        "api/packages/http/versions/1.0.0",
        "api/packages/http/versions/1.0.0/archive.tar.gz",
    ] {
        let answer = anonymous.get_url(&anonymous.url(path), false).unwrap();
        assert_eq!(answer.status, 401, "{path}");
    }
    assert_eq!(s.upstream.count_prefix("api/"), 0, "nothing for strangers");
}

/// The text of a page with `` `name` `` replaced, to compare pages of different names.
fn page_text(browser: &Browser, path: &str, name: &str) -> (u16, String) {
    let page = browser.get(path);
    (
        page.status,
        page.text().replace(&format!("`{name}`"), "`NAME`"),
    )
}

#[test]
fn the_web_ui_tells_nothing_of_mirrored_private_or_denied_names_and_asks_no_upstream() {
    let s = setup_with("  deny: [collection_evil]\n", "");
    for name in ["http", "acme_payments", "collection_evil"] {
        s.upstream.publish(name, "1.0.0", &[]);
    }
    // `http` is mirrored and cached; the others are refused by `private` and `deny`.
    s.server.client().list("http").unwrap();
    let asked = s.upstream.count_prefix("api/");
    let browser = Browser::new(&s.server.base_url);
    let unknown = page_text(&browser, "packages/no_such_name", "no_such_name");
    assert_eq!(unknown.0, 404);
    for name in ["http", "acme_payments", "collection_evil", "Acme_Payments"] {
        for (path, baseline) in [
            (format!("packages/{name}"), "packages/no_such_name"),
            (
                format!("packages/{name}/versions/1.0.0"),
                "packages/no_such_name/versions/1.0.0",
            ),
        ] {
            let page = page_text(&browser, &path, name);
            let expected = page_text(&browser, baseline, "no_such_name");
            assert_eq!(page, expected, "{path}: as for a name nobody has");
        }
        let file = browser.get(&format!("packages/{name}/versions/1.0.0/files/README.md"));
        assert_eq!(file.status, 404, "{name}");
    }
    assert_eq!(
        s.upstream.count_prefix("api/"),
        asked,
        "pages never ask the upstream"
    );
    // The archive itself is the API's, whatever the browser accepts.
    let archive = browser.get("packages/http/versions/1.0.0.tar.gz");
    assert_eq!(archive.status, 200);
}

#[test]
fn an_archive_url_on_another_host_than_the_upstream_is_never_fetched() {
    let s = setup();
    s.upstream.publish("http", "1.0.0", &[]);
    s.upstream.publish("http", "1.1.0", &[]);
    // The storage host is another origin: reached only through the upstream's own
    // redirect, never because a listing names it (or any internal address).
    let elsewhere = format!("{}storage/http-1.1.0.tar.gz", s.upstream.storage_url());
    s.upstream.list_url("http", "1.1.0", &elsewhere);
    s.upstream.publish("sneaky", "1.0.0", &[]);
    s.upstream.list_url(
        "sneaky",
        "1.0.0",
        &format!("{}storage/sneaky-1.0.0.tar.gz", s.upstream.storage_url()),
    );
    let client = s.server.client();
    let listing = client.list("http").unwrap();
    assert_eq!(listing.versions(), ["1.0.0"], "1.1.0 is left out");
    let answer = client.get("packages/http/versions/1.1.0.tar.gz").unwrap();
    assert_eq!(answer.status, 404);
    let answer = client.get_api("api/packages/sneaky").unwrap();
    assert_eq!(answer.status, 502);
    assert!(answer.text().contains("own host"), "{}", answer.text());
    assert_eq!(s.upstream.count("storage/http-1.1.0.tar.gz"), 0);
    assert_eq!(s.upstream.count("storage/sneaky-1.0.0.tar.gz"), 0);
    client.download(listing.version("1.0.0").unwrap()).unwrap();
    assert_eq!(s.upstream.count("storage/http-1.0.0.tar.gz"), 1);

    // A copy on disk from before (or written by hand) is not followed either.
    let stored = serde_json::json!({
        "name": "old_copy", "fetched": tagpub::clock::now(),
        "versions": [{"version": "1.0.0", "sha256": "ab".repeat(32),
                      "url": format!("{}storage/old_copy-1.0.0.tar.gz", s.upstream.storage_url()),
                      "pubspec": {"name": "old_copy", "version": "1.0.0"}}]
    });
    let dir = s.dir.path().join("data/mirror/listings");
    std::fs::write(
        dir.join("old_copy.json"),
        serde_json::to_vec(&stored).unwrap(),
    )
    .unwrap();
    let answer = client
        .get("packages/old_copy/versions/1.0.0.tar.gz")
        .unwrap();
    assert_eq!(answer.status, 502);
    assert!(answer.text().contains("another host"), "{}", answer.text());
    assert_eq!(s.upstream.count_prefix("storage/old_copy"), 0);
}

#[test]
fn a_listing_too_large_or_not_a_listing_is_a_clear_502_and_other_names_still_work() {
    let s = setup();
    s.upstream
        .answer_listing_with("declared_huge", vec![b' '; (64 << 20) + 1]);
    s.upstream.answer_listing_endlessly("endless", 65);
    s.upstream
        .answer_listing_with("html", b"<html><body>Bad gateway</body></html>".to_vec());
    s.upstream
        .answer_listing_with("no_versions", br#"{"name": "no_versions"}"#.to_vec());
    s.upstream
        .answer_listing_with("not_an_object", b"[1, 2]".to_vec());
    let client = s.server.client();
    for (i, (name, says)) in [
        ("declared_huge", "more than the 64 MiB tagpub accepts"),
        ("endless", "more than the 64 MiB tagpub accepts"),
        ("html", "not JSON"),
        ("no_versions", "no `versions` list"),
        ("not_an_object", "not a JSON object"),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = client.get_api(&format!("api/packages/{name}")).unwrap();
        assert_eq!(answer.status, 502, "{name}");
        assert_eq!(answer.header("content-type"), Some(tagpub::http::JSON));
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            message.contains(says)
                && message.contains(name)
                && message.contains("tell the registry's admins"),
            "{name}: {message}"
        );
        // A bad answer about one name is not a dead upstream: the next name is
        // asked at once, not after a back-off.
        let fine = format!("fine_{i}");
        s.upstream.publish(&fine, "1.0.0", &[]);
        assert_eq!(client.list(&fine).unwrap().versions(), ["1.0.0"], "{name}");
    }
}
