//! What every form that changes something must pass: its request comes from a page of
//! the registry (the `Origin` header, or `Sec-Fetch-Site`, names the registry's origin)
//! and carries the session's CSRF token, compared in constant time. Also the cookies
//! the UI sets, scoped to `base_url`.

use crate::app::AppState;
use crate::config::Config;
use crate::web::{Visitor, session};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

/// The origin (`https://pub.acme.dev`) of `base_url`.
fn registry_origin(config: &Config) -> String {
    url::Url::parse(config.base_url.as_str())
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// `Err` with the reason when the request was not sent by a page of the registry.
/// Browsers send `Origin` with every form post; without it, `Sec-Fetch-Site` tells
/// the same. A request with neither comes from outside a browser, where cross-site
/// forgery is not possible, and still needs the CSRF token.
pub fn check_origin(config: &Config, headers: &HeaderMap) -> Result<(), String> {
    let expected = registry_origin(config);
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or("");
        return if origin.eq_ignore_ascii_case(&expected) {
            Ok(())
        } else {
            Err(format!(
                "This form was sent from {origin}, not from {expected}. Open the registry at {} and try again.",
                config.base_url.as_str()
            ))
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None | Some("same-origin" | "none") => Ok(()),
        Some(other) => Err(format!(
            "This form was sent from another site ({other}). Open the registry at {} and try again.",
            config.base_url.as_str()
        )),
    }
}

/// Both checks every state-changing form of a signed-in visitor passes: the request comes
/// from our own pages ([`check_origin`]) and carries the session's CSRF token
/// ([`check_csrf`]).
pub fn check_form(
    config: &Config,
    headers: &HeaderMap,
    visitor: &Visitor,
    presented: &str,
) -> Result<(), String> {
    check_origin(config, headers).and_then(|()| check_csrf(visitor, presented))
}

/// `Err` unless `presented` is the CSRF token of the visitor's session.
pub fn check_csrf(visitor: &Visitor, presented: &str) -> Result<(), String> {
    match &visitor.csrf {
        Some(expected) if session::same_secret(presented, expected) => Ok(()),
        Some(_) => Err("This form is out of date (its security token does not match your session). Reload the page and try again.".into()),
        None => Err("You are not signed in, or your session ended. Sign in and try again.".into()),
    }
}

/// Whether cookies get `Secure`: when people reach the registry over https.
fn secure(config: &Config) -> bool {
    config.base_url.as_str().starts_with("https://")
}

fn add_cookie(response: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
}

pub fn set_session_cookie(state: &AppState, response: &mut Response, id: &str, max_age: i64) {
    let config = state.config.load();
    let cookie = session::set_cookie(
        session::SESSION_COOKIE,
        id,
        config.base_url.path(),
        secure(&config),
        max_age,
    );
    add_cookie(response, &cookie);
}

pub fn clear_session_cookie(state: &AppState, response: &mut Response) {
    let config = state.config.load();
    let cookie = session::clear_cookie(
        session::SESSION_COOKIE,
        config.base_url.path(),
        secure(&config),
    );
    add_cookie(response, &cookie);
}

pub fn set_login_cookie(state: &AppState, response: &mut Response, value: &str) {
    let config = state.config.load();
    let cookie = session::set_cookie(
        session::LOGIN_COOKIE,
        value,
        config.base_url.path(),
        secure(&config),
        session::LOGIN_FORM_SECONDS,
    );
    add_cookie(response, &cookie);
}

pub fn clear_login_cookie(state: &AppState, response: &mut Response) {
    let config = state.config.load();
    let cookie = session::clear_cookie(
        session::LOGIN_COOKIE,
        config.base_url.path(),
        secure(&config),
    );
    add_cookie(response, &cookie);
}

/// The sign-in form's value of the sign-in cookie, if any.
pub fn login_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie_value(h, session::LOGIN_COOKIE))
        .map(str::to_string)
}

/// `next` when it is a path of the registry to go back to after signing in; the list
/// of packages otherwise (an open redirect would let a link send people anywhere).
pub fn safe_next(config: &Config, next: Option<&str>) -> String {
    let base = config.base_url.path();
    match next {
        Some(n)
            if n.starts_with(base)
                && !n.starts_with("//")
                && !n.contains(['\\', '\r', '\n'])
                && !n[base.len()..].starts_with('/') =>
        {
            n.to_string()
        }
        _ => base.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.yaml");
        std::fs::write(&path, format!("base_url: {base}\n")).unwrap();
        Config::load(&path).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn forms_from_other_origins_are_refused() {
        let c = config("https://pub.acme.dev/x/");
        assert!(check_origin(&c, &headers(&[("origin", "https://pub.acme.dev")])).is_ok());
        assert!(check_origin(&c, &headers(&[("origin", "https://PUB.acme.dev")])).is_ok());
        for bad in [
            "https://evil.dev",
            "http://pub.acme.dev",
            "https://pub.acme.dev.evil.dev",
            "https://pub.acme.dev:444",
            "null",
        ] {
            assert!(
                check_origin(&c, &headers(&[("origin", bad)])).is_err(),
                "{bad}"
            );
        }
        assert!(check_origin(&c, &headers(&[("sec-fetch-site", "cross-site")])).is_err());
        assert!(check_origin(&c, &headers(&[("sec-fetch-site", "same-site")])).is_err());
        assert!(check_origin(&c, &headers(&[("sec-fetch-site", "same-origin")])).is_ok());
    }

    #[test]
    fn sign_in_only_returns_to_pages_of_the_registry() {
        let c = config("https://pub.acme.dev/x/");
        assert_eq!(safe_next(&c, Some("/x/tokens")), "/x/tokens");
        for bad in [
            "https://evil.dev/",
            "//evil.dev/",
            "/x//evil.dev",
            "/y/",
            "/x/\\evil",
        ] {
            assert_eq!(safe_next(&c, Some(bad)), "/x/", "{bad}");
        }
        assert_eq!(safe_next(&c, None), "/x/");
    }
}
