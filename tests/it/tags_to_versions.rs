//! Which tags become versions, end to end: real git repositories, a real server, and a
//! client that reads the listing and archives the way `dart pub` does.

use crate::support;

use support::config::one_repository;
use support::server::{TestServer, start};
use support::snapshot::redacted;
use support::{GitRepo, check_listing_shoulds, pubspec};

fn serve(dir: &tempfile::TempDir, repos: &str) -> TestServer {
    let server = start(dir.path(), "", repos);
    server.sync();
    server
}

#[test]
fn single_package_tags_are_listed_and_downloadable() {
    let repo = GitRepo::init();
    repo.release("widgets", "1.0.0", "v1.0.0");
    repo.release("widgets", "1.1.0", "1.1.0");
    repo.release("widgets", "2.0.0", "v2.0.0");
    repo.write("lib/unreleased.dart", "// after the last tag\n");
    repo.commit("work in progress");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &one_repository(repo.path()));

    let listing = server.client().list("widgets").expect("listing");
    check_listing_shoulds(&listing);
    // All of it as served, the archives' hashes included (bytes are forever).
    insta::assert_json_snapshot!(redacted(&listing.raw, &server.base_url));
    assert_eq!(listing.versions(), ["1.0.0", "1.1.0", "2.0.0"]);
    assert_eq!(listing.latest(), Some("2.0.0"));
    let v = listing.version("1.1.0").unwrap();
    assert_eq!(
        v.archive_url,
        format!("{}packages/widgets/versions/1.1.0.tar.gz", server.base_url)
    );
    let files = server
        .client()
        .fetch_package("widgets", "1.1.0")
        .expect("archive");
    assert_eq!(files.pubspec()["version"], "1.1.0");
    assert_eq!(files.paths(), ["lib/", "lib/widgets.dart", "pubspec.yaml"]);
    assert!(files.text("lib/widgets.dart").unwrap().contains("1.1.0"));
    assert_eq!(
        files.pubspec(),
        v.pubspec,
        "the listing pubspec is the archive's"
    );
}

#[test]
fn monorepo_packages_follow_their_own_patterns() {
    let repo = GitRepo::init();
    repo.release_in("packages/foo", "foo", "1.0.0", "foo-v1.0.0");
    repo.release_in("packages/bar", "bar", "0.3.0", "bar-0.3.0");
    repo.release_in("packages/bar", "bar", "0.4.0", "bar-v0.4.0");
    repo.release_in("packages/foo", "foo", "1.2.0", "foo-v1.2.0");
    repo.tag("v9.9.9"); // matches neither package
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        &dir,
        &format!(
            r#"repositories:
  - url: {}
    packages:
      - path: packages/foo
        tag_pattern: "foo-v{{{{version}}}}"
      - name: bar
        path: packages/bar
        tag_pattern: ["bar-v{{{{version}}}}", "bar-{{{{version}}}}"]
"#,
            repo.path().display()
        ),
    );
    let client = server.client();
    assert_eq!(client.list("foo").unwrap().versions(), ["1.0.0", "1.2.0"]);
    assert_eq!(client.list("bar").unwrap().versions(), ["0.3.0", "0.4.0"]);
    let bar = client.fetch_package("bar", "0.3.0").unwrap();
    assert!(
        bar.paths().iter().all(|p| !p.contains("foo")),
        "{:?}",
        bar.paths()
    );
}

#[test]
fn a_package_that_moved_into_a_subdirectory_is_served_from_every_tag() {
    let repo = GitRepo::init();
    repo.release("mover", "1.0.0", "v1.0.0");
    repo.remove("pubspec.yaml");
    repo.remove("lib/mover.dart");
    repo.release_in("pkgs/mover", "mover", "2.0.0", "v2.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(
        &dir,
        &format!(
            "repositories:\n  - url: {}\n    packages:\n      - name: mover\n        path: pkgs/mover\n",
            repo.path().display()
        ),
    );
    let listing = server.client().list("mover").unwrap();
    assert_eq!(listing.versions(), ["1.0.0", "2.0.0"]);
    for v in ["1.0.0", "2.0.0"] {
        let files = server.client().fetch_package("mover", v).unwrap();
        assert_eq!(
            files.paths(),
            ["lib/", "lib/mover.dart", "pubspec.yaml"],
            "{v}"
        );
    }
}

