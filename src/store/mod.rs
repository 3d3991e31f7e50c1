//! Persistent state: the catalog of served versions and tag outcomes, and the archive
//! bytes. The traits are the seam between the embedded default (SQLite and files named
//! by their sha256 in the data dir) and the shared store of several replicas
//! (PostgreSQL, [`Postgres`]). Archives in demand are also kept in memory
//! ([`HotArchives`]).

mod backup;
mod blobs;
mod changes;
#[cfg(test)]
mod concurrent;
mod copy;
mod dir;
mod hot;
mod migrate;
mod postgres;
mod publishing;
mod s3;
mod sessions;
mod sources;
mod sqlite;
mod tokens;
mod uploads;

pub use backup::{BackupSummary, backup};
pub use blobs::{Blob, FileBlobs};
pub use changes::Changes;
pub use copy::{Copied, copy_blobs};
pub use dir::{create_private_dir, database_path};
pub use hot::HotArchives;
pub use migrate::{Migrated, to_postgres as migrate_to_postgres};
pub use postgres::{Leadership, Postgres, Wakes};
pub use publishing::{
    AuditEntry, Publication, Publishing, SqlitePublishing, StagedArchives, UploadedPackage,
};
pub use s3::{DEFAULT_TIMEOUT as S3_DEFAULT_TIMEOUT, S3Blobs, S3Error, S3Location};
pub use sessions::SqliteSessions;
pub use sources::{NameConflict, read_owners};
pub use sqlite::SqliteCatalog;
pub use tokens::SqliteTokens;
pub use uploads::{Staged, UploadOutcome, UploadRecord};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The database's own error (SQLite's or PostgreSQL's), kept whole for the log.
pub type DbError = Box<dyn std::error::Error + Send + Sync>;

/// Why the store failed. These are operator problems (disk, permissions, corruption,
/// an unreachable database), never client mistakes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot open the catalog database {path}")]
    OpenCatalog {
        path: PathBuf,
        #[source]
        source: DbError,
    },
    #[error("catalog query failed while {doing}")]
    Query {
        doing: &'static str,
        #[source]
        source: DbError,
    },
    #[error("cannot {doing}")]
    Database {
        doing: &'static str,
        #[source]
        source: DbError,
    },
    #[error(
        "the PostgreSQL database has schema version {current}, newer than the {known} this tagpub knows: a newer tagpub migrated it; run that version (or newer) on every replica"
    )]
    SchemaTooNew { current: i32, known: i32 },
    #[error("{0}")]
    Settings(String),
    #[error("cannot {doing} archive file {path}")]
    Blob {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("archive {sha256} on disk does not match its name; the file is corrupt")]
    CorruptBlob { sha256: String },
    /// The S3 archive store failed (boxed: its context is large).
    #[error(transparent)]
    S3(Box<S3Error>),
    #[error("cannot {doing} {path}")]
    DataDir {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The database is gone but what it described is still there: starting anyway
    /// would forget every token and uploaded package, and rebuild versions from git
    /// with new archives under old version numbers.
    #[error(
        "the database {} {problem}, but the data dir {} still holds what it described (for example {}): its tokens, uploaded packages and the record of served versions are lost, and tagpub refuses to start over silently. \
         To recover, stop tagpub, copy a backup made with `tagpub backup` to {}, delete {}-wal and {}-shm if present, and start again. \
         To start over with an empty registry instead, move {} aside.",
        db.display(), data_dir.display(), evidence.display(), db.display(), db.display(), db.display(), data_dir.display()
    )]
    LostDatabase {
        db: PathBuf,
        data_dir: PathBuf,
        problem: &'static str,
        evidence: PathBuf,
    },
    #[error("cannot back up the database to {path}")]
    Backup {
        path: PathBuf,
        #[source]
        source: DbError,
    },
    #[error("cannot {doing} the backup {path}")]
    BackupFile {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A served version, as recorded when it was first built. Never updated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVersion {
    pub package: String,
    pub version: String,
    pub sha256: String,
    /// The pubspec as JSON text, exactly as it goes into listings.
    pub pubspec_json: String,
    pub archive_size: u64,
    /// Seconds since the epoch when tagpub first served it.
    pub published: i64,
    pub source: Source,
}

/// What the index keeps of a version: everything but the pubspec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub package: String,
    pub version: String,
    pub sha256: String,
    pub archive_size: u64,
    pub source: Source,
}

