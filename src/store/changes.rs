//! Noticing what other writers committed: `tagpub` commands write to the data dir while
//! the daemon runs, and the daemon must answer with what they wrote. It is read for every
//! authenticated request, so it must cost next to nothing.
//!
//! SQLite in WAL mode keeps a header in its shared-memory file (`catalog.db-shm`, the
//! "wal-index", whose layout is part of SQLite's documented file format) that every
//! commit rewrites, whichever connection or process made it, before that commit
//! returns. Reading its first 48 bytes is one `pread` without a lock; `PRAGMA
//! data_version`, which says the same, takes SQLite's file locks (two `fcntl` calls) and
//! a mutex shared by every request, and cost a third of an authenticated listing's
//! throughput. The pragma is still the answer when the file is not what we expect. With
//! PostgreSQL, every commit notifies a listening thread that bumps a counter in memory
//! (store/postgres/live.rs), so reading it touches no database at all.
//!
//! Most commits change nothing that is served: token uses, web sessions, audit entries,
//! upload staging. The catalog generation ([`Changes::catalog`]) moves only with the
//! tables the served index is built from (`Index::load`, `index::settings`), so the
//! daemon rebuilds its index only when it has to (app/live.rs). The database keeps it
//! itself, so no writer (another process, an older command) can forget it: in SQLite
//! triggers bump a one-row table in the writing transaction; PostgreSQL names the
//! changed table in its notification.

use super::{Error, sqlite};
use rusqlite::Connection;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub struct Changes {
    source: Counter,
}

enum Counter {
    /// A connection of its own that never writes, so that every commit (by another
    /// process, or by the store's other connections in this one) changes its count; and
    /// the database's wal-index, when it has the layout we know ([`WalIndex`]).
    Sqlite(Mutex<Connection>, Option<WalIndex>),
    /// Bumped by the listener of the shared database.
    Notified(Arc<AtomicI64>, Arc<AtomicI64>),
}

/// The tables the served index is built from: versions and who owns a name
/// (`Catalog::each_summary`), the state of uploaded packages (`Publishing::packages`).
pub(super) const CATALOG_TABLES: &[&str] = &[
    "versions",
    "package_sources",
    "uploaded_packages",
    "uploaders",
    "retractions",
];

/// The SQLite generation of the catalog: one row, bumped by a trigger on every row
/// written to a table of [`CATALOG_TABLES`], in the writer's transaction.
fn sqlite_generation_schema() -> String {
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS catalog_generation (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
         INSERT OR IGNORE INTO catalog_generation (id, n) VALUES (1, 0);\n",
    );
    for table in CATALOG_TABLES {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            let lower = event.to_lowercase();
            sql.push_str(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_{lower}_generation AFTER {event} ON {table}
                 BEGIN UPDATE catalog_generation SET n = n + 1 WHERE id = 1; END;\n"
            ));
        }
    }
    sql
}

impl Changes {
    /// Opens the counter of the SQLite database at `path`, after the tables of
    /// [`CATALOG_TABLES`] exist (the store opens it last); adds the catalog generation
    /// to a database made before it.
    pub fn open(path: &Path) -> Result<Changes, Error> {
        // In one write transaction: two processes opening a new database at once.
        let schema = format!("BEGIN IMMEDIATE;\n{}COMMIT;", sqlite_generation_schema());
        let conn = sqlite::open_connection(path, &schema)?;
        let index = WalIndex::open(&conn, path);
        Ok(Changes {
            source: Counter::Sqlite(Mutex::new(conn), index),
        })
    }

    /// Counters bumped by the listener of the shared database: every commit, and those
    /// that touched a table of [`CATALOG_TABLES`].
    pub(super) fn counted(all: Arc<AtomicI64>, catalog: Arc<AtomicI64>) -> Changes {
        Changes {
            source: Counter::Notified(all, catalog),
        }
    }

    /// A number that differs from the one returned before whenever something was
    /// committed to the database in between.
    pub fn counter(&self) -> Result<i64, Error> {
        match &self.source {
            Counter::Sqlite(_, Some(index)) => index.generation(),
            // Prepared once: parsing the pragma cost more than reading it.
            Counter::Sqlite(conn, None) => sqlite::lock(conn)
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut statement| statement.query_row([], |r| r.get(0)))
                .map_err(|source| Error::Query {
                    doing: "reading the change counter",
                    source: Box::new(source),
                }),
            Counter::Notified(n, _) => Ok(n.load(Ordering::SeqCst)),
        }
    }

    /// A number that differs from the one returned before whenever something the
    /// served index is built from was committed in between. Read it after
    /// [`Changes::counter`] and before reading the catalog: a commit in between is then
    /// seen again, never missed.
    pub fn catalog(&self) -> Result<i64, Error> {
        match &self.source {
            Counter::Sqlite(conn, _) => sqlite::lock(conn)
                .prepare_cached("SELECT n FROM catalog_generation WHERE id = 1")
                .and_then(|mut statement| statement.query_row([], |r| r.get(0)))
                .map_err(|source| Error::Query {
                    doing: "reading the catalog generation",
                    source: Box::new(source),
                }),
            Counter::Notified(_, n) => Ok(n.load(Ordering::SeqCst)),
        }
    }
}

