//! `tagpub check`'s view of one repository: what a pass would serve, without a store.

use super::claim::{earlier_reason, owned_reason};
use super::sync::{chain, open_repository};
use super::{RepoReport, TagProblem, candidate, plan};
use crate::config::Repository;
use crate::git;
use crate::store::Source;
use std::collections::{BTreeMap, BTreeSet};

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
    let opened = open_repository(config, scratch.path());
    report.fetch_error = opened.error.map(|e| chain(&e));
    let repo = opened.repo;
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

/// Applies the one-source rule (release/claim.rs) across `check`'s reports, one per
/// repository in registry.yaml order: a name goes to its owner in the catalog (`owners`,
/// config key or `""` for uploads) when it has one, else to the first repository holding
/// tags for it. Every other repository's tags of that name are refused, naming both.
pub fn resolve_names(
    repositories: &[Repository],
    reports: &mut [RepoReport],
    owners: &BTreeMap<String, String>,
) {
    let held = |r: &RepoReport| -> BTreeSet<String> {
        r.served
            .iter()
            .map(|(p, _, _)| p.clone())
            .chain(r.rejected.iter().map(|p| p.package.clone()))
            .filter(|p| !p.starts_with('('))
            .collect()
    };
    let holders: Vec<BTreeSet<String>> = reports.iter().map(held).collect();
    // Names are one name whatever their case (store/sources.rs).
    let owners: BTreeMap<String, &String> = owners
        .iter()
        .map(|(name, owner)| (name.to_ascii_lowercase(), owner))
        .collect();
    let holds = |h: &BTreeSet<String>, name: &str| h.iter().any(|n| n.eq_ignore_ascii_case(name));
    for (j, report) in reports.iter_mut().enumerate() {
        let Some(repo) = repositories.get(j) else {
            continue;
        };
        for name in &holders[j] {
            let reason = match owners.get(&name.to_ascii_lowercase()).copied() {
                Some(key) if *key == repo.key => continue,
                Some(key) if key.is_empty() => owned_reason(
                    name,
                    repo,
                    repositories,
                    &Source::Upload {
                        uploader: "a member".into(),
                    },
                ),
                Some(key) => owned_reason(
                    name,
                    repo,
                    repositories,
                    &Source::Git {
                        repo: key.clone(),
                        tag: String::new(),
                        commit: String::new(),
                    },
                ),
                None => match holders.iter().position(|h| holds(h, name)) {
                    Some(first) if first < j => earlier_reason(
                        name,
                        &repositories[first].url.display(),
                        &repo.url.display(),
                    ),
                    _ => continue,
                },
            };
            let (refused, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut report.served)
                .into_iter()
                .partition(|(p, _, _)| p == name);
            report.served = kept;
            for (package, _, tag) in refused {
                report.rejected.push(TagProblem {
                    package,
                    tag,
                    reason: reason.clone(),
                });
            }
        }
    }
}
