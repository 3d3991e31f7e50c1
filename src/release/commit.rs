//! The new and moved tags of a pass: built on every core (release/builds.rs), stored in
//! batches (group commit: the archives of a batch synced together, then one catalog
//! transaction), and reported, logged and counted only once their batch is durable,
//! so that a crash at any moment loses nothing that was said to be served
//! (docs/architecture.md, "The sync pipeline").

use super::builds::{self, Builders, Line, Reservation, Taken};
use super::claim::owned_reason;
use super::ingest::{Job, Pass};
use super::{Rejection, Release, candidate};
use crate::git::Repo;
use crate::store::{Added, Blob, Ingest, Source, StoredVersion, TagOutcome};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Versions stored together at most.
const BATCH_VERSIONS: usize = 512;

/// How long a built version may wait for its batch to fill before the batch is stored
/// anyway: a version is served at most this much later than it would be alone.
const BATCH_WAIT: Duration = Duration::from_millis(200);

/// A tag evaluated as a release, its archive built and hashed.
struct Built {
    release: Release,
    blob: Blob,
    /// The tag's date.
    published: i64,
}

/// Evaluates one job on a worker; returns the outcome and the bytes it holds.
fn build(repo: &mut Repo, job: &Job) -> (Result<Built, Rejection>, usize) {
    let c = &job.candidate;
    let built = candidate::evaluate(repo, c.commit, &job.name, &job.path, &c.version_text)
        .and_then(|mut release| {
            // The tag's own date, not when tagpub saw it: a catalog rebuilt from the same
            // repository lists the same `published`.
            let published = repo.tag_time(c.target, c.commit).map_err(|e| Rejection {
                reason: format!("could not read the tag's date from git ({e}); it will be retried"),
                transient: true,
            })?;
            let blob = Blob::new(std::mem::take(&mut release.archive));
            Ok(Built {
                release,
                blob,
                published,
            })
        });
    let bytes = built.as_ref().map_or(0, |b| b.blob.bytes().len());
    (built, bytes)
}

/// Results taken from the line, not yet stored.
#[derive(Default)]
struct Batch<'b> {
    /// Index of the job, its outcome, and its hold on the byte budget.
    items: Vec<(usize, Result<Built, Rejection>, Reservation<'b>)>,
    bytes: usize,
    /// When the oldest item was taken.
    since: Option<Instant>,
}

