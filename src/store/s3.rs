//! Archives on an S3-compatible object store (AWS S3, MinIO, Garage, Ceph, R2, GCS in S3
//! mode), for several replicas sharing one set of archives (docs/architecture.md, store;
//! docs/operations.md, "Archives on S3").
//!
//! Each archive is one object, `{prefix}archives/{sha256}.tar.gz`. Archives never change,
//! so a put of the same bytes writes the same key with the same bytes (idempotent), and a
//! replica keeps what it read in a local cache directory. Every byte read from the bucket
//! is hashed before it is served or cached: an object that does not match its name is an
//! error, never an archive. The cache is written without fsync (it is only a copy) and is
//! hashed again when read, so a torn or altered cache file is dropped and fetched again.
//!
//! The [`Blobs`] trait is synchronous; its callers run on blocking threads or in CLI
//! commands. The S3 client is async, so it runs on a small runtime of its own, and every
//! call is bounded by a timeout: an unreachable S3 is a clear error, never a hang.

use super::{Blobs, Error};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Where the archives are: resolved settings, secrets already read from the environment.
#[derive(Clone)]
pub struct S3Location {
    pub bucket: String,
    /// `https://s3.eu-west-1.amazonaws.com`, or `http://127.0.0.1:9000` for a local server.
    pub endpoint: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    /// Prepended to every key, so that one bucket can hold several registries: `prod/`
    /// and `prod` are the same prefix; empty for none.
    pub prefix: String,
}

impl std::fmt::Debug for S3Location {
    /// Never the secret key: this ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Location")
            .field("bucket", &self.bucket)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key", &self.access_key)
            .field("secret_key", &"(hidden)")
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// How long one S3 call (its retries included) may take by default. Archives are at most
/// a few tens of MiB, so this is generous for a reachable store and short enough that a
/// dead one is reported while the client still waits.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Archives in an S3 bucket, with a verified local copy of each archive read.
pub struct S3Blobs {
    s3: Arc<AmazonS3>,
    bucket: String,
    endpoint: String,
    /// The key prefix, without a trailing slash; empty for none.
    prefix: String,
    cache: LocalCache,
    timeout: Duration,
    /// `Some` until dropped; see [`S3Blobs::drop`].
    runtime: Option<tokio::runtime::Runtime>,
}

/// Why the S3 archive store failed, with the bucket and endpoint to look at (never a
/// secret). Wrapped in [`Error::S3`].
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("cannot {doing} {key} in S3 bucket {bucket} at {endpoint}; {hint}")]
    Call {
        doing: &'static str,
        key: String,
        bucket: String,
        endpoint: String,
        /// What to check, for the person reading the log.
        hint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "archive {key} in S3 bucket {bucket} at {endpoint} does not match its name (its bytes hash to {actual}): the object was altered or damaged, and it is not served. \
         Put the right bytes back (tagpub rewrites it when it builds or receives that archive again), or delete the object so that `tagpub sync` rebuilds it from git"
    )]
    Corrupt {
        key: String,
        bucket: String,
        endpoint: String,
        actual: String,
    },
    #[error("invalid S3 settings for bucket {bucket:?} at {endpoint:?}: {problem}")]
    Settings {
        problem: String,
        bucket: String,
        endpoint: String,
    },
}

impl From<S3Error> for Error {
    fn from(e: S3Error) -> Error {
        Error::S3(Box::new(e))
    }
}

/// Why one S3 call failed, before it is given its context.
enum Failure {
    S3(object_store::Error),
    TimedOut,
    Stopped,
}

impl S3Blobs {
    /// An archive store on `location`, keeping what it reads under `cache_dir` (created if
    /// missing). Nothing is sent to S3 here; [`S3Blobs::check`] does.
    pub fn open(location: &S3Location, cache_dir: &Path) -> Result<S3Blobs, Error> {
        S3Blobs::open_with_timeout(location, cache_dir, DEFAULT_TIMEOUT)
    }

