//! Browser sessions of the web UI in the embedded catalog. A session row holds the
//! sha256 of the random session id (the cookie's value) and the id of the token the
//! visitor signed in with, never a token secret: every request checks that token again,
//! so revoking it ends the session at once.

use super::{Error, SessionRecord, SessionStore};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteSessions {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS web_sessions (
    id_hash  TEXT PRIMARY KEY,
    token_id TEXT NOT NULL,
    created  INTEGER NOT NULL,
    expires  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS web_sessions_token ON web_sessions (token_id);
";

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source: rusqlite::Error| Error::Query {
        doing,
        source: Box::new(source),
    }
}

impl SqliteSessions {
    pub fn open(path: &Path) -> Result<SqliteSessions, Error> {
        let conn = super::sqlite::open_connection(path, SCHEMA)?;
        Ok(SqliteSessions {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        super::sqlite::lock(&self.conn)
    }
}

impl SessionStore for SqliteSessions {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), Error> {
        let conn = self.conn();
        // Expired sessions go when a new one comes: sign-ins are rare, so this bounds
        // the table without a loop of its own.
        conn.execute(
            "DELETE FROM web_sessions WHERE expires <= ?1",
            params![s.created],
        )
        .map_err(q("removing expired sessions"))?;
        conn.execute(
            "INSERT INTO web_sessions (id_hash, token_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
            params![s.id_hash, s.token_id, s.created, s.expires],
        )
        .map_err(q("storing a session"))?;
        Ok(())
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error> {
        self.conn()
            .query_row(
                "SELECT id_hash, token_id, created, expires FROM web_sessions WHERE id_hash = ?1",
                params![id_hash],
                |row| {
                    Ok(SessionRecord {
                        id_hash: row.get(0)?,
                        token_id: row.get(1)?,
                        created: row.get(2)?,
                        expires: row.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(q("looking up a session"))
    }

    fn remove_session(&self, id_hash: &str) -> Result<(), Error> {
        self.conn()
            .execute(
                "DELETE FROM web_sessions WHERE id_hash = ?1",
                params![id_hash],
            )
            .map_err(q("removing a session"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{SessionRecord, Store};

    fn record(id: &str, created: i64, expires: i64) -> SessionRecord {
        SessionRecord {
            id_hash: id.into(),
            token_id: "tk_1".into(),
            created,
            expires,
        }
    }

    #[test]
    fn sessions_are_stored_found_removed_and_swept_when_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store
            .sessions
            .insert_session(&record("a", 100, 200))
            .unwrap();
        assert_eq!(
            store.sessions.session("a").unwrap(),
            Some(record("a", 100, 200))
        );
        assert_eq!(store.sessions.session("b").unwrap(), None);
        // A later sign-in sweeps sessions that have expired by then.
        store
            .sessions
            .insert_session(&record("b", 300, 400))
            .unwrap();
        assert_eq!(store.sessions.session("a").unwrap(), None);
        store.sessions.remove_session("b").unwrap();
        assert_eq!(store.sessions.session("b").unwrap(), None);
    }
}