impl Pass<'_> {
    /// Builds and stores the queued jobs, in the order they were queued.
    pub fn build_and_store(&mut self, builders: &Builders) -> Result<(), crate::store::Error> {
        let jobs = std::mem::take(&mut self.jobs);
        if jobs.is_empty() {
            return Ok(());
        }
        let workers = builders.slots().min(jobs.len());
        let repos: Vec<Repo> = (0..workers).map(|_| self.repo.handle()).collect();
        let batch_bytes = builders.batch_bytes();
        builds::in_order(builders, &jobs, repos, build, |line| {
            self.store_in_batches(&jobs, line, batch_bytes)
        })
    }

    fn store_in_batches<'b>(
        &mut self,
        jobs: &[Job],
        line: &Line<'b, Result<Built, Rejection>>,
        batch_bytes: usize,
    ) -> Result<(), crate::store::Error> {
        let mut batch = Batch::default();
        let mut next = 0;
        loop {
            match line.take(batch.since.map(|t| t + BATCH_WAIT)) {
                Taken::Ready(built, reservation) => {
                    batch.bytes += reservation.bytes();
                    batch.since.get_or_insert_with(Instant::now);
                    batch.items.push((next, built, reservation));
                    next += 1;
                    if batch.items.len() >= BATCH_VERSIONS || batch.bytes >= batch_bytes {
                        self.store_batch(jobs, std::mem::take(&mut batch))?;
                    }
                }
                Taken::NotYet => self.store_batch(jobs, std::mem::take(&mut batch))?,
                Taken::End => return self.store_batch(jobs, batch),
            }
        }
    }

    /// Archives first (all synced), then one transaction for the catalog; only then
    /// is anything reported.
    fn store_batch(&mut self, jobs: &[Job], batch: Batch<'_>) -> Result<(), crate::store::Error> {
        if batch.items.is_empty() {
            return Ok(());
        }
        let blobs: Vec<&Blob> = batch
            .items
            .iter()
            .filter_map(|(_, built, _)| built.as_ref().ok().map(|b| &b.blob))
            .collect();
        self.store.blobs.put_all(&blobs)?;
        let writes: Vec<Ingest> = batch
            .items
            .iter()
            .filter_map(|(i, built, _)| self.write_of(&jobs[*i], built))
            .collect();
        let mut added = self.store.catalog.ingest(&writes)?.into_iter();
        // Durable from here on.
        for (i, built, _reservation) in batch.items {
            let job = &jobs[i];
            match built {
                Err(rejection) => self.rejected(job, &rejection),
                Ok(built) => {
                    let added = added
                        .next()
                        .expect("the catalog reports on every version it was given");
                    self.stored(job, &built, added)?;
                }
            }
        }
        Ok(())
    }

    /// What the catalog records of one job's outcome: nothing for a rejection that
    /// will be retried.
    fn write_of(&self, job: &Job, built: &Result<Built, Rejection>) -> Option<Ingest> {
        let c = &job.candidate;
        match built {
            Err(rejection) if rejection.transient => None,
            Err(rejection) => Some(Ingest::Tag(self.record(
                &job.name,
                c,
                TagOutcome::Rejected {
                    reason: rejection.reason.clone(),
                },
            ))),
            Ok(built) => {
                let version = built.release.version.to_string();
                let stored = StoredVersion {
                    package: job.name.clone(),
                    version: version.clone(),
                    sha256: built.blob.sha256().to_string(),
                    pubspec_json: built.release.pubspec.json.to_string(),
                    archive_size: built.blob.bytes().len() as u64,
                    published: built.published,
                    source: Source::Git {
                        repo: self.config.key.clone(),
                        tag: c.tag.clone(),
                        commit: c.commit.to_string(),
                    },
                };
                let warnings = built
                    .release
                    .warnings
                    .iter()
                    .map(|w| format!("{} {version}: {w}", job.name))
                    .collect();
                let tag = self.record(&job.name, c, TagOutcome::Served { version });
                Some(Ingest::Version {
                    version: Box::new(stored),
                    tag,
                    warnings,
                })
            }
        }
    }

    /// A rejection, once recorded (or, when it will be retried, not recorded).
    fn rejected(&mut self, job: &Job, rejection: &Rejection) {
        let (name, tag) = (&job.name, &job.candidate.tag);
        warn!(repo = %self.report.repo, tag = %tag, package = %name, reason = %rejection.reason, "tag {tag} of {name} is not served: {}", rejection.reason);
        self.problem(name, tag, rejection.reason.clone());
    }

    /// A built release, once its batch is durable.
    fn stored(
        &mut self,
        job: &Job,
        built: &Built,
        added: Added,
    ) -> Result<(), crate::store::Error> {
        let (name, c) = (&job.name, &job.candidate);
        let version = built.release.version.to_string();
        let sha256 = built.blob.sha256();
        match added {
            Added::New => {
                info!(repo = %self.report.repo, package = %name, version = %version, tag = %c.tag, sha256 = %sha256, "ingested {name} {version} from tag {}", c.tag);
                self.report
                    .new_versions
                    .push((name.clone(), version.clone(), c.tag.clone()));
                self.served(name, &version, &c.tag);
            }
            // Another tag (say `1.0.0` beside `v1.0.0`) names the same release; the
            // catalog recorded this tag as serving it.
            Added::AlreadyExists(existing) if existing.sha256 == sha256 => {
                self.served(name, &version, &c.tag);
            }
            Added::AlreadyExists(existing) => {
                let origin = match &existing.source {
                    Source::Git { tag, .. } => format!("tag {tag}"),
                    Source::Upload { uploader } => format!("an upload by {uploader}"),
                };
                self.reject(
                    name,
                    c,
                    Rejection::from(format!(
                        "{name} {version} is already served from {origin} with different content; a version never changes, so release {name} with a new version"
                    )),
                )?;
            }
            // Another writer claimed the name between the claim check and this insert;
            // the store kept it to one source.
            Added::OtherSource(owner) => {
                let reason = owned_reason(name, self.config, self.repositories, &owner);
                self.reject(name, c, Rejection::from(reason))?;
            }
        }
        Ok(())
    }
}
