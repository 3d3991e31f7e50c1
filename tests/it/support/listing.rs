//! The version listing as the client reads it: the checks of `_versionInfoFromPackageListing`
//! (docs/protocol.md §1.3), and the SHOULDs of the §9 checklist kept apart.

use reqwest::header::HeaderMap;
use serde_json::{Map, Value};

use super::client::ClientError;
use super::hosted_url::check_absolute_http;
use super::version::{PubVersion, is_valid_package_name, sort_versions};

/// A listing that passed every check the client makes.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The name that was requested (the client's `expectedName`).
    pub name: String,
    /// The whole decoded body.
    pub raw: Value,
    /// In the order served.
    pub versions: Vec<ListedVersion>,
    pub is_discontinued: bool,
    pub replaced_by: Option<String>,
    pub headers: HeaderMap,
}

/// One `versions[]` entry, read as the client reads it.
#[derive(Debug, Clone)]
pub struct ListedVersion {
    /// From `pubspec.version` (the client ignores the entry's `version` key); `0.0.0`
    /// when the pubspec has none, as in the client.
    pub version: String,
    pub pubspec: Value,
    pub archive_url: String,
    pub archive_sha256: Option<String>,
    pub retracted: bool,
    /// The whole entry as served (for `version`, `published`, ...).
    pub entry: Value,
}

impl Listing {
    /// The entry whose (pubspec) version is exactly `version`.
    pub fn version(&self, version: &str) -> Option<&ListedVersion> {
        self.versions.iter().find(|v| v.version == version)
    }

    /// Version strings sorted by pub ordering (ascending).
    pub fn versions(&self) -> Vec<String> {
        let mut versions: Vec<String> = self.versions.iter().map(|v| v.version.clone()).collect();
        sort_versions(&mut versions);
        versions
    }

    /// The top-level `latest.version`, if served.
    pub fn latest(&self) -> Option<&str> {
        self.raw.get("latest")?.get("version")?.as_str()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn bad(reason: impl Into<String>) -> ClientError {
    ClientError::BadlyFormatted(reason.into())
}

/// Validates a decoded listing body for the requested `name`; `PubClient::list` calls it
/// after the HTTP-level checks.
pub fn parse(name: &str, raw: Value, headers: HeaderMap) -> Result<Listing, ClientError> {
    let top = raw
        .as_object()
        .ok_or_else(|| bad("version listing must be a mapping"))?;
    let entries = top
        .get("versions")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("versions must be a list"))?;
    let versions = entries
        .iter()
        .enumerate()
        .map(|(i, entry)| parse_entry(name, entry).map_err(|e| bad(format!("versions[{i}]: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    // The client checks these inside the per-version loop, so never for `versions: []`.
    // Checked always here: a wrong type is a tagpub bug either way.
    let is_discontinued = match top.get("isDiscontinued") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(bad(format!("isDiscontinued must be a bool, got {other}"))),
    };
    let replaced_by = match top.get("replacedBy") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(bad(format!("replacedBy must be a String, got {other}"))),
    };
    // Advertises the advisories endpoint (§1.5); tagpub's own packages must not carry it
    // (checklist 47, asserted where they are listed), mirrored ones pass it through.
    match top.get("advisoriesUpdated") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if is_dart_date(s) => {}
        Some(other) => {
            return Err(bad(format!(
                "advisoriesUpdated must be a date DateTime.parse accepts, got {other}"
            )));
        }
    }
    Ok(Listing {
        name: name.to_owned(),
        raw,
        versions,
        is_discontinued,
        replaced_by,
        headers,
    })
}

/// Dart's `DateTime.parse` format, in the form pub.dev writes it: `YYYY-MM-DD`,
/// optionally followed by `T` or a space and a time of digits, `:`, `.`, `,`, a zone.
fn is_dart_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    digits(0..4)
        && b.get(4) == Some(&b'-')
        && digits(5..7)
        && b.get(7) == Some(&b'-')
        && digits(8..10)
        && (b.len() == 10
            || (matches!(b[10], b'T' | b' ')
                && b.len() > 11
                && b[11..]
                    .iter()
                    .all(|c| c.is_ascii_digit() || b":.,+-zZ ".contains(c))))
}

fn parse_entry(name: &str, entry: &Value) -> Result<ListedVersion, String> {
    let entry_map = entry
        .as_object()
        .ok_or("versions list element must be a map")?;
    let pubspec = entry_map
        .get("pubspec")
        .and_then(Value::as_object)
        .ok_or("pubspec must be a map")?;
    check_pubspec_name(name, pubspec)?;
    let version = match pubspec.get("version") {
        None | Some(Value::Null) => "0.0.0".to_owned(),
        Some(Value::String(v)) if PubVersion::parse(v).is_some() => v.clone(),
        Some(other) => return Err(format!("invalid pubspec version {other}")),
    };
    let archive_url = match entry_map.get("archive_url") {
        Some(Value::String(url)) => url.clone(),
        _ => return Err("archive_url must be a String".into()),
    };
    // The client only finds out at download time, by crashing (§1.4, checklist 6).
    check_absolute_http(&archive_url).map_err(|e| format!("archive_url: {e}"))?;
    let archive_sha256 = match entry_map.get("archive_sha256") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(s.clone())
        }
        Some(other) => return Err(format!("archive_sha256 must be 64 hex digits, got {other}")),
    };
    let retracted = match entry_map.get("retracted") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("retracted must be a bool, got {other}")),
    };
    Ok(ListedVersion {
        version,
        pubspec: Value::Object(pubspec.clone()),
        archive_url,
        archive_sha256,
        retracted,
        entry: entry.clone(),
    })
}

