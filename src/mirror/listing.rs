//! A mirrored package: the upstream's listing, checked the way `dart pub` checks it
//! (docs/protocol.md §1.3), kept in our own form ([`Mirrored`], also what is written to
//! `data_dir/mirror/` and into bundles), and rendered as a listing of ours whose every
//! `archive_url` is under our `base_url` (§1.4, §2.3).
//!
//! Fail closed: a version the client would reject, whose archive tagpub could not
//! verify (no `archive_sha256`), or whose `archive_url` is on another origin than the
//! upstream's (tagpub connects to the upstream it was given, never to a host a listing
//! names: docs/configuration.md, `upstream`), is left out of the listing and logged; a
//! listing with no version left is refused.

use crate::config::BaseUrl;
use crate::package::version::{self, Version};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;

/// gzip level of rendered listings, as for our own (src/index/render.rs).
const JSON_GZIP_LEVEL: u32 = 6;

/// A package as mirrored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirrored {
    pub name: String,
    /// When the upstream answered, in seconds since the epoch.
    pub fetched: i64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub discontinued: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisories_updated: Option<String>,
    pub versions: Vec<MirroredVersion>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MirroredVersion {
    /// `pubspec.version`, which is what the client reads (§1.3).
    pub version: String,
    /// Lower-case hex.
    pub sha256: String,
    /// The archive URL the upstream listed; ours replaces it in rendered listings.
    pub url: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retracted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    pub pubspec: Map<String, Value>,
}

impl Mirrored {
    pub fn version(&self, version: &str) -> Option<&MirroredVersion> {
        self.versions.iter().find(|v| v.version == version)
    }
}

/// Why an upstream listing cannot be mirrored at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No versions: pub.dev answers 404 for such a package, and so do we.
    Empty,
    /// Not a listing, or no version survived the checks; says why, for people.
    Unusable(String),
}

/// Checks an upstream listing of `name`, fetched from `upstream`. Returns the package
/// and, per version left out, why.
pub fn parse_upstream(
    name: &str,
    body: &[u8],
    fetched: i64,
    upstream: &BaseUrl,
) -> Result<(Mirrored, Vec<String>), Refusal> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Refusal::Unusable(format!("the listing is not JSON ({e})")))?;
    let top = value
        .as_object()
        .ok_or_else(|| Refusal::Unusable("the listing is not a JSON object".into()))?;
    let entries = top
        .get("versions")
        .and_then(Value::as_array)
        .ok_or_else(|| Refusal::Unusable("the listing has no `versions` list".into()))?;
    if entries.is_empty() {
        return Err(Refusal::Empty);
    }
    let mut versions: Vec<MirroredVersion> = Vec::new();
    let mut dropped = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        match check_entry(name, entry, upstream) {
            Ok(v) if versions.iter().any(|o| o.version == v.version) => {
                dropped.push(format!("versions[{i}]: {} is listed twice", v.version));
            }
            Ok(v) => versions.push(v),
            Err(why) => dropped.push(format!("versions[{i}]: {why}")),
        }
    }
    if versions.is_empty() {
        return Err(Refusal::Unusable(format!(
            "none of its {} version(s) can be served safely; the first: {}",
            entries.len(),
            dropped.first().map_or("", String::as_str)
        )));
    }
    let advisories_updated = top
        .get("advisoriesUpdated")
        .and_then(Value::as_str)
        .filter(|d| is_date(d))
        .map(str::to_string);
    Ok((
        Mirrored {
            name: name.to_string(),
            fetched,
            discontinued: top.get("isDiscontinued") == Some(&Value::Bool(true)),
            replaced_by: top
                .get("replacedBy")
                .and_then(Value::as_str)
                .map(str::to_string),
            advisories_updated,
            versions,
        },
        dropped,
    ))
}

fn check_entry(name: &str, entry: &Value, upstream: &BaseUrl) -> Result<MirroredVersion, String> {
    let entry = entry.as_object().ok_or("not a JSON object")?;
    let pubspec = entry
        .get("pubspec")
        .and_then(Value::as_object)
        .ok_or("no `pubspec` object")?;
    if pubspec.get("name").and_then(Value::as_str) != Some(name) {
        return Err(format!("its pubspec is not named `{name}`"));
    }
    let version = pubspec
        .get("version")
        .and_then(Value::as_str)
        .ok_or("its pubspec has no version")?;
    Version::parse(version).map_err(|e| format!("`{version}`: {e}"))?;
    let url = entry
        .get("archive_url")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{version} has no `archive_url`"))?;
    match url::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => {
            return Err(format!(
                "{version}: `archive_url` is not an absolute http(s) URL"
            ));
        }
    }
    if !on_origin(url, upstream) {
        return Err(format!(
            "{version}: `archive_url` is not on the upstream's own host ({})",
            upstream.as_str()
        ));
    }
    let sha256 = match entry.get("archive_sha256").and_then(Value::as_str) {
        Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            s.to_ascii_lowercase()
        }
        Some(_) => return Err(format!("{version}: `archive_sha256` is not 64 hex digits")),
        None => {
            return Err(format!(
                "{version} has no `archive_sha256`, so its archive cannot be verified"
            ));
        }
    };
    let retracted = match entry.get("retracted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(format!("{version}: `retracted` is not true or false")),
    };
    Ok(MirroredVersion {
        version: version.to_string(),
        sha256,
        url: url.to_string(),
        retracted,
        published: entry
            .get("published")
            .and_then(Value::as_str)
            .map(str::to_string),
        pubspec: pubspec.clone(),
    })
}

