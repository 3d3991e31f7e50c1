//! One pass over one repository.

use super::{Rejection, candidate, plan};
use crate::config::{RepoUrl, Repository};
use crate::git::{self, Repo};
use crate::store::{Added, Source, Store, StoredVersion, TagOutcome, TagRecord};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tracing::{error, info, warn};

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

/// Makes the repository's tags available locally (fetching remote ones into their
/// mirror) and opens it. A failed fetch of a remote that was mirrored before still
/// opens the mirror, so its versions keep being served; the error is returned beside.
pub fn open_repository(config: &Repository, mirrors: &Path) -> (Option<Repo>, Option<git::Error>) {
    let location = config.url.display();
    match &config.url {
        RepoUrl::Local(path) => match Repo::open(path, &location) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        },
        RepoUrl::Remote(url) => {
            let dir = mirror_dir(mirrors, &config.key);
            let fetched =
                credentials(config).and_then(|c| git::fetch_mirror(url, &location, &dir, c));
            let repo = if dir.join("HEAD").is_file() {
                Repo::open(&dir, &location).ok()
            } else {
                None
            };
            (repo, fetched.err())
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

/// Full chain of an error on one line, for reports and logs.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// One pass: fetch, evaluate new tags, store new versions, rebuild missing archives.
/// Problems with single tags are reported, not fatal; only a broken store is an error.
pub fn sync_repository(
    config: &Repository,
    store: &Store,
    mirrors: &Path,
) -> Result<RepoReport, crate::store::Error> {
    let mut report = RepoReport {
        repo: config.url.display(),
        ..Default::default()
    };
    let (repo, fetch_error) = open_repository(config, mirrors);
    if let Some(e) = fetch_error {
        let text = chain(&e);
        warn!(repo = %report.repo, error = %text, "cannot fetch {}; serving what was stored before", report.repo);
        report.fetch_error = Some(text);
    }
    let Some(repo) = repo else { return Ok(report) };
    let tags = match repo.tags() {
        Ok(t) => t,
        Err(e) => {
            report.fetch_error = Some(chain(&e));
            return Ok(report);
        }
    };
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

    for plan in plan::plan(config, &repo, &tags) {
        let Some(name) = plan.name.clone() else {
            for c in &plan.candidates {
                report.rejected.push(TagProblem {
                    package: format!("(package at {}/)", plan.spec.path),
                    tag: c.tag.clone(),
                    reason: format!("there is no pubspec.yaml at {}/ to name the package; add `name:` to this package in registry.yaml", plan.spec.path),
                });
            }
            continue;
        };
        for c in &plan.candidates {
            let commit = c.commit.to_string();
            if let Some(record) = records.get(&(c.tag.clone(), name.clone())) {
                match (&record.outcome, record.commit == commit) {
                    (TagOutcome::Served { version }, true) => {
                        report
                            .served
                            .push((name.clone(), version.clone(), c.tag.clone()));
                        continue;
                    }
                    (TagOutcome::Served { version }, false) => {
                        let message = format!(
                            "tag {} moved from {} to {}; {name} {version} keeps serving the archive built from {}",
                            c.tag,
                            short(&record.commit),
                            short(&commit),
                            short(&record.commit)
                        );
                        if store.catalog.add_warning(&config.key, &c.tag, &message)? {
                            warn!(repo = %report.repo, tag = %c.tag, package = %name, "{message}");
                        }
                        report
                            .served
                            .push((name.clone(), version.clone(), c.tag.clone()));
                        continue;
                    }
                    (TagOutcome::Rejected { reason }, true) => {
                        report.rejected.push(TagProblem {
                            package: name.clone(),
                            tag: c.tag.clone(),
                            reason: reason.clone(),
                        });
                        continue;
                    }
                    // A rejected tag that moved is usually the fix: look again.
                    (TagOutcome::Rejected { .. }, false) => {}
                }
            }
            ingest(config, store, &repo, &name, &plan.spec.path, c, &mut report)?;
        }
    }
    rebuild_missing(config, store, &repo, &mut report)?;
    // Recorded warnings stay visible on every pass, not only the one that found them.
    for (_, message) in store.catalog.warnings(&config.key)? {
        if !report.warnings.contains(&message) {
            report.warnings.push(message);
        }
    }
    Ok(report)
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

fn ingest(
    config: &Repository,
    store: &Store,
    repo: &Repo,
    name: &str,
    path: &str,
    c: &plan::Candidate,
    report: &mut RepoReport,
) -> Result<(), crate::store::Error> {
    let commit = c.commit.to_string();
    let record = |outcome| TagRecord {
        repo: config.key.clone(),
        tag: c.tag.clone(),
        commit: commit.clone(),
        package: name.to_string(),
        outcome,
    };
    let reject = |store: &Store, report: &mut RepoReport, rejection: Rejection| {
        warn!(repo = %report.repo, tag = %c.tag, package = %name, reason = %rejection.reason, "tag {} of {name} is not served: {}", c.tag, rejection.reason);
        report.rejected.push(TagProblem {
            package: name.to_string(),
            tag: c.tag.clone(),
            reason: rejection.reason.clone(),
        });
        if rejection.transient {
            Ok(())
        } else {
            store.catalog.record_tag(&record(TagOutcome::Rejected {
                reason: rejection.reason,
            }))
        }
    };
    // A name belongs to one source: the repository that served it first, or uploads.
    match store.catalog.owner(name)? {
        Some(Source::Git { repo: owner, .. }) if owner != config.key => {
            let owner = crate::config::redact(&owner);
            return reject(
                store,
                report,
                Rejection::from(format!(
                    "package {name} is already served from {owner}; rename the package or stop serving it there"
                )),
            );
        }
        Some(Source::Upload { uploader }) => {
            return reject(
                store,
                report,
                Rejection::from(format!(
                    "package {name} was published with `dart pub publish` (first by {uploader}); a name comes from one source, so rename this package"
                )),
            );
        }
        _ => {}
    }
    let release = match candidate::evaluate(repo, c.commit, name, path, &c.version_text) {
        Ok(r) => r,
        Err(rejection) => return reject(store, report, rejection),
    };
    let sha256 = store.blobs.put(&release.archive)?;
    let version = release.version.to_string();
    let stored = StoredVersion {
        package: name.to_string(),
        version: version.clone(),
        sha256: sha256.clone(),
        pubspec_json: release.pubspec.json.to_string(),
        archive_size: release.archive.len() as u64,
        published: crate::clock::now(),
        source: Source::Git {
            repo: config.key.clone(),
            tag: c.tag.clone(),
            commit: commit.clone(),
        },
    };
    let served = record(TagOutcome::Served {
        version: version.clone(),
    });
    match store.catalog.add_version(&stored, Some(&served))? {
        Added::New => {
            info!(repo = %report.repo, package = %name, version = %version, tag = %c.tag, sha256 = %sha256, "ingested {name} {version} from tag {}", c.tag);
            for w in &release.warnings {
                let message = format!("{name} {version}: {w}");
                store.catalog.add_warning(&config.key, &c.tag, &message)?;
            }
            report
                .new_versions
                .push((name.to_string(), version.clone(), c.tag.clone()));
            report
                .served
                .push((name.to_string(), version, c.tag.clone()));
        }
        Added::AlreadyExists(existing) if existing.sha256 == sha256 => {
            // Another tag (say `1.0.0` beside `v1.0.0`) names the same release.
            store.catalog.record_tag(&served)?;
            report
                .served
                .push((name.to_string(), version, c.tag.clone()));
        }
        Added::AlreadyExists(existing) => {
            let origin = match &existing.source {
                Source::Git { tag, .. } => format!("tag {tag}"),
                Source::Upload { uploader } => format!("an upload by {uploader}"),
            };
            reject(
                store,
                report,
                Rejection::from(format!(
                    "{name} {version} is already served from {origin} with different content; a version never changes, so release {name} with a new version"
                )),
            )?;
        }
    }
    Ok(())
}

/// Rebuilds archives that are in the catalog but missing from the blob store. The
/// rebuild must reproduce the recorded sha256 exactly; if it does not, nothing is
/// stored and an operator has to act (bytes are forever).
fn rebuild_missing(
    config: &Repository,
    store: &Store,
    repo: &Repo,
    report: &mut RepoReport,
) -> Result<(), crate::store::Error> {
    for v in store.catalog.summaries_from_repo(&config.key)? {
        let Source::Git { tag, commit, .. } = &v.source else {
            continue;
        };
        if store.blobs.contains(&v.sha256) {
            continue;
        }
        let path = config
            .packages
            .iter()
            .find(|p| p.name.as_deref() == Some(v.package.as_str()))
            .or(config.packages.first())
            .map_or("", |p| p.path.as_str());
        let Ok(oid) = gix::ObjectId::from_hex(commit.as_bytes()) else {
            continue;
        };
        match candidate::evaluate(repo, oid, &v.package, path, &v.version) {
            Ok(release) if sha_of(&release.archive) == v.sha256 => {
                store.blobs.put(&release.archive)?;
                info!(package = %v.package, version = %v.version, "rebuilt the missing archive of {} {} from tag {tag}", v.package, v.version);
            }
            Ok(_) => {
                let message = format!(
                    "the archive of {} {} is missing and rebuilding it from {} gives different bytes; restore {}.tar.gz from a backup",
                    v.package,
                    v.version,
                    short(commit),
                    v.sha256
                );
                error!(package = %v.package, version = %v.version, "{message}");
                report.warnings.push(message);
            }
            Err(rejection) => {
                let message = format!(
                    "the archive of {} {} is missing and cannot be rebuilt: {}",
                    v.package, v.version, rejection.reason
                );
                error!(package = %v.package, version = %v.version, "{message}");
                report.warnings.push(message);
            }
        }
    }
    Ok(())
}

fn sha_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What `sync` would do, without writing anything: every candidate is evaluated afresh.
/// Remote repositories are fetched into a temporary directory.
pub fn check_repository(config: &Repository) -> RepoReport {
    let mut report = RepoReport {
        repo: config.url.display(),
        ..Default::default()
    };
    let scratch = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => {
            report.fetch_error = Some(format!("cannot create a temporary directory: {e}"));
            return report;
        }
    };
    let (repo, fetch_error) = open_repository(config, scratch.path());
    report.fetch_error = fetch_error.map(|e| chain(&e));
    let Some(repo) = repo else { return report };
    let tags: Vec<git::Tag> = match repo.tags() {
        Ok(t) => t.into_iter().filter_map(Result::ok).collect(),
        Err(e) => {
            report.fetch_error = Some(chain(&e));
            return report;
        }
    };
    for plan in plan::plan(config, &repo, &tags) {
        let name = plan.name.clone().unwrap_or_default();
        for c in &plan.candidates {
            if name.is_empty() {
                report.rejected.push(TagProblem {
                    package: format!("(package at {}/)", plan.spec.path),
                    tag: c.tag.clone(),
                    reason: "no pubspec.yaml names the package; add `name:` in registry.yaml"
                        .into(),
                });
                continue;
            }
            match candidate::evaluate(&repo, c.commit, &name, &plan.spec.path, &c.version_text) {
                Ok(r) => {
                    report.warnings.extend(
                        r.warnings
                            .iter()
                            .map(|w| format!("{name} {}: {w}", r.version)),
                    );
                    report
                        .served
                        .push((name.clone(), r.version.to_string(), c.tag.clone()));
                }
                Err(rejection) => report.rejected.push(TagProblem {
                    package: name.clone(),
                    tag: c.tag.clone(),
                    reason: rejection.reason,
                }),
            }
        }
    }
    report
}
