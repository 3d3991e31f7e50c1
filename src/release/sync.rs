//! One pass over one repository.

use super::builds::Builders;
use super::claim::{Claim, Claims};
use super::ingest::Pass;
use super::{plan, rebuild};
use crate::config::{RepoUrl, Repository};
use crate::git::{self, Repo};
use crate::store::{Store, TagRecord};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use tracing::warn;

/// What one pass over a repository did.
#[derive(Debug, Default, Clone)]
pub struct RepoReport {
    /// The repository as people know it (passwords removed).
    pub repo: String,
    /// Why fetching failed; versions already stored stay served.
    pub fetch_error: Option<String>,
    /// `(package, version, tag)` served for the first time in this pass.
    pub new_versions: Vec<(String, String, String)>,
    /// `(package, version, tag)` that were already served or would be served (check).
    pub served: Vec<(String, String, String)>,
    pub rejected: Vec<TagProblem>,
    pub warnings: Vec<String>,
    /// Config keys of repositories listed earlier that hold a package name this one
    /// holds too, or were never read (release/claim.rs): once one of them has been
    /// read, this repository's pass should run again.
    pub waiting_on: Vec<String>,
}

/// A tag that is not served, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagProblem {
    pub package: String,
    pub tag: String,
    pub reason: String,
}

/// The mirror directory of a remote repository: readable, and unique per URL.
pub fn mirror_dir(mirrors: &Path, key: &str) -> PathBuf {
    let slug: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let slug = slug.trim_matches('_');
    let slug = &slug[slug.len().saturating_sub(40)..];
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..6]);
    mirrors.join(format!("{slug}-{hash}.git"))
}

/// A repository made available locally.
pub struct Opened {
    pub repo: Option<Repo>,
    /// Why it could not be fetched or opened; a mirror fetched before may still be open.
    pub error: Option<git::Error>,
    /// The tags a remote has now (its mirror keeps deleted ones); `None` for a local
    /// repository, whose own tags are the truth, or when the fetch failed.
    pub remote_tags: Option<HashSet<String>>,
}

/// Makes the repository's tags available locally (fetching remote ones into their
/// mirror) and opens it. A failed fetch of a remote that was mirrored before still
/// opens the mirror, so its versions keep being served; the error is returned beside.
pub fn open_repository(config: &Repository, mirrors: &Path) -> Opened {
    let location = config.url.display();
    match &config.url {
        RepoUrl::Local(path) => match Repo::open(path, &location) {
            Ok(r) => Opened {
                repo: Some(r),
                error: None,
                remote_tags: None,
            },
            Err(e) => Opened {
                repo: None,
                error: Some(e),
                remote_tags: None,
            },
        },
        RepoUrl::Remote(url) => {
            let dir = mirror_dir(mirrors, &config.key);
            let fetched =
                credentials(config).and_then(|c| git::fetch_mirror(url, &location, &dir, c));
            let (remote_tags, fetch_error) = match fetched {
                Ok(tags) => (Some(tags), None),
                Err(e) => (None, Some(e)),
            };
            // After a fetch the mirror must open; after a failed one, a mirror fetched
            // before still serves, if there is one.
            if fetch_error.is_some() && !dir.join("HEAD").is_file() {
                return Opened {
                    repo: None,
                    error: fetch_error,
                    remote_tags,
                };
            }
            let (repo, error) = match (Repo::open(&dir, &location), fetch_error) {
                (Ok(repo), error) => (Some(repo), error),
                (Err(open), None) => (None, Some(open)),
                // The fetch failed opening this same mirror: its error says it all.
                (
                    Err(_),
                    Some(fetch @ (git::Error::Open { .. } | git::Error::CreateMirror { .. })),
                ) => (None, Some(fetch)),
                (Err(open), Some(fetch)) => (
                    None,
                    Some(git::Error::MirrorUnusable {
                        fetch: Box::new(fetch),
                        path: dir,
                        open: Box::new(open),
                    }),
                ),
            };
            Opened {
                repo,
                error,
                remote_tags,
            }
        }
    }
}

fn credentials(config: &Repository) -> Result<Option<(String, String)>, git::Error> {
    let Some(c) = &config.credentials else {
        return Ok(None);
    };
    match std::env::var(&c.password_env) {
        Ok(password) => Ok(Some((c.username.clone(), password))),
        Err(_) => Err(git::Error::MissingCredential {
            location: config.url.display(),
            var: c.password_env.clone(),
        }),
    }
}

pub(super) use crate::report::chain;

