//! Within a pass: what becomes of each candidate tag, of names another source owns, and
//! of tags that were deleted.

use super::claim::Claim;
use super::sync::short;
use super::{Rejection, RepoReport, TagProblem, plan};
use crate::config::{Repository, redact};
use crate::git::Repo;
use crate::store::{Store, TagOutcome, TagRecord};
use std::collections::{HashMap, HashSet};
use tracing::{info, warn};

/// The state of one pass over one repository.
pub(super) struct Pass<'a> {
    pub config: &'a Repository,
    pub repositories: &'a [Repository],
    pub store: &'a Store,
    pub repo: &'a Repo,
    /// Outcomes recorded by earlier passes, by `(tag, package)`.
    pub records: &'a HashMap<(String, String), TagRecord>,
    pub report: &'a mut RepoReport,
    /// New and moved tags to evaluate, in the order a serial pass would take them
    /// (release/commit.rs builds and stores them).
    pub jobs: Vec<Job>,
}

/// A tag to evaluate and, if it is a release, to store.
pub(super) struct Job {
    pub name: String,
    /// Where the package usually is in the tree.
    pub path: String,
    pub candidate: plan::Candidate,
}

impl Pass<'_> {
    /// A candidate of a package this repository serves: known outcomes are reported
    /// again, new and moved tags queued as jobs.
    pub fn candidate(
        &mut self,
        name: &str,
        path: &str,
        c: &plan::Candidate,
    ) -> Result<(), crate::store::Error> {
        let commit = c.commit.to_string();
        if let Some(record) = self.records.get(&(c.tag.clone(), name.to_string())) {
            match (&record.outcome, record.commit == commit) {
                (TagOutcome::Served { version }, true) => {
                    self.served(name, version, &c.tag);
                    return Ok(());
                }
                (TagOutcome::Served { version }, false) => {
                    let message = format!(
                        "tag {} moved from {} to {}; {name} {version} keeps serving the archive built from {}",
                        c.tag,
                        short(&record.commit),
                        short(&commit),
                        short(&record.commit)
                    );
                    if self
                        .store
                        .catalog
                        .add_warning(&self.config.key, &c.tag, &message)?
                    {
                        warn!(repo = %self.report.repo, tag = %c.tag, package = %name, "{message}");
                    }
                    self.served(name, version, &c.tag);
                    return Ok(());
                }
                (TagOutcome::Rejected { reason }, true) => {
                    self.problem(name, &c.tag, reason.clone());
                    return Ok(());
                }
                // A rejected tag that moved is usually the fix: look again.
                (TagOutcome::Rejected { .. }, false) => {}
            }
        }
        self.jobs.push(Job {
            name: name.to_string(),
            path: path.to_string(),
            candidate: c.clone(),
        });
        Ok(())
    }

    pub(super) fn served(&mut self, name: &str, version: &str, tag: &str) {
        self.report
            .served
            .push((name.to_string(), version.to_string(), tag.to_string()));
    }

    pub(super) fn problem(&mut self, name: &str, tag: &str, reason: String) {
        self.report.rejected.push(TagProblem {
            package: name.to_string(),
            tag: tag.to_string(),
            reason,
        });
    }

    pub(super) fn record(&self, name: &str, c: &plan::Candidate, outcome: TagOutcome) -> TagRecord {
        TagRecord {
            repo: self.config.key.clone(),
            tag: c.tag.clone(),
            commit: c.commit.to_string(),
            package: name.to_string(),
            outcome,
        }
    }

    pub(super) fn reject(
        &mut self,
        name: &str,
        c: &plan::Candidate,
        rejection: Rejection,
    ) -> Result<(), crate::store::Error> {
        warn!(repo = %self.report.repo, tag = %c.tag, package = %name, reason = %rejection.reason, "tag {} of {name} is not served: {}", c.tag, rejection.reason);
        self.problem(name, &c.tag, rejection.reason.clone());
        if rejection.transient {
            return Ok(());
        }
        let record = self.record(
            name,
            c,
            TagOutcome::Rejected {
                reason: rejection.reason,
            },
        );
        self.store.catalog.record_tag(&record)
    }

    /// Every candidate of `name`, which this repository may not serve, is reported as
    /// refused. A name owned by another source is refused for good (recorded, logged
    /// once); a deferred one is looked at again on the next pass.
    pub fn refuse(
        &mut self,
        name: &str,
        candidates: &[plan::Candidate],
        claim: Claim,
    ) -> Result<(), crate::store::Error> {
        match claim {
            Claim::Mine => Ok(()),
            Claim::Owned { reason } => {
                let mut new = false;
                for c in candidates {
                    match self.records.get(&(c.tag.clone(), name.to_string())) {
                        // Stored before names had one source (store/sources.rs).
                        Some(TagRecord {
                            outcome: TagOutcome::Served { version },
                            ..
                        }) => self.problem(
                            name,
                            &c.tag,
                            format!("{reason}; {name} {version}, stored from this tag earlier, is not served"),
                        ),
                        Some(TagRecord {
                            outcome: TagOutcome::Rejected { reason: old },
                            commit,
                            ..
                        }) if old == &reason && gix::ObjectId::from_hex(commit.as_bytes()).ok() == Some(c.commit) => {
                            self.problem(name, &c.tag, reason.clone());
                        }
                        _ => {
                            new = true;
                            self.problem(name, &c.tag, reason.clone());
                            let record = self.record(
                                name,
                                c,
                                TagOutcome::Rejected {
                                    reason: reason.clone(),
                                },
                            );
                            self.store.catalog.record_tag(&record)?;
                        }
                    }
                }
                if new {
                    warn!(repo = %self.report.repo, package = %name, "{reason}");
                }
                Ok(())
            }
            Claim::Deferred { reason, waiting_on } => {
                for c in candidates {
                    self.problem(name, &c.tag, reason.clone());
                }
                info!(repo = %self.report.repo, package = %name, waiting_on = %redact(&waiting_on), "{reason}");
                if !self.report.waiting_on.contains(&waiting_on) {
                    self.report.waiting_on.push(waiting_on);
                }
                Ok(())
            }
        }
    }

    /// Served tags that are gone from the repository: their versions keep being served
    /// (bytes are forever), with a warning that is logged once and shown until the tag
    /// comes back.
    pub fn note_deleted_tags(
        &mut self,
        present: &HashSet<String>,
    ) -> Result<(), crate::store::Error> {
        for r in self.records.values() {
            let TagOutcome::Served { version } = &r.outcome else {
                continue;
            };
            if present.contains(&r.tag) {
                continue;
            }
            let message = deleted_message(&r.tag, &r.package, version, &r.commit);
            if self
                .store
                .catalog
                .add_warning(&self.config.key, &r.tag, &message)?
            {
                warn!(repo = %self.report.repo, tag = %r.tag, package = %r.package, "{message}");
            }
        }
        for (tag, message) in self.store.catalog.warnings(&self.config.key)? {
            if present.contains(&tag) && message.starts_with(&deleted_prefix(&tag)) {
                self.store
                    .catalog
                    .remove_warning(&self.config.key, &tag, &message)?;
                info!(repo = %self.report.repo, tag = %tag, "tag {tag} is back");
            }
        }
        Ok(())
    }
}

fn deleted_prefix(tag: &str) -> String {
    format!("tag {tag} was deleted;")
}

fn deleted_message(tag: &str, package: &str, version: &str, commit: &str) -> String {
    format!(
        "{} {package} {version} keeps being served from the archive built from {} (a version never changes)",
        deleted_prefix(tag),
        short(commit)
    )
}
