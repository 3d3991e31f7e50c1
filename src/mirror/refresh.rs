//! Asking the upstream when memory holds nothing fresh: listings and advisories (served
//! stale when the upstream fails), and archives (verified before they are stored).

use super::cache::{ArchiveRef, Document, Entry, Kind};
use super::fetch::Failure;
use super::listing::{self, Mirrored, Refusal};
use super::stats::Outcome;
use super::{Error, Mirror, is_fresh};
use crate::config::{BaseUrl, Config};
use crate::report::chain;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tracing::{debug, error, info, warn};

/// A listing as served: rendered for `base`, with what archive requests need.
pub(super) fn document_of(package: &Mirrored, base: &BaseUrl) -> Document {
    Document {
        fetched: package.fetched,
        base: base.as_str().into(),
        gzip: listing::render(package, base),
        archives: package
            .versions
            .iter()
            .map(|v| ArchiveRef {
                version: v.version.as_str().into(),
                sha256: v.sha256.as_str().into(),
                url: v.url.as_str().into(),
            })
            .collect(),
    }
}

/// Whether an advisories body has the shape the client requires (docs/protocol.md §1.5) at the top.
fn check_advisories(body: &[u8]) -> Result<(), Refusal> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::Unusable(format!("the advisories are not JSON ({e})")))?;
    match value.get("advisories") {
        Some(serde_json::Value::Array(_)) => Ok(()),
        _ => Err(Refusal::Unusable(
            "the advisories have no `advisories` list".into(),
        )),
    }
}

impl Mirror {
    /// Reads `name` from `data_dir/mirror/` into memory, rendered for the current
    /// `base_url`; `None` if it was never stored (or cannot be read, which is logged:
    /// the upstream is asked instead).
    pub(super) async fn load(
        &self,
        config: &Config,
        kind: Kind,
        name: &str,
    ) -> Result<Option<Entry>, Error> {
        let cache = self.cache.clone();
        let base = config.base_url.clone();
        let owned = name.to_string();
        let loaded = tokio::task::spawn_blocking(move || match kind {
            Kind::Listing => Ok(cache.read_listing(&owned)?.map(|m| document_of(&m, &base))),
            Kind::Advisories => {
                Ok(cache
                    .read_advisories(&owned)?
                    .map(|(fetched, body)| Document {
                        fetched,
                        base: base.as_str().into(),
                        gzip: listing::gzip(&body),
                        archives: Box::new([]),
                    }))
            }
        })
        .await
        .map_err(|_| Error::Local {
            doing: "read its cache",
        })?;
        match loaded {
            Ok(Some(doc)) => {
                let entry = Entry::Found(Arc::new(doc));
                self.cache.put(kind, name, entry.clone());
                Ok(Some(entry))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                let e: std::io::Error = e;
                error!(package = %name, error = %chain(&e), "cannot read the mirrored copy of {name}; asking the upstream: {}", chain(&e));
                Ok(None)
            }
        }
    }

    /// The flight behind a listing or advisories miss: memory, then disk (which `mirror
    /// import` or another process may have refreshed), then the upstream.
    pub(super) async fn refresh(
        &self,
        config: Arc<Config>,
        kind: Kind,
        name: String,
    ) -> Result<Arc<Document>, Error> {
        let Some(upstream) = config.upstream.as_ref() else {
            return Err(Error::Local {
                doing: "find its upstream in the config",
            });
        };
        let ttl = upstream.listing_ttl;
        let mut known = self.cache.get(kind, &name);
        let usable = |e: &Option<Entry>| match e {
            Some(Entry::Found(d)) => {
                is_fresh(d.fetched, ttl) && *d.base == *config.base_url.as_str()
            }
            Some(Entry::Missing { fetched }) => is_fresh(*fetched, ttl),
            None => false,
        };
        if !usable(&known)
            && let Some(stored) = self.load(&config, kind, &name).await?
            && known
                .as_ref()
                .is_none_or(|k| stored.fetched() >= k.fetched())
        {
            known = Some(stored);
        }
        if usable(&known) {
            self.stats.hit();
            return match known {
                Some(Entry::Found(d)) => Ok(d),
                _ => Err(not_found(&config, &name)),
            };
        }
        self.stats.miss();
        let what = match kind {
            Kind::Listing => format!("package {name}"),
            Kind::Advisories => format!("the advisories of {name}"),
        };
        if let Some(failure) = self.backing_off() {
            let e = Mirror::unavailable(&config, &what, &failure);
            return self.stale_or(&config, &name, known, e);
        }
        let relative = match kind {
            Kind::Listing => format!("api/packages/{name}"),
            Kind::Advisories => format!("api/packages/{name}/advisories"),
        };
        match self.fetcher.json(upstream, &relative, &self.stats).await {
            Ok(body) => self.accept(&config, kind, &name, body, known).await,
            Err(Failure::NotFound) => {
                // Followed at once: a package the upstream took down (malware, say)
                // must not stay installable here.
                self.missing(kind, &name);
                Err(not_found(&config, &name))
            }
            Err(failure) => {
                self.note_failure(&what, &failure);
                let e = Mirror::unavailable(&config, &what, &failure);
                self.stale_or(&config, &name, known, e)
            }
        }
    }