/// Where a version came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Git {
        repo: String,
        tag: String,
        commit: String,
    },
    /// `dart pub publish` by this member.
    Upload { uploader: String },
}

impl Source {
    /// The repository (config key) of a version from git.
    pub fn repo(&self) -> Option<&str> {
        match self {
            Source::Git { repo, .. } => Some(repo),
            Source::Upload { .. } => None,
        }
    }
}

/// What became of one tag the last time it was looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRecord {
    pub repo: String,
    pub tag: String,
    pub commit: String,
    pub package: String,
    pub outcome: TagOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagOutcome {
    Served { version: String },
    Rejected { reason: String },
}

/// One write of a sync pass's group commit ([`Catalog::ingest`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ingest {
    /// A version built from a tag, the record of that tag, and what was left out of
    /// its archive (recorded as warnings of the tag when the version is new).
    Version {
        version: Box<StoredVersion>,
        tag: TagRecord,
        warnings: Vec<String>,
    },
    /// The outcome of a tag that produced no version.
    Tag(TagRecord),
}

/// Result of trying to add a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    New,
    /// The package already has that version (from another tag or an earlier run).
    AlreadyExists(StoredVersion),
    /// The package name belongs to another source (store/sources.rs); nothing was
    /// written. Carries that source, as its oldest version records it.
    OtherSource(Source),
}

/// The catalog: which versions exist and what happened to each tag.
pub trait Catalog: Send + Sync {
    /// Summaries of every version, or of one package's, for the index.
    fn summaries(&self, package: Option<&str>) -> Result<Vec<VersionSummary>, Error>;
    /// Every version's summary, handed to `each` one at a time, so that the index of a
    /// million versions is built without holding them all as rows.
    fn each_summary(&self, each: &mut dyn FnMut(VersionSummary)) -> Result<(), Error> {
        self.summaries(None)
            .map(|all| all.into_iter().for_each(each))
    }
    /// Summaries of the versions served from one repository (a config key).
    fn summaries_from_repo(&self, repo: &str) -> Result<Vec<VersionSummary>, Error>;
    /// Every version of one package, pubspecs included, for rendering its listing.
    fn versions_of(&self, package: &str) -> Result<Vec<StoredVersion>, Error>;
    /// The one source the package's versions come from (as its oldest version records
    /// it), if it has any. Only versions from that source are served.
    fn owner(&self, package: &str) -> Result<Option<Source>, Error>;
    /// Every tag record of one repository.
    fn tag_records(&self, repo: &str) -> Result<Vec<TagRecord>, Error>;
    /// Adds a version and the record of the tag that produced it (if from git),
    /// atomically. An existing version is left untouched and returned; a version whose
    /// package belongs to another source is refused, even against a concurrent writer.
    fn add_version(&self, version: &StoredVersion, tag: Option<&TagRecord>)
    -> Result<Added, Error>;
    /// Applies the writes of a stretch of a sync pass in order, in one transaction: one
    /// sync to disk for many versions (group commit), and none of them is stored unless
    /// all are. Each version is added as by [`Catalog::add_version`]; one that exists
    /// with the same sha256 gets its tag recorded as served, since the tag names that
    /// same release. Returns what became of each version, in order.
    fn ingest(&self, writes: &[Ingest]) -> Result<Vec<Added>, Error>;
    /// Records (or replaces) the outcome of a tag that did not produce a new version.
    fn record_tag(&self, tag: &TagRecord) -> Result<(), Error>;
    /// Records a warning about a tag once; returns whether it is new.
    fn add_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error>;
    /// Warnings of one repository, oldest first, as `(tag, message)`.
    fn warnings(&self, repo: &str) -> Result<Vec<(String, String)>, Error>;
    /// Removes a recorded warning that no longer holds; returns whether it existed.
    fn remove_warning(&self, repo: &str, tag: &str, message: &str) -> Result<bool, Error>;
    /// Records the package names repository `repo` holds now; `None`: it could not be
    /// read (what it held before is kept, and it counts as read).
    fn record_names(&self, repo: &str, names: Option<&[String]>) -> Result<(), Error>;
    /// The names each repository ever read holds, by config key.
    fn names_by_repo(&self) -> Result<BTreeMap<String, BTreeSet<String>>, Error>;
    /// Names that a repository holds (or once stored versions of) without owning them.
    fn conflicts(&self) -> Result<Vec<NameConflict>, Error>;
}

