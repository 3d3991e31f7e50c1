//! Tokens and web sessions in PostgreSQL (store/tokens.rs, store/sessions.rs).

use super::{Postgres, in_transaction, q};
use crate::store::{Error, SessionRecord, SessionStore, TokenRecord, TokenStore};

const COLUMNS: &str = "id, member, name, hash, created, last_used, expires, revoked";

fn from_row(row: &postgres::Row) -> TokenRecord {
    TokenRecord {
        id: row.get(0),
        member: row.get(1),
        name: row.get(2),
        hash: row.get(3),
        created: row.get(4),
        last_used: row.get(5),
        expires: row.get(6),
        revoked: row.get(7),
    }
}

impl TokenStore for Postgres {
    fn insert_token(&self, t: &TokenRecord) -> Result<(), Error> {
        self.conn()?
            .execute(
                &format!("INSERT INTO tokens ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                &[
                    &t.id,
                    &t.member,
                    &t.name,
                    &t.hash,
                    &t.created,
                    &t.last_used,
                    &t.expires,
                    &t.revoked,
                ],
            )
            .map_err(q("storing a token"))?;
        Ok(())
    }

    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, Error> {
        Ok(self
            .conn()?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM tokens WHERE hash = $1"),
                &[&hash],
            )
            .map_err(q("looking up a token"))?
            .map(|r| from_row(&r)))
    }

    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error> {
        Ok(self
            .conn()?
            .query_opt(
                &format!("SELECT {COLUMNS} FROM tokens WHERE id = $1"),
                &[&id],
            )
            .map_err(q("looking up a token"))?
            .map(|r| from_row(&r)))
    }

    fn tokens(&self, member: Option<&str>) -> Result<Vec<TokenRecord>, Error> {
        Ok(self
            .conn()?
            .query(
                &format!(
                    "SELECT {COLUMNS} FROM tokens WHERE $1::TEXT IS NULL OR member = $1 ORDER BY created, id"
                ),
                &[&member],
            )
            .map_err(q("listing tokens"))?
            .iter()
            .map(from_row)
            .collect())
    }

    fn revoke_token(&self, id: &str, now: i64) -> Result<bool, Error> {
        let n = self
            .conn()?
            .execute(
                "UPDATE tokens SET revoked = $2 WHERE id = $1 AND revoked IS NULL",
                &[&id, &now],
            )
            .map_err(q("revoking a token"))?;
        Ok(n == 1)
    }

    fn revoke_member(&self, member: &str, now: i64) -> Result<Vec<String>, Error> {
        in_transaction(&mut *self.conn()?, "revoking tokens", |tx| {
            let mut ids: Vec<String> = tx
                .query(
                    "UPDATE tokens SET revoked = $2 WHERE member = $1 AND revoked IS NULL RETURNING id",
                    &[&member, &now],
                )?
                .iter()
                .map(|r| r.get(0))
                .collect();
            ids.sort();
            Ok(ids)
        })
    }

    fn touch_tokens(&self, uses: &[(String, i64)]) -> Result<(), Error> {
        in_transaction(&mut *self.conn()?, "recording token use", |tx| {
            for (id, at) in uses {
                tx.execute(
                    "UPDATE tokens SET last_used = GREATEST(COALESCE(last_used, 0), $2) WHERE id = $1",
                    &[id, at],
                )?;
            }
            Ok(())
        })
    }
}

impl SessionStore for Postgres {
    fn insert_session(&self, s: &SessionRecord) -> Result<(), Error> {
        in_transaction(&mut *self.conn()?, "storing a session", |tx| {
            // Expired sessions go when a new one comes, as in the embedded store.
            tx.execute(
                "DELETE FROM web_sessions WHERE expires <= $1",
                &[&s.created],
            )?;
            tx.execute(
                "INSERT INTO web_sessions (id_hash, token_id, created, expires) VALUES ($1, $2, $3, $4)",
                &[&s.id_hash, &s.token_id, &s.created, &s.expires],
            )?;
            Ok(())
        })
    }

    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error> {
        Ok(self
            .conn()?
            .query_opt(
                "SELECT id_hash, token_id, created, expires FROM web_sessions WHERE id_hash = $1",
                &[&id_hash],
            )
            .map_err(q("looking up a session"))?
            .map(|r| SessionRecord {
                id_hash: r.get(0),
                token_id: r.get(1),
                created: r.get(2),
                expires: r.get(3),
            }))
    }

    fn remove_session(&self, id_hash: &str) -> Result<(), Error> {
        self.conn()?
            .execute("DELETE FROM web_sessions WHERE id_hash = $1", &[&id_hash])
            .map_err(q("removing a session"))?;
        Ok(())
    }
}
