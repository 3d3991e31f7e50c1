//! The HTTP surface as the client sees it: prefixes, headers, errors, legacy paths.

use crate::support;

use support::GitRepo;
use support::config::one_repository;
use support::server::start;

fn one_release() -> GitRepo {
    let repo = GitRepo::init();
    repo.release("served", "1.0.0", "v1.0.0");
    repo.release("served", "1.0.1+hotfix", "v1.0.1+hotfix");
    repo
}

#[test]
fn everything_is_served_under_a_base_url_path_prefix() {
    let repo = one_release();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "some/prefix/", &one_repository(repo.path()));
    server.sync();
    assert!(server.base_url.ends_with("/some/prefix/"));
    let client = server.client();
    let listing = client.list("served").unwrap();
    for v in &listing.versions {
        assert!(
            v.archive_url.starts_with(&server.base_url),
            "{}",
            v.archive_url
        );
        client.download(v).expect("archive under the prefix");
    }
    // Nothing is served outside the prefix.
    let outside = support::PubClient::new(&format!("http://{}/", server.addr));
    assert!(matches!(
        outside.list("served"),
        Err(support::ClientError::NotFound { .. })
    ));
    let health = client.get("healthz").unwrap();
    assert_eq!(health.status, 200);
}

#[test]
fn json_is_utf8_gzipped_on_request_and_archives_are_never_encoded() {
    let repo = one_release();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &one_repository(repo.path()));
    server.sync();
    let client = server.client();
    let listing = client.list("served").unwrap();
    assert_eq!(
        listing.header("content-type"),
        Some("application/json; charset=utf-8")
    );
    assert_eq!(listing.header("content-encoding"), Some("gzip"));
    assert_eq!(listing.header("vary"), Some("Accept-Encoding"));
    assert!(listing.raw.get("advisoriesUpdated").is_none());
    // Without Accept-Encoding the body is plain JSON.
    let plain = reqwest::blocking::get(client.listing_url("served")).unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let body: serde_json::Value = plain.json().unwrap();
    assert_eq!(body, listing.raw);
    // Asked again, the kept plain body; after a new version, never the old one.
    let again: serde_json::Value = reqwest::blocking::get(client.listing_url("served"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(again, listing.raw);
    repo.release("served", "1.0.2", "v1.0.2");
    server.sync();
    let fresh = client.list("served").unwrap();
    assert!(fresh.version("1.0.2").is_some());
    let plain: serde_json::Value = reqwest::blocking::get(client.listing_url("served"))
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(plain, fresh.raw, "the plain body of the new listing");
    let download = client
        .download_response(listing.version("1.0.1+hotfix").unwrap())
        .unwrap();
    assert!(download.headers.get("content-encoding").is_none());
}

#[test]
fn unknown_packages_and_versions_are_404_with_a_json_error() {
    let repo = one_release();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &one_repository(repo.path()));
    server.sync();
    let client = server.client();
    assert!(matches!(
        client.list("nope"),
        Err(support::ClientError::NotFound { .. })
    ));
    for path in [
        "api/packages/nope",
        "api/packages/served/versions/9.9.9",
        "packages/served/versions/9.9.9.tar.gz",
        "packages/nope/versions/1.0.0.tar.gz",
    ] {
        let r = client.get(path).unwrap();
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json; charset=utf-8"),
            "{path}"
        );
        assert!(
            r.json()["error"]["message"]
                .as_str()
                .unwrap()
                .contains("nope")
                || path.contains("9.9.9")
        );
    }
}

#[test]
fn legacy_version_endpoints_are_served() {
    let repo = one_release();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &one_repository(repo.path()));
    server.sync();
    let client = server.client();
    let info = client.get("api/packages/served/versions/1.0.0").unwrap();
    assert_eq!(info.status, 200);
    let info = info.json();
    assert_eq!(info["version"], "1.0.0");
    assert_eq!(info["pubspec"]["name"], "served");
    let listing = client.list("served").unwrap();
    assert_eq!(
        info["archive_sha256"],
        listing
            .version("1.0.0")
            .unwrap()
            .archive_sha256
            .clone()
            .unwrap()
    );
    let redirected = client
        .get_url(
            &client.url("api/packages/served/versions/1.0.0/archive.tar.gz"),
            true,
        )
        .unwrap();
    assert_eq!(redirected.status, 200);
    assert!(
        redirected
            .url
            .ends_with("packages/served/versions/1.0.0.tar.gz"),
        "{}",
        redirected.url
    );
}
