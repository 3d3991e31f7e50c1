//! What a version keeps from its tag over time: the tag's date as `published`, so a
//! listing rebuilt from git is the same, and its archive after the tag is deleted.

use crate::support;

use support::config::one_repository;
use support::git::EPOCH;
use support::server::{TestServer, start};
use support::{GitRepo, pubspec};
use tagpub::auth::token;

const ADMIN: &str = "members:\n  - {email: admin@acme.dev, admin: true}\n";

fn status(server: &TestServer) -> serde_json::Value {
    let secret = token::issue(
        &server.state.store,
        "admin@acme.dev",
        "t",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let (code, _, json) = server
        .client()
        .with_token(secret.secret.expose())
        .get_json("api/status")
        .unwrap();
    assert_eq!(code, 200, "{json}");
    json
}

/// The listing with the server's own address taken out, to compare two servers.
fn listing_text(server: &TestServer, name: &str) -> String {
    let listing = server.client().list(name).unwrap();
    listing.raw.to_string().replace(&server.base_url, "BASE/")
}

/// Regression: `published` was when tagpub first saw the tag, so two registries built
/// from the same repository listed different dates.
#[test]
fn published_is_the_tag_date_so_a_listing_rebuilt_from_git_is_identical() {
    let repo = GitRepo::init();
    repo.release("dated", "1.0.0", "v1.0.0"); // commit at EPOCH
    repo.write("pubspec.yaml", pubspec("dated", "1.1.0"));
    repo.commit("release 1.1.0"); // at EPOCH + 60
    repo.tag_annotated("v1.1.0", "Release 1.1.0"); // tagged at EPOCH + 120
    let config = one_repository(repo.path());
    let first_dir = tempfile::tempdir().unwrap();
    let first = start(first_dir.path(), "", &config);
    first.sync();
    let listing = first.client().list("dated").unwrap();
    let published = |v: &str| listing.version(v).unwrap().entry["published"].clone();
    assert_eq!(published("1.0.0"), tagpub::clock::rfc3339(EPOCH));
    assert_eq!(published("1.1.0"), tagpub::clock::rfc3339(EPOCH + 120));

    let rebuilt_dir = tempfile::tempdir().unwrap();
    let rebuilt = start(rebuilt_dir.path(), "", &config);
    rebuilt.sync();
    assert_eq!(
        listing_text(&first, "dated"),
        listing_text(&rebuilt, "dated")
    );
}

/// A deleted tag keeps its version served; the deletion is a warning in the pass report
/// and `api/status` until the tag comes back. Checked for a local repository and for a
/// remote one, whose mirror keeps the deleted tag.
#[test]
fn a_deleted_tag_keeps_serving_and_is_reported_until_it_comes_back() {
    for remote in [false, true] {
        let work = GitRepo::init();
        let first = work.release("keeper", "1.0.0", "v1.0.0");
        work.release("keeper", "1.1.0", "v1.1.0");
        let bare = work.bare_clone();
        let url = if remote {
            format!("file://{}", bare.path().display())
        } else {
            work.path().display().to_string()
        };
        let dir = tempfile::tempdir().unwrap();
        let server = start(
            dir.path(),
            "",
            &format!("{ADMIN}repositories:\n  - url: {url}\n    poll_interval: 1h\n"),
        );
        server.sync();
        let before = server.client().list("keeper").unwrap();
        let sha = before.version("1.0.0").unwrap().archive_sha256.clone();

        work.delete_tag("v1.0.0");
        work.push_tags_to(&bare);
        let report = server.sync().remove(0);
        let expected = "tag v1.0.0 was deleted; keeper 1.0.0 keeps being served";
        assert!(
            report.warnings.iter().any(|w| w.starts_with(expected)),
            "remote {remote}: {:?}",
            report.warnings
        );
        let warnings = status(&server)["repositories"][0]["warnings"].clone();
        assert!(
            warnings
                .as_array()
                .unwrap()
                .iter()
                .any(|w| w.as_str().unwrap().starts_with(expected)),
            "{warnings}"
        );
        let after = server.client().list("keeper").unwrap();
        assert_eq!(after.versions(), ["1.0.0", "1.1.0"]);
        let v = after.version("1.0.0").unwrap();
        assert_eq!(v.archive_sha256, sha);
        server
            .client()
            .download(v)
            .expect("the archive is still served");

        work.tag_at("v1.0.0", &first);
        work.push_tags_to(&bare);
        let report = server.sync().remove(0);
        assert!(
            !report.warnings.iter().any(|w| w.contains("was deleted")),
            "remote {remote}: {:?}",
            report.warnings
        );
    }
}