    /// As [`S3Blobs::open`], with each S3 call bounded by `timeout`.
    pub fn open_with_timeout(
        location: &S3Location,
        cache_dir: &Path,
        timeout: Duration,
    ) -> Result<S3Blobs, Error> {
        let settings = |problem: String| {
            Error::from(S3Error::Settings {
                problem,
                bucket: location.bucket.clone(),
                endpoint: location.endpoint.clone(),
            })
        };
        if location.bucket.is_empty() {
            return Err(settings("the bucket name is empty".into()));
        }
        let endpoint = url::Url::parse(&location.endpoint).map_err(|e| {
            settings(format!(
                "the endpoint is not a URL ({e}); write it as https://host[:port]"
            ))
        })?;
        if !matches!(endpoint.scheme(), "http" | "https") {
            return Err(settings(
                "the endpoint must start with https:// (or http:// for a server on a trusted network)"
                    .into(),
            ));
        }
        let prefix = location.prefix.trim_matches('/').to_string();
        if !prefix.is_empty() && Key::parse(&prefix).is_err() {
            return Err(settings(format!(
                "the prefix {:?} is not a valid key prefix (empty segments such as `a//b`, or `.`/`..` segments)",
                location.prefix
            )));
        }
        let region = if location.region.is_empty() {
            "us-east-1"
        } else {
            &location.region
        };
        // The client's own request timeout is a little longer than the bound `run` puts
        // on each call, so that a hanging S3 is reported as such (not as a send error).
        let client = ClientOptions::new()
            .with_timeout(timeout + Duration::from_secs(1))
            .with_connect_timeout(timeout.min(Duration::from_secs(10)))
            .with_allow_http(endpoint.scheme() == "http");
        // A few quick retries for a dropped connection or a 5xx; the whole call stays
        // within `timeout` (see `run`).
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(2),
                base: 2.,
            },
            max_retries: 3,
            retry_timeout: timeout,
        };
        let s3 = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_endpoint(location.endpoint.trim_end_matches('/'))
            .with_region(region)
            .with_access_key_id(&location.access_key)
            .with_secret_access_key(&location.secret_key)
            .with_virtual_hosted_style_request(false)
            .with_allow_http(endpoint.scheme() == "http")
            .with_client_options(client)
            .with_retry(retry)
            .build()
            .map_err(|e| settings(format!("the S3 client refused them ({e})")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tagpub-s3")
            .enable_all()
            .build()
            .map_err(|source| Error::DataDir {
                doing: "start the S3 client's threads for",
                path: cache_dir.to_path_buf(),
                source,
            })?;
        Ok(S3Blobs {
            s3: Arc::new(s3),
            bucket: location.bucket.clone(),
            endpoint: location.endpoint.clone(),
            prefix,
            cache: LocalCache::open(cache_dir)?,
            timeout,
            runtime: Some(runtime),
        })
    }

    /// The key of an archive: `{prefix}archives/{sha256}.tar.gz`.
    pub fn key_of(&self, sha256: &str) -> String {
        format!("{}/{sha256}.tar.gz", self.archives())
    }

    /// Where the archives are: `{prefix}archives`.
    fn archives(&self) -> String {
        if self.prefix.is_empty() {
            "archives".into()
        } else {
            format!("{}/archives", self.prefix)
        }
    }

    /// Checks that the bucket exists and the credentials may list it, so that a wrong
    /// setting is reported at start rather than at the first download.
    pub fn check(&self) -> Result<(), Error> {
        let s3 = self.s3.clone();
        let shown = format!("{}/", self.archives());
        let prefix = Key::from(self.archives());
        self.run(async move { s3.list_with_delimiter(Some(&prefix)).await.map(|_| ()) })
            .map_err(|f| self.error("list the archives under", &shown, f))
    }

    /// Runs one S3 call on this store's runtime, within the timeout. Callable from any
    /// thread, async workers included (it never enters a runtime, it waits on a channel),
    /// though callers keep it off async workers as they do any blocking store call.
    fn run<T: Send + 'static>(
        &self,
        call: impl Future<Output = Result<T, object_store::Error>> + Send + 'static,
    ) -> Result<T, Failure> {
        let Some(runtime) = self.runtime.as_ref() else {
            return Err(Failure::Stopped);
        };
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let limit = self.timeout;
        runtime.spawn(async move {
            let _ = tx.send(tokio::time::timeout(limit, call).await);
        });
        match rx.recv() {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(Failure::S3(e)),
            Ok(Err(_elapsed)) => Err(Failure::TimedOut),
            Err(_) => Err(Failure::Stopped),
        }
    }

    fn error(&self, doing: &'static str, key: &str, failure: Failure) -> Error {
        let (hint, source): (String, Box<dyn std::error::Error + Send + Sync>) = match failure {
            Failure::S3(e) => {
                let hint = match &e {
                    object_store::Error::Unauthenticated { .. }
                    | object_store::Error::PermissionDenied { .. } => {
                        "check the access key and secret key, and that they may read, write and list the bucket"
                    }
                    object_store::Error::NotFound { .. } => "check that the bucket exists",
                    _ => {
                        "check that the endpoint is reachable, the bucket exists, and the access key and secret key are right"
                    }
                };
                (hint.into(), Box::new(e))
            }
            Failure::TimedOut => (
                format!(
                    "S3 did not answer within {} s: check that the endpoint is reachable",
                    self.timeout.as_secs_f32()
                ),
                "timed out".into(),
            ),
            Failure::Stopped => (
                "tagpub is shutting down".into(),
                "the S3 client has stopped".into(),
            ),
        };
        S3Error::Call {
            doing,
            key: key.to_string(),
            bucket: self.bucket.clone(),
            endpoint: self.endpoint.clone(),
            hint,
            source,
        }
        .into()
    }

    /// The archive from the bucket, verified; `None` if there is no such object.
    fn fetch(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        let key = self.key_of(sha256);
        let s3 = self.s3.clone();
        let path = Key::from(key.as_str());
        let got = self.run(async move {
            match s3.get(&path).await {
                Ok(got) => got.bytes().await.map(Some),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        });
        let Some(bytes) = got.map_err(|f| self.error("download archive", &key, f))? else {
            return Ok(None);
        };
        let actual = hex::encode(Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(S3Error::Corrupt {
                key,
                bucket: self.bucket.clone(),
                endpoint: self.endpoint.clone(),
                actual,
            }
            .into());
        }
        Ok(Some(bytes.into()))
    }
}

