//! `repositories`: the watched git repositories and the packages in each.

use super::{check_teams, is_env_name, lifecycle};
use crate::config::raw::{self, RawPackage, RawRepository};
use crate::config::{
    Credentials, DEFAULT_POLL_INTERVAL, PackageSpec, RepoKey, RepoUrl, Repository, TagPattern,
};
use crate::package::name;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

pub(super) fn validate_repository(
    raw: RawRepository,
    at: &str,
    base_dir: &Path,
    team_names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Option<Repository> {
    let url = match RepoUrl::parse(&raw.url, base_dir) {
        Ok(u) => u,
        Err(e) => {
            problems.push(format!("{at}.url: {e}"));
            return None;
        }
    };
    let poll_interval = match raw.poll_interval.as_deref() {
        None => DEFAULT_POLL_INTERVAL,
        Some(text) => {
            match humantime::parse_duration(text) {
                Ok(d) if d >= Duration::from_secs(1) => d,
                Ok(_) => {
                    problems.push(format!(
                        "{at}.poll_interval: `{text}` is shorter than one second"
                    ));
                    DEFAULT_POLL_INTERVAL
                }
                Err(_) => {
                    problems.push(format!("{at}.poll_interval: `{text}` is not a duration; write it like 30s, 5m or 1h"));
                    DEFAULT_POLL_INTERVAL
                }
            }
        }
    };
    let teams = raw.teams.unwrap_or_default();
    check_teams(&teams, &format!("{at}.teams"), team_names, problems);
    for (key, value) in [
        (
            "credentials.password_env",
            raw.credentials.as_ref().map(|c| c.password_env.as_str()),
        ),
        ("webhook_secret_env", raw.webhook_secret_env.as_deref()),
    ] {
        if let Some(v) = value
            && !is_env_name(v)
        {
            problems.push(format!(
                "{at}.{key}: `{v}` is not an environment variable name; the secret itself never goes in this file"
            ));
        }
    }
    if raw.credentials.is_some() && !url.is_http() {
        problems.push(format!(
            "{at}.credentials: only https:// repositories use credentials"
        ));
    }
    if raw.credentials.is_some() && url.is_plain_http() {
        problems.push(format!(
            "{at}.credentials: `{}` is plain http://, which would send the password unencrypted to anyone on the way; use the https:// URL of the repository",
            url.display()
        ));
    }
    let raw_packages = raw.packages.unwrap_or_else(|| {
        vec![RawPackage {
            name: None,
            path: None,
            tag_pattern: None,
            retracted: Vec::new(),
            discontinued: false,
            replaced_by: None,
        }]
    });
    if raw_packages.is_empty() {
        problems.push(format!(
            "{at}.packages: is empty; remove the key to serve the package at the root"
        ));
    }
    let packages: Vec<PackageSpec> = raw_packages
        .into_iter()
        .enumerate()
        .filter_map(|(j, p)| validate_package(p, &format!("{at}.packages[{j}]"), problems))
        .collect();
    let mut pattern_owner: HashMap<String, usize> = HashMap::new();
    for (j, p) in packages.iter().enumerate() {
        for pattern in &p.tag_patterns {
            if let Some(other) = pattern_owner.insert(pattern.to_string(), j) {
                problems.push(format!(
                    "{at}.packages[{j}].tag_pattern: `{pattern}` is also used by packages[{other}]; give each package its own pattern, like \"NAME-v{{{{version}}}}\""
                ));
            }
        }
    }
    Some(Repository {
        key: raw.url.trim().to_string(),
        identity: RepoKey::of(&url),
        url,
        credentials: raw.credentials.map(|c| Credentials {
            username: c.username,
            password_env: c.password_env,
        }),
        webhook_secret_env: raw.webhook_secret_env,
        poll_interval,
        teams,
        packages,
    })
}

fn validate_package(raw: RawPackage, at: &str, problems: &mut Vec<String>) -> Option<PackageSpec> {
    if let Some(n) = &raw.name
        && let Err(e) = name::validate(n)
    {
        problems.push(format!("{at}.name: {e}"));
    }
    let written = raw.path.unwrap_or_default();
    // `.` and `./` name the root, as they do to git and to people; empty components
    // (`a//b`, a trailing `/`) mean nothing either.
    let path = written
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect::<Vec<_>>()
        .join("/");
    if path.split('/').any(|c| c == "..") || path.contains('\\') {
        problems.push(format!(
            "{at}.path: `{written}` must be a plain path inside the repository, like packages/foo (or `.` for the root)"
        ));
    }
    let pattern_texts = raw
        .tag_pattern
        .map(raw::OneOrMany::into_vec)
        .unwrap_or_else(|| vec!["v{{version}}".into(), "{{version}}".into()]);
    if pattern_texts.is_empty() {
        problems.push(format!(
            "{at}.tag_pattern: is an empty list; give at least one pattern"
        ));
    }
    let mut tag_patterns = Vec::new();
    for (k, t) in pattern_texts.iter().enumerate() {
        match TagPattern::parse(t) {
            Ok(p) => tag_patterns.push(p),
            Err(e) => problems.push(format!("{at}.tag_pattern[{k}]: {e}")),
        }
    }
    let settings = (
        &raw.retracted[..],
        raw.discontinued,
        raw.replaced_by.as_deref(),
    );
    let retracted = lifecycle(settings, at, problems);
    Some(PackageSpec {
        name: raw.name,
        path,
        tag_patterns,
        retracted,
        discontinued: raw.discontinued,
        replaced_by: raw.replaced_by,
    })
}
