//! One source per package name, enforced by SQLite itself.
//!
//! A name comes from one repository (by config key) or from `dart pub publish`, never
//! both and never two repositories: otherwise versions from a restricted repository
//! would be listed, and read, under another repository's readers. The first source
//! that stores a version of a name keeps it for good (bytes are forever: its versions
//! can neither vanish nor be joined by another source's). `package_sources` records
//! that owner, and a trigger on `versions` claims the name on the first insert and
//! aborts any insert from another source, so two writers racing (the daemon and
//! `tagpub sync`, or two sync passes) cannot both win, whatever the Rust code checked
//! before.
//!
//! Names are compared without case: `Foo` from one source and `foo` from another would
//! be told apart by pub but not by people, so they count as one name.
//!
//! Which repository may claim a name that nobody owns yet is decided by config order
//! (`release::claim`), from the names each repository was last seen to hold
//! (`repo_names`, with `repo_reads` telling "read, holds nothing" from "never read").

use super::sqlite::{VERSION_COLUMNS, version_from_row};
use super::{Source, StoredVersion};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::{BTreeMap, BTreeSet};

/// The source of a stored version as `package_sources.source` spells it: the
/// repository's config key, or `''` for `dart pub publish`.
macro_rules! source_of_row {
    () => {
        "(CASE WHEN versions.uploader IS NULL THEN versions.source_repo ELSE '' END)"
    };
}
const SOURCE_OF_ROW: &str = source_of_row!();

/// Joins each version to its package's owner: only versions from the owner are served.
pub(super) const SERVED: &str = concat!(
    "JOIN package_sources s ON s.name = versions.package AND s.source = ",
    source_of_row!()
);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS package_sources (
    name    TEXT PRIMARY KEY COLLATE NOCASE,
    source  TEXT NOT NULL,
    claimed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS repo_names (
    repo TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (repo, name)
);
CREATE TABLE IF NOT EXISTS repo_reads (
    repo TEXT PRIMARY KEY,
    at   INTEGER NOT NULL
);
-- The served-versions join compares names without case (the collation of
-- package_sources.name); without an index of that collation every owner lookup read
-- every version, and a restart over 10,000 packages spent minutes of CPU on it.
CREATE INDEX IF NOT EXISTS versions_package_nocase ON versions (package COLLATE NOCASE);
CREATE TRIGGER IF NOT EXISTS versions_have_one_source BEFORE INSERT ON versions
BEGIN
    INSERT OR IGNORE INTO package_sources (name, source, claimed) VALUES (
        NEW.package,
        CASE WHEN NEW.uploader IS NULL THEN NEW.source_repo ELSE '' END,
        NEW.published);
    SELECT RAISE(ABORT, 'package has another source')
    WHERE (SELECT source FROM package_sources WHERE name = NEW.package)
          IS NOT (CASE WHEN NEW.uploader IS NULL THEN NEW.source_repo ELSE '' END);
END;
";

/// Creates the tables and the trigger. A catalog from before them gets each name's
/// owner from its stored versions: the source of the oldest one, so a catalog that an
/// earlier tagpub filled from two repositories keeps serving what it served first, and
/// hides (and reports) the rest.
pub(super) fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    // IMMEDIATE: a second process opening the catalog at the same time waits, then
    // finds the tables made and filled.
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    let conn = &*tx;
    let existed: bool = conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'package_sources'")?
        .exists([])?;
    conn.execute_batch(SCHEMA)?;
    if !existed {
        conn.execute(
            &format!(
                "INSERT OR IGNORE INTO package_sources (name, source, claimed)
                 SELECT package, {SOURCE_OF_ROW}, published FROM versions
                 ORDER BY published, rowid"
            ),
            [],
        )?;
    }
    tx.commit()
}

/// The oldest served version of `package`, or of a name differing only in case: it
/// names the package's source (store/sources.rs).
pub(super) fn first_owned(
    conn: &Connection,
    package: &str,
) -> rusqlite::Result<Option<StoredVersion>> {
    conn.query_row(
        &format!(
            "SELECT {VERSION_COLUMNS} FROM versions {SERVED} WHERE s.name = ?1
             ORDER BY published, versions.rowid LIMIT 1"
        ),
        [package],
        version_from_row,
    )
    .optional()
}

/// The source owning `v`'s package name when it is not `v`'s own: `v` must not be stored.
pub(super) fn other_owner(
    conn: &Connection,
    v: &StoredVersion,
) -> rusqlite::Result<Option<Source>> {
    let own = match &v.source {
        Source::Git { repo, .. } => repo.as_str(),
        Source::Upload { .. } => "",
    };
    let owner: Option<String> = conn
        .query_row(
            "SELECT source FROM package_sources WHERE name = ?1",
            [&v.package],
            |r| r.get(0),
        )
        .optional()?;
    match owner {
        Some(owner) if owner != own => Ok(first_owned(conn, &v.package)?.map(|f| f.source)),
        _ => Ok(None),
    }
}

