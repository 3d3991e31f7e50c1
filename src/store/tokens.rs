//! Tokens in the embedded catalog: only the sha256 of each secret is stored.

use super::{Error, TokenRecord, TokenStore};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteTokens {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tokens (
    id        TEXT PRIMARY KEY,
    member    TEXT NOT NULL,
    name      TEXT NOT NULL,
    hash      TEXT NOT NULL UNIQUE,
    created   INTEGER NOT NULL,
    last_used INTEGER,
    expires   INTEGER,
    revoked   INTEGER
);
CREATE INDEX IF NOT EXISTS tokens_member ON tokens (member);
";

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source: rusqlite::Error| Error::Query {
        doing,
        source: Box::new(source),
    }
}

const COLUMNS: &str = "id, member, name, hash, created, last_used, expires, revoked";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: row.get(0)?,
        member: row.get(1)?,
        name: row.get(2)?,
        hash: row.get(3)?,
        created: row.get(4)?,
        last_used: row.get(5)?,
        expires: row.get(6)?,
        revoked: row.get(7)?,
    })
}

impl SqliteTokens {
    pub fn open(path: &Path) -> Result<SqliteTokens, Error> {
        let conn = super::sqlite::open_connection(path, SCHEMA)?;
        Ok(SqliteTokens {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        super::sqlite::lock(&self.conn)
    }
}

impl TokenStore for SqliteTokens {
    fn insert_token(&self, t: &TokenRecord) -> Result<(), Error> {
        self.conn()
            .execute(
                &format!("INSERT INTO tokens ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    t.id,
                    t.member,
                    t.name,
                    t.hash,
                    t.created,
                    t.last_used,
                    t.expires,
                    t.revoked
                ],
            )
            .map_err(q("storing a token"))?;
        Ok(())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = ?1"),
                [hash],
                from_row,
            )
            .optional()
            .map_err(q("looking up a token"))
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM tokens WHERE id = ?1"),
                [id],
                from_row,
            )
            .optional()
            .map_err(q("looking up a token"))
    }

    fn tokens(&self, member: Option<&str>) -> Result<Vec<TokenRecord>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM tokens WHERE ?1 IS NULL OR member = ?1 ORDER BY created, id"
            ))
            .map_err(q("listing tokens"))?;
        let rows = stmt
            .query_map([member], from_row)
            .map_err(q("listing tokens"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing tokens"))
    }

    fn revoke_token(&self, id: &str, now: i64) -> Result<bool, Error> {
        let n = self
            .conn()
            .execute(
                "UPDATE tokens SET revoked = ?2 WHERE id = ?1 AND revoked IS NULL",
                params![id, now],
            )
            .map_err(q("revoking a token"))?;
        Ok(n == 1)
    }

    fn revoke_member(&self, member: &str, now: i64) -> Result<Vec<String>, Error> {
        let mut conn = self.conn();
        // Immediate: it reads before it writes (store/concurrent.rs).
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q("revoking tokens"))?;
        let ids: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT id FROM tokens WHERE member = ?1 AND revoked IS NULL ORDER BY id")
                .map_err(q("revoking tokens"))?;
            let rows = stmt
                .query_map([member], |r| r.get(0))
                .map_err(q("revoking tokens"))?;
            rows.collect::<Result<_, _>>()
                .map_err(q("revoking tokens"))?
        };
        tx.execute(
            "UPDATE tokens SET revoked = ?2 WHERE member = ?1 AND revoked IS NULL",
            params![member, now],
        )
        .map_err(q("revoking tokens"))?;
        tx.commit().map_err(q("revoking tokens"))?;
        Ok(ids)
    }

    fn touch_tokens(&self, uses: &[(String, i64)]) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(q("recording token use"))?;
        for (id, at) in uses {
            tx.execute(
                "UPDATE tokens SET last_used = MAX(COALESCE(last_used, 0), ?2) WHERE id = ?1",
                params![id, at],
            )
            .map_err(q("recording token use"))?;
        }
        tx.commit().map_err(q("recording token use"))
    }
}