/// Whether `url` has the scheme, host and port of `upstream`. The upstream's answer to
/// it may still redirect elsewhere (pub.dev sends archives from its storage host), as
/// the upstream itself decides; a listing does not choose the hosts tagpub connects to.
pub fn on_origin(url: &str, upstream: &BaseUrl) -> bool {
    match (url::Url::parse(url), url::Url::parse(upstream.as_str())) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// What Dart's `DateTime.parse` accepts, as far as pub.dev sends it: an ISO-8601 date,
/// optionally with a time. A value the client cannot parse would make it reject the
/// whole listing (§1.3), so such a value is dropped instead.
fn is_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || humantime::parse_rfc3339_weak(text).is_ok() || is_dart_time(text))
}

/// `2024-05-03T14:38:46.123Z` and friends, which `parse_rfc3339_weak` may refuse for
/// their fraction digits.
fn is_dart_time(text: &str) -> bool {
    let rest = &text[10..];
    (rest.starts_with('T') || rest.starts_with(' '))
        && rest[1..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b":.+-Z".contains(&b))
}

/// Our `archive_url` of a mirrored version: the same path as our own archives
/// (`crate::index::archive_url`), so clients send our token with it (§2.3).
pub fn archive_url(base: &BaseUrl, name: &str, version: &str) -> String {
    base.join(&format!(
        "packages/{name}/versions/{}.tar.gz",
        version.replace('+', "%2B")
    ))
}

/// The listing we serve, gzip-encoded: like our own listings (versions ascending,
/// `latest` the highest non-retracted), with the upstream's discontinuation and
/// `advisoriesUpdated` passed through.
pub fn render(package: &Mirrored, base: &BaseUrl) -> bytes::Bytes {
    let entries: BTreeMap<Version, (&MirroredVersion, Value)> = package
        .versions
        .iter()
        .filter_map(|v| {
            let parsed = Version::parse(&v.version).ok()?;
            let mut entry = Map::new();
            entry.insert("version".into(), json!(v.version));
            if v.retracted {
                entry.insert("retracted".into(), json!(true));
            }
            entry.insert("pubspec".into(), Value::Object(v.pubspec.clone()));
            entry.insert(
                "archive_url".into(),
                json!(archive_url(base, &package.name, &v.version)),
            );
            entry.insert("archive_sha256".into(), json!(v.sha256));
            if let Some(p) = &v.published {
                entry.insert("published".into(), json!(p));
            }
            Some((parsed, (v, Value::Object(entry))))
        })
        .collect();
    let mut listing = Map::new();
    listing.insert("name".into(), json!(package.name));
    if let Some(latest) = version::latest(entries.iter().map(|(k, (v, _))| (k, v.retracted))) {
        listing.insert("latest".into(), entries[latest].1.clone());
    }
    listing.insert(
        "versions".into(),
        Value::Array(entries.into_values().map(|(_, e)| e).collect()),
    );
    if package.discontinued {
        listing.insert("isDiscontinued".into(), json!(true));
    }
    if let Some(r) = &package.replaced_by {
        listing.insert("replacedBy".into(), json!(r));
    }
    if let Some(d) = &package.advisories_updated {
        listing.insert("advisoriesUpdated".into(), json!(d));
    }
    gzip(&serde_json::to_vec(&Value::Object(listing)).expect("JSON values always serialize"))
}

/// `plain`, gzip-encoded, in a buffer of exactly its size: cached documents are weighed
/// by their length (cache.rs), so spare capacity would be memory the budget misses.
pub fn gzip(plain: &[u8]) -> bytes::Bytes {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(plain.len() / 4),
        flate2::Compression::new(JSON_GZIP_LEVEL),
    );
    enc.write_all(plain).expect("writing to a Vec cannot fail");
    let mut out = enc.finish().expect("writing to a Vec cannot fail");
    out.shrink_to_fit();
    out.into()
}

/// Keeps what we already served, whatever the upstream says now ("bytes are forever",
/// docs/protocol.md §3.3): a version whose archive we stored keeps its sha256, archive
/// URL and pubspec even if the upstream now lists other ones (retraction follows the
/// upstream). A version the upstream no longer lists is dropped: a takedown (malware,
/// say) must reach our clients too. Returns what was kept, for the log.
pub fn keep_served(
    fresh: &mut Mirrored,
    old: &Mirrored,
    stored: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut kept = Vec::new();
    for was in old.versions.iter().filter(|v| stored(&v.sha256)) {
        if let Some(now) = fresh
            .versions
            .iter_mut()
            .find(|v| v.version == was.version && v.sha256 != was.sha256)
        {
            kept.push(format!(
                "{} {}: the upstream now lists sha256 {}, but {} was stored and served; keeping it",
                old.name, was.version, now.sha256, was.sha256
            ));
            *now = MirroredVersion {
                retracted: now.retracted,
                ..was.clone()
            };
        }
    }
    kept
}

#[cfg(test)]
mod tests;
