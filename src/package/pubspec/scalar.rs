//! What a YAML scalar means: null, a boolean, a number or text.
//!
//! These are the rules of serde_yaml 0.9, which built every listing served so far, kept
//! exactly so that a rebuild serves the same `pubspec` JSON (`golden/expected.txt`). They
//! are mostly YAML 1.2's core schema, which pub's YAML reader follows; where they differ
//! from that schema they are kept for the listings' sake:
//! - `0b101` is a number (core schema: text);
//! - `012` is text (core schema: the integer 12);
//! - integers beyond 64 bits are refused rather than read;
//! - `!!null ""` is refused; a local tag (`!thing 12`) is dropped and the value read as if
//!   untagged.

/// A scalar's meaning.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Scalar {
    Null,
    Bool(bool),
    /// Zero or more (`-0` included).
    PosInt(u64),
    /// Below zero.
    NegInt(i64),
    Float(f64),
    Text(String),
}

/// Why a scalar has no meaning tagpub can serve.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Refusal {
    /// A core tag (`!!int`) on text that is not of that type; names the type.
    NotOfTag(&'static str),
    /// An integer beyond `u64`/`i64`.
    TooBig,
}

const CORE: &str = "tag:yaml.org,2002:";

/// Resolves `text`, written plain (unquoted, not a block) or not, with the node's full
/// tag (`tag:yaml.org,2002:int`, `!thing`), if any.
pub(super) fn resolve(text: &str, plain: bool, tag: Option<&str>) -> Result<Scalar, Refusal> {
    let Some(tag) = tag else {
        return Ok(if plain {
            untagged(text)?
        } else {
            text_of(text)
        });
    };
    if tag.starts_with('!') {
        // A local tag (and the non-specific `!`): dropped, the value read as if untagged.
        return Ok(if plain {
            untagged(text)?
        } else {
            text_of(text)
        });
    }
    match tag.strip_prefix(CORE) {
        Some("bool") => parse_bool(text)
            .map(Scalar::Bool)
            .ok_or(Refusal::NotOfTag("a boolean")),
        Some("int") => integer(text)
            .ok_or(Refusal::NotOfTag("an integer"))
            .and_then(|int| int),
        Some("float") => parse_f64(text)
            .map(Scalar::Float)
            .ok_or(Refusal::NotOfTag("a float")),
        Some("null") if is_null(text) => Ok(Scalar::Null),
        Some("null") => Err(Refusal::NotOfTag("null")),
        // `!!str`, `!!binary`, `!!timestamp`, other schemes' tags: the text as written.
        _ => Ok(text_of(text)),
    }
}

/// The text of a key: JSON keys are strings, so scalar keys become their text as
/// serde_yaml printed them (`0x1F` becomes `31`, `1e3` becomes `1000.0`).
pub(super) fn key_text(scalar: &Scalar) -> String {
    match scalar {
        Scalar::Null => "null".to_string(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::PosInt(u) => u.to_string(),
        Scalar::NegInt(i) => i.to_string(),
        Scalar::Float(f) => float_text(*f),
        Scalar::Text(s) => s.clone(),
    }
}

/// A float as serde_yaml printed one: `.nan`, `.inf`, `-.inf`, otherwise ryu's shortest
/// form (`1e16`, `1000.0`), which differs from serde_json's (`1e+16`).
pub(super) fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".to_string()
    } else if f.is_infinite() {
        if f.is_sign_negative() {
            "-.inf"
        } else {
            ".inf"
        }
        .to_string()
    } else {
        ryu::Buffer::new().format_finite(f).to_string()
    }
}

/// Whether two keys are the same YAML value (serde_yaml's equality: one NaN, `-0.0` is
/// `0.0`, `1` is not `1.0`, `1` is not `"1"`).
pub(super) fn same_value(a: &Scalar, b: &Scalar) -> bool {
    match (a, b) {
        (Scalar::Float(x), Scalar::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        _ => a == b,
    }
}

fn text_of(text: &str) -> Scalar {
    Scalar::Text(text.to_string())
}

fn untagged(text: &str) -> Result<Scalar, Refusal> {
    if text.is_empty() || is_null(text) {
        return Ok(Scalar::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Scalar::Bool(b));
    }
    if let Some(int) = integer(text) {
        return int;
    }
    if !digits_but_not_number(text)
        && let Some(f) = parse_f64(text)
    {
        return Ok(Scalar::Float(f));
    }
    Ok(text_of(text))
}

fn is_null(text: &str) -> bool {
    matches!(text, "null" | "Null" | "NULL" | "~")
}

fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `None` when `text` is no integer; `Some(Err)` when it is one beyond 64 bits.
fn integer(text: &str) -> Option<Result<Scalar, Refusal>> {
    if let Some(u) = parse_unsigned(text) {
        return Some(
            u64::try_from(u)
                .map(Scalar::PosInt)
                .map_err(|_| Refusal::TooBig),
        );
    }
    let i = parse_negative(text)?;
    Some(match i64::try_from(i) {
        Ok(i) if i < 0 => Ok(Scalar::NegInt(i)),
        Ok(i) => Ok(Scalar::PosInt(i.unsigned_abs())),
        Err(_) => Err(Refusal::TooBig),
    })
}

/// `0x`/`0o`/`0b` prefixes, an optional `+`, no leading zeros in decimal.
fn parse_unsigned(text: &str) -> Option<u128> {
    let unpositive = text.strip_prefix('+').unwrap_or(text);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unpositive.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(int) = u128::from_str_radix(rest, radix) {
                return Some(int);
            }
        }
    }
    if unpositive.starts_with(['+', '-']) || digits_but_not_number(text) {
        return None;
    }
    unpositive.parse::<u128>().ok()
}

