//! `upstream:`: the pub repository tagpub mirrors for every name it does not serve
//! itself (pub.dev, or another v2 repository), and which names may come from there.
//!
//! Absent, tagpub serves its own packages only. The raw shape and its validation live
//! here; the mirror itself is `src/mirror/`.

use super::BaseUrl;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use std::time::Duration;

/// `upstream:` exactly as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    pub url: String,
    pub token_env: Option<String>,
    pub listing_ttl: Option<String>,
    pub timeout: Option<String>,
    pub allow: Option<Vec<String>>,
    #[serde(default)]
    pub deny: Vec<String>,
    #[serde(default)]
    pub private: Vec<String>,
}

/// The validated `upstream:` section.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// The upstream's hosted-url, normalised like ours (trailing `/`).
    pub url: BaseUrl,
    /// The environment variable holding a Bearer token for the upstream, read at each
    /// request so that a rotated secret needs no reload.
    pub token_env: Option<String>,
    /// How long a fetched listing is fresh; past it, the upstream is asked again and the
    /// old listing is served only when the upstream fails.
    pub listing_ttl: Duration,
    /// Longest wait for the upstream to connect, and to answer a listing (or to send the
    /// next bytes of an archive), so that a dead upstream never holds a client long.
    pub timeout: Duration,
    pub allow: NamePatterns,
    pub deny: NamePatterns,
    /// Names that are ours even before we serve them: never fetched upstream.
    pub private: NamePatterns,
}

pub const DEFAULT_LISTING_TTL: Duration = Duration::from_secs(600);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the `upstream:` rules say about a name that no repository or upload serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Fetched from the upstream.
    Mirrored,
    /// Matches `private`: ours, even though we do not have it (yet).
    Private,
    /// Matches `deny`.
    Denied,
    /// Matches no `allow` pattern.
    NotAllowed,
}

impl Upstream {
    /// `private` first (a private name never leaves), then `allow`, then `deny`.
    pub fn admit(&self, name: &str) -> Admission {
        if self.private.matches(name) {
            Admission::Private
        } else if !self.allow.matches(name) {
            Admission::NotAllowed
        } else if self.deny.matches(name) {
            Admission::Denied
        } else {
            Admission::Mirrored
        }
    }
}

/// Glob patterns over package names (`*`, `?`, `[a-z]`), matched without regard to
/// case: `acme_*` also keeps `ACME_core` away from the upstream, since names that differ
/// only in case are one name to tagpub.
#[derive(Debug, Clone)]
pub struct NamePatterns {
    texts: Vec<String>,
    set: GlobSet,
}

impl NamePatterns {
    pub fn matches(&self, name: &str) -> bool {
        self.set.is_match(name)
    }

    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    /// Compiles `texts`; `Err` names the first bad pattern and why.
    pub fn new(texts: Vec<String>) -> Result<NamePatterns, String> {
        let mut builder = GlobSetBuilder::new();
        for text in &texts {
            if let Some(c) = text
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "_*?[]!-".contains(*c)))
            {
                return Err(format!(
                    "`{text}` contains `{c}`; a pattern is a package name with * (any text), ? (one character) or [a-z]"
                ));
            }
            let glob = GlobBuilder::new(text)
                .case_insensitive(true)
                .build()
                .map_err(|e| format!("`{text}` is not a pattern: {}", e.kind()))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| format!("the patterns cannot be combined: {e}"))?;
        Ok(NamePatterns { texts, set })
    }
}

/// `token_env` names a variable that is not set where tagpub runs: the upstream is then
/// asked without a token (see `Config::environment_problems`).
pub(super) fn environment_problem(upstream: &Upstream) -> Option<String> {
    let var = upstream.token_env.as_ref()?;
    let set = std::env::var_os(var).is_some_and(|v| !v.is_empty());
    (!set).then(|| {
        format!(
            "upstream.token_env: the environment variable {var} is not set or empty, so {} is asked without a token; set {var} where tagpub runs",
            upstream.url.as_str()
        )
    })
}

/// Whether `url` is on this machine, where plain http carries a token to no one else
/// (pub's own rule for tokens, docs/protocol.md §2.1).
fn is_loopback(url: &BaseUrl) -> bool {
    url::Url::parse(url.as_str())
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
}

