//! The catalog in PostgreSQL: the SQLite catalog's queries (store/sqlite.rs,
//! store/sources.rs), with names compared lower-cased.

use super::{Postgres, in_transaction, q};
use crate::store::sources::NameConflict;
use crate::store::{
    Added, Catalog, Error, Ingest, Source, StoredVersion, TagOutcome, TagRecord, VersionSummary,
};
use postgres::GenericClient;
use postgres::types::ToSql;
use std::collections::{BTreeMap, BTreeSet};

const SOURCE_OF_ROW: &str =
    "(CASE WHEN versions.uploader IS NULL THEN versions.source_repo ELSE '' END)";

/// Joins each version to its package's owner: only versions from the owner are served.
pub(super) const SERVED: &str = "JOIN package_sources s ON s.name = lower(versions.package) AND s.source = (CASE WHEN versions.uploader IS NULL THEN versions.source_repo ELSE '' END)";

const VERSION_COLUMNS: &str = "versions.package, versions.version, versions.sha256, versions.pubspec_json, versions.archive_size, versions.published, versions.source_repo, versions.source_tag, versions.source_commit, versions.uploader";

fn source_from_row(row: &postgres::Row, first: usize) -> Source {
    match row.get::<_, Option<String>>(first + 3) {
        Some(uploader) => Source::Upload { uploader },
        None => Source::Git {
            repo: row.get(first),
            tag: row.get(first + 1),
            commit: row.get(first + 2),
        },
    }
}

fn version_from_row(row: &postgres::Row) -> StoredVersion {
    StoredVersion {
        package: row.get(0),
        version: row.get(1),
        sha256: row.get(2),
        pubspec_json: row.get(3),
        archive_size: row.get::<_, i64>(4) as u64,
        published: row.get(5),
        source: source_from_row(row, 6),
    }
}

fn own_source(v: &StoredVersion) -> &str {
    match &v.source {
        Source::Git { repo, .. } => repo,
        Source::Upload { .. } => "",
    }
}

/// The oldest served version of `package` (or of a name differing in case).
fn first_owned(
    conn: &mut impl GenericClient,
    package: &str,
) -> Result<Option<StoredVersion>, postgres::Error> {
    Ok(conn
        .query_opt(
            &format!(
                "SELECT {VERSION_COLUMNS} FROM versions {SERVED} WHERE s.name = lower($1)
                 ORDER BY versions.published, versions.seq LIMIT 1"
            ),
            &[&package],
        )?
        .map(|r| version_from_row(&r)))
}

fn upsert_tag(conn: &mut impl GenericClient, tag: &TagRecord) -> Result<(), postgres::Error> {
    let (version, reason) = match &tag.outcome {
        TagOutcome::Served { version } => (Some(version.as_str()), None),
        TagOutcome::Rejected { reason } => (None, Some(reason.as_str())),
    };
    conn.execute(
        "INSERT INTO tags (repo, tag, package, commit_id, version, reason) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (repo, tag, package) DO UPDATE SET commit_id = $4, version = $5, reason = $6",
        &[&tag.repo, &tag.tag, &tag.package, &tag.commit, &version, &reason],
    )?;
    Ok(())
}

impl Postgres {
    fn summaries_where(
        &self,
        filter: &str,
        arg: &(dyn ToSql + Sync),
    ) -> Result<Vec<VersionSummary>, Error> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT versions.package, versions.version, versions.sha256, versions.archive_size, versions.source_repo, versions.source_tag, versions.source_commit, versions.uploader
                     FROM versions {SERVED} {filter} ORDER BY versions.seq"
                ),
                &[arg],
            )
            .map_err(q("listing versions"))?;
        Ok(rows
            .iter()
            .map(|row| VersionSummary {
                package: row.get(0),
                version: row.get(1),
                sha256: row.get(2),
                archive_size: row.get::<_, i64>(3) as u64,
                source: source_from_row(row, 4),
            })
            .collect())
    }
}

