//! Pub's version numbers: grammar, canonical form, ordering and which version is
//! `latest` (docs/protocol.md §7.1, §7.2).
//!
//! This follows `package:pub_semver`, not SemVer 2.0: build metadata takes part in
//! ordering and equality, so `1.0.0+1` is a different, higher version than `1.0.0`.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

/// Why a text is not a version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error(
        "`{text}` is not a version: {reason}; pub versions look like 1.2.3, 1.2.3-beta.1 or 1.2.3+4"
    )]
    Malformed { text: String, reason: String },
    #[error(
        "`{text}` is not a version: its {part} number is larger than 9223372036854775807, the largest number pub accepts"
    )]
    Overflow { text: String, part: &'static str },
    #[error("`{text}` is not written canonically; write it as `{canonical}`")]
    NotCanonical { text: String, canonical: String },
}

/// One dot-separated part of a pre-release or build suffix.
///
/// The derived order is pub's: every number sorts before every string, numbers
/// compare numerically and strings by UTF-16 code unit, which for the ASCII-only
/// identifier alphabet is byte order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Identifier {
    Number(i64),
    Text(String),
}

impl Identifier {
    fn parse(part: &str) -> Identifier {
        match dart_try_parse_int(part) {
            Some(n) => Identifier::Number(n),
            None => Identifier::Text(part.to_string()),
        }
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Identifier::Number(n) => write!(f, "{n}"),
            Identifier::Text(s) => f.write_str(s),
        }
    }
}

/// A pub version, keeping the text it was parsed from.
///
/// Equality, ordering and hashing use the parsed parts only, so `01.2.3 == 1.2.3`;
/// `Display` and [`Version::as_str`] give the original text back.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    major: u64,
    minor: u64,
    patch: u64,
    pre: Vec<Identifier>,
    build: Vec<Identifier>,
}

impl Version {
    /// Parses `text` with pub's grammar. Leading zeros are accepted (as pub does);
    /// use [`Version::parse_canonical`] to refuse them.
    pub fn parse(text: &str) -> Result<Version, Error> {
        let malformed = |reason: String| Error::Malformed {
            text: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(malformed("the text is empty".to_string()));
        }
        if let Some(rest) = text.strip_prefix(['v', 'V'])
            && rest.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(malformed(format!(
                "drop the leading `v` and write `{rest}`"
            )));
        }
        // Neither the core nor the pre-release may contain `+`, and the core has no
        // `-`, so the first of each is the separator.
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let numbers: Vec<&str> = core.split('.').collect();
        let [major, minor, patch] = numbers[..] else {
            return Err(malformed(format!(
                "`{core}` must be exactly three numbers separated by dots"
            )));
        };
        let number = |digits: &str, part: &'static str| -> Result<u64, Error> {
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(malformed(format!(
                    "the {part} part `{digits}` is not a number"
                )));
            }
            parse_core_number(digits).ok_or(Error::Overflow {
                text: text.to_string(),
                part,
            })
        };
        Ok(Version {
            major: number(major, "major")?,
            minor: number(minor, "minor")?,
            patch: number(patch, "patch")?,
            pre: identifiers(pre, "pre-release").map_err(malformed)?,
            build: identifiers(build, "build").map_err(malformed)?,
            text: text.to_string(),
        })
    }

    /// Parses `text` and also requires it to be written the way pub prints it, as
    /// pub.dev does for uploads: no leading zeros, nothing pub would re-print
    /// differently.
    pub fn parse_canonical(text: &str) -> Result<Version, Error> {
        let version = Version::parse(text)?;
        if !version.is_canonical() {
            return Err(Error::NotCanonical {
                text: text.to_string(),
                canonical: version.canonical(),
            });
        }
        Ok(version)
    }

    /// The version re-printed from its parts (pub's `canonicalizedVersion`):
    /// `01.2.3-01.dev+pre.02` becomes `1.2.3-1.dev+pre.2`.
    pub fn canonical(&self) -> String {
        let mut out = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            out.push('-');
            out.push_str(&join(&self.pre));
        }
        if !self.build.is_empty() {
            out.push('+');
            out.push_str(&join(&self.build));
        }
        out
    }

    /// Whether the original text is already canonical.
    pub fn is_canonical(&self) -> bool {
        self.text == self.canonical()
    }

    /// Whether this version has a pre-release suffix (`1.0.0-beta`).
    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }

    /// The text this version was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn major(&self) -> u64 {
        self.major
    }

    pub fn minor(&self) -> u64 {
        self.minor
    }

    pub fn patch(&self) -> u64 {
        self.patch
    }

    /// Pub's preference order (`Version.prioritize`): every stable release above every
    /// pre-release, then the normal order.
    pub fn cmp_priority(&self, other: &Version) -> Ordering {
        self.is_prerelease()
            .cmp(&other.is_prerelease())
            .reverse()
            .then_with(|| self.cmp(other))
    }
}

