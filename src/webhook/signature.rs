//! Whether a delivery really comes from the forge: each provider's own signature scheme,
//! checked in constant time against the repository's webhook secret.
//!
//! | provider | header | value |
//! |---|---|---|
//! | GitHub | `X-Hub-Signature-256` | `sha256=` + hex HMAC-SHA256 of the body |
//! | GitLab | `X-Gitlab-Token` | the secret itself |
//! | Gitea, Forgejo | `X-Forgejo-Signature`, `X-Gitea-Signature` | hex HMAC-SHA256 of the body |
//! | Gitea, Forgejo | `X-Hub-Signature-256` | as GitHub (sent alongside the above) |
//! | Bitbucket | `X-Hub-Signature` | `sha256=` + hex HMAC-SHA256 of the body |

use super::Error;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

/// The forge family a webhook endpoint (`hooks/<segment>`) speaks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    GitHub,
    GitLab,
    /// Gitea and Forgejo, which share one payload format and signature scheme.
    Gitea,
    /// Bitbucket Cloud and Bitbucket Data Center.
    Bitbucket,
}

impl Provider {
    /// The provider served at `hooks/<segment>`, if any.
    pub fn from_path_segment(segment: &str) -> Option<Provider> {
        match segment {
            "github" => Some(Provider::GitHub),
            "gitlab" => Some(Provider::GitLab),
            "gitea" => Some(Provider::Gitea),
            "bitbucket" => Some(Provider::Bitbucket),
            _ => None,
        }
    }

    /// The path segment this provider is served under.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::Bitbucket => "bitbucket",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks that `body` was sent by `provider` with `secret`; `headers` looks a header up
/// by name, ignoring case. Call this before reading anything from the body.
///
/// An empty secret is refused outright: anyone can compute an HMAC under an empty key.
pub fn verify(
    provider: Provider,
    headers: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    secret: &[u8],
) -> Result<(), Error> {
    if secret.is_empty() {
        return Err(Error::EmptySecret);
    }
    match provider {
        Provider::GitHub => {
            let header = "X-Hub-Signature-256";
            let value = require(headers, header)?;
            check_hmac(header, prefixed_hex(header, &value)?, body, secret)
        }
        Provider::GitLab => check_token(headers, secret),
        Provider::Gitea => check_gitea(headers, body, secret),
        Provider::Bitbucket => {
            let header = "X-Hub-Signature";
            let value = require(headers, header)?;
            check_hmac(header, prefixed_hex(header, &value)?, body, secret)
        }
    }
}

/// Gitea sends `X-Gitea-Signature` and `X-Hub-Signature-256`; Forgejo sends those and
/// `X-Forgejo-Signature`, all over the same HMAC. The most specific header present is
/// the one checked: a wrong one is not rescued by a right one further down, since a
/// genuine delivery never carries two different values.
fn check_gitea(
    headers: &dyn Fn(&str) -> Option<String>,
    body: &[u8],
    secret: &[u8],
) -> Result<(), Error> {
    for header in ["X-Forgejo-Signature", "X-Gitea-Signature"] {
        if let Some(value) = present(headers, header) {
            return check_hmac(header, bare_hex(header, &value)?, body, secret);
        }
    }
    let header = "X-Hub-Signature-256";
    match present(headers, header) {
        Some(value) => check_hmac(header, prefixed_hex(header, &value)?, body, secret),
        None => Err(Error::MissingHeader {
            header: "X-Forgejo-Signature or X-Gitea-Signature",
        }),
    }
}

/// GitLab sends the secret itself. Both sides are hashed before the constant-time
/// comparison so that not even the secret's length shows in the timing.
fn check_token(headers: &dyn Fn(&str) -> Option<String>, secret: &[u8]) -> Result<(), Error> {
    let header = "X-Gitlab-Token";
    let token = require(headers, header)?;
    let given = Sha256::digest(token.as_bytes());
    let expected = Sha256::digest(secret);
    if bool::from(given.ct_eq(&expected)) {
        Ok(())
    } else {
        Err(Error::SignatureMismatch { header })
    }
}

fn check_hmac(header: &'static str, tag: Vec<u8>, body: &[u8], secret: &[u8]) -> Result<(), Error> {
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts a key of any length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&tag)
        .map_err(|_| Error::SignatureMismatch { header })
}

/// A header's value, trimmed; an empty value counts as absent, because Gitea and
/// Forgejo send empty signature headers for hooks that have no secret.
fn present(headers: &dyn Fn(&str) -> Option<String>, header: &str) -> Option<String> {
    headers(header)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn require(
    headers: &dyn Fn(&str) -> Option<String>,
    header: &'static str,
) -> Result<String, Error> {
    present(headers, header).ok_or(Error::MissingHeader { header })
}

/// `sha256=<64 hex digits>`, the GitHub form also used by Bitbucket.
fn prefixed_hex(header: &'static str, value: &str) -> Result<Vec<u8>, Error> {
    let (algorithm, hex) = value.split_once('=').ok_or(Error::MalformedSignature {
        header,
        reason: "expected sha256=<hex digest>",
    })?;
    if !algorithm.eq_ignore_ascii_case("sha256") {
        return Err(Error::MalformedSignature {
            header,
            reason: "only sha256 signatures are accepted",
        });
    }
    bare_hex(header, hex)
}

fn bare_hex(header: &'static str, value: &str) -> Result<Vec<u8>, Error> {
    let tag = hex::decode(value).map_err(|_| Error::MalformedSignature {
        header,
        reason: "the digest is not hexadecimal",
    })?;
    if tag.len() != <Sha256 as Digest>::output_size() {
        return Err(Error::MalformedSignature {
            header,
            reason: "the digest is not 64 hex digits long",
        });
    }
    Ok(tag)
}