impl Blobs for S3Blobs {
    /// Uploads the archive and returns once S3 has acknowledged it (and keeps a copy in
    /// the cache). Always uploads, so that a put also repairs an object that was altered.
    fn put(&self, bytes: &[u8]) -> Result<String, Error> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let key = self.key_of(&sha256);
        let s3 = self.s3.clone();
        let path = Key::from(key.as_str());
        let payload = PutPayload::from(bytes.to_vec());
        self.run(async move { s3.put(&path, payload).await.map(|_| ()) })
            .map_err(|f| self.error("upload archive", &key, f))?;
        self.cache.keep(&sha256, bytes);
        Ok(sha256)
    }

    fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>, Error> {
        if !super::blobs::is_sha256(sha256) {
            return Ok(None);
        }
        if let Some(bytes) = self.cache.read(sha256) {
            return Ok(Some(bytes));
        }
        let fetched = self.fetch(sha256)?;
        if let Some(bytes) = &fetched {
            self.cache.keep(sha256, bytes);
        }
        Ok(fetched)
    }

    /// In the cache, or in the bucket. A failure to ask the bucket counts as absent (and
    /// is logged): callers then put or fetch it again, which reports the failure.
    fn contains(&self, sha256: &str) -> bool {
        if !super::blobs::is_sha256(sha256) {
            return false;
        }
        if self.cache.has(sha256) {
            return true;
        }
        let key = self.key_of(sha256);
        let s3 = self.s3.clone();
        let path = Key::from(key.as_str());
        let found = self.run(async move {
            match s3.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        });
        match found {
            Ok(found) => found,
            Err(f) => {
                let e = self.error("look up archive", &key, f);
                tracing::warn!(error = %crate::report::chain(&e), "{}", crate::report::chain(&e));
                false
            }
        }
    }
}

impl Drop for S3Blobs {
    /// Stops the runtime without waiting for it: a runtime dropped on an async worker
    /// (where a store may be dropped at shutdown) would otherwise panic.
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Archives read from (or written to) the bucket, as files named by their sha256 in the
/// same layout as [`super::FileBlobs`]. A copy only: written without fsync, hashed when
/// read, and removed when it does not match.
struct LocalCache {
    root: PathBuf,
}

impl LocalCache {
    fn open(root: &Path) -> Result<LocalCache, Error> {
        std::fs::create_dir_all(root).map_err(|source| Error::Blob {
            doing: "create the cache directory for",
            path: root.to_path_buf(),
            source,
        })?;
        Ok(LocalCache {
            root: root.to_path_buf(),
        })
    }

    fn path_of(&self, sha256: &str) -> PathBuf {
        self.root
            .join(&sha256[..2])
            .join(format!("{sha256}.tar.gz"))
    }

    fn has(&self, sha256: &str) -> bool {
        self.path_of(sha256).is_file()
    }

    /// The cached archive if it is there and matches its name.
    fn read(&self, sha256: &str) -> Option<Vec<u8>> {
        let path = self.path_of(sha256);
        let bytes = std::fs::read(&path).ok()?;
        if hex::encode(Sha256::digest(&bytes)) == sha256 {
            return Some(bytes);
        }
        tracing::warn!(path = %path.display(), "the cached archive {} does not match its sha256; removing it and downloading it again", path.display());
        let _ = std::fs::remove_file(&path);
        None
    }

    /// Keeps a verified archive. A failure only costs a later download, so it is logged.
    fn keep(&self, sha256: &str, bytes: &[u8]) {
        let path = self.path_of(sha256);
        let write = || -> std::io::Result<()> {
            let dir = path.parent().expect("cache paths have a fan-out directory");
            std::fs::create_dir_all(dir)?;
            let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
            tmp.write_all(bytes)?;
            tmp.persist(&path).map_err(|e| e.error)?;
            Ok(())
        };
        if let Err(e) = write() {
            tracing::warn!(path = %path.display(), error = %e, "cannot keep a copy of archive {sha256} in {}: {e}", path.display());
        }
    }
}
