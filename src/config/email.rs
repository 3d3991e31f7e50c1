//! Email addresses, which name members: trimmed and in ASCII lower case once, where
//! they come in (registry.yaml, a request, a command-line argument), so that
//! ` ALICE@acme.dev` and `alice@acme.dev` are the same member everywhere after.

use std::fmt;

/// A member's email address, normalised.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(from = "String")]
pub struct Email(String);

impl Email {
    /// `text` without surrounding whitespace, ASCII letters in lower case.
    pub fn new(text: &str) -> Email {
        Email(text.trim().to_ascii_lowercase())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether it can be an address at all: an `@` and no whitespace inside.
    pub fn is_address(&self) -> bool {
        self.0.contains('@') && !self.0.contains(char::is_whitespace)
    }
}

impl From<String> for Email {
    fn from(text: String) -> Email {
        Email::new(&text)
    }
}

impl From<&str> for Email {
    fn from(text: &str) -> Email {
        Email::new(text)
    }
}

/// For command-line arguments: every text is an email once normalised.
impl std::str::FromStr for Email {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> Result<Email, Self::Err> {
        Ok(Email::new(text))
    }
}

impl std::ops::Deref for Email {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for Email {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Email {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn spellings_of_one_address_are_one_email() {
        for spelling in ["alice@acme.dev", " ALICE@acme.dev ", "\tAlice@Acme.Dev\n"] {
            assert_eq!(Email::new(spelling), "alice@acme.dev", "{spelling:?}");
            assert_eq!(spelling.parse::<Email>(), Ok(Email::new("alice@acme.dev")));
            let json = serde_json::to_string(spelling).unwrap();
            let parsed: Email = serde_json::from_str(&json).unwrap();
            assert_eq!(parsed, "alice@acme.dev", "{json}");
        }
        assert!(Email::new(" a@b ").is_address());
        assert!(!Email::new("a b@c").is_address());
        assert!(!Email::new("nobody").is_address());
    }
}