/// Archive bytes, addressed by their sha256 (lower-case hex).
pub trait Blobs: Send + Sync {
    /// Stores `bytes` durably and returns their sha256.
    fn put(&self, bytes: &[u8]) -> Result<String, Error>;
    /// Stores every blob durably: when it returns `Ok`, all of them are. A store may
    /// sync them together, which is what makes a sync pass's group commit cheap.
    fn put_all(&self, blobs: &[&Blob]) -> Result<(), Error> {
        for blob in blobs {
            self.put(blob.bytes())?;
        }
        Ok(())
    }
    /// The bytes with that sha256, if stored.
    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error>;
    fn contains(&self, sha256: &str) -> bool;
}

/// A token as stored: never the secret, only its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public identifier, shown in lists and used to revoke.
    pub id: String,
    pub member: String,
    /// A label chosen by whoever issued it ("laptop", "ci-mobile").
    pub name: String,
    /// sha256 of the secret, lower-case hex.
    pub hash: String,
    pub created: i64,
    pub last_used: Option<i64>,
    pub expires: Option<i64>,
    pub revoked: Option<i64>,
}

/// Issued tokens.
pub trait TokenStore: Send + Sync {
    fn insert_token(&self, token: &TokenRecord) -> Result<(), Error>;
    fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRecord>, Error>;
    fn token_by_id(&self, id: &str) -> Result<Option<TokenRecord>, Error>;
    /// Every token, or those of one member, oldest first.
    fn tokens(&self, member: Option<&str>) -> Result<Vec<TokenRecord>, Error>;
    /// Revokes one token; false if it was unknown or already revoked.
    fn revoke_token(&self, id: &str, now: i64) -> Result<bool, Error>;
    /// Revokes every live token of a member; returns their ids.
    fn revoke_member(&self, member: &str, now: i64) -> Result<Vec<String>, Error>;
    /// Records last-use times, batched by the caller.
    fn touch_tokens(&self, uses: &[(String, i64)]) -> Result<(), Error>;
}

/// A signed-in browser session of the web UI: the hash of its random id and the token
/// it was opened with (never the token's secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// sha256 of the session id the cookie carries, lower-case hex.
    pub id_hash: String,
    pub token_id: String,
    pub created: i64,
    pub expires: i64,
}

/// Web UI sessions.
pub trait SessionStore: Send + Sync {
    /// Stores a new session, removing those expired by its `created`.
    fn insert_session(&self, session: &SessionRecord) -> Result<(), Error>;
    fn session(&self, id_hash: &str) -> Result<Option<SessionRecord>, Error>;
    fn remove_session(&self, id_hash: &str) -> Result<(), Error>;
}

/// The store: embedded in `data_dir`, or shared by replicas (`store:` in registry.yaml).
pub struct Store {
    pub catalog: Box<dyn Catalog>,
    pub blobs: Box<dyn Blobs>,
    pub tokens: Box<dyn TokenStore>,
    pub publishing: Box<dyn Publishing>,
    pub sessions: Box<dyn SessionStore>,
    /// Tells when anyone (another process included) committed a change.
    pub changes: Changes,
    /// Whether this process syncs repositories: always with the embedded store; the
    /// elected replica with a shared one.
    pub leader: Leadership,
    /// The shared database, when replicas share one: wake-ups go to the leader through it.
    pub shared: Option<Postgres>,
    /// Wake-ups forwarded by other replicas (shared store only).
    pub wakes: Option<Wakes>,
}

