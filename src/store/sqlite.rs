//! The embedded catalog: one SQLite file in WAL mode, so the daemon and a `tagpub`
//! command on the same data dir can work at the same time.

use super::sources::{self, NameConflict, SERVED};
use super::{
    Added, Catalog, Error, Ingest, Source, StoredVersion, TagOutcome, TagRecord, VersionSummary,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

pub struct SqliteCatalog {
    conn: Mutex<Connection>,
}

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS versions (
    package       TEXT NOT NULL,
    version       TEXT NOT NULL,
    sha256        TEXT NOT NULL,
    pubspec_json  TEXT NOT NULL,
    archive_size  INTEGER NOT NULL,
    published     INTEGER NOT NULL,
    source_repo   TEXT NOT NULL,
    source_tag    TEXT NOT NULL,
    source_commit TEXT NOT NULL,
    PRIMARY KEY (package, version)
);
CREATE TABLE IF NOT EXISTS tags (
    repo     TEXT NOT NULL,
    tag      TEXT NOT NULL,
    package  TEXT NOT NULL,
    commit_id TEXT NOT NULL,
    version  TEXT,
    reason   TEXT,
    PRIMARY KEY (repo, tag, package)
);
CREATE TABLE IF NOT EXISTS warnings (
    repo    TEXT NOT NULL,
    tag     TEXT NOT NULL,
    message TEXT NOT NULL,
    created INTEGER NOT NULL,
    PRIMARY KEY (repo, tag, message)
);
";

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source: rusqlite::Error| Error::Query {
        doing,
        source: Box::new(source),
    }
}

