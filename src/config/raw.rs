//! The shape of `registry.yaml` exactly as written, before validation.
//!
//! Every struct denies unknown keys so that a typo (`tag_patern`) is an error that names
//! the key instead of a setting that silently does nothing.

use serde::Deserialize;
use std::path::PathBuf;

/// Parses `registry.yaml` text; the error names the line and column (and the key, for an
/// unknown or repeated one).
pub fn parse(text: &str) -> Result<RawConfig, String> {
    let options = serde_saphyr::options! {
        // `yes`/`on` are text in YAML 1.2, as serde_yaml read them: `anonymous_read: yes`
        // stays an error rather than a surprise.
        strict_booleans: true,
        // `base_url:` left empty reads as "", which validation then names.
        null_as_string: true,
        with_snippet: false,
    };
    serde_saphyr::from_str_with_options(text, options)
        .map_err(|e| e.render_with_formatter(&serde_saphyr::UserMessageFormatter))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    pub base_url: String,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    #[serde(default)]
    pub access: RawAccess,
    #[serde(default)]
    pub metrics: RawMetrics,
    #[serde(default)]
    pub members: Vec<RawMember>,
    #[serde(default)]
    pub teams: Vec<RawTeam>,
    #[serde(default)]
    pub uploads: RawUploads,
    #[serde(default)]
    pub repositories: Vec<RawRepository>,
    pub upstream: Option<super::upstream::RawUpstream>,
    pub store: Option<super::store::RawStore>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccess {
    #[serde(default)]
    pub anonymous_read: bool,
}

/// Who may read `GET metrics` besides admins.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMetrics {
    #[serde(default)]
    pub public: bool,
    pub token_env: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMember {
    pub email: String,
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTeam {
    pub name: String,
    #[serde(default)]
    pub leaders: Vec<String>,
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUploads {
    #[serde(default)]
    pub publishers: Vec<String>,
    pub max_archive_mib: Option<u64>,
    pub max_unpacked_mib: Option<u64>,
    #[serde(default)]
    pub packages: Vec<RawUploadedPackage>,
}

/// Settings for a package published with `dart pub publish`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUploadedPackage {
    pub name: String,
    pub teams: Option<Vec<String>>,
    #[serde(default)]
    pub retracted: Vec<String>,
    #[serde(default)]
    pub discontinued: bool,
    pub replaced_by: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRepository {
    pub url: String,
    pub credentials: Option<RawCredentials>,
    pub webhook_secret_env: Option<String>,
    pub poll_interval: Option<String>,
    pub teams: Option<Vec<String>>,
    pub packages: Option<Vec<RawPackage>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCredentials {
    pub username: String,
    pub password_env: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPackage {
    pub name: Option<String>,
    pub path: Option<String>,
    pub tag_pattern: Option<OneOrMany>,
    #[serde(default)]
    pub retracted: Vec<String>,
    #[serde(default)]
    pub discontinued: bool,
    pub replaced_by: Option<String>,
}

/// `tag_pattern: "v{{version}}"` or `tag_pattern: ["a-{{version}}", "b-{{version}}"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}