    fn missing(&self, kind: Kind, name: &str) {
        let fetched = crate::clock::now();
        self.cache.put(kind, name, Entry::Missing { fetched });
    }

    /// What a failed refresh answers: the copy we had, however old, or `e`.
    fn stale_or(
        &self,
        config: &Config,
        name: &str,
        known: Option<Entry>,
        e: Error,
    ) -> Result<Arc<Document>, Error> {
        match known {
            Some(Entry::Found(d)) => {
                self.stats.stale();
                debug!(package = %name, fetched = d.fetched, "serving the mirrored copy of {name} past its listing_ttl: {e}");
                Ok(d)
            }
            Some(Entry::Missing { .. }) => Err(not_found(config, name)),
            None => Err(e),
        }
    }

    /// Checks, pins and stores what the upstream answered.
    async fn accept(
        &self,
        config: &Config,
        kind: Kind,
        name: &str,
        body: Bytes,
        known: Option<Entry>,
    ) -> Result<Arc<Document>, Error> {
        let (cache, store, base) = (
            self.cache.clone(),
            self.store.clone(),
            config.base_url.clone(),
        );
        let Some(origin) = config.upstream.as_ref().map(|u| u.url.clone()) else {
            return Err(Error::Local {
                doing: "find its upstream in the config",
            });
        };
        let owned = name.to_string();
        let fetched = crate::clock::now();
        let checked = tokio::task::spawn_blocking(move || match kind {
            Kind::Listing => {
                let (mut package, mut notes) = listing::parse_upstream(&owned, &body, fetched, &origin)?;
                if let Ok(Some(old)) = cache.read_listing(&owned) {
                    notes.extend(listing::keep_served(&mut package, &old, |sha| {
                        cache.is_verified(sha) && store.blobs.contains(sha)
                    }));
                }
                if let Err(e) = cache.write_listing(&package, false) {
                    error!(package = %owned, error = %chain(&e), "cannot keep the mirrored listing of {owned} on disk: {}", chain(&e));
                }
                Ok((document_of(&package, &base), notes))
            }
            Kind::Advisories => {
                check_advisories(&body)?;
                if let Err(e) = cache.write_advisories(&owned, fetched, &body) {
                    error!(package = %owned, error = %chain(&e), "cannot keep the advisories of {owned} on disk: {}", chain(&e));
                }
                let doc = Document {
                    fetched,
                    base: base.as_str().into(),
                    gzip: listing::gzip(&body),
                    archives: Box::new([]),
                };
                Ok((doc, Vec::new()))
            }
        })
        .await
        .map_err(|_| Error::Local {
            doing: "read the upstream's answer",
        })?;
        match checked {
            Ok((doc, notes)) => {
                if !notes.is_empty() {
                    warn!(package = %name, "mirroring {name}: {}", notes.join("; "));
                }
                let doc = Arc::new(doc);
                self.cache.put(kind, name, Entry::Found(doc.clone()));
                Ok(doc)
            }
            Err(Refusal::Empty) => {
                self.missing(kind, name);
                Err(not_found(config, name))
            }
            Err(Refusal::Unusable(why)) => {
                let upstream = config.upstream.as_ref().map_or("", |u| u.url.as_str());
                self.stats
                    .error(format!("{upstream}: unusable answer for {name}: {why}"));
                warn!(package = %name, "the upstream's answer for {name} cannot be served: {why}");
                let e = Error::Unavailable {
                    message: format!(
                        "the upstream {upstream} answered for {name} with something tagpub cannot serve safely ({why}); tell the registry's admins"
                    ),
                    timed_out: false,
                };
                self.stale_or(config, name, known, e)
            }
        }
    }