impl SqliteCatalog {
    pub fn open(path: &Path) -> Result<SqliteCatalog, Error> {
        let conn = open_connection(path, SCHEMA)?;
        migrate(&conn).map_err(|source| Error::OpenCatalog {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        // One source per package name (store/sources.rs): its own step, after the
        // columns it reads exist.
        sources::migrate(&conn).map_err(|source| Error::OpenCatalog {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        Ok(SqliteCatalog {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        lock(&self.conn)
    }

    fn query_summaries(
        &self,
        filter: &str,
        arg: Option<&str>,
    ) -> Result<Vec<VersionSummary>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM versions {SERVED} {filter}"
            ))
            .map_err(q("listing versions"))?;
        let rows = stmt
            .query_map([arg], summary_from_row)
            .map_err(q("listing versions"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing versions"))
    }
}

/// Opens the SQLite file shared by the catalog and the tokens, in WAL mode so the
/// daemon and `tagpub` commands can use it at once, and applies `schema`.
pub(super) fn open_connection(path: &Path, schema: &str) -> Result<Connection, Error> {
    let open_err = |source: rusqlite::Error| Error::OpenCatalog {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    if let Some(dir) = path.parent() {
        // A missing data dir is created; any real problem surfaces from `open`.
        let _ = std::fs::create_dir_all(dir);
    }
    let conn = Connection::open(path).map_err(open_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(open_err)?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(open_err)?;
    // FULL: a version acknowledged in the catalog survives power loss, matching the
    // fsync'd archive files it points to.
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(open_err)?;
    conn.execute_batch(schema).map_err(open_err)?;
    Ok(conn)
}

/// Locks a connection; a panic while holding the lock cannot leave SQLite inconsistent
/// (it has its own transactions), so a poisoned lock is still safe to use.
pub(super) fn lock(conn: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|p| p.into_inner())
}

/// What [`summary_from_row`] reads.
const SUMMARY_COLUMNS: &str =
    "package, version, sha256, archive_size, source_repo, source_tag, source_commit, uploader";

fn summary_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionSummary> {
    Ok(VersionSummary {
        package: row.get(0)?,
        version: row.get(1)?,
        sha256: row.get(2)?,
        archive_size: row.get::<_, i64>(3)? as u64,
        source: source_from_row(row, 4)?,
    })
}

/// The source of a version from the columns `source_repo, source_tag, source_commit,
/// uploader`, starting at column `first`.
fn source_from_row(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Source> {
    Ok(match row.get::<_, Option<String>>(first + 3)? {
        Some(uploader) => Source::Upload { uploader },
        None => Source::Git {
            repo: row.get(first)?,
            tag: row.get(first + 1)?,
            commit: row.get(first + 2)?,
        },
    })
}

pub(super) fn version_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredVersion> {
    Ok(StoredVersion {
        package: row.get(0)?,
        version: row.get(1)?,
        sha256: row.get(2)?,
        pubspec_json: row.get(3)?,
        archive_size: row.get::<_, i64>(4)? as u64,
        published: row.get(5)?,
        source: source_from_row(row, 6)?,
    })
}

pub(super) const VERSION_COLUMNS: &str = "package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit, uploader";

/// Columns added after the first release of the schema, added in place to catalogs
/// created before them.
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // IMMEDIATE: two processes opening a new catalog at once would both add the column.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let has_uploader: bool = tx
        .prepare("SELECT 1 FROM pragma_table_info('versions') WHERE name = 'uploader'")?
        .exists([])?;
    if !has_uploader {
        tx.execute_batch("ALTER TABLE versions ADD COLUMN uploader TEXT")?;
    }
    tx.commit()
}

fn upsert_tag(conn: &Connection, tag: &TagRecord) -> rusqlite::Result<()> {
    let (version, reason) = match &tag.outcome {
        TagOutcome::Served { version } => (Some(version.as_str()), None),
        TagOutcome::Rejected { reason } => (None, Some(reason.as_str())),
    };
    conn.prepare_cached(
        "INSERT INTO tags (repo, tag, package, commit_id, version, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (repo, tag, package) DO UPDATE SET commit_id = ?4, version = ?5, reason = ?6",
    )?
    .execute(params![tag.repo, tag.tag, tag.package, tag.commit, version, reason])?;
    Ok(())
}

/// Adds a version inside the caller's write transaction, which must commit only on
/// [`Added::New`]: the one-source check, an existing version, the insert.
pub(super) fn add_version_in(
    tx: &Connection,
    v: &StoredVersion,
    tag: Option<&TagRecord>,
) -> Result<Added, Error> {
    if let Some(owner) = sources::other_owner(tx, v).map_err(q("adding a version"))? {
        return Ok(Added::OtherSource(owner));
    }
    let existing = tx
        .query_row(
            &format!("SELECT {VERSION_COLUMNS} FROM versions WHERE package = ?1 AND version = ?2"),
            params![v.package, v.version],
            version_from_row,
        )
        .optional()
        .map_err(q("adding a version"))?;
    if let Some(existing) = existing {
        return Ok(Added::AlreadyExists(existing));
    }
    let (repo, source_tag, commit, uploader) = match &v.source {
        Source::Git { repo, tag, commit } => (repo.as_str(), tag.as_str(), commit.as_str(), None),
        Source::Upload { uploader } => ("", "", "", Some(uploader.as_str())),
    };
    tx.prepare_cached(&format!(
        "INSERT INTO versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    ))
    .and_then(|mut statement| {
        statement.execute(params![
            v.package,
            v.version,
            v.sha256,
            v.pubspec_json,
            v.archive_size as i64,
            v.published,
            repo,
            source_tag,
            commit,
            uploader
        ])
    })
    .map_err(q("adding a version"))?;
    if let Some(tag) = tag {
        upsert_tag(tx, tag).map_err(q("adding a version"))?;
    }
    Ok(Added::New)
}

fn insert_warning(
    conn: &Connection,
    repo: &str,
    tag: &str,
    message: &str,
) -> rusqlite::Result<bool> {
    let n = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO warnings (repo, tag, message, created) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![repo, tag, message, crate::clock::now()])?;
    Ok(n == 1)
}

impl Catalog for SqliteCatalog {
    fn summaries(&self, package: Option<&str>) -> Result<Vec<VersionSummary>, Error> {
        self.query_summaries("WHERE ?1 IS NULL OR package = ?1", package)
    }

    fn each_summary(&self, each: &mut dyn FnMut(VersionSummary)) -> Result<(), Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {SUMMARY_COLUMNS} FROM versions {SERVED}"))
            .map_err(q("listing versions"))?;
        let mut rows = stmt.query([]).map_err(q("listing versions"))?;
        while let Some(row) = rows.next().map_err(q("listing versions"))? {
            each(summary_from_row(row).map_err(q("listing versions"))?);
        }
        Ok(())
    }

    fn summaries_from_repo(&self, repo: &str) -> Result<Vec<VersionSummary>, Error> {
        self.query_summaries("WHERE source_repo = ?1 AND uploader IS NULL", Some(repo))
    }

    fn versions_of(&self, package: &str) -> Result<Vec<StoredVersion>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {VERSION_COLUMNS} FROM versions {SERVED} WHERE package = ?1"
            ))
            .map_err(q("reading a package"))?;
        let rows = stmt
            .query_map([package], version_from_row)
            .map_err(q("reading a package"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading a package"))
    }

    fn owner(&self, package: &str) -> Result<Option<Source>, Error> {
        sources::first_owned(&self.conn(), package)
            .map(|v| v.map(|v| v.source))
            .map_err(q("finding a package's owner"))
    }

    fn tag_records(&self, repo: &str) -> Result<Vec<TagRecord>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT tag, package, commit_id, version, reason FROM tags WHERE repo = ?1 ORDER BY tag")
            .map_err(q("listing tags"))?;
        let rows = stmt
            .query_map([repo], |row| {
                let version: Option<String> = row.get(3)?;
                let reason: Option<String> = row.get(4)?;
                Ok(TagRecord {
                    repo: repo.to_string(),
                    tag: row.get(0)?,
                    package: row.get(1)?,
                    commit: row.get(2)?,
                    outcome: match version {
                        Some(version) => TagOutcome::Served { version },
                        None => TagOutcome::Rejected {
                            reason: reason.unwrap_or_default(),
                        },
                    },
                })
            })
            .map_err(q("listing tags"))?;
        rows.collect::<Result<_, _>>().map_err(q("listing tags"))
    }

    fn add_version(&self, v: &StoredVersion, tag: Option<&TagRecord>) -> Result<Added, Error> {
        let mut conn = self.conn();
        // IMMEDIATE: the owner check and the insert see one state even when another
        // process writes at the same time (a deferred read would fail to upgrade).
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q("adding a version"))?;
        let added = add_version_in(&tx, v, tag)?;
        if added == Added::New {
            tx.commit().map_err(q("adding a version"))?;
        }
        Ok(added)
    }

    fn ingest(&self, writes: &[Ingest]) -> Result<Vec<Added>, Error> {
        let mut conn = self.conn();
        // IMMEDIATE, as in `add_version`.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q("storing new versions"))?;
        let mut outcomes = Vec::new();
        for write in writes {
            match write {
                Ingest::Tag(tag) => upsert_tag(&tx, tag).map_err(q("recording a tag"))?,
                Ingest::Version {
                    version,
                    tag,
                    warnings,
                } => {
                    let added = add_version_in(&tx, version, Some(tag))?;
                    match &added {
                        Added::New => {
                            for message in warnings {
                                insert_warning(&tx, &tag.repo, &tag.tag, message)
                                    .map_err(q("recording a warning"))?;
                            }
                        }
                        Added::AlreadyExists(existing) if existing.sha256 == version.sha256 => {
                            upsert_tag(&tx, tag).map_err(q("recording a tag"))?
                        }
                        Added::AlreadyExists(_) | Added::OtherSource(_) => {}
                    }
                    outcomes.push(added);
                }
            }
        }
        tx.commit().map_err(q("storing new versions"))?;
        Ok(outcomes)
    }

    fn record_tag(&self, tag: &TagRecord) -> Result<(), Error> {
        upsert_tag(&self.conn(), tag).map_err(q("recording a tag"))
    }

    fn add_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error> {
        insert_warning(&self.conn(), repo, tag, message).map_err(q("recording a warning"))
    }

    fn remove_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error> {
        let n = self
            .conn()
            .execute(
                "DELETE FROM warnings WHERE repo = ?1 AND tag = ?2 AND message = ?3",
                params![repo, tag, message],
            )
            .map_err(q("removing a warning"))?;
        Ok(n == 1)
    }

    fn record_names(&self, repo: &str, names: Option<&[String]>) -> Result<(), Error> {
        sources::record_names(&mut self.conn(), repo, names, crate::clock::now())
            .map_err(q("recording a repository's packages"))
    }

    fn names_by_repo(&self) -> Result<BTreeMap<String, BTreeSet<String>>, Error> {
        sources::names_by_repo(&self.conn()).map_err(q("listing repositories' packages"))
    }

    fn conflicts(&self) -> Result<Vec<NameConflict>, Error> {
        sources::conflicts(&self.conn()).map_err(q("listing package name conflicts"))
    }

    fn warnings(&self, repo: &str) -> Result<Vec<(String, String)>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare("SELECT tag, message FROM warnings WHERE repo = ?1 ORDER BY created, tag")
            .map_err(q("listing warnings"))?;
        let rows = stmt
            .query_map([repo], |row| Ok((row.get(0)?, row.get(1)?)))
            .map_err(q("listing warnings"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("listing warnings"))
    }
}

#[cfg(test)]
mod tests;
