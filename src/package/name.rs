//! Package names: which names tagpub serves, and which names pub accepts in a listing
//! (docs/protocol.md §7.3).
//!
//! Upper case is allowed: `dart pub publish` only warns about it, and the client is
//! case-sensitive everywhere, so `Foo` and `foo` are different packages.

/// pub.dev's limit; the client has none, but a longer name is almost surely a mistake.
pub const MAX_LEN: usize = 64;

/// Dart reserved words that `dart pub publish` refuses as a package name, compared
/// case-insensitively. Reserved words that existing packages already use (async,
/// base, dynamic, extension, factory, get, show, static, sync, typedef, when) are
/// deliberately absent, as in pub.
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

/// Why a package name cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the package name is empty; give the package a name like `my_package`")]
    Empty,
    #[error(
        "package name `{name}` contains `{found}`; a name may only contain ASCII letters, digits and `_`{}",
        suggestion(name)
    )]
    InvalidCharacter { name: String, found: char },
    #[error(
        "package name `{name}` starts with `{found}`; it must start with a letter or `_`, like a Dart identifier"
    )]
    InvalidStart { name: String, found: char },
    #[error(
        "package name `{name}` is the Dart reserved word `{word}`; pick another name, for example `{name}_pkg`"
    )]
    ReservedWord { name: String, word: String },
    #[error(
        "package name `{name}` is {len} characters long; at most {MAX_LEN} are allowed, so shorten it"
    )]
    TooLong { name: String, len: usize },
}

/// Checks that `name` is a name tagpub will serve: what `dart pub publish` accepts
/// (`^[a-zA-Z_][a-zA-Z0-9_]*$`, not a reserved word) and at most [`MAX_LEN`]
/// characters.
pub fn validate(name: &str) -> Result<(), Error> {
    let Some(first) = name.chars().next() else {
        return Err(Error::Empty);
    };
    if let Some(found) = name.chars().find(|c| !is_word_char(*c)) {
        return Err(Error::InvalidCharacter {
            name: name.to_string(),
            found,
        });
    }
    if !is_word_start(first) {
        return Err(Error::InvalidStart {
            name: name.to_string(),
            found: first,
        });
    }
    let lower = name.to_ascii_lowercase();
    if let Some(word) = RESERVED_WORDS.iter().find(|word| **word == lower) {
        return Err(Error::ReservedWord {
            name: name.to_string(),
            word: (*word).to_string(),
        });
    }
    // Only ASCII is left at this point, so bytes are characters.
    if name.len() > MAX_LEN {
        return Err(Error::TooLong {
            name: name.to_string(),
            len: name.len(),
        });
    }
    Ok(())
}

/// Whether `name` has the form the client accepts for a dependency or listing name:
/// Dart identifiers joined by dots (`^[a-zA-Z_]\w*(\.[a-zA-Z_]\w*)*$`, where Dart's
/// `\w` is ASCII only). Reserved words and length are not checked here.
pub fn is_listing_name(name: &str) -> bool {
    name.split('.').all(|segment| {
        let mut chars = segment.chars();
        chars.next().is_some_and(is_word_start) && chars.all(is_word_char)
    })
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// A hint for the common slips: `my-package`, `my.package`, `my package`.
fn suggestion(name: &str) -> String {
    let fixed: String = name
        .chars()
        .map(|c| if matches!(c, '-' | '.' | ' ') { '_' } else { c })
        .collect();
    if fixed != name && validate(&fixed).is_ok() {
        format!("; did you mean `{fixed}`?")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests;
