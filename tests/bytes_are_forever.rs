//! A served archive never changes: not after a restart, a wiped store, a moved tag or a
//! deleted tag.

mod support;

use support::GitRepo;
use support::server::{TestServer, start};

fn config(repo: &GitRepo) -> String {
    format!(
        "repositories:\n  - url: {}\n    poll_interval: 1h\n",
        repo.path().display()
    )
}

fn sha_and_bytes(server: &TestServer, package: &str, version: &str) -> (String, Vec<u8>) {
    let listing = server.client().list(package).expect("listing");
    let v = listing.version(version).expect("version listed");
    let bytes = server.client().download(v).expect("download");
    (v.archive_sha256.clone().expect("sha256 listed"), bytes)
}

#[test]
fn identical_bytes_after_a_restart() {
    let repo = GitRepo::init();
    repo.release("stable", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    server.sync();
    let before = sha_and_bytes(&server, "stable", "1.0.0");
    server.stop();
    // The repository is gone: a restart serves from the store, without git.
    let same_config = config(&repo);
    drop(repo);
    let server = start(dir.path(), "", &same_config);
    assert_eq!(sha_and_bytes(&server, "stable", "1.0.0"), before);
}

#[test]
fn identical_bytes_after_deleting_the_store_and_syncing_again() {
    let repo = GitRepo::init();
    repo.write("lib/extra/deep/file.dart", "// deep\n");
    repo.write_exec("bin/tool", "#!/bin/sh\n");
    repo.release("rebuilt", "1.0.0", "v1.0.0");
    let first = tempfile::tempdir().unwrap();
    let server = start(first.path(), "", &config(&repo));
    server.sync();
    let before = sha_and_bytes(&server, "rebuilt", "1.0.0");
    server.stop();

    // Only the archive file is lost: the next sync rebuilds it from the recorded commit.
    for entry in walk(&first.path().join("data/archives")) {
        std::fs::remove_file(entry).unwrap();
    }
    let server = start(first.path(), "", &config(&repo));
    server.sync();
    assert_eq!(sha_and_bytes(&server, "rebuilt", "1.0.0"), before);
    server.stop();

    // The whole store is lost: building again gives the same bytes.
    let second = tempfile::tempdir().unwrap();
    let server = start(second.path(), "", &config(&repo));
    server.sync();
    assert_eq!(sha_and_bytes(&server, "rebuilt", "1.0.0"), before);
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn moved_tag_keeps_serving_the_first_archive_and_warns() {
    let repo = GitRepo::init();
    repo.release("moving", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    server.sync();
    let before = sha_and_bytes(&server, "moving", "1.0.0");

    repo.write("lib/moving.dart", "// changed after release\n");
    let moved_to = repo.commit("change");
    repo.move_tag("v1.0.0", &moved_to);
    let report = server.sync().remove(0);
    assert_eq!(sha_and_bytes(&server, "moving", "1.0.0"), before);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("tag v1.0.0 moved")),
        "{:?}",
        report.warnings
    );
}

#[test]
fn deleted_tag_keeps_serving() {
    let repo = GitRepo::init();
    repo.release("deleted", "1.0.0", "v1.0.0");
    repo.release("deleted", "1.1.0", "v1.1.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    server.sync();
    let before = sha_and_bytes(&server, "deleted", "1.0.0");
    repo.delete_tag("v1.0.0");
    server.sync();
    assert_eq!(
        server.client().list("deleted").unwrap().versions(),
        ["1.0.0", "1.1.0"]
    );
    assert_eq!(sha_and_bytes(&server, "deleted", "1.0.0"), before);
}

#[test]
fn a_rejected_tag_moved_to_a_fixed_commit_is_served() {
    let repo = GitRepo::init();
    repo.release("fixed", "1.0.0", "v1.1.0"); // forgot to bump the pubspec
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    assert_eq!(server.sync()[0].rejected.len(), 1);
    repo.write("pubspec.yaml", support::pubspec("fixed", "1.1.0"));
    let fix = repo.commit("bump");
    repo.move_tag("v1.1.0", &fix);
    let report = server.sync().remove(0);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(server.client().list("fixed").unwrap().versions(), ["1.1.0"]);
}

#[test]
fn two_tags_for_one_version_serve_one_archive() {
    let repo = GitRepo::init();
    repo.release("twice", "1.0.0", "v1.0.0");
    repo.tag("1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    let report = server.sync().remove(0);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(server.client().list("twice").unwrap().versions(), ["1.0.0"]);
}

/// Regression: an archive whose recorded commit id did not parse was skipped without a
/// word, so it stayed missing while every pass looked clean.
#[test]
fn a_missing_archive_whose_recorded_commit_is_damaged_is_reported() {
    let repo = GitRepo::init();
    repo.release("damaged", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(&repo));
    server.sync();
    server.stop();
    for entry in walk(&dir.path().join("data/archives")) {
        std::fs::remove_file(entry).unwrap();
    }
    let db = rusqlite::Connection::open(dir.path().join("data/tagpub.sqlite3")).unwrap();
    db.execute(
        "UPDATE versions SET source_commit = 'not-a-commit' WHERE package = 'damaged'",
        [],
    )
    .unwrap();
    drop(db);

    let server = start(dir.path(), "", &config(&repo));
    let report = server.sync().remove(0);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("damaged 1.0.0") && w.contains("not-a-commit")),
        "{:?}",
        report.warnings
    );
}