/// Validates `upstream:`; `base_url` is ours, which the upstream must not be.
pub fn validate(
    raw: RawUpstream,
    base_url: &BaseUrl,
    problems: &mut Vec<String>,
) -> Option<Upstream> {
    let url = match BaseUrl::parse(&raw.url) {
        Ok(u) => u,
        Err(e) => {
            problems.push(format!("upstream.url: {e}"));
            return None;
        }
    };
    if url == *base_url {
        problems.push(format!(
            "upstream.url: `{}` is this registry's own base_url; every miss would ask itself. Point it at another repository, like https://pub.dev/",
            raw.url
        ));
    }
    if let Some(v) = &raw.token_env {
        if !super::validate::is_env_name(v) {
            problems.push(format!(
                "upstream.token_env: `{v}` is not an environment variable name; name the variable that holds the token, never the token itself"
            ));
        }
        if url.as_str().starts_with("http://") && !is_loopback(&url) {
            problems.push(format!(
                "upstream.token_env: `{}` is plain http://, which would send the token unencrypted to anyone on the way; use the https:// URL of the upstream",
                url.as_str()
            ));
        }
    }
    let duration =
        |key: &str, text: Option<&str>, default: Duration, problems: &mut Vec<String>| {
            let Some(text) = text else {
                return default;
            };
            humantime::parse_duration(text.trim()).unwrap_or_else(|_| {
                problems.push(format!(
                    "upstream.{key}: `{text}` is not a duration; write it like 30s, 10m or 1h"
                ));
                default
            })
        };
    let listing_ttl = duration(
        "listing_ttl",
        raw.listing_ttl.as_deref(),
        DEFAULT_LISTING_TTL,
        problems,
    );
    let timeout = duration("timeout", raw.timeout.as_deref(), DEFAULT_TIMEOUT, problems);
    if timeout.is_zero() {
        problems.push("upstream.timeout: must be longer than zero, like 10s".into());
    }
    let mut patterns = |key: &str, texts: Vec<String>| {
        NamePatterns::new(texts).unwrap_or_else(|e| {
            problems.push(format!("upstream.{key}: {e}"));
            NamePatterns::new(Vec::new()).expect("no patterns always compile")
        })
    };
    let allow = patterns("allow", raw.allow.unwrap_or_else(|| vec!["*".into()]));
    let deny = patterns("deny", raw.deny);
    let private = patterns("private", raw.private);
    Some(Upstream {
        url,
        token_env: raw.token_env,
        listing_ttl,
        timeout,
        allow,
        deny,
        private,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upstream(yaml: &str) -> Result<Upstream, Vec<String>> {
        let raw: RawUpstream = serde_saphyr::from_str(yaml).expect("test YAML parses");
        let base = BaseUrl::parse("https://pub.acme.dev/").unwrap();
        let mut problems = Vec::new();
        let u = validate(raw, &base, &mut problems);
        if problems.is_empty() {
            Ok(u.unwrap())
        } else {
            Err(problems)
        }
    }

    #[test]
    fn private_wins_over_allow_and_deny_follows_allow() {
        let u = upstream("url: https://pub.dev\nallow: ['*']\ndeny: [evil_*]\nprivate: [acme_*]")
            .unwrap();
        assert_eq!(u.url.as_str(), "https://pub.dev/");
        assert_eq!(u.listing_ttl, DEFAULT_LISTING_TTL);
        assert_eq!(u.admit("http"), Admission::Mirrored);
        assert_eq!(u.admit("acme_core"), Admission::Private);
        assert_eq!(u.admit("evil_pkg"), Admission::Denied);
        let narrow =
            upstream("url: https://pub.dev\nallow: [http, 'coll?ction', '[a-c]*']").unwrap();
        assert_eq!(narrow.admit("http"), Admission::Mirrored);
        assert_eq!(narrow.admit("collection"), Admission::Mirrored);
        assert_eq!(narrow.admit("crypto"), Admission::Mirrored);
        assert_eq!(narrow.admit("http2"), Admission::NotAllowed);
        assert_eq!(narrow.admit("path"), Admission::NotAllowed);
    }

    #[test]
    fn patterns_ignore_case_so_a_case_variant_of_a_private_name_stays_private() {
        let u = upstream("url: https://pub.dev\nprivate: [acme_*]\ndeny: [Left_Pad]").unwrap();
        for name in ["acme_core", "ACME_core", "Acme_Core"] {
            assert_eq!(u.admit(name), Admission::Private, "{name}");
        }
        assert_eq!(u.admit("left_pad"), Admission::Denied);
    }

    #[test]
    fn bad_settings_name_the_key() {
        let e = upstream("url: https://pub.acme.dev\n").unwrap_err();
        assert!(e[0].contains("own base_url"), "{e:?}");
        let e = upstream("url: http://mirror.local/\ntoken_env: TOKEN").unwrap_err();
        assert!(
            e[0].contains("upstream.token_env") && e[0].contains("https"),
            "{e:?}"
        );
        let e = upstream("url: https://pub.dev\ntoken_env: 'pub_abc=='").unwrap_err();
        assert!(e[0].contains("not an environment variable"), "{e:?}");
        let e = upstream("url: https://pub.dev\nlisting_ttl: soon\ntimeout: 0s").unwrap_err();
        assert!(e[0].contains("upstream.listing_ttl"), "{e:?}");
        assert!(e[1].contains("upstream.timeout"), "{e:?}");
        let e = upstream("url: https://pub.dev\nallow: ['a/b']\nprivate: ['[a-']").unwrap_err();
        assert!(
            e[0].contains("upstream.allow") && e[0].contains("`/`"),
            "{e:?}"
        );
        assert!(e[1].contains("upstream.private"), "{e:?}");
        let e = upstream("url: ftp://pub.dev\n").unwrap_err();
        assert!(e[0].contains("upstream.url"), "{e:?}");
    }

    #[test]
    fn an_unset_token_variable_is_reported_not_refused() {
        let unset =
            upstream("url: https://pub.dev\ntoken_env: TAGPUB_TEST_NEVER_SET_4711").unwrap();
        let problem = environment_problem(&unset).unwrap();
        assert!(problem.contains("TAGPUB_TEST_NEVER_SET_4711"), "{problem}");
        // A variable every process has stands in for a set secret.
        let set = upstream("url: https://pub.dev\ntoken_env: PATH").unwrap();
        assert_eq!(environment_problem(&set), None);
        assert_eq!(
            environment_problem(&upstream("url: https://pub.dev").unwrap()),
            None
        );
    }

    #[test]
    fn listing_ttl_zero_means_always_ask_first() {
        let u = upstream("url: https://pub.dev\nlisting_ttl: 0s").unwrap();
        assert!(u.listing_ttl.is_zero());
    }
}
