//! The mirror: packages of an upstream pub repository (`upstream:`, pub.dev by default)
//! served under our own hosted-url, for names that no repository or upload of ours
//! serves, so that one `PUB_HOSTED_URL` resolves private and public packages.
//!
//! Whether a name is ours is decided by the caller (http/), before asking here: our
//! names are never merged with upstream versions. This module owns the rest: which
//! names may come from the upstream ([`admits`]), listings rewritten so that every
//! `archive_url` is ours (`listing`), archives fetched once, verified against the
//! listed sha256 and kept in the same blob store as our own, the caches (`cache`), one
//! upstream request for many concurrent misses (`flight`), and counters (`stats`).

pub mod bundle;
mod cache;
mod fetch;
mod flight;
pub mod listing;
pub mod lockfile;
mod refresh;
mod stats;

pub use cache::{Document, Kind};
pub use stats::{LastError, Snapshot, Stats};

use crate::config::{Admission, Config};
use crate::store::Store;
use bytes::Bytes;
use cache::{Cache, Entry};
use fetch::{Failure, Fetcher};
use flight::Flights;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// After the upstream failed to answer (unreachable, timeout, 5xx), it is not asked
/// again for this long: stale listings are served at once and unknown names fail fast,
/// instead of every request waiting for the same dead upstream.
const BACKOFF: Duration = Duration::from_secs(5);

/// Why a mirrored request cannot be answered. Messages are for people: what failed and
/// what to do; causes went to the log where they happened.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// 404 for the client.
    #[error("package `{name}` was not found here nor at the upstream {upstream}")]
    NotFound { name: String, upstream: String },
    /// 404 for the client.
    #[error("package `{name}` has no version {version}")]
    NoSuchVersion { name: String, version: String },
    /// 502, or 504 when `timed_out`.
    #[error("{message}")]
    Unavailable { message: String, timed_out: bool },
    /// 502: the upstream's archive is not the one its listing promised.
    #[error(
        "the upstream's archive of {name} {version} does not match the sha256 its listing gives, so tagpub neither serves nor keeps it; tell the registry's admins"
    )]
    Mismatch {
        name: String,
        version: String,
        expected: String,
        actual: String,
    },
    /// 500: our own disk or store failed (logged where it happened).
    #[error("the mirror could not {doing}")]
    Local { doing: &'static str },
}

/// Whether a name that none of our repositories or uploads serves is fetched from the
/// upstream: there is one, its rules admit the name, `registry.yaml` does not declare it
/// as ours (a package about to get its first version), and pub accepts the name.
pub fn admits(config: &Config, name: &str) -> bool {
    config
        .upstream
        .as_ref()
        .is_some_and(|u| u.admit(name) == Admission::Mirrored)
        && !config.declares(name)
        && crate::package::name::validate(name).is_ok()
}

/// The mirror's state; one per data dir.
pub struct Mirror {
    store: Arc<Store>,
    cache: Arc<Cache>,
    fetcher: Fetcher,
    documents: Flights<Result<Arc<Document>, Error>>,
    archives: Flights<Result<Bytes, Error>>,
    pub stats: Stats,
    /// Until when the upstream is not asked, and how it last failed.
    backoff: Mutex<Option<(Instant, Failure)>>,
}

fn is_fresh(fetched: i64, ttl: Duration) -> bool {
    let age = crate::clock::now().saturating_sub(fetched);
    u64::try_from(age).is_ok_and(|age| Duration::from_secs(age) < ttl)
}

impl Mirror {
    /// A mirror keeping its files in `data_dir/mirror/` and archives in `store`.
    pub fn new(store: Arc<Store>, data_dir: &Path) -> Mirror {
        Mirror {
            store,
            cache: Arc::new(Cache::new(&data_dir.join("mirror"))),
            fetcher: Fetcher::default(),
            documents: Flights::default(),
            archives: Flights::default(),
            stats: Stats::default(),
            backoff: Mutex::new(None),
        }
    }

    /// A fresh listing (or advisories) of `name` from memory, rendered for the current
    /// `base_url`: the common case, answered without an await.
    pub fn fresh(&self, config: &Config, kind: Kind, name: &str) -> Option<Arc<Document>> {
        let upstream = config.upstream.as_ref()?;
        match self.cache.get(kind, name)? {
            Entry::Found(d)
                if is_fresh(d.fetched, upstream.listing_ttl)
                    && *d.base == *config.base_url.as_str() =>
            {
                self.stats.hit();
                Some(d)
            }
            _ => None,
        }
    }

