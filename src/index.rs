//! Which packages and versions exist, as served: the listing and version bodies are
//! rendered (and gzipped) when the index changes, so a request only picks bytes.

use crate::auth::Readers;
use crate::auth::policy;
use crate::clock::rfc3339;
use crate::config::Config;
use crate::package::version::{self, Version};
use crate::store::StoredVersion;
use crate::store::UploadedPackage;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Arc;
use tracing::warn;

/// A JSON body, plain and gzip-encoded.
#[derive(Debug, Clone)]
pub struct Body {
    pub plain: bytes::Bytes,
    pub gzip: bytes::Bytes,
}

impl Body {
    fn new(value: &Value) -> Body {
        let plain = serde_json::to_vec(value).expect("a serde_json::Value always serializes");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&plain).expect("writing to a Vec cannot fail");
        let gzip = enc.finish().expect("writing to a Vec cannot fail");
        Body {
            plain: plain.into(),
            gzip: gzip.into(),
        }
    }
}

/// One served version.
#[derive(Debug, Clone)]
pub struct VersionView {
    pub sha256: String,
    pub archive_size: u64,
    pub retracted: bool,
    /// `GET api/packages/{name}/versions/{version}`.
    pub info: Body,
}

/// One served package.
#[derive(Debug)]
pub struct PackageView {
    pub name: String,
    /// The repository it comes from (its config key); `None` for uploaded packages.
    pub repo: Option<String>,
    /// Who may read it besides admins, from the config (and the creator's teams for
    /// uploaded packages).
    pub readers: Readers,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
    pub versions: BTreeMap<Version, VersionView>,
    /// `GET api/packages/{name}`.
    pub listing: Body,
}

impl PackageView {
    /// The version whose text is exactly `text`.
    pub fn version(&self, text: &str) -> Option<&VersionView> {
        let v = Version::parse(text).ok()?;
        if v.as_str() != text {
            return None;
        }
        self.versions.get(&v)
    }
}

/// The whole served view; replaced wholesale (behind an `ArcSwap`) when it changes.
#[derive(Debug, Default)]
pub struct Index {
    packages: HashMap<String, Arc<PackageView>>,
}

/// What the config and the publishing state say about one package.
#[derive(Debug, Clone)]
struct Settings {
    readers: Readers,
    retracted: Vec<Version>,
    discontinued: bool,
    replaced_by: Option<String>,
}

impl Index {
    /// Builds the index from every stored version and the state of uploaded packages.
    pub fn build(
        config: &Config,
        stored: Vec<StoredVersion>,
        uploaded: &[UploadedPackage],
    ) -> Index {
        let uploaded: HashMap<&str, &UploadedPackage> =
            uploaded.iter().map(|p| (p.name.as_str(), p)).collect();
        let mut by_package: HashMap<String, Vec<StoredVersion>> = HashMap::new();
        for v in stored {
            by_package.entry(v.package.clone()).or_default().push(v);
        }
        let packages = by_package
            .into_iter()
            .filter_map(|(name, versions)| {
                let settings = settings(
                    config,
                    &versions,
                    uploaded.get(name.as_str()).copied(),
                    &name,
                );
                let view = render_package(config, &name, versions, settings)?;
                Some((name, Arc::new(view)))
            })
            .collect();
        Index { packages }
    }

    pub fn package(&self, name: &str) -> Option<&Arc<PackageView>> {
        self.packages.get(name)
    }

    pub fn len(&self) -> usize {
        self.packages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.packages.keys().map(String::as_str)
    }
}