    /// The flight behind an archive miss: fetch, verify against the listed sha256,
    /// store. Bytes that do not match are neither served nor stored.
    pub(super) async fn fetch_archive(
        &self,
        config: Arc<Config>,
        name: &str,
        version: &str,
        sha256: String,
        url: String,
    ) -> Result<Bytes, Error> {
        if self.holds(&sha256).await {
            // Another flight stored it a moment ago.
            let store = self.store.clone();
            let sha = sha256.clone();
            let read = tokio::task::spawn_blocking(move || store.blobs.get(&sha)).await;
            if let Ok(Ok(Some(bytes))) = read {
                return Ok(bytes.into());
            }
        }
        self.stats.miss();
        let what = format!("the archive of {name} {version}");
        if let Some(failure) = self.backing_off() {
            return Err(Mirror::unavailable(&config, &what, &failure));
        }
        let Some(upstream) = config.upstream.as_ref() else {
            return Err(Error::Local {
                doing: "find its upstream in the config",
            });
        };
        if !listing::on_origin(&url, &upstream.url) {
            // Listings are checked when fetched (listing::parse_upstream); this one
            // was stored before the upstream changed, or came from a bundle.
            warn!(package = %name, version = %version, "the archive of {name} {version} is listed on another host than upstream.url; not fetched");
            return Err(Error::Unavailable {
                message: format!(
                    "the archive of {name} {version} is listed on another host than the upstream {}, and tagpub fetches only from the upstream; tell the registry's admins",
                    upstream.url.as_str()
                ),
                timed_out: false,
            });
        }
        let limit = config.uploads.max_archive_bytes;
        let bytes = match self
            .fetcher
            .archive(upstream, &url, limit, &self.stats)
            .await
        {
            Ok(bytes) => bytes,
            Err(Failure::NotFound) => {
                warn!(package = %name, version = %version, "the upstream lists {name} {version} but its archive answers 404");
                return Err(Error::Unavailable {
                    message: format!(
                        "the upstream lists {name} {version} but does not serve its archive; try again later"
                    ),
                    timed_out: false,
                });
            }
            Err(failure) => {
                self.note_failure(&what, &failure);
                return Err(Mirror::unavailable(&config, &what, &failure));
            }
        };
        let (store, cache) = (self.store.clone(), self.cache.clone());
        let (expected, body) = (sha256.clone(), bytes.clone());
        let checked = tokio::task::spawn_blocking(move || {
            let actual = hex::encode(Sha256::digest(&body));
            if actual != expected {
                return Checked::Mismatch(actual);
            }
            if let Err(e) = store.blobs.put(&body) {
                return Checked::Failed(chain(&e));
            }
            match cache.mark_verified(&expected) {
                Ok(()) => Checked::Stored,
                Err(e) => Checked::Failed(format!("cannot record it as verified: {}", chain(&e))),
            }
        })
        .await
        .map_err(|_| Error::Local {
            doing: "store an archive",
        })?;
        match checked {
            Checked::Stored => {
                self.stats.request(Outcome::Ok);
                info!(package = %name, version = %version, sha256 = %sha256, bytes = bytes.len(), "mirrored the archive of {name} {version}");
                Ok(bytes)
            }
            Checked::Mismatch(actual) => {
                self.stats.request(Outcome::Mismatch);
                let message = format!(
                    "the archive of {name} {version} from the upstream hashes to {actual}, not {sha256} as listed; not served, not stored"
                );
                error!(package = %name, version = %version, expected = %sha256, actual = %actual, "{message}");
                self.stats.error(message);
                Err(Error::Mismatch {
                    name: name.to_string(),
                    version: version.to_string(),
                    expected: sha256,
                    actual,
                })
            }
            Checked::Failed(e) => {
                error!(package = %name, version = %version, error = %e, "cannot store the mirrored archive of {name} {version}: {e}");
                Err(Error::Local {
                    doing: "store an archive",
                })
            }
        }
    }
}

/// What became of fetched archive bytes.
enum Checked {
    Stored,
    /// They hash to this instead.
    Mismatch(String),
    Failed(String),
}

fn not_found(config: &Config, name: &str) -> Error {
    Error::NotFound {
        name: name.to_string(),
        upstream: config
            .upstream
            .as_ref()
            .map_or_else(String::new, |u| u.url.as_str().to_string()),
    }
}
