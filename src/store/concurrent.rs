//! Writers in several processes at once (the daemon and `tagpub` commands): a
//! transaction that reads before it writes takes the write lock first, or SQLite
//! refuses its write when another connection committed in between ("database is
//! locked", without waiting).

use crate::store::{Added, Source, Store, StoredVersion};

fn version(package: &str, v: usize) -> StoredVersion {
    StoredVersion {
        package: package.into(),
        version: format!("1.0.{v}"),
        sha256: format!("{v:064x}"),
        pubspec_json: "{}".into(),
        archive_size: 1,
        published: 1,
        source: Source::Git {
            repo: "r".into(),
            tag: format!("v1.0.{v}"),
            commit: "c".into(),
        },
    }
}

#[test]
fn two_processes_adding_versions_at_once_both_succeed() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    let threads: Vec<_> = ["a", "b", "c"]
        .into_iter()
        .map(|package| {
            let path = dir.path().to_path_buf();
            std::thread::spawn(move || {
                let store = Store::open(&path).unwrap();
                for v in 0..100 {
                    let added = store.catalog.add_version(&version(package, v), None);
                    assert_eq!(added.map_err(|e| crate::report::chain(&e)), Ok(Added::New));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}