/// The archive store of `store.archives.s3`, its keys read from the environment now,
/// checked by listing its prefix so that wrong settings stop start-up with a message.
pub fn open_s3(settings: &crate::config::S3Settings, data_dir: &Path) -> Result<S3Blobs, Error> {
    let access_key = settings.key(false).map_err(Error::Settings)?;
    let secret_key = settings.key(true).map_err(Error::Settings)?;
    let location = S3Location {
        bucket: settings.bucket.clone(),
        endpoint: settings.endpoint.as_str().trim_end_matches('/').to_string(),
        region: settings.region.clone(),
        access_key,
        secret_key,
        prefix: settings.prefix.clone(),
    };
    let blobs = S3Blobs::open(&location, &data_dir.join("s3-cache"))?;
    blobs.check()?;
    Ok(blobs)
}

impl Store {
    /// Opens (creating if needed) the embedded store under `data_dir`. A data dir whose
    /// database was lost is refused ([`Error::LostDatabase`]) and left as it is.
    pub fn open(data_dir: &Path) -> Result<Store, Error> {
        dir::prepare(data_dir)?;
        let db = database_path(data_dir);
        let catalog = SqliteCatalog::open(&db)?;
        let tokens = SqliteTokens::open(&db)?;
        let publishing = SqlitePublishing::open(&db)?;
        let sessions = SqliteSessions::open(&db)?;
        let blobs = FileBlobs::open(&data_dir.join("archives"))?;
        let changes = Changes::open(&db)?;
        Ok(Store {
            catalog: Box::new(catalog),
            blobs: Box::new(blobs),
            tokens: Box::new(tokens),
            publishing: Box::new(publishing),
            sessions: Box::new(sessions),
            changes,
            leader: Leadership::alone(),
            shared: None,
            wakes: None,
        })
    }

    /// Opens the store `config` names: the embedded one in `data_dir`, or PostgreSQL
    /// (`store.database_url_env`); archives in `data_dir/archives`, or in the S3 bucket
    /// of `store.archives.s3` (with a verified local copy under `data_dir/s3-cache`).
    /// Only a daemon (`compete`) takes part in electing the replica that syncs; a command
    /// never leads.
    pub fn open_configured(config: &crate::config::Config, compete: bool) -> Result<Store, Error> {
        let settings = config.store.as_ref();
        let mut store = match settings.and_then(|s| s.database_url()) {
            None => Store::open(&config.data_dir)?,
            Some(url) => {
                let url = url.map_err(Error::Settings)?;
                Store::open_postgres(&url, &config.data_dir, compete)?
            }
        };
        if let Some(s3) = settings.and_then(|s| s.s3.as_ref()) {
            store.blobs = Box::new(open_s3(s3, &config.data_dir)?);
        }
        Ok(store)
    }

    /// The shared store: the catalog in PostgreSQL at `url`, archives under `data_dir`.
    pub fn open_postgres(url: &str, data_dir: &Path, compete: bool) -> Result<Store, Error> {
        create_private_dir(data_dir).map_err(|source| Error::DataDir {
            doing: "create",
            path: data_dir.to_path_buf(),
            source,
        })?;
        let pg = Postgres::open(url)?;
        let blobs = FileBlobs::open(&data_dir.join("archives"))?;
        let (counter, catalog, wakes) = postgres::live::listen(url);
        let leader = if compete {
            Leadership::compete(url)
        } else {
            Leadership::never()
        };
        Ok(Store {
            catalog: Box::new(pg.clone()),
            blobs: Box::new(blobs),
            tokens: Box::new(pg.clone()),
            publishing: Box::new(pg.clone()),
            sessions: Box::new(pg.clone()),
            changes: Changes::counted(counter, catalog),
            leader,
            shared: Some(pg),
            wakes: Some(wakes),
        })
    }

    /// Asks for a sync of repository `key` by whichever process syncs: this one, or
    /// (with a shared store) the leader, through the database. Returns whether the
    /// caller should wake its own loop.
    pub fn forward_wake(&self, key: &str) -> Result<(), Error> {
        match &self.shared {
            Some(pg) => pg.forward_wake(key),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_store_error_is_logged_with_its_sqlite_cause() {
        let e = super::Error::Query {
            doing: "adding a version",
            source: Box::new(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("database is locked".into()),
            )),
        };
        let text = crate::report::chain(&e);
        assert!(
            text.starts_with("catalog query failed while adding a version: database is locked"),
            "{text}"
        );
    }
}
