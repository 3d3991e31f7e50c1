//! Sessions and CSRF tokens of the web UI, without HTTP: random ids, what is stored of
//! them, the per-session CSRF token and the cookies that carry them.
//!
//! A session id is 256 random bits in the cookie; the store keeps only its sha256
//! (like tokens, `auth::token`), so a copy of the database opens no session. The CSRF
//! token of a form is an HMAC of a fixed label under the session id: it needs no storage,
//! and nobody without the (HttpOnly) cookie can compute it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The cookie holding the session id.
pub const SESSION_COOKIE: &str = "tagpub_session";
/// The cookie holding the sign-in form's CSRF value (there is no session yet).
pub const LOGIN_COOKIE: &str = "tagpub_login";
/// How long a session lasts at most (also never beyond its token's expiry).
pub const LIFETIME_SECONDS: i64 = 12 * 3600;
/// How long a sign-in form stays valid.
pub const LOGIN_FORM_SECONDS: i64 = 3600;

/// 256 random bits as lower-case hex.
pub fn random_id() -> Result<String, getrandom::Error> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf)?;
    Ok(hex::encode(buf))
}

/// What the store keeps of a session id.
pub fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The CSRF token of the forms of the session `id`.
pub fn csrf_token(id: &str) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(id.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"tagpub web form");
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time equality of a presented secret and the expected one.
pub fn same_secret(presented: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// Attributes every cookie of the UI gets: scoped to the path of `base_url`, out of
/// reach of scripts, never sent on cross-site requests, and only over TLS when
/// `base_url` is https.
fn attributes(path: &str, secure: bool, max_age: i64) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// A `Set-Cookie` value that sets `name` to `value` for `max_age` seconds.
pub fn set_cookie(name: &str, value: &str, path: &str, secure: bool, max_age: i64) -> String {
    format!("{name}={value}; {}", attributes(path, secure, max_age))
}

/// A `Set-Cookie` value that removes cookie `name`.
pub fn clear_cookie(name: &str, path: &str, secure: bool) -> String {
    format!("{name}=; {}", attributes(path, secure, 0))
}

/// The value of cookie `name` in a `Cookie` header, if it is a well-formed id (so a
/// forged cookie never reaches the store as anything but 64 hex characters).
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
        .filter(|v| v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_stored_only_as_hashes() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(hash(&a), a);
        assert_eq!(hash(&a), hash(&a));
    }

    #[test]
    fn csrf_tokens_belong_to_their_session() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(
            !csrf_token(&a).contains(&a),
            "the token does not reveal the id"
        );
        assert!(same_secret(&csrf_token(&a), &csrf_token(&a)));
        assert!(!same_secret(&csrf_token(&b), &csrf_token(&a)));
        assert!(!same_secret("", ""), "an empty expectation matches nothing");
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_on_https() {
        let c = set_cookie(SESSION_COOKIE, "abc", "/pub/", true, 60);
        assert_eq!(
            c,
            "tagpub_session=abc; Path=/pub/; Max-Age=60; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!set_cookie(SESSION_COOKIE, "abc", "/", false, 60).contains("Secure"));
        assert!(clear_cookie(SESSION_COOKIE, "/", false).contains("Max-Age=0"));
    }

    #[test]
    fn only_well_formed_ids_are_read_from_cookies() {
        let id = "a".repeat(64);
        let header = format!("other=1; tagpub_session={id}; x=y");
        assert_eq!(cookie_value(&header, SESSION_COOKIE), Some(id.as_str()));
        assert_eq!(cookie_value("tagpub_session=short", SESSION_COOKIE), None);
        let bad = format!("tagpub_session={}", "z".repeat(64));
        assert_eq!(cookie_value(&bad, SESSION_COOKIE), None);
        assert_eq!(cookie_value(&header, "missing"), None);
    }
}
