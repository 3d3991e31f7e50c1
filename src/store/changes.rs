//! Noticing what other writers committed: `tagpub` commands write to the data dir while
//! the daemon runs, and the daemon must answer with what they wrote. SQLite counts
//! commits made through other connections (`PRAGMA data_version`); reading the count is
//! cheap enough to do for every authenticated request. With PostgreSQL, every commit
//! notifies a listening thread that bumps a counter in memory
//! (store/postgres/live.rs), so reading it touches no database at all.

use super::{Error, sqlite};
use rusqlite::Connection;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

pub struct Changes {
    source: Counter,
}

enum Counter {
    /// A connection of its own that never writes, so that every commit (by another
    /// process, or by the store's other connections in this one) changes its count.
    Sqlite(Mutex<Connection>),
    /// Bumped by the listener of the shared database.
    Notified(Arc<AtomicI64>),
}

impl Changes {
    pub fn open(path: &Path) -> Result<Changes, Error> {
        Ok(Changes {
            source: Counter::Sqlite(Mutex::new(sqlite::open_connection(path, "")?)),
        })
    }

    pub(super) fn counted(counter: Arc<AtomicI64>) -> Changes {
        Changes {
            source: Counter::Notified(counter),
        }
    }

    /// A number that differs from the one returned before whenever something was
    /// committed to the database in between.
    pub fn counter(&self) -> Result<i64, Error> {
        match &self.source {
            // Prepared once: parsing the pragma cost more than reading it, on every
            // authenticated request.
            Counter::Sqlite(conn) => sqlite::lock(conn)
                .prepare_cached("PRAGMA data_version")
                .and_then(|mut statement| statement.query_row([], |r| r.get(0)))
                .map_err(|source| Error::Query {
                    doing: "reading the change counter",
                    source: Box::new(source),
                }),
            Counter::Notified(n) => Ok(n.load(Ordering::SeqCst)),
        }
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
}
