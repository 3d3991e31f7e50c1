//! A served archive never changes: not after a restart, a wiped store, a moved tag or a
//! deleted tag.

use crate::support;

use support::GitRepo;
use support::config::one_repository;
use support::server::{TestServer, start};

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
    let server = start(dir.path(), "", &one_repository(repo.path()));
    server.sync();
    let before = sha_and_bytes(&server, "stable", "1.0.0");
    server.stop();
    // The repository is gone: a restart serves from the store, without git.
    let same_config = one_repository(repo.path());
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
    let server = start(first.path(), "", &one_repository(repo.path()));
    server.sync();
    let before = sha_and_bytes(&server, "rebuilt", "1.0.0");
    server.stop();

    // Only the archive file is lost: the next sync rebuilds it from the recorded commit.
    for entry in walk(&first.path().join("data/archives")) {
        std::fs::remove_file(entry).unwrap();
    }
    let server = start(first.path(), "", &one_repository(repo.path()));
    server.sync();
    assert_eq!(sha_and_bytes(&server, "rebuilt", "1.0.0"), before);
    server.stop();

    // The whole store is lost: building again gives the same bytes.
    let second = tempfile::tempdir().unwrap();
    let server = start(second.path(), "", &one_repository(repo.path()));
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
    let server = start(dir.path(), "", &one_repository(repo.path()));
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
    let server = start(dir.path(), "", &one_repository(repo.path()));
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
    let server = start(dir.path(), "", &one_repository(repo.path()));
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
    let server = start(dir.path(), "", &one_repository(repo.path()));
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
    let server = start(dir.path(), "", &one_repository(repo.path()));
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

    let server = start(dir.path(), "", &one_repository(repo.path()));
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

#[test]
fn fifty_archives_built_in_parallel_are_the_bytes_of_serial_builds() {
    use tagpub::release::{Builders, evaluate, sync_repository};
    let repo = GitRepo::init();
    repo.fast_import(&support::git::releases_stream("many", 50, 12, 6_000));
    let dir = tempfile::tempdir().unwrap();
    let config = support::config::write_config(dir.path(), &one_repository(repo.path()));
    let config = tagpub::config::Config::load(&config).unwrap();

    // Serially, one tag after another, as `tagpub check` and rebuilds build them.
    let git = tagpub::git::Repo::open(repo.path(), "the test repository").unwrap();
    let serial: std::collections::BTreeMap<String, Vec<u8>> = git
        .tags()
        .unwrap()
        .into_iter()
        .map(|tag| {
            let tag = tag.unwrap();
            let version = tag.name.trim_start_matches('v').to_string();
            let release = evaluate(&git, tag.commit, "many", "", &version).unwrap();
            (version, release.archive)
        })
        .collect();
    assert_eq!(serial.len(), 50);

    // In a sync pass: one worker, then more workers than this machine may have cores,
    // with a budget so small that nearly every build waits for the pass.
    for (label, builders) in [
        ("one-worker", Builders::new(1, 64 << 20)),
        ("four-workers", Builders::new(4, 100_000)),
    ] {
        let data = dir.path().join(label);
        let store = tagpub::store::Store::open(&data).unwrap();
        let repository = &config.repositories[0];
        let report = sync_repository(
            repository,
            &config.repositories,
            &store,
            &data.join("mirrors"),
            &builders,
        )
        .unwrap();
        assert_eq!(
            report.new_versions.len(),
            50,
            "{label}: {:?}",
            report.rejected
        );
        let stored = store.catalog.summaries(None).unwrap();
        assert_eq!(stored.len(), 50);
        for v in stored {
            let bytes = store.blobs.get(&v.sha256).unwrap().unwrap();
            assert!(
                bytes == serial[&v.version],
                "{label}: the archive of {} differs from its serial build",
                v.version
            );
        }
    }
}
