//! The shared store of several replicas: the catalog, tokens, sessions and uploads in
//! PostgreSQL (docs/architecture.md "Several replicas"). Same semantics as the SQLite
//! store; the rules SQLite enforces with its write lock are enforced here by the
//! database too (a trigger for one source per name, advisory locks around the
//! read-then-write steps), so replicas racing cannot break them.
//!
//! The traits are synchronous: the `postgres` crate (a blocking wrapper of
//! tokio-postgres) with an r2d2 pool, called from blocking threads and commands only.
//!
//! Every table carries a statement trigger that sends `NOTIFY tagpub_changes` in the
//! writing transaction, so a commit by any replica or command reaches every listener
//! ([`live`]) with no write path able to forget it.

pub(super) mod catalog;
pub(super) mod live;
mod publishing;
mod schema;
#[cfg(test)]
mod tests;
mod tokens;

use super::Error;
use postgres::NoTls;
use r2d2_postgres::PostgresConnectionManager;
use std::time::Duration;

pub use live::{Leadership, Wakes};

pub(super) type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;
pub(super) type Conn = r2d2::PooledConnection<PostgresConnectionManager<NoTls>>;

/// Advisory lock keys (one namespace per database): the schema migration, and the
/// leadership of repository syncing.
const MIGRATION_LOCK: i64 = 0x7461_6770_7562_0001;
pub(super) const LEADER_LOCK: i64 = 0x7461_6770_7562_0002;

/// Connections per replica: requests run on blocking threads, a few at a time.
const POOL_SIZE: u32 = 16;

/// The catalog, tokens, sessions and uploads of a PostgreSQL database; cheap to clone.
#[derive(Clone)]
pub struct Postgres {
    pool: Pool,
}

fn q(doing: &'static str) -> impl FnOnce(postgres::Error) -> Error {
    move |e| Error::Query {
        doing,
        source: Box::new(e),
    }
}

fn connect_error(doing: &'static str) -> impl FnOnce(postgres::Error) -> Error {
    move |e| Error::Database {
        doing,
        source: Box::new(e),
    }
}

/// Parses a PostgreSQL URL; the error never repeats the URL (it may hold a password).
pub(super) fn parse_url(url: &str) -> Result<postgres::Config, Error> {
    url.parse::<postgres::Config>().map_err(connect_error(
        "read the PostgreSQL URL of store.database_url_env",
    ))
}

impl Postgres {
    /// Connects to the database at `url` and brings its schema up to date, one
    /// replica at a time (the others wait for the advisory lock, then find it done).
    pub fn open(url: &str) -> Result<Postgres, Error> {
        let mut config = parse_url(url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("tagpub");
        let manager = PostgresConnectionManager::new(config, NoTls);
        let pool = r2d2::Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(15))
            .build(manager)
            .map_err(|e| Error::Database {
                doing: "connect to PostgreSQL",
                source: Box::new(e),
            })?;
        let pg = Postgres { pool };
        schema::migrate(&mut *pg.conn()?)?;
        Ok(pg)
    }

    pub(super) fn conn(&self) -> Result<Conn, Error> {
        self.pool.get().map_err(|e| Error::Database {
            doing: "get a PostgreSQL connection",
            source: Box::new(e),
        })
    }

    /// Sends `NOTIFY tagpub_wake` with `repo`: the leader syncs it soon ([`Wakes`]).
    pub fn forward_wake(&self, repo: &str) -> Result<(), Error> {
        self.conn()?
            .execute("SELECT pg_notify('tagpub_wake', $1)", &[&repo])
            .map_err(q("forwarding a wake-up to the leader"))?;
        Ok(())
    }
}

/// Runs `body` in a transaction that commits when it returns `Ok`.
fn in_transaction<T>(
    conn: &mut postgres::Client,
    doing: &'static str,
    body: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T, postgres::Error>,
) -> Result<T, Error> {
    let mut tx = conn.transaction().map_err(q(doing))?;
    let out = body(&mut tx).map_err(q(doing))?;
    tx.commit().map_err(q(doing))?;
    Ok(out)
}