/// Records the names repository `repo` holds now, or (with `None`, when it could not
/// be read) that it was tried, keeping what it held before.
pub(super) fn record_names(
    conn: &mut Connection,
    repo: &str,
    names: Option<&[String]>,
    now: i64,
) -> rusqlite::Result<()> {
    // Every pass records its names; an idle one must not cost a write (and an fsync).
    let read_before = conn
        .prepare_cached("SELECT 1 FROM repo_reads WHERE repo = ?1")?
        .exists([repo])?;
    if read_before {
        let Some(names) = names else { return Ok(()) };
        let held: BTreeSet<String> = conn
            .prepare_cached("SELECT name FROM repo_names WHERE repo = ?1")?
            .query_map([repo], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        if held.len() == names.len() && names.iter().all(|n| held.contains(n)) {
            return Ok(());
        }
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    match names {
        Some(names) => {
            tx.execute("DELETE FROM repo_names WHERE repo = ?1", [repo])?;
            for name in names {
                tx.execute(
                    "INSERT OR IGNORE INTO repo_names (repo, name) VALUES (?1, ?2)",
                    params![repo, name],
                )?;
            }
            tx.execute(
                "INSERT INTO repo_reads (repo, at) VALUES (?1, ?2)
                 ON CONFLICT (repo) DO UPDATE SET at = ?2",
                params![repo, now],
            )?;
        }
        None => {
            tx.execute(
                "INSERT OR IGNORE INTO repo_reads (repo, at) VALUES (?1, ?2)",
                params![repo, now],
            )?;
        }
    }
    tx.commit()
}

/// The names each repository that was ever read holds (an empty set: read, holds none).
pub(super) fn names_by_repo(
    conn: &Connection,
) -> rusqlite::Result<BTreeMap<String, BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stmt = conn.prepare("SELECT repo FROM repo_reads")?;
    for repo in stmt.query_map([], |r| r.get::<_, String>(0))? {
        out.entry(repo?).or_default();
    }
    let mut stmt = conn.prepare("SELECT repo, name FROM repo_names")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
        let (repo, name) = row?;
        out.entry(repo).or_default().insert(name);
    }
    Ok(out)
}

/// A package name that another source than its owner holds too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameConflict {
    pub package: String,
    /// The owner's config key, or `""` for `dart pub publish`.
    pub owner: String,
    /// The other repository's config key.
    pub other: String,
    /// Versions stored from `other` before names had one source; never served now.
    pub hidden: Vec<String>,
}

/// Every name held (or once stored) by a repository that does not own it.
pub(super) fn conflicts(conn: &Connection) -> rusqlite::Result<Vec<NameConflict>> {
    let mut found: BTreeMap<(String, String), NameConflict> = BTreeMap::new();
    let mut stmt = conn.prepare(
        "SELECT n.name, s.source, n.repo FROM repo_names n
         JOIN package_sources s ON s.name = n.name WHERE s.source != n.repo",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    for row in rows {
        let (package, owner, other): (String, String, String) = row?;
        found
            .entry((package.clone(), other.clone()))
            .or_insert(NameConflict {
                package,
                owner,
                other,
                hidden: Vec::new(),
            });
    }
    let mut stmt = conn.prepare(&format!(
        "SELECT versions.package, s.source, {SOURCE_OF_ROW}, versions.version FROM versions
         JOIN package_sources s ON s.name = versions.package
         WHERE s.source != {SOURCE_OF_ROW} ORDER BY versions.rowid"
    ))?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    for row in rows {
        let (package, owner, other, version): (String, String, String, String) = row?;
        found
            .entry((package.clone(), other.clone()))
            .or_insert(NameConflict {
                package,
                owner,
                other,
                hidden: Vec::new(),
            })
            .hidden
            .push(version);
    }
    Ok(found.into_values().collect())
}

/// The owners recorded in the catalog at `path`, read without writing anything (for
/// `tagpub check`); `None` when there is no catalog or it predates owners.
pub fn read_owners(path: &std::path::Path) -> Option<BTreeMap<String, String>> {
    if !path.is_file() {
        return None;
    }
    let conn =
        Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).ok()?;
    let mut stmt = conn
        .prepare("SELECT name, source FROM package_sources")
        .ok()?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).ok()?;
    rows.collect::<Result<_, _>>().ok()
}

#[cfg(test)]
mod tests;
