//! pub's version grammar and ordering, and its package-name rule, as the client applies
//! them to listings (docs/protocol.md §7.1, §7.3). Independent of tagpub's own code on
//! purpose: a test oracle must not share the implementation it checks.

use std::cmp::Ordering;

/// A version parsed with pub_semver's rules. Equality and ordering follow pub, not
/// SemVer 2.0: build metadata takes part (`1.0.0 < 1.0.0+1 < 1.0.0+2`), and leading zeros
/// compare equal (`01.0.0 == 1.0.0`).
#[derive(Debug, Clone)]
pub struct PubVersion {
    pub major: i64,
    pub minor: i64,
    pub patch: i64,
    pub pre: Vec<Identifier>,
    pub build: Vec<Identifier>,
    /// The text as written; pub keeps it for `toString()` and cache directory names.
    pub text: String,
}

/// One dot-separated part of a pre-release or build: numbers sort before strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Identifier {
    Number(i64),
    Text(String),
}

impl PubVersion {
    /// Parses with the regex of §7.1. `None` where the client throws a FormatException.
    pub fn parse(text: &str) -> Option<PubVersion> {
        let (rest, build) = match text.split_once('+') {
            Some((rest, build)) => (rest, Some(build)),
            None => (text, None),
        };
        // The core holds only digits and dots, so the first '-' starts the pre-release.
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (rest, None),
        };
        let mut numbers = core.split('.');
        let major = parse_number(numbers.next()?)?;
        let minor = parse_number(numbers.next()?)?;
        let patch = parse_number(numbers.next()?)?;
        if numbers.next().is_some() {
            return None;
        }
        Some(PubVersion {
            major,
            minor,
            patch,
            pre: parse_identifiers(pre)?,
            build: parse_identifiers(build)?,
            text: text.to_owned(),
        })
    }

    /// The version re-printed from its parts (`canonicalizedVersion`): `01.2.3` -> `1.2.3`.
    pub fn canonical(&self) -> String {
        let mut out = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            out.push('-');
            out.push_str(&join_identifiers(&self.pre));
        }
        if !self.build.is_empty() {
            out.push('+');
            out.push_str(&join_identifiers(&self.build));
        }
        out
    }

    pub fn is_prerelease(&self) -> bool {
        !self.pre.is_empty()
    }
}

impl PartialEq for PubVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PubVersion {}

impl PartialOrd for PubVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PubVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            // No pre-release sorts *after* any pre-release ...
            .then_with(|| absent_first(&self.pre, &other.pre).reverse())
            .then_with(|| self.pre.cmp(&other.pre))
            // ... but no build sorts *before* any build.
            .then_with(|| absent_first(&self.build, &other.build))
            .then_with(|| self.build.cmp(&other.build))
    }
}

/// `Less` when only `a` is empty, `Greater` when only `b` is, else `Equal`.
fn absent_first(a: &[Identifier], b: &[Identifier]) -> Ordering {
    b.is_empty().cmp(&a.is_empty())
}

/// `\d+` (ASCII digits, leading zeros allowed) parsed as a Dart 64-bit int.
fn parse_number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_identifiers(text: Option<&str>) -> Option<Vec<Identifier>> {
    let Some(text) = text else {
        return Some(Vec::new());
    };
    text.split('.')
        .map(|part| {
            let legal =
                !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            legal.then(|| match dart_int_try_parse(part) {
                Some(n) => Identifier::Number(n),
                None => Identifier::Text(part.to_owned()),
            })
        })
        .collect()
}

/// Dart's `int.tryParse`, restricted to what the identifier alphabet allows: an optional
/// `-` sign, then decimal digits or `0x`/`0X` and hex digits. Overflow gives `None`.
fn dart_int_try_parse(part: &str) -> Option<i64> {
    let (negative, digits) = match part.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, part),
    };
    let hex = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"));
    let magnitude = match hex {
        Some(h) if !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            i64::from_str_radix(h, 16).ok()?
        }
        Some(_) => return None,
        None if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
            digits.parse().ok()?
        }
        None => return None,
    };
    Some(if negative { -magnitude } else { magnitude })
}

fn join_identifiers(ids: &[Identifier]) -> String {
    ids.iter()
        .map(|id| match id {
            Identifier::Number(n) => n.to_string(),
            Identifier::Text(t) => t.clone(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Sorts version strings by pub ordering; unparseable strings go last, by text.
pub fn sort_versions(versions: &mut [String]) {
    versions.sort_by(|a, b| match (PubVersion::parse(a), PubVersion::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y).then_with(|| a.cmp(b)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    });
}

/// Reserved words the client rejects as package names (§7.3), compared case-insensitively.
const RESERVED_WORDS: &[&str] = &[
    "abstract",
    "as",
    "assert",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "covariant",
    "default",
    "deferred",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "external",
    "false",
    "final",
    "finally",
    "for",
    "hide",
    "if",
    "implements",
    "import",
    "in",
    "inline",
    "interface",
    "is",
    "late",
    "library",
    "mixin",
    "new",
    "null",
    "of",
    "on",
    "operator",
    "part",
    "required",
    "rethrow",
    "return",
    "sealed",
    "set",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "type",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// The listing-side name rule: `^[a-zA-Z_]\w*(\.[a-zA-Z_]\w*)*$` and not reserved.
pub fn is_valid_package_name(name: &str) -> bool {
    let identifiers_ok = name.split('.').all(|part| {
        let mut bytes = part.bytes();
        matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
    });
    identifiers_ok
        && !RESERVED_WORDS
            .iter()
            .any(|word| word.eq_ignore_ascii_case(name))
}
