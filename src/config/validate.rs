//! Validation of a parsed `registry.yaml`, one child module per section; this one
//! holds the top-level keys and the checks that span sections (a package name served
//! from two places).

mod members;
mod repositories;
mod uploads;

use super::raw::{self, RawConfig};
use super::{Access, BaseUrl, Config, DEFAULT_LISTEN, Metrics, Repository};
use crate::package::{name, version::Version};
use members::{validate_members, validate_teams};
use repositories::validate_repository;
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use uploads::validate_uploads;

pub(super) fn validate(
    raw: RawConfig,
    path: &Path,
    base_dir: &Path,
    problems: &mut Vec<String>,
) -> Config {
    let base_url = BaseUrl::parse(&raw.base_url).unwrap_or_else(|e| {
        problems.push(format!("base_url: {e}"));
        BaseUrl::parse("http://invalid/").expect("a fixed valid URL parses")
    });
    let listen_text = raw.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen = listen_text.parse().unwrap_or_else(|_| {
        problems.push(format!(
            "listen: `{listen_text}` is not an address; write it like 127.0.0.1:8080 (port 0 picks a free port)"
        ));
        SocketAddr::from(([127, 0, 0, 1], 8080))
    });
    let data_dir = base_dir.join(raw.data_dir.unwrap_or_else(|| PathBuf::from("data")));

    let metrics = validate_metrics(raw.metrics, problems);
    let members = validate_members(&raw.members, problems);
    let emails: BTreeSet<&str> = members.iter().map(|m| m.email.as_str()).collect();
    let teams = validate_teams(raw.teams, &emails, problems);
    let team_names: BTreeSet<String> = teams.iter().map(|t| t.name.clone()).collect();
    check_teams(
        &raw.uploads.publishers,
        "uploads.publishers",
        &team_names,
        problems,
    );
    let uploads = validate_uploads(raw.uploads, &team_names, problems);

    let mut repositories = Vec::new();
    let mut package_owner: HashMap<String, String> = HashMap::new();
    for (i, repo) in raw.repositories.into_iter().enumerate() {
        let at = format!("repositories[{i}]");
        if let Some(r) = validate_repository(repo, &at, base_dir, &team_names, problems) {
            if repositories.iter().any(|o: &Repository| o.key == r.key) {
                problems.push(format!(
                    "{at}.url: `{}` is listed twice; keep one entry",
                    r.url.display()
                ));
                continue;
            }
            for p in &r.packages {
                if let Some(n) = &p.name
                    && let Some(other) = package_owner.insert(n.clone(), r.url.display())
                {
                    problems.push(format!(
                        "{at}: package `{n}` is also served from {other}; a name can come from one repository only"
                    ));
                }
            }
            repositories.push(r);
        }
    }
    for (i, p) in uploads.packages.iter().enumerate() {
        if let Some(repo) = package_owner.get(&p.name) {
            problems.push(format!(
                "uploads.packages[{i}].name: `{}` is served from {repo}; settings for it belong under that repository",
                p.name
            ));
        }
    }

    let upstream = raw
        .upstream
        .and_then(|u| super::upstream::validate(u, &base_url, problems));
    let store = raw.store.and_then(|s| super::store::validate(s, problems));
    Config {
        path: path.to_path_buf(),
        base_url,
        listen,
        data_dir,
        access: Access {
            anonymous_read: raw.access.anonymous_read,
        },
        metrics,
        members,
        teams,
        uploads,
        repositories,
        upstream,
        store,
    }
}

fn validate_metrics(raw: raw::RawMetrics, problems: &mut Vec<String>) -> Metrics {
    if let Some(v) = &raw.token_env {
        if !is_env_name(v) {
            problems.push(format!(
                "metrics.token_env: `{v}` is not an environment variable name; name the variable that holds the scraper's token, never the token itself"
            ));
        }
        if raw.public {
            problems.push(
                "metrics.token_env: means nothing with `public: true`, which lets anyone read metrics; keep one of the two".into(),
            );
        }
    }
    Metrics {
        public: raw.public,
        token_env: raw.token_env,
    }
}

/// Reports each entry of the list at `at` that names no team declared under `teams`.
fn check_teams<'t>(
    teams: impl IntoIterator<Item = &'t String>,
    at: &str,
    team_names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) {
    for (j, t) in teams.into_iter().enumerate() {
        if !team_names.contains(t) {
            problems.push(format!(
                "{at}[{j}]: no team is named `{t}`; declare it under teams"
            ));
        }
    }
}

/// The settings a package served from git and an uploaded one share: `retracted`
/// versions (returned, parsed), `discontinued` and `replaced_by`, for the package at
/// `at`.
fn lifecycle(
    (retracted, discontinued, replaced_by): (&[String], bool, Option<&str>),
    at: &str,
    problems: &mut Vec<String>,
) -> Vec<Version> {
    let mut versions = Vec::new();
    for (k, v) in retracted.iter().enumerate() {
        match Version::parse_canonical(v) {
            Ok(v) => versions.push(v),
            Err(e) => problems.push(format!("{at}.retracted[{k}]: {e}")),
        }
    }
    if let Some(r) = replaced_by {
        if let Err(e) = name::validate(r) {
            problems.push(format!("{at}.replaced_by: {e}"));
        }
        if !discontinued {
            problems.push(format!(
                "{at}.replaced_by: only means something with `discontinued: true`; add it"
            ));
        }
    }
    versions
}

pub(super) fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
