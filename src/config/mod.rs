//! `registry.yaml`: the model, its defaults and `load()`; the checks are in `validate`,
//! one module per section.
//!
//! The file is parsed and validated once; the rest of tagpub trusts the result. Every
//! problem names the key (`repositories[1].packages[0].tag_pattern`) and says how to fix
//! it, and all problems are reported together rather than one per run.

mod email;
pub mod key;
mod pattern;
mod raw;
mod store;
mod upstream;
mod url;
mod validate;

pub use email::Email;
pub use key::RepoKey;
pub use pattern::TagPattern;
pub use store::{S3Settings, StoreSettings};
pub use upstream::{Admission, NamePatterns, Upstream};
pub use url::{BaseUrl, RepoUrl, redact};

use crate::package::version::Version;
use raw::RawConfig;
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
    /// The mirrored repository (`upstream:`); `None` serves our own packages only.
    pub upstream: Option<Upstream>,
    /// Shared stores for several replicas (`store:`); `None`: SQLite and files in
    /// `data_dir`.
    pub store: Option<StoreSettings>,
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
    pub email: Email,
    pub admin: bool,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub name: String,
    pub leaders: Vec<Email>,
    pub members: Vec<Email>,
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

/// pub.dev's limits (docs/protocol.md §4, §5.5).
pub const DEFAULT_MAX_ARCHIVE_MIB: u64 = 100;
pub const DEFAULT_MAX_UNPACKED_MIB: u64 = 256;

/// One watched git repository.
#[derive(Debug, Clone)]
pub struct Repository {
    /// The URL as written, which also identifies the repository in the store.
    pub key: String,
    pub url: RepoUrl,
    /// How push notifications recognise the repository, however they spell its URL.
    pub identity: Option<RepoKey>,
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
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

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
        let config = validate::validate(raw, path, &base_dir, &mut problems);
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

    /// Whether this file names `name` as one of ours (a repository's `packages[].name`
    /// or an `uploads.packages[].name`), compared without case: such a name is never
    /// fetched from the upstream, even before its first version exists.
    pub fn declares(&self, name: &str) -> bool {
        self.repositories
            .iter()
            .flat_map(|r| &r.packages)
            .filter_map(|p| p.name.as_deref())
            .chain(self.uploads.packages.iter().map(|p| p.name.as_str()))
            .any(|n| n.eq_ignore_ascii_case(name))
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
            .chain(self.upstream.as_ref().and_then(upstream::environment_problem))
            .chain(
                self.store
                    .iter()
                    .flat_map(StoreSettings::environment_problems),
            )
            .collect()
    }
}

#[cfg(test)]
mod tests;
