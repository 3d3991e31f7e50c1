//! Pub's version numbers: grammar, canonical form, ordering and which version is
//! `latest` (PUB_PROTOCOL.md §7.1, §7.2).
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
/// (PUB_PROTOCOL.md §7.2, as pub.dev computes it). `None` when there are no versions.
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
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).expect("test versions are valid")
    }

    #[test]
    fn parses_parts_and_keeps_text() {
        let version = v("01.2.3-beta.01+build.7");
        assert_eq!(
            (version.major(), version.minor(), version.patch()),
            (1, 2, 3)
        );
        assert_eq!(version.as_str(), "01.2.3-beta.01+build.7");
        assert_eq!(version.to_string(), "01.2.3-beta.01+build.7");
        assert_eq!(version.canonical(), "1.2.3-beta.1+build.7");
        assert!(!version.is_canonical());
        assert!(version.is_prerelease());
        assert!(!v("1.2.3+4").is_prerelease());
        assert_eq!("1.0.0".parse::<Version>(), Ok(v("1.0.0")));
    }

    #[test]
    fn rejects_what_the_grammar_rejects() {
        for bad in [
            "",
            "1",
            "1.2",
            "1.2.3.4",
            "v1.2.3",
            "V1.0.0",
            "1.2.x",
            " 1.2.3",
            "1.2.3 ",
            "1.2.3\n",
            "1.2.3-",
            "1.2.3+",
            "1.2.3-a..b",
            "1.2.3-.a",
            "1.2.3-a.",
            "1.2.3+a+b",
            "1.2.3-a_b",
            "1.2.3-é",
            "1.2.3+a b",
            "-1.2.3",
            "1.-2.3",
            "１.2.3",
            "1..3",
            "+1.2.3",
        ] {
            assert!(
                matches!(Version::parse(bad), Err(Error::Malformed { .. })),
                "{bad:?} should be malformed"
            );
        }
        // `-` is an identifier character, so these are valid.
        assert_eq!(v("1.2.3--").canonical(), "1.2.3--");
        assert_eq!(v("1.2.3-a-b+c-d").canonical(), "1.2.3-a-b+c-d");
        assert_eq!(v("1.2.3+x-y").canonical(), "1.2.3+x-y");
    }

    #[test]
    fn error_messages_say_how_to_fix() {
        let err = Version::parse("v1.2.3").unwrap_err().to_string();
        assert!(err.contains("drop the leading `v`"), "{err}");
        assert!(err.contains("`1.2.3`"), "{err}");
        let err = Version::parse("").unwrap_err().to_string();
        assert!(err.contains("empty"), "{err}");
        let err = Version::parse("1.2").unwrap_err().to_string();
        assert!(err.contains("three numbers"), "{err}");
        let err = Version::parse_canonical("01.2.3").unwrap_err();
        assert_eq!(
            err,
            Error::NotCanonical {
                text: "01.2.3".into(),
                canonical: "1.2.3".into()
            }
        );
        assert!(err.to_string().contains("write it as `1.2.3`"));
    }

    #[test]
    fn numbers_overflow_like_dart_ints() {
        assert_eq!(v("9223372036854775807.0.0").major(), i64::MAX as u64);
        assert_eq!(v("00000000000000000000000001.0.0").major(), 1);
        for big in [
            "9223372036854775808.0.0",
            "0.18446744073709551616.0",
            "0.0.99999999999999999999",
        ] {
            assert!(
                matches!(Version::parse(big), Err(Error::Overflow { .. })),
                "{big}"
            );
        }
        let err = Version::parse("0.0.99999999999999999999")
            .unwrap_err()
            .to_string();
        assert!(err.contains("patch"), "{err}");
        // A pre-release identifier that does not fit stays a string, as in Dart.
        let huge = v("1.0.0-99999999999999999999");
        assert!(huge.is_canonical());
        assert!(huge < v("1.0.0-a"));
        assert!(huge > v("1.0.0-5"));
    }

    #[test]
    fn canonical_form() {
        assert_eq!(v("1.2.3").canonical(), "1.2.3");
        assert!(v("1.2.3-beta.1+4").is_canonical());
        assert_eq!(v("01.02.03-01.dev+pre.02").canonical(), "1.2.3-1.dev+pre.2");
        assert_eq!(v("1.0.0-00").canonical(), "1.0.0-0");
        assert_eq!(v("1.0.0-0a").canonical(), "1.0.0-0a");
        assert!(Version::parse_canonical("1.0.0+001").is_err());
        assert!(Version::parse_canonical("0.0.0").is_ok());
        // Re-parsing the canonical text gives an equal version.
        let odd = v("007.0.0-01.x+02");
        assert_eq!(v(&odd.canonical()), odd);
    }

    #[test]
    fn identifiers_are_numbers_the_way_dart_int_try_parse_says() {
        assert_eq!(v("1.0.0--1").canonical(), "1.0.0--1");
        assert!(v("1.0.0--1") < v("1.0.0-0"));
        assert_eq!(v("1.0.0-0x10").canonical(), "1.0.0-16");
        assert_eq!(v("1.0.0-0x10"), v("1.0.0-16"));
        assert_eq!(v("1.0.0-0XfF"), v("1.0.0-255"));
        assert_eq!(v("1.0.0--0x10"), v("1.0.0--16"));
        assert_eq!(v("1.0.0--0"), v("1.0.0-0"));
        assert_eq!(v("1.0.0-0xffffffffffffffff"), v("1.0.0--1"));
        assert_eq!(
            v("1.0.0--9223372036854775808").canonical(),
            "1.0.0--9223372036854775808"
        );
        for text in [
            "-",
            "--1",
            "0x",
            "0xg",
            "1-2",
            "0x-1",
            "-9223372036854775809",
        ] {
            assert_eq!(
                Identifier::parse(text),
                Identifier::Text(text.into()),
                "{text}"
            );
        }
    }

    #[test]
    fn order_follows_pub() {
        let ascending = [
            "0.0.1",
            "0.1.0",
            "1.0.0-0",
            "1.0.0-1",
            "1.0.0-2",
            "1.0.0-10",
            "1.0.0-10.a",
            "1.0.0-A",
            "1.0.0-Z",
            "1.0.0-a",
            "1.0.0-a.0",
            "1.0.0-a.1",
            "1.0.0-a.b",
            "1.0.0-alpha",
            "1.0.0-b",
            "1.0.0-beta",
            "1.0.0-beta+1",
            "1.0.0",
            "1.0.0+0",
            "1.0.0+1",
            "1.0.0+2",
            "1.0.0+10",
            "1.0.0+a",
            "1.0.0+a.1",
            "1.0.1",
            "1.2.0",
            "1.10.0",
            "2.0.0-dev",
            "2.0.0",
            "10.0.0",
        ];
        for pair in ascending.windows(2) {
            assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
            assert!(v(pair[1]) > v(pair[0]), "{} > {}", pair[1], pair[0]);
        }
        let mut shuffled: Vec<Version> = ascending.iter().rev().map(|t| v(t)).collect();
        shuffled.sort();
        let sorted: Vec<&str> = shuffled.iter().map(Version::as_str).collect();
        assert_eq!(sorted, ascending);
    }

    #[test]
    fn build_metadata_makes_a_different_version() {
        assert_ne!(v("1.0.0"), v("1.0.0+1"));
        assert!(v("1.0.0") < v("1.0.0+1"));
        assert!(v("1.0.0+1") < v("1.0.0+2"));
        assert!(v("1.0.0-rc+5") < v("1.0.0"));
    }

    #[test]
    fn equality_and_hash_use_parsed_parts() {
        use std::collections::HashSet;
        assert_eq!(v("1.0.0-01"), v("1.0.0-1"));
        assert_eq!(v("01.2.3"), v("1.2.3"));
        assert_eq!(v("1.0.0+01"), v("1.0.0+1"));
        assert_ne!(v("1.0.0-1"), v("1.0.0-1a"));
        let set: HashSet<Version> = ["1.0.0-01", "1.0.0-1", "01.0.0-1", "1.0.0"]
            .into_iter()
            .map(v)
            .collect();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn priority_puts_stable_above_prerelease() {
        assert_eq!(v("1.0.0").cmp_priority(&v("2.0.0-beta")), Ordering::Greater);
        assert_eq!(v("2.0.0-beta").cmp_priority(&v("1.0.0")), Ordering::Less);
        assert_eq!(v("1.0.0").cmp_priority(&v("1.0.1")), Ordering::Less);
        assert_eq!(v("1.0.0-a").cmp_priority(&v("1.0.0-b")), Ordering::Less);
    }

    #[test]
    fn latest_prefers_stable_and_skips_retracted() {
        let all: Vec<Version> = ["1.0.0", "1.1.0", "2.0.0-beta", "1.2.0"]
            .into_iter()
            .map(v)
            .collect();
        let pick = |retracted: &[&str]| {
            latest(all.iter().map(|x| (x, retracted.contains(&x.as_str())))).map(Version::as_str)
        };
        assert_eq!(pick(&[]), Some("1.2.0"));
        assert_eq!(pick(&["1.2.0"]), Some("1.1.0"));
        assert_eq!(pick(&["1.0.0", "1.1.0", "1.2.0"]), Some("2.0.0-beta"));
        assert_eq!(
            pick(&["1.0.0", "1.1.0", "1.2.0", "2.0.0-beta"]),
            Some("1.2.0")
        );
        assert_eq!(latest(std::iter::empty()), None);

        let pre: Vec<Version> = ["1.0.0-a", "1.0.0-b", "0.9.0-z"]
            .into_iter()
            .map(v)
            .collect();
        assert_eq!(
            latest(pre.iter().map(|x| (x, false))).map(Version::as_str),
            Some("1.0.0-b")
        );
        let builds: Vec<Version> = ["1.0.0+2", "1.0.0", "1.0.0+10"]
            .into_iter()
            .map(v)
            .collect();
        assert_eq!(
            latest(builds.iter().map(|x| (x, false))).map(Version::as_str),
            Some("1.0.0+10")
        );
    }
}