/// Adds a version inside the caller's transaction, which must commit only on
/// [`Added::New`]: the one-source check, an existing version, the insert.
pub(super) fn add_version_in(
    tx: &mut postgres::Transaction<'_>,
    v: &StoredVersion,
    tag: Option<&TagRecord>,
) -> Result<Added, postgres::Error> {
    // Writers of one name take turns, on every replica: the owner check and the
    // insert then see one state. The trigger holds even without this lock.
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('tagpub-name:' || lower($1)))",
        &[&v.package],
    )?;
    let owner: Option<String> = tx
        .query_opt(
            "SELECT source FROM package_sources WHERE name = lower($1)",
            &[&v.package],
        )?
        .map(|r| r.get(0));
    if owner.as_deref().is_some_and(|o| o != own_source(v))
        && let Some(first) = first_owned(tx, &v.package)?
    {
        return Ok(Added::OtherSource(first.source));
    }
    if let Some(row) = tx.query_opt(
        &format!("SELECT {VERSION_COLUMNS} FROM versions WHERE package = $1 AND version = $2"),
        &[&v.package, &v.version],
    )? {
        return Ok(Added::AlreadyExists(version_from_row(&row)));
    }
    let (repo, source_tag, commit, uploader) = match &v.source {
        Source::Git { repo, tag, commit } => (repo.as_str(), tag.as_str(), commit.as_str(), None),
        Source::Upload { uploader } => ("", "", "", Some(uploader.as_str())),
    };
    tx.execute(
        "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit, uploader)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &v.package,
            &v.version,
            &v.sha256,
            &v.pubspec_json,
            &(v.archive_size as i64),
            &v.published,
            &repo,
            &source_tag,
            &commit,
            &uploader,
        ],
    )?;
    if let Some(tag) = tag {
        upsert_tag(tx, tag)?;
    }
    Ok(Added::New)
}

impl Catalog for Postgres {
    fn summaries(&self, package: Option<&str>) -> Result<Vec<VersionSummary>, Error> {
        self.summaries_where("WHERE $1::TEXT IS NULL OR versions.package = $1", &package)
    }

    fn summaries_from_repo(&self, repo: &str) -> Result<Vec<VersionSummary>, Error> {
        self.summaries_where(
            "WHERE versions.source_repo = $1 AND versions.uploader IS NULL",
            &repo,
        )
    }

    fn versions_of(&self, package: &str) -> Result<Vec<StoredVersion>, Error> {
        let rows = self
            .conn()?
            .query(
                &format!(
                    "SELECT {VERSION_COLUMNS} FROM versions {SERVED} WHERE versions.package = $1 ORDER BY versions.seq"
                ),
                &[&package],
            )
            .map_err(q("reading a package"))?;
        Ok(rows.iter().map(version_from_row).collect())
    }

    fn owner(&self, package: &str) -> Result<Option<Source>, Error> {
        first_owned(&mut *self.conn()?, package)
            .map(|v| v.map(|v| v.source))
            .map_err(q("finding a package's owner"))
    }

    fn tag_records(&self, repo: &str) -> Result<Vec<TagRecord>, Error> {
        let rows = self
            .conn()?
            .query(
                "SELECT tag, package, commit_id, version, reason FROM tags WHERE repo = $1 ORDER BY tag",
                &[&repo],
            )
            .map_err(q("listing tags"))?;
        Ok(rows
            .iter()
            .map(|row| TagRecord {
                repo: repo.to_string(),
                tag: row.get(0),
                package: row.get(1),
                commit: row.get(2),
                outcome: match row.get::<_, Option<String>>(3) {
                    Some(version) => TagOutcome::Served { version },
                    None => TagOutcome::Rejected {
                        reason: row.get::<_, Option<String>>(4).unwrap_or_default(),
                    },
                },
            })
            .collect())
    }

    fn add_version(&self, v: &StoredVersion, tag: Option<&TagRecord>) -> Result<Added, Error> {
        in_transaction(&mut *self.conn()?, "adding a version", |tx| {
            add_version_in(tx, v, tag)
        })
    }

    fn ingest(&self, writes: &[Ingest]) -> Result<Vec<Added>, Error> {
        in_transaction(&mut *self.conn()?, "storing new versions", |tx| {
            let mut outcomes = Vec::with_capacity(writes.len());
            for write in writes {
                match write {
                    Ingest::Tag(tag) => upsert_tag(tx, tag)?,
                    Ingest::Version {
                        version,
                        tag,
                        warnings,
                    } => {
                        let added = add_version_in(tx, version, Some(tag))?;
                        match &added {
                            Added::New => {
                                for message in warnings {
                                    tx.execute(
                                        "INSERT INTO warnings (repo, tag, message, created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                                        &[&tag.repo, &tag.tag, message, &crate::clock::now()],
                                    )?;
                                }
                            }
                            Added::AlreadyExists(existing) if existing.sha256 == version.sha256 => {
                                upsert_tag(tx, tag)?
                            }
                            Added::AlreadyExists(_) | Added::OtherSource(_) => {}
                        }
                        outcomes.push(added);
                    }
                }
            }
            Ok(outcomes)
        })
    }

    fn record_tag(&self, tag: &TagRecord) -> Result<(), Error> {
        upsert_tag(&mut *self.conn()?, tag).map_err(q("recording a tag"))
    }