/// The shared-memory file of a database in WAL mode (`NAME-shm`). Its first 48 bytes
/// are the wal-index header: SQLite rewrites them, with a commit counter (`iChange`)
/// incremented, in every commit, before the commit returns. A reader that sees them
/// half-written sees a change that is not there yet: harmless, a cache is emptied once
/// too often.
struct WalIndex {
    file: File,
}

/// The wal-index format version in the first four bytes (SQLite 3.7.0 and every version
/// since).
const WAL_INDEX_VERSION: u32 = 3_007_000;
const WAL_INDEX_HEADER: usize = 48;

impl WalIndex {
    /// The wal-index of the database `conn` has open at `path`, or `None` (and the
    /// pragma answers) when the database is not in WAL mode or the file is not laid out
    /// as we know it.
    fn open(conn: &Connection, path: &Path) -> Option<WalIndex> {
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .ok()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return None;
        }
        let mut shm = path.as_os_str().to_owned();
        shm.push("-shm");
        let index = WalIndex {
            file: File::open(&shm).ok()?,
        };
        match index.header() {
            Ok(header) if header[..4] == WAL_INDEX_VERSION.to_ne_bytes() => Some(index),
            _ => {
                tracing::info!(path = %std::path::PathBuf::from(&shm).display(), "the database's wal-index has an unknown layout; reading its change counter with PRAGMA data_version");
                None
            }
        }
    }

    fn header(&self) -> std::io::Result<[u8; WAL_INDEX_HEADER]> {
        let mut header = [0; WAL_INDEX_HEADER];
        self.file.read_exact_at(&mut header, 0)?;
        Ok(header)
    }

    /// A number that changes with the header, so with every commit.
    fn generation(&self) -> Result<i64, Error> {
        let header = self.header().map_err(|source| Error::Database {
            doing: "read the database's change counter (its -shm file)",
            source: Box::new(source),
        })?;
        let mut hasher = std::hash::DefaultHasher::new();
        header.hash(&mut hasher);
        Ok(hasher.finish() as i64)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, TokenRecord};

    #[test]
    fn commits_through_other_connections_change_the_counter() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let before = store.changes.counter().unwrap();
        assert_eq!(
            store.changes.counter().unwrap(),
            before,
            "nothing committed"
        );
        store
            .tokens
            .insert_token(&TokenRecord {
                id: "tk_1".into(),
                member: "a@b.c".into(),
                name: String::new(),
                hash: "h".into(),
                created: 1,
                last_used: None,
                expires: None,
                revoked: None,
            })
            .unwrap();
        let after_token = store.changes.counter().unwrap();
        assert_ne!(after_token, before, "a commit in this process");
        // Another process is another connection, like a second store on the same dir.
        let other = Store::open(dir.path()).unwrap();
        other.tokens.revoke_token("tk_1", 2).unwrap();
        assert_ne!(store.changes.counter().unwrap(), after_token);
    }

    #[test]
    fn every_commit_moves_the_wal_index_counter_even_across_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert!(
            matches!(store.changes.source, super::Counter::Sqlite(_, Some(_))),
            "a WAL database is read through its wal-index, not the pragma"
        );
        let other = Store::open(dir.path()).unwrap();
        let raw = rusqlite::Connection::open(crate::store::database_path(dir.path())).unwrap();
        let mut seen = std::collections::HashSet::new();
        seen.insert(store.changes.counter().unwrap());
        for i in 0..40 {
            if i % 10 == 5 {
                // The WAL starts over after a full checkpoint: the header must still move.
                raw.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                    .unwrap();
            }
            other
                .tokens
                .insert_token(&TokenRecord {
                    id: format!("tk_{i}"),
                    member: "a@b.c".into(),
                    name: String::new(),
                    hash: format!("h{i}"),
                    created: i,
                    last_used: None,
                    expires: None,
                    revoked: None,
                })
                .unwrap();
            let now = store.changes.counter().unwrap();
            assert_eq!(store.changes.counter().unwrap(), now, "read twice");
            assert!(seen.insert(now), "commit {i} left the counter as before");
        }
    }

    #[test]
    fn only_writes_to_what_the_index_reads_move_the_catalog_generation() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let other = Store::open(dir.path()).unwrap();
        let catalog = store.changes.catalog().unwrap();
        let counter = store.changes.counter().unwrap();
        other
            .tokens
            .insert_token(&TokenRecord {
                id: "tk_1".into(),
                member: "a@b.c".into(),
                name: String::new(),
                hash: "h".into(),
                created: 1,
                last_used: None,
                expires: None,
                revoked: None,
            })
            .unwrap();
        other.tokens.touch_tokens(&[("tk_1".into(), 5)]).unwrap();
        assert_ne!(store.changes.counter().unwrap(), counter);
        assert_eq!(store.changes.catalog().unwrap(), catalog, "token writes");
        other
            .publishing
            .create_package("pkg", "a@b.c", &[], 1)
            .unwrap();
        let created = store.changes.catalog().unwrap();
        assert_ne!(created, catalog, "a new uploaded package");
        assert!(
            other
                .publishing
                .set_retracted("pkg", "1.0.0", true)
                .unwrap()
        );
        assert_ne!(store.changes.catalog().unwrap(), created, "a retraction");
    }
}