#[test]
fn prereleases_and_build_metadata_are_versions_in_pub_order() {
    let repo = GitRepo::init();
    for v in [
        "1.0.0-dev.1",
        "1.0.0-beta.2",
        "1.0.0-beta.10",
        "1.0.0",
        "1.0.0+1",
        "1.0.0+2",
        "1.1.0-rc.1",
    ] {
        repo.release("pre", v, &format!("v{v}"));
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &one_repository(repo.path()));
    let listing = server.client().list("pre").unwrap();
    assert_eq!(
        listing.versions(),
        [
            "1.0.0-beta.2",
            "1.0.0-beta.10",
            "1.0.0-dev.1",
            "1.0.0",
            "1.0.0+1",
            "1.0.0+2",
            "1.1.0-rc.1"
        ]
    );
    // Stable is preferred over a newer pre-release (docs/protocol.md §7.2).
    assert_eq!(listing.latest(), Some("1.0.0+2"));
    let raw: Vec<&str> = listing.raw["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap())
        .collect();
    assert_eq!(
        raw,
        listing.versions(),
        "versions are sent ascending, like pub.dev"
    );
    let files = server.client().fetch_package("pre", "1.0.0+1").unwrap();
    assert_eq!(files.pubspec()["version"], "1.0.0+1");
}

#[test]
fn annotated_tags_are_peeled_to_their_commit() {
    let repo = GitRepo::init();
    repo.write("pubspec.yaml", pubspec("annotated", "3.1.4"));
    repo.write("lib/annotated.dart", "// pi\n");
    repo.commit("release");
    repo.tag_annotated("v3.1.4", "Release 3.1.4");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &one_repository(repo.path()));
    let files = server.client().fetch_package("annotated", "3.1.4").unwrap();
    assert_eq!(files.text("lib/annotated.dart"), Some("// pi\n"));
}

#[test]
fn every_rejected_tag_has_a_reason() {
    let repo = GitRepo::init();
    repo.release("strict", "1.0.0", "v1.0.0");
    // The pubspec says one version, the tag another.
    repo.release("strict", "1.1.0", "v1.2.0");
    // Another package's name.
    repo.release("other_name", "1.3.0", "v1.3.0");
    // A pubspec that is not YAML.
    repo.write(
        "pubspec.yaml",
        "name: strict\nversion: 1.4.0\n  bad: [indent\n",
    );
    repo.commit("broken pubspec");
    repo.tag("v1.4.0");
    // A path dependency.
    repo.write(
        "pubspec.yaml",
        format!(
            "{}dependencies:\n  helper:\n    path: ../helper\n",
            pubspec("strict", "1.5.0")
        ),
    );
    repo.commit("path dependency");
    repo.tag("v1.5.0");
    // A non-canonical version.
    repo.release("strict", "01.6.0", "v01.6.0");
    // dev_dependencies may use paths.
    repo.write(
        "pubspec.yaml",
        format!(
            "{}dev_dependencies:\n  tools:\n    path: ../tools\n",
            pubspec("strict", "1.7.0")
        ),
    );
    repo.commit("dev path dependency");
    repo.tag("v1.7.0");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &one_repository(repo.path()));
    assert_eq!(
        server.client().list("strict").unwrap().versions(),
        ["1.0.0", "1.7.0"]
    );

    let report = &server.sync()[0];
    let reason = |tag: &str| {
        report
            .rejected
            .iter()
            .find(|p| p.tag == tag)
            .map(|p| p.reason.clone())
            .unwrap_or_else(|| panic!("no rejection recorded for {tag}: {:?}", report.rejected))
    };
    assert!(
        reason("v1.2.0").contains("says version 1.1.0, but the tag says 1.2.0"),
        "{}",
        reason("v1.2.0")
    );
    assert!(
        reason("v1.3.0").contains("other_name"),
        "{}",
        reason("v1.3.0")
    );
    assert!(
        reason("v1.4.0").contains("pubspec.yaml"),
        "{}",
        reason("v1.4.0")
    );
    assert!(reason("v1.5.0").contains("helper"), "{}", reason("v1.5.0"));
    assert!(reason("v01.6.0").contains("1.6.0"), "{}", reason("v01.6.0"));
    assert_eq!(report.rejected.len(), 5, "{:?}", report.rejected);
}

#[test]
fn non_ascii_pubspec_text_round_trips_through_the_listing() {
    let repo = GitRepo::init();
    let description = "Grüße, 日本語, émoji 🎯 and \"quotes\"";
    repo.write(
        "pubspec.yaml",
        format!(
            "name: intl_text\nversion: 1.0.0\ndescription: '{description}'\nauthors: [Zoë Ångström]\nenvironment:\n  sdk: ^3.0.0\n"
        ),
    );
    repo.commit("release");
    repo.tag("v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(&dir, &one_repository(repo.path()));
    let listing = server.client().list("intl_text").unwrap();
    let pubspec = &listing.version("1.0.0").unwrap().pubspec;
    assert_eq!(pubspec["description"], description);
    assert_eq!(pubspec["authors"][0], "Zoë Ångström");
    let files = server.client().fetch_package("intl_text", "1.0.0").unwrap();
    assert_eq!(&files.pubspec(), pubspec);
}

/// Regression: `path: .` (and `./`) was refused as "not a plain path" although it is
/// the usual way to say "the root".
#[test]
fn a_dot_path_serves_the_package_at_the_root() {
    let repo = GitRepo::init();
    repo.release("rooted", "1.0.0", "v1.0.0");
    for path in [".", "./"] {
        let dir = tempfile::tempdir().unwrap();
        let server = serve(
            &dir,
            &format!(
                "repositories:\n  - url: {}\n    poll_interval: 1h\n    packages:\n      - path: \"{path}\"\n",
                repo.path().display()
            ),
        );
        assert_eq!(
            server.client().list("rooted").unwrap().versions(),
            ["1.0.0"]
        );
    }
}