    fn add_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error> {
        let n = self
            .conn()?
            .execute(
                "INSERT INTO warnings (repo, tag, message, created) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&repo, &tag, &message, &crate::clock::now()],
            )
            .map_err(q("recording a warning"))?;
        Ok(n == 1)
    }

    fn warnings(&self, repo: &str) -> Result<Vec<(String, String)>, Error> {
        let rows = self
            .conn()?
            .query(
                "SELECT tag, message FROM warnings WHERE repo = $1 ORDER BY created, tag",
                &[&repo],
            )
            .map_err(q("listing warnings"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn remove_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error> {
        let n = self
            .conn()?
            .execute(
                "DELETE FROM warnings WHERE repo = $1 AND tag = $2 AND message = $3",
                &[&repo, &tag, &message],
            )
            .map_err(q("removing a warning"))?;
        Ok(n == 1)
    }

    fn record_names(&self, repo: &str, names: Option<&[String]>) -> Result<(), Error> {
        const DOING: &str = "recording a repository's packages";
        let mut conn = self.conn()?;
        // Every pass records its names; an idle one must not cost a write.
        let read_before = conn
            .query_opt("SELECT 1 FROM repo_reads WHERE repo = $1", &[&repo])
            .map_err(q(DOING))?
            .is_some();
        if read_before {
            let Some(names) = names else { return Ok(()) };
            let held: BTreeSet<String> = conn
                .query("SELECT name FROM repo_names WHERE repo = $1", &[&repo])
                .map_err(q(DOING))?
                .iter()
                .map(|r| r.get(0))
                .collect();
            if held.len() == names.len() && names.iter().all(|n| held.contains(n)) {
                return Ok(());
            }
        }
        let now = crate::clock::now();
        in_transaction(&mut conn, DOING, |tx| {
            match names {
                Some(names) => {
                    tx.execute("DELETE FROM repo_names WHERE repo = $1", &[&repo])?;
                    for name in names {
                        tx.execute(
                            "INSERT INTO repo_names (repo, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                            &[&repo, name],
                        )?;
                    }
                    tx.execute(
                        "INSERT INTO repo_reads (repo, at) VALUES ($1, $2)
                         ON CONFLICT (repo) DO UPDATE SET at = $2",
                        &[&repo, &now],
                    )?;
                }
                None => {
                    tx.execute(
                        "INSERT INTO repo_reads (repo, at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                        &[&repo, &now],
                    )?;
                }
            }
            Ok(())
        })
    }

    fn names_by_repo(&self) -> Result<BTreeMap<String, BTreeSet<String>>, Error> {
        const DOING: &str = "listing repositories' packages";
        let mut conn = self.conn()?;
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in conn
            .query("SELECT repo FROM repo_reads", &[])
            .map_err(q(DOING))?
        {
            out.entry(r.get(0)).or_default();
        }
        for r in conn
            .query("SELECT repo, name FROM repo_names", &[])
            .map_err(q(DOING))?
        {
            out.entry(r.get(0)).or_default().insert(r.get(1));
        }
        Ok(out)
    }

    fn conflicts(&self) -> Result<Vec<NameConflict>, Error> {
        const DOING: &str = "listing package name conflicts";
        let mut conn = self.conn()?;
        let mut found: BTreeMap<(String, String), NameConflict> = BTreeMap::new();
        let entry = |found: &mut BTreeMap<(String, String), NameConflict>,
                     package: String,
                     owner: String,
                     other: String| {
            found
                .entry((package.clone(), other.clone()))
                .or_insert(NameConflict {
                    package,
                    owner,
                    other,
                    hidden: Vec::new(),
                })
                .hidden
                .len()
        };
        for r in conn
            .query(
                "SELECT n.name, s.source, n.repo FROM repo_names n
                 JOIN package_sources s ON s.name = lower(n.name) WHERE s.source != n.repo",
                &[],
            )
            .map_err(q(DOING))?
        {
            entry(&mut found, r.get(0), r.get(1), r.get(2));
        }
        for r in conn
            .query(
                &format!(
                    "SELECT versions.package, s.source, {SOURCE_OF_ROW}, versions.version FROM versions
                     JOIN package_sources s ON s.name = lower(versions.package)
                     WHERE s.source != {SOURCE_OF_ROW} ORDER BY versions.seq"
                ),
                &[],
            )
            .map_err(q(DOING))?
        {
            let (package, other): (String, String) = (r.get(0), r.get(2));
            entry(&mut found, package.clone(), r.get(1), other.clone());
            if let Some(c) = found.get_mut(&(package, other)) {
                c.hidden.push(r.get(3));
            }
        }
        Ok(found.into_values().collect())
    }
}