/// `-0x`/`-0o`/`-0b` prefixes, or signed decimal without leading zeros.
fn parse_negative(text: &str) -> Option<i128> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Ok(int) = i128::from_str_radix(&format!("-{rest}"), radix)
        {
            return Some(int);
        }
    }
    if digits_but_not_number(text) {
        return None;
    }
    text.parse::<i128>().ok()
}

fn parse_f64(text: &str) -> Option<f64> {
    let unpositive = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return None,
        Some(rest) => rest,
        None => text,
    };
    if let ".inf" | ".Inf" | ".INF" = unpositive {
        return Some(f64::INFINITY);
    }
    if let "-.inf" | "-.Inf" | "-.INF" = text {
        return Some(f64::NEG_INFINITY);
    }
    if let ".nan" | ".NaN" | ".NAN" = text {
        return Some(f64::NAN);
    }
    // Rust's grammar (`1.`, `.5`, `1e3`); its `inf`/`nan` spellings stay text.
    unpositive.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// Leading zeros followed by digits (`007`, `-012`) are text.
fn digits_but_not_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Result<Scalar, Refusal> {
        resolve(text, true, None)
    }

    #[test]
    fn plain_scalars_resolve_as_serde_yaml_did() {
        assert_eq!(plain(""), Ok(Scalar::Null));
        assert_eq!(plain("-0"), Ok(Scalar::PosInt(0)));
        assert_eq!(plain("-0x1F"), Ok(Scalar::NegInt(-31)));
        assert_eq!(plain("012"), Ok(Scalar::Text("012".into())));
        assert_eq!(plain("0o14"), Ok(Scalar::PosInt(12)));
        assert_eq!(plain("yes"), Ok(Scalar::Text("yes".into())));
        assert_eq!(plain("1_000"), Ok(Scalar::Text("1_000".into())));
        assert_eq!(plain("18446744073709551616"), Err(Refusal::TooBig));
        assert_eq!(plain("-9223372036854775809"), Err(Refusal::TooBig));
        assert_eq!(plain("1e400"), Ok(Scalar::Text("1e400".into())));
        assert!(matches!(plain(".NaN"), Ok(Scalar::Float(f)) if f.is_nan()));
    }

    #[test]
    fn tags_decide_before_the_text() {
        let core =
            |suffix: &str, text: &str| resolve(text, false, Some(&format!("{CORE}{suffix}")));
        assert_eq!(core("int", "12"), Ok(Scalar::PosInt(12)));
        assert_eq!(core("int", "1.5"), Err(Refusal::NotOfTag("an integer")));
        assert_eq!(core("float", "012"), Ok(Scalar::Float(12.0)));
        assert_eq!(core("str", "1.0"), Ok(Scalar::Text("1.0".into())));
        assert_eq!(core("null", ""), Err(Refusal::NotOfTag("null")));
        assert_eq!(resolve("12", true, Some("!thing")), Ok(Scalar::PosInt(12)));
        assert_eq!(
            resolve("12", false, Some("!thing")),
            Ok(Scalar::Text("12".into()))
        );
    }

    #[test]
    fn keys_print_as_serde_yaml_printed_them() {
        assert_eq!(key_text(&Scalar::Float(1000.0)), "1000.0");
        assert_eq!(key_text(&Scalar::Float(1e16)), "1e16");
        assert_eq!(key_text(&Scalar::Float(f64::NEG_INFINITY)), "-.inf");
        assert!(same_value(&Scalar::Float(-0.0), &Scalar::Float(0.0)));
        assert!(same_value(
            &Scalar::Float(f64::NAN),
            &Scalar::Float(f64::NAN)
        ));
        assert!(!same_value(&Scalar::PosInt(1), &Scalar::Float(1.0)));
    }
}
