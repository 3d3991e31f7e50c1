//! `registry.yaml`: the model, its defaults, `load()` and validation.
//!
//! The file is parsed and validated once; the rest of tagpub trusts the result. Every
//! problem names the key (`repositories[1].packages[0].tag_pattern`) and says how to fix
//! it, and all problems are reported together rather than one per run.

mod pattern;
mod raw;
mod url;

pub use pattern::TagPattern;
pub use url::{BaseUrl, RepoUrl, redact};

use crate::package::{name, version::Version};
use raw::{RawConfig, RawPackage, RawRepository};
use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Why a config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read the config file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path} has {} problem(s):\n  - {}", problems.len(), problems.join("\n  - "))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from.
    pub path: PathBuf,
    pub base_url: BaseUrl,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub access: Access,
    pub metrics: Metrics,
    pub members: Vec<Member>,
    pub teams: Vec<Team>,
    pub uploads: Uploads,
    pub repositories: Vec<Repository>,
}

#[derive(Debug, Clone, Default)]
pub struct Access {
    pub anonymous_read: bool,
}

/// Who may read `GET metrics`: admins always; also whoever presents the bearer token
/// held by the environment variable `token_env` (a Prometheus scraper), or anyone when
/// `public`.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    pub public: bool,
    pub token_env: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub email: String,
    pub admin: bool,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    pub leaders: Vec<String>,
    pub members: Vec<String>,
}

/// `dart pub publish`: who may create packages, size limits, per-package settings.
#[derive(Debug, Clone)]
pub struct Uploads {
    pub publishers: Vec<String>,
    pub max_archive_bytes: u64,
    pub max_unpacked_bytes: u64,
    pub packages: Vec<UploadedSpec>,
}

/// Settings of one uploaded package from `registry.yaml`.
#[derive(Debug, Clone)]
pub struct UploadedSpec {
    pub name: String,
    /// Readers; `None` keeps the creator's teams recorded at creation.
    pub teams: Option<Vec<String>>,
    pub retracted: Vec<Version>,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
}

/// pub.dev's limits (PUB_PROTOCOL.md §4, §5.5).
pub const DEFAULT_MAX_ARCHIVE_MIB: u64 = 100;
pub const DEFAULT_MAX_UNPACKED_MIB: u64 = 256;

/// One watched git repository.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The URL as written, which also identifies the repository in the store.
    pub key: String,
    pub url: RepoUrl,
    pub credentials: Option<Credentials>,
    pub webhook_secret_env: Option<String>,
    pub poll_interval: Duration,
    /// Teams allowed to read its packages; empty means every member.
    pub teams: Vec<String>,
    pub packages: Vec<PackageSpec>,
}

/// HTTP credentials for a repository; the password is read from the environment at fetch
/// time so that it never sits in the config file or in memory longer than needed.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub username: String,
    pub password_env: String,
}

/// One package of a repository.
#[derive(Debug, Clone)]
pub struct PackageSpec {
    /// The package name; `None` means "whatever the pubspec at `path` says".
    pub name: Option<String>,
    /// Directory of the package inside the repository, `""` for the root.
    pub path: String,
    pub tag_patterns: Vec<TagPattern>,
    pub retracted: Vec<Version>,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
}

pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(300);
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_yaml(&text, path)
    }

    /// Validates config text as if it had been read from `path` (relative paths inside it
    /// are relative to `path`'s directory).
    pub fn from_yaml(text: &str, path: &Path) -> Result<Config, Error> {
        let raw: RawConfig = raw::parse(text).map_err(|message| Error::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        let base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut problems = Vec::new();
        let config = validate(raw, path, &base_dir, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(Error::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Every package's readers beyond admins: the teams of its repository, or everyone.
    pub fn repository(&self, key: &str) -> Option<&Repository> {
        self.repositories.iter().find(|r| r.key == key)
    }

    /// Variables the config names that are not set where tagpub runs, which only shows
    /// at run time: a `webhook_secret_env` without a value means every push notification
    /// for that repository is refused. Not a load error (a config is also checked on
    /// machines that do not hold the secrets); `tagpub check` and start-up report them.
    pub fn environment_problems(&self) -> Vec<String> {
        self.repositories
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let var = r.webhook_secret_env.as_ref()?;
                let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
                (!set).then(|| {
                    format!(
                        "repositories[{i}].webhook_secret_env: the environment variable {var} is not set or empty, so push notifications for {} are refused (it is still polled); set {var} where tagpub runs",
                        r.url.display()
                    )
                })
            })
            .collect()
    }
}

fn validate(raw: RawConfig, path: &Path, base_dir: &Path, problems: &mut Vec<String>) -> Config {
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
    for (i, t) in raw.uploads.publishers.iter().enumerate() {
        if !team_names.contains(t) {
            problems.push(format!(
                "uploads.publishers[{i}]: no team is named `{t}`; declare it under teams"
            ));
        }
    }
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
    }
}

