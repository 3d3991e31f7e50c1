//! The SQLite catalog: a version is written once and survives reopening.

use super::*;

fn version(v: &str, sha: &str) -> StoredVersion {
    StoredVersion {
        package: "foo".into(),
        version: v.into(),
        sha256: sha.into(),
        pubspec_json: "{}".into(),
        archive_size: 3,
        published: 1,
        source: Source::Git {
            repo: "r".into(),
            tag: format!("v{v}"),
            commit: "c".into(),
        },
    }
}

fn served(tag: &str, v: &str) -> TagRecord {
    TagRecord {
        repo: "r".into(),
        tag: tag.into(),
        commit: "c".into(),
        package: "foo".into(),
        outcome: TagOutcome::Served { version: v.into() },
    }
}

#[test]
fn a_version_is_written_once_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.sqlite3");
    let cat = SqliteCatalog::open(&path).unwrap();
    assert_eq!(
        cat.add_version(&version("1.0.0", "aa"), Some(&served("v1.0.0", "1.0.0")))
            .unwrap(),
        Added::New
    );
    let again = cat
        .add_version(&version("1.0.0", "bb"), Some(&served("1.0.0", "1.0.0")))
        .unwrap();
    assert_eq!(again, Added::AlreadyExists(version("1.0.0", "aa")));
    drop(cat);
    let cat = SqliteCatalog::open(&path).unwrap();
    assert_eq!(
        cat.versions_of("foo").unwrap(),
        vec![version("1.0.0", "aa")]
    );
    assert_eq!(
        cat.tag_records("r").unwrap(),
        vec![served("v1.0.0", "1.0.0")]
    );
    assert!(cat.add_warning("r", "v1", "moved").unwrap());
    assert!(!cat.add_warning("r", "v1", "moved").unwrap());
    assert_eq!(
        cat.warnings("r").unwrap(),
        vec![("v1".to_string(), "moved".to_string())]
    );
}
