//! The one-source rule against real SQLite files: plain inserts, racing writers,
//! catalogs from before the rule.

use crate::store::{Added, Catalog, Source, SqliteCatalog, StoredVersion};

fn from(repo: &str, version: &str) -> StoredVersion {
    StoredVersion {
        package: "shared_pkg".into(),
        version: version.into(),
        sha256: format!("{repo}{version}"),
        pubspec_json: "{}".into(),
        archive_size: 1,
        published: 10,
        source: Source::Git {
            repo: repo.into(),
            tag: format!("v{version}"),
            commit: "c".into(),
        },
    }
}

#[test]
fn the_store_refuses_a_second_source_even_to_a_plain_insert() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite3");
    let cat = SqliteCatalog::open(&path).unwrap();
    assert_eq!(
        cat.add_version(&from("a", "1.0.0"), None).unwrap(),
        Added::New
    );
    assert!(matches!(
        cat.add_version(&from("b", "2.0.0"), None).unwrap(),
        Added::OtherSource(Source::Git { repo, .. }) if repo == "a"
    ));
    // A name differing only in case is the same name to people.
    let mut confusable = from("b", "2.0.0");
    confusable.package = "Shared_Pkg".into();
    assert!(matches!(
        cat.add_version(&confusable, None).unwrap(),
        Added::OtherSource(Source::Git { repo, .. }) if repo == "a"
    ));
    let mut same_owner = from("a", "1.5.0");
    same_owner.package = "Shared_Pkg".into();
    assert_eq!(cat.add_version(&same_owner, None).unwrap(), Added::New);
    // Code that skips the check (a future bug, another tool) meets the trigger.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let raw = conn.execute(
        "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit)
         VALUES ('shared_pkg', '3.0.0', 'x', '{}', 1, 1, 'b', 'v3.0.0', 'c')",
        [],
    );
    assert!(raw.is_err(), "a second source was inserted");
    let upload = conn.execute(
        "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit, uploader)
         VALUES ('shared_pkg', '4.0.0', 'x', '{}', 1, 1, '', '', '', 'm@x')",
        [],
    );
    assert!(upload.is_err(), "an upload joined a git package");
    let versions: Vec<String> = cat
        .versions_of("shared_pkg")
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["1.0.0"]);
}

#[test]
fn two_writers_racing_for_a_name_leave_one_owner() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        drop(SqliteCatalog::open(&path).unwrap());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|repo| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let cat = SqliteCatalog::open(&path).unwrap();
                    barrier.wait();
                    cat.add_version(&from(repo, &format!("1.0.{}", repo.len())), None)
                        .unwrap()
                })
            })
            .collect();
        let outcomes: Vec<Added> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let new = outcomes.iter().filter(|o| **o == Added::New).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Added::OtherSource(_)))
            .count();
        assert_eq!((new, refused), (1, 1), "{outcomes:?}");
    }
}

#[test]
fn a_catalog_mixed_by_an_earlier_tagpub_serves_its_first_source_and_reports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite3");
    {
        // The catalog as an earlier tagpub left it: no owners, two sources.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(super::super::sqlite::SCHEMA).unwrap();
        conn.execute_batch("ALTER TABLE versions ADD COLUMN uploader TEXT")
            .unwrap();
        for (version, repo, published) in [("2.0.0", "b", 20), ("1.0.0", "a", 10)] {
            conn.execute(
                "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit)
                 VALUES ('shared_pkg', ?1, 'x', '{}', 1, ?2, ?3, 't', 'c')",
                rusqlite::params![version, published, repo],
            )
            .unwrap();
        }
    }
    let cat = SqliteCatalog::open(&path).unwrap();
    assert!(
        matches!(cat.owner("shared_pkg").unwrap(), Some(Source::Git { repo, .. }) if repo == "a")
    );
    let served: Vec<String> = cat
        .summaries(None)
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(served, ["1.0.0"]);
    let conflicts = cat.conflicts().unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (conflicts[0].owner.as_str(), conflicts[0].other.as_str()),
        ("a", "b")
    );
    assert_eq!(conflicts[0].hidden, ["2.0.0"]);
}

#[test]
fn names_held_by_a_repository_are_replaced_and_an_unread_one_is_marked_read() {
    let dir = tempfile::tempdir().unwrap();
    let cat = SqliteCatalog::open(&dir.path().join("c.sqlite3")).unwrap();
    cat.record_names("a", Some(&["x".into(), "y".into()]))
        .unwrap();
    cat.record_names("a", Some(&["y".into()])).unwrap();
    cat.record_names("a", None).unwrap();
    cat.record_names("b", None).unwrap();
    let names = cat.names_by_repo().unwrap();
    assert_eq!(names["a"].iter().collect::<Vec<_>>(), ["y"]);
    assert!(names["b"].is_empty());
}

#[test]
fn finding_a_names_owner_reads_an_index_not_every_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite3");
    let cat = SqliteCatalog::open(&path).unwrap();
    cat.add_version(&from("a", "1.0.0"), None).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let plan: Vec<String> = conn
        .prepare(&format!(
            "EXPLAIN QUERY PLAN SELECT versions.package FROM versions {} WHERE s.name = ?1
             ORDER BY published, versions.rowid LIMIT 1",
            super::SERVED
        ))
        .unwrap()
        .query_map(["SHARED_pkg"], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(
        plan.iter()
            .any(|step| step.starts_with("SEARCH versions USING INDEX")),
        "{plan:#?}"
    );
    assert_eq!(
        cat.owner("SHARED_pkg").unwrap(),
        Some(Source::Git {
            repo: "a".into(),
            tag: "v1.0.0".into(),
            commit: "c".into()
        })
    );
}
