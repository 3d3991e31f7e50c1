//! The JSON of listings and version entries (docs/protocol.md §1.3), from stored versions.

use super::{Body, PackageView};
use crate::clock::rfc3339;
use crate::config::Config;
use crate::package::version::{self, Version};
use crate::store::{self, Catalog, StoredVersion};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use tracing::warn;

/// gzip level of JSON bodies: these are re-rendered at will, so the level only trades
/// CPU for bytes (unlike archives, whose bytes are forever).
const JSON_GZIP_LEVEL: u32 = 6;

fn body(value: &Value) -> Body {
    let plain = serde_json::to_vec(value).expect("a serde_json::Value always serializes");
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 4),
        flate2::Compression::new(JSON_GZIP_LEVEL),
    );
    enc.write_all(&plain).expect("writing to a Vec cannot fail");
    Body {
        gzip: enc.finish().expect("writing to a Vec cannot fail").into(),
    }
}

/// The absolute `archive_url` of a version (§1.4), built from `base_url`. Names and
/// versions are ASCII from a small alphabet (`+` is the only character that needs
/// percent-encoding), so a full URL library is not needed.
pub fn archive_url(config: &Config, package: &str, version: &str) -> String {
    config.base_url.join(&format!(
        "packages/{package}/versions/{}.tar.gz",
        version.replace('+', "%2B")
    ))
}

/// One `versions[]` entry.
fn entry(
    config: &Config,
    package: &PackageView,
    version: &Version,
    stored: &StoredVersion,
) -> Option<Value> {
    let pubspec: Value = match serde_json::from_str(&stored.pubspec_json) {
        Ok(p) => p,
        Err(e) => {
            warn!(package = %package.name, version = %stored.version, error = %e, "skipping a stored version whose pubspec is not JSON");
            return None;
        }
    };
    let mut entry = Map::new();
    entry.insert("version".into(), json!(stored.version));
    if package.is_retracted(version) {
        entry.insert("retracted".into(), json!(true));
    }
    entry.insert("pubspec".into(), pubspec);
    entry.insert(
        "archive_url".into(),
        json!(archive_url(config, &package.name, &stored.version)),
    );
    entry.insert("archive_sha256".into(), json!(stored.sha256));
    entry.insert("published".into(), json!(rfc3339(stored.published)));
    Some(Value::Object(entry))
}

impl PackageView {
    /// The listing, rendered from the catalog on its first request in this index
    /// generation and kept for the next ones.
    pub fn listing(&self, config: &Config, catalog: &dyn Catalog) -> Result<Body, store::Error> {
        if let Some(body) = self.cached_listing() {
            return Ok(body.clone());
        }
        let stored = catalog.versions_of(&self.name)?;
        Ok(self.cache_listing(listing_body(config, self, &stored)))
    }

    /// The entry of one version (`GET api/packages/{name}/versions/{version}`), rendered
    /// per request: only clients older than Dart 2.14 ask for it. `None` when the
    /// catalog holds no such version, or holds it with a pubspec that is not JSON.
    pub fn version_info(
        &self,
        config: &Config,
        catalog: &dyn Catalog,
        version: &str,
    ) -> Result<Option<Body>, store::Error> {
        let stored = catalog.versions_of(&self.name)?;
        Ok(stored
            .iter()
            .find(|s| s.version == version)
            .and_then(|s| version_body(config, self, s)))
    }
}

/// `GET api/packages/{name}`: versions ascending, `latest` the highest non-retracted
/// (stable preferred, §7.2), `isDiscontinued`/`replacedBy` only when set, no
/// `advisoriesUpdated` (advisories are not served).
fn listing_body(config: &Config, package: &PackageView, stored: &[StoredVersion]) -> Body {
    let entries: BTreeMap<Version, Value> = stored
        .iter()
        .filter_map(|s| {
            let v = Version::parse(&s.version).ok()?;
            package.versions.get(&v)?;
            Some((v.clone(), entry(config, package, &v, s)?))
        })
        .collect();
    let mut listing = Map::new();
    listing.insert("name".into(), json!(package.name));
    if let Some(latest) = version::latest(entries.keys().map(|v| (v, package.is_retracted(v)))) {
        listing.insert("latest".into(), entries[latest].clone());
    }
    listing.insert(
        "versions".into(),
        Value::Array(entries.into_values().collect()),
    );
    if package.discontinued {
        listing.insert("isDiscontinued".into(), json!(true));
        if let Some(r) = &package.replaced_by {
            listing.insert("replacedBy".into(), json!(r));
        }
    }
    body(&Value::Object(listing))
}

/// `GET api/packages/{name}/versions/{version}`.
fn version_body(config: &Config, package: &PackageView, stored: &StoredVersion) -> Option<Body> {
    let v = Version::parse(&stored.version).ok()?;
    entry(config, package, &v, stored).map(|e| body(&e))
}
