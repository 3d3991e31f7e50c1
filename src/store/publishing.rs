//! State of `dart pub publish`: pending uploads, uploaded packages with their uploaders,
//! retractions and discontinuation set over the API, and the audit trail.

use super::uploads::{self, Staged, UploadOutcome, UploadRecord};
use super::{Added, Error, StoredVersion, sqlite};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::Mutex;

/// A package created by `dart pub publish`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedPackage {
    pub name: String,
    pub creator: String,
    pub created: i64,
    /// Teams that may read it (the creator's teams at creation); empty: every member.
    pub teams: Vec<String>,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
    pub uploaders: Vec<String>,
    /// Versions retracted over the API or command line.
    pub retracted: Vec<String>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    /// `publish`, `refuse`, `retract`, `unretract`, `discontinue`, `undiscontinue`,
    /// `add-uploader`, `remove-uploader`.
    pub action: String,
    pub package: String,
    pub version: Option<String>,
    pub detail: String,
}

pub trait Publishing: Send + Sync {
    fn create_upload(&self, id: &str, member: &str, now: i64) -> Result<(), Error>;
    fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error>;
    /// Records the archive (sha256, size) of upload `id`, unless its member already has
    /// `cap` other unfinished uploads with an archive, created at or after `since`.
    fn stage_upload(
        &self,
        id: &str,
        archive: (&str, u64),
        since: i64,
        cap: u64,
    ) -> Result<Staged, Error>;
    fn set_upload_outcome(&self, id: &str, outcome: &UploadOutcome) -> Result<(), Error>;
    /// Refuses, with `refusal` (its kind's code and the message), every unfinished
    /// upload created before `before`; returns their ids.
    fn expire_uploads(&self, before: i64, refusal: (&str, &str)) -> Result<Vec<String>, Error>;
    fn packages(&self) -> Result<Vec<UploadedPackage>, Error>;
    fn package(&self, name: &str) -> Result<Option<UploadedPackage>, Error>;
    /// Creates the package with its creator as first uploader, if it does not exist.
    fn create_package(
        &self,
        name: &str,
        creator: &str,
        teams: &[String],
        now: i64,
    ) -> Result<(), Error>;
    fn set_uploader(&self, package: &str, member: &str, present: bool) -> Result<bool, Error>;
    fn set_retracted(&self, package: &str, version: &str, retracted: bool) -> Result<bool, Error>;
    fn set_discontinued(
        &self,
        package: &str,
        discontinued: bool,
        replaced_by: Option<&str>,
    ) -> Result<(), Error>;
    fn audit(&self, entry: &AuditEntry) -> Result<(), Error>;
    /// Newest first.
    fn audit_log(&self, package: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, Error>;
    /// Publishes the version of upload `id` in one transaction: the package (created
    /// with `creator` as first uploader and `teams` as readers if new), the version,
    /// the audit entry and the upload's answer; the upload's staged archive goes too
    /// when the store keeps it. Nothing is written unless the version is
    /// [`Added::New`], so a process dying halfway leaves no version half-published.
    fn publish_upload(&self, publication: &Publication<'_>) -> Result<Added, Error>;
    /// Where the archives of unfinished uploads wait when the store keeps them itself
    /// (shared by replicas); `None`: in `data_dir/uploads` (publish/staging.rs).
    fn staged_archives(&self) -> Option<&dyn StagedArchives> {
        None
    }
}

const DOING: &str = "publishing an upload";

/// Everything finalize writes when an upload is published.
pub struct Publication<'a> {
    pub upload_id: &'a str,
    pub version: &'a StoredVersion,
    pub creator: &'a str,
    pub teams: &'a [String],
    pub audit: &'a AuditEntry,
    pub answer: &'a UploadOutcome,
}

/// Archives of unfinished uploads, by upload id, where every replica finds them.
pub trait StagedArchives {
    /// Stores (or replaces) the archive of upload `id`.
    fn put(&self, id: &str, bytes: &[u8]) -> Result<(), Error>;
    fn get(&self, id: &str) -> Result<Option<Vec<u8>>, Error>;
    fn remove(&self, id: &str) -> Result<(), Error>;
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS uploaded_packages (
    name         TEXT PRIMARY KEY,
    creator      TEXT NOT NULL,
    created      INTEGER NOT NULL,
    teams        TEXT NOT NULL,
    discontinued INTEGER NOT NULL DEFAULT 0,
    replaced_by  TEXT
);
CREATE TABLE IF NOT EXISTS uploaders (
    package TEXT NOT NULL,
    member  TEXT NOT NULL,
    PRIMARY KEY (package, member)
);
CREATE TABLE IF NOT EXISTS retractions (
    package TEXT NOT NULL,
    version TEXT NOT NULL,
    PRIMARY KEY (package, version)
);
CREATE TABLE IF NOT EXISTS audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    package TEXT NOT NULL,
    version TEXT,
    detail  TEXT NOT NULL
);
";

pub struct SqlitePublishing {
    conn: Mutex<Connection>,
}

fn q(doing: &'static str) -> impl FnOnce(rusqlite::Error) -> Error {
    move |source: rusqlite::Error| Error::Query {
        doing,
        source: Box::new(source),
    }
}

impl SqlitePublishing {
    pub fn open(path: &Path) -> Result<SqlitePublishing, Error> {
        let conn = sqlite::open_connection(path, &format!("{}{SCHEMA}", uploads::SCHEMA))?;
        uploads::migrate(&conn).map_err(|source| Error::OpenCatalog {
            path: path.to_path_buf(),
            source: Box::new(source),
        })?;
        Ok(SqlitePublishing {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        sqlite::lock(&self.conn)
    }

    fn load_package(conn: &Connection, name: &str) -> rusqlite::Result<Option<UploadedPackage>> {
        let row = conn
            .query_row(
                "SELECT name, creator, created, teams, discontinued, replaced_by FROM uploaded_packages WHERE name = ?1",
                [name],
                |r| {
                    let teams: String = r.get(3)?;
                    Ok(UploadedPackage {
                        name: r.get(0)?,
                        creator: r.get(1)?,
                        created: r.get(2)?,
                        teams: teams.split(',').filter(|t| !t.is_empty()).map(str::to_string).collect(),
                        discontinued: r.get::<_, i64>(4)? != 0,
                        replaced_by: r.get(5)?,
                        uploaders: Vec::new(),
                        retracted: Vec::new(),
                    })
                },
            )
            .optional()?;
        let Some(mut package) = row else {
            return Ok(None);
        };
        let mut stmt =
            conn.prepare("SELECT member FROM uploaders WHERE package = ?1 ORDER BY member")?;
        package.uploaders = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut stmt =
            conn.prepare("SELECT version FROM retractions WHERE package = ?1 ORDER BY version")?;
        package.retracted = stmt
            .query_map([name], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(Some(package))
    }
}

impl Publishing for SqlitePublishing {
    fn publish_upload(&self, p: &Publication<'_>) -> Result<Added, Error> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(q(DOING))?;
        let v = p.version;
        let created = tx
            .execute(
                "INSERT OR IGNORE INTO uploaded_packages (name, creator, created, teams) VALUES (?1, ?2, ?3, ?4)",
                params![v.package, p.creator, v.published, p.teams.join(",")],
            )
            .map_err(q(DOING))?;
        if created == 1 {
            tx.execute(
                "INSERT OR IGNORE INTO uploaders (package, member) VALUES (?1, ?2)",
                params![v.package, p.creator],
            )
            .map_err(q(DOING))?;
        }
        let added = sqlite::add_version_in(&tx, v, None)?;
        if added != Added::New {
            return Ok(added); // Rolled back: nothing of it is written.
        }
        let e = p.audit;
        tx.execute(
            "INSERT INTO audit (at, actor, action, package, version, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![e.at, e.actor, e.action, e.package, e.version, e.detail],
        )
        .map_err(q(DOING))?;
        uploads::set_outcome(&tx, p.upload_id, p.answer)?;
        tx.commit().map_err(q(DOING))?;
        Ok(added)
    }

    fn create_upload(&self, id: &str, member: &str, now: i64) -> Result<(), Error> {
        uploads::create(&self.conn(), id, member, now)
    }

    fn upload(&self, id: &str) -> Result<Option<UploadRecord>, Error> {
        uploads::get(&self.conn(), id)
    }

    fn stage_upload(
        &self,
        id: &str,
        archive: (&str, u64),
        since: i64,
        cap: u64,
    ) -> Result<Staged, Error> {
        uploads::stage(&mut self.conn(), id, archive, since, cap)
    }

    fn set_upload_outcome(&self, id: &str, outcome: &UploadOutcome) -> Result<(), Error> {
        uploads::set_outcome(&self.conn(), id, outcome)
    }

    fn expire_uploads(&self, before: i64, refusal: (&str, &str)) -> Result<Vec<String>, Error> {
        uploads::expire(&mut self.conn(), before, refusal)
    }

    fn packages(&self) -> Result<Vec<UploadedPackage>, Error> {
        let conn = self.conn();
        let names: Vec<String> = {
            let mut stmt = conn
                .prepare("SELECT name FROM uploaded_packages ORDER BY name")
                .map_err(q("listing uploaded packages"))?;
            let rows = stmt
                .query_map([], |r| r.get(0))
                .map_err(q("listing uploaded packages"))?;
            rows.collect::<Result<_, _>>()
                .map_err(q("listing uploaded packages"))?
        };
        names
            .iter()
            .filter_map(|n| Self::load_package(&conn, n).transpose())
            .collect::<Result<_, _>>()
            .map_err(q("listing uploaded packages"))
    }

    fn package(&self, name: &str) -> Result<Option<UploadedPackage>, Error> {
        Self::load_package(&self.conn(), name).map_err(q("reading an uploaded package"))
    }

    fn create_package(
        &self,
        name: &str,
        creator: &str,
        teams: &[String],
        now: i64,
    ) -> Result<(), Error> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(q("creating a package"))?;
        let created = tx
            .execute(
                "INSERT OR IGNORE INTO uploaded_packages (name, creator, created, teams) VALUES (?1, ?2, ?3, ?4)",
                params![name, creator, now, teams.join(",")],
            )
            .map_err(q("creating a package"))?;
        if created == 1 {
            tx.execute(
                "INSERT OR IGNORE INTO uploaders (package, member) VALUES (?1, ?2)",
                params![name, creator],
            )
            .map_err(q("creating a package"))?;
        }
        tx.commit().map_err(q("creating a package"))
    }

    fn set_uploader(&self, package: &str, member: &str, present: bool) -> Result<bool, Error> {
        let conn = self.conn();
        let n = if present {
            conn.execute(
                "INSERT OR IGNORE INTO uploaders (package, member) VALUES (?1, ?2)",
                params![package, member],
            )
        } else {
            conn.execute(
                "DELETE FROM uploaders WHERE package = ?1 AND member = ?2",
                params![package, member],
            )
        }
        .map_err(q("changing uploaders"))?;
        Ok(n == 1)
    }

    fn set_retracted(&self, package: &str, version: &str, retracted: bool) -> Result<bool, Error> {
        let conn = self.conn();
        let n = if retracted {
            conn.execute(
                "INSERT OR IGNORE INTO retractions (package, version) VALUES (?1, ?2)",
                params![package, version],
            )
        } else {
            conn.execute(
                "DELETE FROM retractions WHERE package = ?1 AND version = ?2",
                params![package, version],
            )
        }
        .map_err(q("changing a retraction"))?;
        Ok(n == 1)
    }

    fn set_discontinued(
        &self,
        package: &str,
        discontinued: bool,
        replaced_by: Option<&str>,
    ) -> Result<(), Error> {
        self.conn()
            .execute(
                "UPDATE uploaded_packages SET discontinued = ?2, replaced_by = ?3 WHERE name = ?1",
                params![package, discontinued as i64, replaced_by],
            )
            .map_err(q("discontinuing a package"))?;
        Ok(())
    }

    fn audit(&self, e: &AuditEntry) -> Result<(), Error> {
        self.conn()
            .execute(
                "INSERT INTO audit (at, actor, action, package, version, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![e.at, e.actor, e.action, e.package, e.version, e.detail],
            )
            .map_err(q("writing the audit trail"))?;
        Ok(())
    }

    fn audit_log(&self, package: Option<&str>, limit: usize) -> Result<Vec<AuditEntry>, Error> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare(
                "SELECT at, actor, action, package, version, detail FROM audit
                 WHERE ?1 IS NULL OR package = ?1 ORDER BY seq DESC LIMIT ?2",
            )
            .map_err(q("reading the audit trail"))?;
        let rows = stmt
            .query_map(params![package, limit as i64], |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    actor: r.get(1)?,
                    action: r.get(2)?,
                    package: r.get(3)?,
                    version: r.get(4)?,
                    detail: r.get(5)?,
                })
            })
            .map_err(q("reading the audit trail"))?;
        rows.collect::<Result<_, _>>()
            .map_err(q("reading the audit trail"))
    }
}