    /// The listing of `name`, a name [`admits`] lets through and that is not ours.
    pub async fn listing(&self, config: &Arc<Config>, name: &str) -> Result<Arc<Document>, Error> {
        self.document(config, Kind::Listing, name).await
    }

    /// The upstream's advisories of `name` (docs/protocol.md §1.5), passed through.
    pub async fn advisories(
        &self,
        config: &Arc<Config>,
        name: &str,
    ) -> Result<Arc<Document>, Error> {
        self.document(config, Kind::Advisories, name).await
    }

    async fn document(
        &self,
        config: &Arc<Config>,
        kind: Kind,
        name: &str,
    ) -> Result<Arc<Document>, Error> {
        if let Some(d) = self.fresh(config, kind, name) {
            return Ok(d);
        }
        let key = format!("{kind:?}:{name}");
        self.documents
            .run(&key, &self.stats, || {
                self.refresh(config.clone(), kind, name.to_string())
            })
            .await
    }

    /// Whether the mirror checked archive `sha256` itself and the store holds it. Asked
    /// off the async workers: the store may be an S3 bucket.
    async fn holds(&self, sha256: &str) -> bool {
        if !self.cache.is_verified(sha256) {
            return false;
        }
        let (store, sha) = (self.store.clone(), sha256.to_string());
        tokio::task::spawn_blocking(move || store.blobs.contains(&sha))
            .await
            .unwrap_or(false)
    }

    /// The sha256 of archive `name` `version`, fetching and storing it first if needed;
    /// with its bytes when it was fetched now. Stored archives are served whatever the
    /// upstream's state: a stale listing is enough to find them.
    pub async fn archive(
        &self,
        config: &Arc<Config>,
        name: &str,
        version: &str,
    ) -> Result<(String, Option<Bytes>), Error> {
        let known = match self.cache.get(Kind::Listing, name) {
            Some(Entry::Found(d)) => Some(d),
            _ => self
                .load(config, Kind::Listing, name)
                .await?
                .and_then(|e| match e {
                    Entry::Found(d) => Some(d),
                    Entry::Missing { .. } => None,
                }),
        };
        let listed = match known.filter(|d| d.archive(version).is_some()) {
            Some(d) => d,
            None => self.listing(config, name).await?,
        };
        let Some(archive) = listed.archive(version) else {
            return Err(Error::NoSuchVersion {
                name: name.to_string(),
                version: version.to_string(),
            });
        };
        let sha256 = archive.sha256.to_string();
        if self.holds(&sha256).await {
            self.stats.hit();
            return Ok((sha256, None));
        }
        let url = archive.url.to_string();
        let bytes = self
            .archives
            .run(&sha256, &self.stats, || {
                self.fetch_archive(config.clone(), name, version, sha256.clone(), url)
            })
            .await?;
        Ok((sha256, Some(bytes)))
    }

    /// Whether the upstream failed moments ago; then how.
    fn backing_off(&self) -> Option<Failure> {
        let backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
        backoff
            .as_ref()
            .filter(|(until, _)| Instant::now() < *until)
            .map(|(_, f)| f.clone())
    }

    /// Logs an upstream failure once, where it happened, and backs off when the
    /// upstream itself is in trouble (not when it merely refused us).
    fn note_failure(&self, what: &str, failure: &Failure) {
        let troubled = match failure {
            Failure::Failed { outcome, .. } => *outcome != stats::Outcome::Refused,
            Failure::NotFound | Failure::TooLarge { .. } => false,
        };
        if troubled {
            let mut backoff = self.backoff.lock().unwrap_or_else(|p| p.into_inner());
            *backoff = Some((Instant::now() + BACKOFF, failure.clone()));
        }
        if let Failure::Failed { detail, .. } | Failure::TooLarge { detail, .. } = failure {
            tracing::warn!(what = %what, error = %detail, "the upstream failed for {what}: {detail}");
        }
    }

    /// The error a client sees when the upstream failed for `what`.
    fn unavailable(config: &Config, what: &str, failure: &Failure) -> Error {
        let upstream = config
            .upstream
            .as_ref()
            .map_or("(none)", |u| u.url.as_str());
        let advice = match failure {
            Failure::TooLarge { .. } => "tell the registry's admins",
            _ => "try again later",
        };
        Error::Unavailable {
            message: format!(
                "the upstream {upstream} {failure} when asked for {what}, and tagpub has no copy of it; {advice}"
            ),
            timed_out: failure.outcome() == stats::Outcome::Timeout,
        }
    }
}
