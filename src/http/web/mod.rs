//! The web UI over HTTP: pages for requests that ask for HTML on the paths people open
//! (`/`, `packages/NAME`, `packages/NAME/versions/VERSION`), and the UI's own routes
//! (`login`, `logout`, `tokens`, `admin`, `static/…`, files of an archive). Anything
//! else keeps answering exactly as the API did: JSON, or the archive.
//!
//! Every page carries a strict Content-Security-Policy (scripts and styles only from
//! the registry, no inline code, no framing) and the usual security headers; every form
//! that changes something checks the session's CSRF token and the request's origin.

mod account;
mod browse;
mod forms;
mod visitor;

pub use browse::version_or_archive;

use crate::app::AppState;
use crate::web::{Layout, Visitor, Web, pages::ErrorPage};
use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use std::sync::Arc;
use visitor::Seen;

/// The policy of every page: nothing but the registry's own script and stylesheet,
/// images from the registry or any https host (README badges), forms only to the
/// registry, and no framing.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The UI's routes, besides `packages/{name}/versions/{file}` which it shares with the
/// archive downloads ([`version_or_archive`]).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        // Other methods on the shared paths answer what they always did.
        .route("/", get(browse::index).fallback(super::not_found))
        .route(
            "/packages/{name}",
            get(browse::package).fallback(super::not_found),
        )
        .route(
            "/packages/{name}/versions/{file}/files/{*path}",
            get(browse::archive_file),
        )
        .route("/login", get(account::login_form).post(account::login))
        .route("/logout", post(account::logout))
        .route("/tokens", get(account::tokens).post(account::tokens_action))
        .route("/admin", get(account::admin))
        .route("/static/{file}", get(browse::asset))
}

/// The package list at `base_url` itself when it has a path (`/prefix/`): nesting serves
/// `/prefix` and `/prefix/…`, but `/prefix/` is the URL people open.
pub fn prefix_root(
    prefix: &str,
    state: Arc<AppState>,
    caches: axum::Extension<Arc<Web>>,
) -> Router {
    Router::new()
        .route(prefix, get(browse::index).fallback(super::not_found))
        .layer(caches)
        .with_state(state)
}

/// The caches the pages share, for `axum::Extension`.
pub fn caches() -> axum::Extension<Arc<Web>> {
    axum::Extension(Arc::new(Web::default()))
}

/// Whether the request asks for a page: browsers send `Accept: text/html,…` when they
/// navigate; `dart pub` never does (it asks for `application/vnd.pub.v2+json`).
pub fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or("");
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            (media.eq_ignore_ascii_case("text/html")
                || media.eq_ignore_ascii_case("application/xhtml+xml"))
                && !refused
        })
}

/// Adds the headers every page gets.
fn harden(response: &mut Response, cache: &'static str) {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, PAGE_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, cache),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        axum::http::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Cookie"));
}

/// A rendered page with `status`, its headers, and the removal of an ended session's
/// cookie.
fn page(state: &AppState, seen: &Seen, status: StatusCode, template: &impl Template) -> Response {
    let html = match template.render() {
        Ok(html) => html,
        Err(e) => {
            tracing::error!(error = %e, "cannot render a page: {e}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response();
        }
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response();
    harden(&mut response, "private, no-cache");
    if seen.clear_cookie {
        forms::clear_session_cookie(state, &mut response);
    }
    response
}

/// The page for a refusal or failure, with the status the API would answer.
fn error_page(state: &AppState, seen: &Seen, error: crate::web::Error) -> Response {
    use crate::web::Error;
    let (status, heading, message) = match &error {
        Error::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m.clone()),
        Error::SignIn(m) => (StatusCode::UNAUTHORIZED, "Sign in needed", m.clone()),
        Error::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m.clone()),
        Error::BadRequest(m) => (StatusCode::BAD_REQUEST, "Not understood", m.clone()),
        _ => {
            let chain = crate::report::chain(&error);
            tracing::error!(error = %chain, "a page failed: {chain}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                format!("{error}; the details are in the registry's log."),
            )
        }
    };
    let config = state.config.load();
    let here = config.base_url.path().to_string();
    let template = ErrorPage {
        layout: Layout::new(&config, &seen.visitor, heading.to_string(), &here),
        status: status.as_u16(),
        heading,
        message,
        sign_in: status == StatusCode::UNAUTHORIZED && seen.visitor.member().is_none(),
    };
    page(state, seen, status, &template)
}

/// A 303 to `location` (a path under `base_url`), after a form.
fn see_other(location: &str) -> Response {
    let mut response = Redirect::to(location).into_response();
    harden(&mut response, "no-store");
    response
}

/// Runs page work that reads the store on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, crate::web::Error> + Send + 'static,
) -> Result<T, crate::web::Error> {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// The visitor a page is built for, with the shared state.
fn visitor_of(seen: &Seen) -> Visitor {
    seen.visitor.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn only_requests_for_html_get_pages() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(!wants_html(&accept("application/vnd.pub.v2+json")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("text/html;q=0")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
