//! The web UI's pages, without HTTP: what each page shows (built from the shared state
//! under the same access rules as the API), its template, sessions and CSRF tokens,
//! README rendering and sanitizing, and the embedded static assets. `http::web` wires
//! these to routes.
//!
//! Every page that shows a package asks [`crate::auth::check_read`], the check every
//! API read goes through, so a page never shows a name, version or reason that the API
//! would refuse to the same person.

pub mod admin;
pub mod assets;
pub mod browse;
pub mod docs;
pub mod markdown;
pub mod package;
pub mod pages;
pub mod pubspec;
pub mod session;
pub mod tokens;

use crate::auth::Caller;
use crate::config::Config;

/// Caches of the web UI, shared by every request of one server.
#[derive(Debug, Default)]
pub struct Web {
    /// Rendered READMEs and CHANGELOGs, by archive.
    pub docs: docs::DocsCache,
    /// What the package list shows of each package.
    pub summaries: browse::SummaryCache,
}

/// Who is looking at a page.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    /// Anonymous, or the member whose token opened the session.
    pub caller: Caller,
    /// The CSRF token of this session's forms; `None` without a session.
    pub csrf: Option<String>,
    /// Something to tell on the next page (why a session ended).
    pub notice: Option<String>,
}

impl Visitor {
    pub fn member(&self) -> Option<&str> {
        self.caller.member.as_deref()
    }
}

/// Why a page cannot be shown; `http::web` maps each to a status and an error page.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NotFound(String),
    /// Nobody is signed in, and the page needs someone (401).
    #[error("{0}")]
    SignIn(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the registry failed to {doing}")]
    Store {
        doing: &'static str,
        #[source]
        source: crate::store::Error,
    },
    #[error("the registry failed to read the archive of {package} {version}")]
    Docs {
        package: String,
        version: String,
        #[source]
        source: docs::Error,
    },
    #[error("the archive of {package} {version} is missing from the store")]
    MissingArchive { package: String, version: String },
    #[error("the registry failed to {doing}")]
    Token {
        doing: &'static str,
        #[source]
        source: crate::auth::token::Error,
    },
}

impl Error {
    pub(crate) fn store(doing: &'static str) -> impl FnOnce(crate::store::Error) -> Error {
        move |source| Error::Store { doing, source }
    }
}

/// What every page's frame shows: where links point, who is signed in, and the form
/// token of the sign-out button.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The path of `base_url` (`/` or `/prefix/`): every link starts with it.
    pub base: String,
    /// `base_url` itself, for the commands pages show.
    pub base_url: String,
    pub title: String,
    pub member: Option<String>,
    pub admin: bool,
    /// The CSRF token of the sign-out form; empty without a session.
    pub csrf: String,
    pub notice: Option<String>,
    /// The path to come back to after signing in.
    pub here: String,
    /// The search the header's search box shows.
    pub query: String,
}

impl Layout {
    pub fn new(config: &Config, visitor: &Visitor, title: String, here: &str) -> Layout {
        let member = visitor.member().map(str::to_string);
        Layout {
            base: config.base_url.path().to_string(),
            base_url: config.base_url.as_str().to_string(),
            title,
            admin: member
                .as_deref()
                .is_some_and(|m| crate::auth::policy::is_admin(config, m)),
            member,
            csrf: visitor.csrf.clone().unwrap_or_default(),
            notice: visitor.notice.clone(),
            here: here.to_string(),
            query: String::new(),
        }
    }

    /// Put in the URLs of the static assets, so that a new tagpub's are fetched anew.
    pub fn asset_version(&self) -> &'static str {
        assets::fingerprint()
    }

    /// `login?next=…` for coming back here after signing in.
    pub fn sign_in_link(&self) -> String {
        format!("{}login?next={}", self.base, query_value(&self.here))
    }
}

/// `text` percent-encoded for a query value.
pub fn query_value(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// `2026-01-05` for a time stored as seconds since the epoch.
pub fn date(seconds: i64) -> String {
    crate::clock::rfc3339(seconds)[..10].to_string()
}

/// `2026-01-05 10:00 UTC`.
pub fn date_time(seconds: i64) -> String {
    let t = crate::clock::rfc3339(seconds);
    format!("{} {} UTC", &t[..10], &t[11..16])
}

/// `12.3 KB` for people (decimal units, as browsers show downloads).
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1000 => format!("{b} B"),
        b if b < 1_000_000 => format!("{:.1} KB", b as f64 / 1e3),
        b => format!("{:.1} MB", b as f64 / 1e6),
    }
}

/// `url` when it is an absolute http(s) URL, safe to put in a link; `None` otherwise
/// (a pubspec's `homepage: javascript:…` must not become a link).
pub fn web_link(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    matches!(parsed.scheme(), "http" | "https").then(|| parsed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_read_dates_sizes_and_only_web_links() {
        assert_eq!(date(1_767_607_200), "2026-01-05");
        assert_eq!(date_time(1_767_607_200), "2026-01-05 10:00 UTC");
        assert_eq!(size(999), "999 B");
        assert_eq!(size(12_345), "12.3 KB");
        assert_eq!(size(2_500_000), "2.5 MB");
        assert_eq!(
            web_link(" https://acme.dev/x ").as_deref(),
            Some("https://acme.dev/x")
        );
        assert_eq!(web_link("javascript:alert(1)"), None);
        assert_eq!(web_link("/relative"), None);
        assert_eq!(query_value("/packages/a b"), "%2Fpackages%2Fa%20b");
    }
}