fn settings(
    config: &Config,
    stored: &[StoredVersion],
    uploaded: Option<&UploadedPackage>,
    name: &str,
) -> Settings {
    let repo = stored.first().and_then(|v| v.source.repo());
    if let Some(repo) = repo {
        let spec = config.repository(repo).and_then(|r| {
            r.packages
                .iter()
                .find(|p| p.name.as_deref() == Some(name))
                .or_else(|| r.packages.iter().find(|p| p.name.is_none()))
        });
        return Settings {
            readers: policy::readers(config, Some(repo)),
            retracted: spec.map(|s| s.retracted.clone()).unwrap_or_default(),
            discontinued: spec.is_some_and(|s| s.discontinued),
            replaced_by: spec.and_then(|s| s.replaced_by.clone()),
        };
    }
    // Uploaded: the state kept by the API, with registry.yaml adding to it.
    let spec = config.uploads.packages.iter().find(|p| p.name == name);
    let mut retracted: Vec<Version> = uploaded
        .map(|u| {
            u.retracted
                .iter()
                .filter_map(|v| Version::parse(v).ok())
                .collect()
        })
        .unwrap_or_default();
    retracted.extend(spec.map(|s| s.retracted.clone()).unwrap_or_default());
    // Readers by default: the teams its creator had when creating it, and the current
    // teams of every uploader, so whoever may publish a version may also read it.
    let teams = spec.and_then(|s| s.teams.clone()).unwrap_or_else(|| {
        let mut teams: Vec<String> = uploaded.map(|u| u.teams.clone()).unwrap_or_default();
        for uploader in uploaded.iter().flat_map(|u| &u.uploaders) {
            teams.extend(policy::teams_of(config, uploader).map(str::to_string));
        }
        teams.sort();
        teams.dedup();
        teams
    });
    Settings {
        readers: if teams.is_empty() {
            Readers::Everyone
        } else {
            Readers::Teams(teams)
        },
        retracted,
        discontinued: spec.is_some_and(|s| s.discontinued)
            || uploaded.is_some_and(|u| u.discontinued),
        replaced_by: spec
            .and_then(|s| s.replaced_by.clone())
            .or_else(|| uploaded.and_then(|u| u.replaced_by.clone())),
    }
}

fn render_package(
    config: &Config,
    name: &str,
    stored: Vec<StoredVersion>,
    settings: Settings,
) -> Option<PackageView> {
    let repo = stored
        .first()
        .and_then(|v| v.source.repo())
        .map(str::to_string);
    let retracted: Vec<&Version> = settings.retracted.iter().collect();
    let mut entries: BTreeMap<Version, (Value, StoredVersion)> = BTreeMap::new();
    for v in stored {
        let Ok(parsed) = Version::parse(&v.version) else {
            warn!(package = %name, version = %v.version, "skipping a stored version that does not parse");
            continue;
        };
        let pubspec: Value = match serde_json::from_str(&v.pubspec_json) {
            Ok(p) => p,
            Err(e) => {
                warn!(package = %name, version = %v.version, error = %e, "skipping a stored version whose pubspec is not JSON");
                continue;
            }
        };
        let is_retracted = retracted.contains(&&parsed);
        let mut entry = Map::new();
        entry.insert("version".into(), json!(v.version));
        if is_retracted {
            entry.insert("retracted".into(), json!(true));
        }
        entry.insert("pubspec".into(), pubspec);
        entry.insert(
            "archive_url".into(),
            json!(config.base_url.join(&format!(
                "packages/{}/versions/{}.tar.gz",
                encode(name),
                encode(&v.version)
            ))),
        );
        entry.insert("archive_sha256".into(), json!(v.sha256));
        entry.insert("published".into(), json!(rfc3339(v.published)));
        entries.insert(parsed, (Value::Object(entry), v));
    }
    if entries.is_empty() {
        return None;
    }
    let latest = version::latest(entries.keys().map(|v| (v, retracted.contains(&v))))?.clone();
    let mut listing = Map::new();
    listing.insert("name".into(), json!(name));
    listing.insert("latest".into(), entries[&latest].0.clone());
    listing.insert(
        "versions".into(),
        Value::Array(entries.values().map(|(e, _)| e.clone()).collect()),
    );
    if settings.discontinued {
        listing.insert("isDiscontinued".into(), json!(true));
        if let Some(r) = &settings.replaced_by {
            listing.insert("replacedBy".into(), json!(r));
        }
    }
    let listing = Body::new(&Value::Object(listing));
    let versions = entries
        .into_iter()
        .map(|(v, (entry, stored))| {
            let view = VersionView {
                retracted: retracted.contains(&&v),
                sha256: stored.sha256,
                archive_size: stored.archive_size,
                info: Body::new(&entry),
            };
            (v, view)
        })
        .collect();
    Some(PackageView {
        name: name.to_string(),
        repo,
        readers: settings.readers,
        discontinued: settings.discontinued,
        replaced_by: settings.replaced_by,
        versions,
        listing,
    })
}

/// Percent-encodes a path segment. Names and versions are ASCII from a small alphabet
/// (`+` is the only character that needs care), so a full URL library is not needed.
fn encode(segment: &str) -> String {
    segment.replace('+', "%2B")
}
