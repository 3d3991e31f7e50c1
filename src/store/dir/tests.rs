use super::*;
use crate::store::Store;

fn put_archive(data_dir: &Path) {
    let store = Store::open(data_dir).unwrap();
    store.blobs.put(b"an archive").unwrap();
}

#[test]
fn a_fresh_data_dir_is_created_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nested/data");
    Store::open(&data).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&database_path(&data)), 0o600);
    }
}

#[test]
fn a_data_dir_with_archives_and_a_database_without_tables_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    put_archive(dir.path());
    let db = database_path(dir.path());
    std::fs::remove_file(&db).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(&db, suffix));
    }
    // A valid SQLite file, but not tagpub's: someone ran `sqlite3` on a new name.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE TABLE unrelated (x); DROP TABLE unrelated;")
        .unwrap();
    let e = Store::open(dir.path()).err().expect("refused");
    assert!(
        matches!(
            e,
            Error::LostDatabase {
                problem: "holds no tagpub tables",
                ..
            }
        ),
        "{e}"
    );
    std::fs::remove_file(&db).unwrap();
    let e = Store::open(dir.path()).err().expect("refused");
    let text = e.to_string();
    assert!(
        text.contains("is missing") && text.contains("tagpub backup"),
        "{text}"
    );
    assert!(!db.exists(), "the refusal writes nothing");
}

#[test]
fn a_data_dir_that_never_stored_anything_starts_with_a_new_database() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path()).unwrap();
    let db = database_path(dir.path());
    std::fs::remove_file(&db).unwrap();
    std::fs::write(&db, b"").unwrap();
    Store::open(dir.path()).unwrap();
}

#[cfg(unix)]
#[test]
fn an_existing_data_dir_readable_by_others_is_tightened() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    Store::open(&data).unwrap();
    let db = database_path(&data);
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    Store::open(&data).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&db), 0o600);
}