/// `Pubspec(expectedName: name)`: a valid name, equal to the requested one, case included.
fn check_pubspec_name(name: &str, pubspec: &Map<String, Value>) -> Result<(), String> {
    match pubspec.get("name") {
        Some(Value::String(n)) if !is_valid_package_name(n) => {
            Err(format!("\"name\" field {n:?} is not a valid package name"))
        }
        Some(Value::String(n)) if n != name => Err(format!(
            "\"name\" field {n:?} doesn't match expected name {name:?}"
        )),
        Some(Value::String(_)) => Ok(()),
        Some(other) => Err(format!("\"name\" field must be a string, got {other}")),
        None => Err("missing the required \"name\" field".into()),
    }
}

/// What the client tolerates but tagpub should still do (checklist 5, 8, 25), one line
/// per violation; empty when all is well.
pub fn listing_should_violations(listing: &Listing) -> Vec<String> {
    let mut out = Vec::new();
    match listing.raw.get("name") {
        Some(Value::String(n)) if *n == listing.name => {}
        other => out.push(format!(
            "top-level name is {other:?}, want {:?}",
            listing.name
        )),
    }
    match listing.latest() {
        Some(latest) if listing.version(latest).is_some() => {}
        Some(latest) => out.push(format!("latest.version {latest:?} is not a listed version")),
        None => out.push("top-level latest.version is missing".into()),
    }
    for v in &listing.versions {
        let label = &v.version;
        let spec_version = v.pubspec.get("version").and_then(Value::as_str);
        if spec_version.is_none() {
            out.push(format!(
                "{label}: pubspec has no version (client reads 0.0.0)"
            ));
        }
        let entry_version = v.entry.get("version").and_then(Value::as_str);
        if entry_version != spec_version {
            out.push(format!(
                "{label}: entry version {entry_version:?} != pubspec version {spec_version:?}"
            ));
        }
        if v.archive_sha256.is_none() {
            out.push(format!("{label}: archive_sha256 missing"));
        }
        if v.pubspec
            .pointer("/environment/sdk")
            .and_then(Value::as_str)
            .is_none()
        {
            out.push(format!(
                "{label}: pubspec lacks environment.sdk (unusable on Dart 3)"
            ));
        }
    }
    out
}

/// Panics with every SHOULD violation of the listing.
pub fn check_listing_shoulds(listing: &Listing) {
    let violations = listing_should_violations(listing);
    assert!(
        violations.is_empty(),
        "listing of {} breaks SHOULDs:\n  {}",
        listing.name,
        violations.join("\n  ")
    );
}