fn validate_uploads(
    raw: raw::RawUploads,
    team_names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Uploads {
    let mut mib = |key: &str, value: Option<u64>, default: u64| match value {
        Some(0) => {
            problems.push(format!("uploads.{key}: must be at least 1"));
            default << 20
        }
        Some(v) => v.saturating_mul(1 << 20),
        None => default << 20,
    };
    let max_archive_bytes = mib(
        "max_archive_mib",
        raw.max_archive_mib,
        DEFAULT_MAX_ARCHIVE_MIB,
    );
    let max_unpacked_bytes = mib(
        "max_unpacked_mib",
        raw.max_unpacked_mib,
        DEFAULT_MAX_UNPACKED_MIB,
    );
    let mut packages = Vec::new();
    for (i, p) in raw.packages.into_iter().enumerate() {
        let at = format!("uploads.packages[{i}]");
        if let Err(e) = name::validate(&p.name) {
            problems.push(format!("{at}.name: {e}"));
        }
        for (j, t) in p.teams.iter().flatten().enumerate() {
            if !team_names.contains(t) {
                problems.push(format!(
                    "{at}.teams[{j}]: no team is named `{t}`; declare it under teams"
                ));
            }
        }
        let mut retracted = Vec::new();
        for (k, v) in p.retracted.iter().enumerate() {
            match Version::parse_canonical(v) {
                Ok(v) => retracted.push(v),
                Err(e) => problems.push(format!("{at}.retracted[{k}]: {e}")),
            }
        }
        if p.replaced_by.is_some() && !p.discontinued {
            problems.push(format!(
                "{at}.replaced_by: only means something with `discontinued: true`; add it"
            ));
        }
        packages.push(UploadedSpec {
            name: p.name,
            teams: p.teams,
            retracted,
            discontinued: p.discontinued,
            replaced_by: p.replaced_by,
        });
    }
    Uploads {
        publishers: raw.publishers,
        max_archive_bytes,
        max_unpacked_bytes,
        packages,
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

fn validate_members(raw: &[raw::RawMember], problems: &mut Vec<String>) -> Vec<Member> {
    let mut seen = BTreeSet::new();
    let mut members = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let email = m.email.trim().to_ascii_lowercase();
        if !email.contains('@') || email.contains(char::is_whitespace) {
            problems.push(format!(
                "members[{i}].email: `{}` is not an email address",
                m.email
            ));
        } else if !seen.insert(email.clone()) {
            problems.push(format!("members[{i}].email: `{email}` is listed twice"));
        }
        members.push(Member {
            email,
            admin: m.admin,
        });
    }
    members
}

fn validate_teams(
    raw: Vec<raw::RawTeam>,
    emails: &BTreeSet<&str>,
    problems: &mut Vec<String>,
) -> Vec<Team> {
    let mut names = BTreeSet::new();
    let mut teams = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        if t.name.trim().is_empty() {
            problems.push(format!("teams[{i}].name: is empty"));
        } else if !names.insert(t.name.clone()) {
            problems.push(format!("teams[{i}].name: `{}` is declared twice", t.name));
        }
        let mut check = |key: &str, list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .enumerate()
                .map(|(j, e)| {
                    let e = e.trim().to_ascii_lowercase();
                    if !emails.contains(e.as_str()) {
                        problems.push(format!(
                            "teams[{i}].{key}[{j}]: `{e}` is not a member; add it under members first"
                        ));
                    }
                    e
                })
                .collect()
        };
        let leaders = check("leaders", t.leaders);
        let members = check("members", t.members);
        teams.push(Team {
            name: t.name,
            leaders,
            members,
        });
    }
    teams
}

fn validate_repository(
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
    for (j, t) in teams.iter().enumerate() {
        if !team_names.contains(t) {
            problems.push(format!(
                "{at}.teams[{j}]: no team is named `{t}`; declare it under teams"
            ));
        }
    }
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
    let mut retracted = Vec::new();
    for (k, v) in raw.retracted.iter().enumerate() {
        match Version::parse_canonical(v) {
            Ok(v) => retracted.push(v),
            Err(e) => problems.push(format!("{at}.retracted[{k}]: {e}")),
        }
    }
    if let Some(r) = &raw.replaced_by {
        if let Err(e) = name::validate(r) {
            problems.push(format!("{at}.replaced_by: {e}"));
        }
        if !raw.discontinued {
            problems.push(format!(
                "{at}.replaced_by: only means something with `discontinued: true`; add it"
            ));
        }
    }
    Some(PackageSpec {
        name: raw.name,
        path,
        tag_patterns,
        retracted,
        discontinued: raw.discontinued,
        replaced_by: raw.replaced_by,
    })
}

fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests;