/// The version to advertise as `latest`: the highest by pub's priority (stable over
/// pre-release), skipping retracted versions unless every version is retracted
/// (docs/protocol.md §7.2, as pub.dev computes it). `None` when there are no versions.
pub fn latest<'a>(versions: impl Iterator<Item = (&'a Version, bool)>) -> Option<&'a Version> {
    let all: Vec<(&'a Version, bool)> = versions.collect();
    let live = all.iter().filter(|(_, retracted)| !retracted);
    live.max_by(|a, b| a.0.cmp_priority(b.0))
        .or_else(|| all.iter().max_by(|a, b| a.0.cmp_priority(b.0)))
        .map(|(version, _)| *version)
}

/// Parses a major, minor or patch number (ASCII digits only) the way Dart's
/// `int.parse` does: any number of leading zeros, at most `i64::MAX`.
fn parse_core_number(digits: &str) -> Option<u64> {
    let value = digits.parse::<u64>().ok()?;
    (value <= i64::MAX as u64).then_some(value)
}

/// Splits a pre-release or build suffix into identifiers, or says what is wrong.
fn identifiers(suffix: Option<&str>, what: &str) -> Result<Vec<Identifier>, String> {
    let Some(suffix) = suffix else {
        return Ok(Vec::new());
    };
    suffix
        .split('.')
        .map(|part| {
            if part.is_empty() {
                return Err(format!("the {what} part `{suffix}` has an empty identifier"));
            }
            if let Some(bad) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
            {
                return Err(format!(
                    "the {what} part `{suffix}` contains `{bad}`; only letters, digits, `-` and `.` are allowed"
                ));
            }
            Ok(Identifier::parse(part))
        })
        .collect()
}

/// Whether an identifier is a number, exactly as pub_semver decides it: with Dart's
/// `int.tryParse` on the VM. That accepts a leading `-` and a `0x` hex prefix, so
/// `-1` is the number -1 and `0x10` is 16 (and prints as `16` when canonicalised);
/// decimals outside i64 stay strings. Positive hex may use all 64 bits and then
/// wraps to a negative number, as the VM's parser allows.
fn dart_try_parse_int(part: &str) -> Option<i64> {
    let (negative, unsigned) = match part.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, part),
    };
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let magnitude = u64::from_str_radix(hex, 16).ok()?;
        return if negative {
            i64::try_from(-i128::from(magnitude)).ok()
        } else {
            Some(magnitude as i64)
        };
    }
    if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = i128::from(unsigned.parse::<u64>().ok()?);
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

fn join(parts: &[Identifier]) -> String {
    parts
        .iter()
        .map(Identifier::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

impl FromStr for Version {
    type Err = Error;

    fn from_str(text: &str) -> Result<Version, Error> {
        Version::parse(text)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            // A pre-release sorts before the release itself...
            .then_with(|| self.pre.is_empty().cmp(&other.pre.is_empty()))
            .then_with(|| self.pre.cmp(&other.pre))
            // ...but a build sorts after it: an empty list is the smallest list.
            .then_with(|| self.build.cmp(&other.build))
    }
}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        (self.major, self.minor, self.patch, &self.pre, &self.build).hash(state);
    }
}

#[cfg(test)]
mod tests;
