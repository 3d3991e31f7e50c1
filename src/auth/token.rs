//! Tokens: random secrets with a fixed prefix, stored only as a hash.
//!
//! A secret is `tagpub_` followed by 64 hex characters (256 random bits). The prefix makes
//! a leaked token greppable; the alphabet is a subset of RFC 6750's b64token, which is
//! what `dart pub token add` accepts (docs/protocol.md §2.1). With that much entropy a
//! plain sha256 is the right hash: there is nothing to brute-force, and lookups stay a
//! single indexed query.

use crate::store::{self, Store, TokenRecord};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const PREFIX: &str = "tagpub_";

/// Why issuing or checking a token failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
    #[error(transparent)]
    Store(#[from] store::Error),
}

/// A freshly issued token: the only moment its secret exists in clear.
#[derive(Debug)]
pub struct Issued {
    pub record: TokenRecord,
    pub secret: Secret,
}

/// A token secret; `Debug` never prints it.
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The sha256 of a secret, as stored.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_hex(bytes: usize) -> Result<String, Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(Error::Random)?;
    Ok(hex::encode(buf))
}

/// Creates and stores a token for `member`.
pub fn issue(
    store: &Store,
    member: &str,
    name: &str,
    expires: Option<i64>,
    now: i64,
) -> Result<Issued, Error> {
    let secret = format!("{PREFIX}{}", random_hex(32)?);
    let record = TokenRecord {
        id: format!("tk_{}", random_hex(8)?),
        member: member.to_string(),
        name: name.to_string(),
        hash: hash(&secret),
        created: now,
        last_used: None,
        expires,
        revoked: None,
    };
    store.tokens.insert_token(&record)?;
    Ok(Issued {
        record,
        secret: Secret(secret),
    })
}

/// What a presented secret turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    Valid(TokenRecord),
    Unknown,
    Revoked(TokenRecord),
    Expired(TokenRecord),
}

/// Looks up `secret`. The lookup is by hash, so timing reveals nothing about the
/// secret; the final comparison is constant-time as well.
pub fn check(store: &Store, secret: &str, now: i64) -> Result<Check, Error> {
    if !secret.starts_with(PREFIX) {
        return Ok(Check::Unknown);
    }
    let presented = hash(secret);
    Ok(classify(
        &presented,
        store.tokens.token_by_hash(&presented)?,
        now,
    ))
}

/// What the record found for hash `presented` (if any) means at `now`.
pub fn classify(presented: &str, record: Option<TokenRecord>, now: i64) -> Check {
    let Some(record) = record else {
        return Check::Unknown;
    };
    if !bool::from(record.hash.as_bytes().ct_eq(presented.as_bytes())) {
        return Check::Unknown;
    }
    if record.revoked.is_some() {
        Check::Revoked(record)
    } else if record.expires.is_some_and(|e| e <= now) {
        Check::Expired(record)
    } else {
        Check::Valid(record)
    }
}

/// Whether `text` only uses characters `dart pub token add` accepts.
pub fn is_b64token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_valid_bearer_tokens_stored_as_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let issued = issue(&store, "a@x.dev", "laptop", None, 100).unwrap();
        let secret = issued.secret.expose().to_string();
        assert!(secret.starts_with(PREFIX) && secret.len() == PREFIX.len() + 64);
        assert!(is_b64token(&secret));
        assert_eq!(format!("{:?}", issued.secret), "***");
        let stored = store
            .tokens
            .token_by_id(&issued.record.id)
            .unwrap()
            .unwrap();
        assert_ne!(stored.hash, secret);
        assert!(!format!("{stored:?}").contains(&secret[PREFIX.len()..]));
        assert_eq!(
            check(&store, &secret, 101).unwrap(),
            Check::Valid(stored.clone())
        );
        assert_eq!(check(&store, "tagpub_nope", 101).unwrap(), Check::Unknown);
        assert_eq!(check(&store, "other", 101).unwrap(), Check::Unknown);
        let other = issue(&store, "a@x.dev", "laptop", None, 100).unwrap();
        assert_ne!(other.secret.expose(), secret, "secrets are random");
    }

    #[test]
    fn expired_and_revoked_tokens_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let t = issue(&store, "a@x.dev", "", Some(200), 100).unwrap();
        assert!(matches!(
            check(&store, t.secret.expose(), 199).unwrap(),
            Check::Valid(_)
        ));
        assert!(matches!(
            check(&store, t.secret.expose(), 200).unwrap(),
            Check::Expired(_)
        ));
        assert!(store.tokens.revoke_token(&t.record.id, 150).unwrap());
        assert!(!store.tokens.revoke_token(&t.record.id, 151).unwrap());
        assert!(matches!(
            check(&store, t.secret.expose(), 160).unwrap(),
            Check::Revoked(_)
        ));
    }
}