/// One pass: fetch, evaluate new tags, store new versions, rebuild missing archives.
/// Problems with single tags are reported, not fatal; only a broken store is an error.
/// `repositories` is every repository in registry.yaml order: when several hold a
/// package name, the order decides which serves it (release/claim.rs).
/// New archives are built on `builders`, which bounds the cores and memory all passes
/// of the process use together (release/builds.rs).
pub fn sync_repository(
    config: &Repository,
    repositories: &[Repository],
    store: &Store,
    mirrors: &Path,
    builders: &Builders,
) -> Result<RepoReport, crate::store::Error> {
    sync_repository_then(config, repositories, store, mirrors, builders, || Ok(true))
}

/// [`sync_repository`], calling `before_claims` once this repository's package names
/// are recorded and before any of them is claimed (release/order.rs waits there); when
/// it answers `false`, the pass stops there.
pub(super) fn sync_repository_then(
    config: &Repository,
    repositories: &[Repository],
    store: &Store,
    mirrors: &Path,
    builders: &Builders,
    before_claims: impl FnOnce() -> Result<bool, crate::store::Error>,
) -> Result<RepoReport, crate::store::Error> {
    let mut report = RepoReport {
        repo: config.url.display(),
        ..Default::default()
    };
    let Opened {
        repo,
        error: fetch_error,
        remote_tags,
    } = open_repository(config, mirrors);
    if let Some(e) = fetch_error {
        let text = chain(&e);
        warn!(repo = %report.repo, error = %text, "cannot fetch {}; serving what was stored before", report.repo);
        report.fetch_error = Some(text);
    }
    let tags = match repo.as_ref().map(Repo::tags) {
        Some(Ok(t)) => t,
        unread => {
            if let Some(Err(e)) = unread {
                let text = chain(&e);
                warn!(repo = %report.repo, error = %text, "cannot list the tags of {}; serving what was stored before", report.repo);
                // Beside a failed fetch, not instead of it.
                report.fetch_error = Some(match report.fetch_error.take() {
                    Some(fetch) => format!("{fetch}; {text}"),
                    None => text,
                });
            }
            // Read or not, it was tried: later repositories stop waiting for it.
            store.catalog.record_names(&config.key, None)?;
            return Ok(report);
        }
    };
    let Some(repo) = repo else { return Ok(report) };
    let present: HashSet<String> = remote_tags.unwrap_or_else(|| {
        tags.iter()
            .map(|t| match t {
                Ok(t) => t.name.clone(),
                Err((name, _)) => name.clone(),
            })
            .collect()
    });
    let (tags, broken): (Vec<_>, Vec<_>) = tags.into_iter().partition(Result::is_ok);
    let tags: Vec<git::Tag> = tags.into_iter().filter_map(Result::ok).collect();
    for (tag, e) in broken.into_iter().filter_map(Result::err) {
        report.warnings.push(format!("tag {tag}: {}", chain(&e)));
    }
    let records: HashMap<(String, String), TagRecord> = store
        .catalog
        .tag_records(&config.key)?
        .into_iter()
        .map(|r| ((r.tag.clone(), r.package.clone()), r))
        .collect();

    let plans = plan::plan(config, &repo, &tags);
    // What this repository holds, recorded before anything is claimed, so that a later
    // repository's pass running at the same time defers to it.
    let mut held: Vec<String> = plans
        .iter()
        .filter(|p| !p.candidates.is_empty())
        .filter_map(|p| p.name.clone())
        .collect();
    held.sort();
    held.dedup();
    store.catalog.record_names(&config.key, Some(&held))?;
    if !before_claims()? {
        return Ok(report);
    }

    let mut claims = Claims::new(config, repositories);
    let mut pass = Pass {
        config,
        repositories,
        store,
        repo: &repo,
        records: &records,
        report: &mut report,
        jobs: Vec::new(),
    };
    for plan in &plans {
        let Some(name) = plan.name.clone() else {
            for c in &plan.candidates {
                pass.report.rejected.push(TagProblem {
                    package: format!("(package at {}/)", plan.spec.path),
                    tag: c.tag.clone(),
                    reason: format!("there is no pubspec.yaml at {}/ to name the package; add `name:` to this package in registry.yaml", plan.spec.path),
                });
            }
            continue;
        };
        if plan.candidates.is_empty() {
            continue;
        }
        match claims.of(store, &name)? {
            Claim::Mine => {
                for c in &plan.candidates {
                    pass.candidate(&name, &plan.spec.path, c)?;
                }
            }
            refused => pass.refuse(&name, &plan.candidates, refused)?,
        }
    }
    pass.build_and_store(builders)?;
    pass.note_deleted_tags(&present)?;
    rebuild::rebuild_missing(config, store, &repo, &mut report)?;
    // Recorded warnings stay visible on every pass, not only the one that found them.
    for (_, message) in store.catalog.warnings(&config.key)? {
        if !report.warnings.contains(&message) {
            report.warnings.push(message);
        }
    }
    Ok(report)
}

pub(super) fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}
