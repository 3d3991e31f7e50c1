//! The HTTP API (docs/protocol.md §1): `router()` builds every route under the path of
//! `base_url`.

mod archives;
mod auth;
mod error;
mod health;
mod hooks;
mod manage;
mod mirrored;
mod packages;
mod publish;
mod status;
mod tokens;
mod web;

pub use error::{ApiError, challenge_message};

use crate::app::AppState;
use axum::Router;
use axum::routing::get;
use std::sync::Arc;

/// `Content-Type` of every JSON answer: with the charset, or the client decodes
/// non-ASCII text as Latin-1 (§1.3 "charset trap").
pub const JSON: &str = "application/json; charset=utf-8";

/// Answers HTTP on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let service = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .await
}

/// All routes, nested under `base_url`'s path.
pub fn router(state: Arc<AppState>) -> Router {
    let prefix = state.base_path();
    let pages = web::caches();
    let api = Router::new()
        // `versions` is a legal package name: these static routes must win over
        // `api/packages/{name}/…` (§1.6); the router prefers static segments.
        .route("/api/packages/versions/new", get(publish::new_upload))
        .route(
            "/api/packages/versions/upload",
            axum::routing::post(publish::upload).layer(axum::extract::DefaultBodyLimit::disable()),
        )
        .route("/api/packages/versions/finalize", get(publish::finalize))
        .route(
            "/api/packages/{name}/options",
            axum::routing::put(manage::package_options),
        )
        .route(
            "/api/packages/{name}/versions/{version}/options",
            axum::routing::put(manage::version_options),
        )
        .route(
            "/api/packages/{name}/uploaders",
            get(manage::list_uploaders).post(manage::add_uploader),
        )
        .route(
            "/api/packages/{name}/uploaders/{email}",
            axum::routing::delete(manage::remove_uploader),
        )
        .route("/api/audit", get(manage::audit))
        .route("/api/packages/{name}", get(packages::listing))
        .route("/api/packages/{name}/advisories", get(packages::advisories))
        .route(
            "/api/packages/{name}/versions/{version}",
            get(packages::version_info),
        )
        .route(
            "/api/packages/{name}/versions/{version}/archive.tar.gz",
            get(archives::legacy_redirect),
        )
        // Shared with the web UI's version pages; archives answer as before.
        .route(
            "/packages/{name}/versions/{file}",
            get(web::version_or_archive),
        )
        .route(
            "/api/tokens",
            get(tokens::list)
                .post(tokens::issue)
                .delete(tokens::revoke_member),
        )
        .route("/api/tokens/{id}", axum::routing::delete(tokens::revoke))
        .route("/hooks/git", axum::routing::post(hooks::git))
        .route(
            "/hooks/{provider}",
            axum::routing::post(hooks::forge).layer(axum::extract::DefaultBodyLimit::max(
                crate::webhook::MAX_DELIVERY_BYTES,
            )),
        )
        .route("/api/status", get(status::status))
        .route("/metrics", get(status::metrics))
        .route("/healthz", get(health::healthz))
        .merge(web::routes())
        .layer(pages.clone())
        .fallback(not_found)
        .with_state(state.clone());
    let routes = if prefix == "/" {
        api
    } else {
        Router::new()
            .nest(prefix.trim_end_matches('/'), api)
            .merge(web::prefix_root(&prefix, state, pages))
            .fallback(not_found)
    };
    harden(routes)
}

/// The layers every route sits under: a panic in a handler becomes a 500 with pub's
/// JSON error body (and the panic goes to the log) instead of a dropped connection, and
/// at debug level each request gets a span (method, matched route) with its status and
/// latency.
pub fn harden(routes: Router) -> Router {
    routes
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            answer_panic,
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                // At debug level: at info, formatting a span's fields for every request
                // took a tenth of a listing's CPU; a handler's own log lines say what it
                // was doing. `RUST_LOG=debug` shows each request with its route.
                .make_span_with(|req: &axum::http::Request<_>| {
                    let route = || {
                        req.extensions()
                            .get::<axum::extract::MatchedPath>()
                            .map_or("unmatched", |p| p.as_str())
                    };
                    tracing::debug_span!("request", method = %req.method(), route = %route())
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::DEBUG)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
}

fn answer_panic(panic: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let what = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %what, "a request handler panicked: {what}");
    axum::response::IntoResponse::into_response(ApiError::Internal {
        doing: "answer this request".into(),
        cause: None,
    })
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("nothing is served at {}", uri.path()))
}

/// Runs `work` on a blocking thread (store, git and gzip work must not hold up the
/// async workers). A panic there becomes a 500 saying what failed (`doing`).
pub(crate) async fn on_blocking_thread<R: Send + 'static>(
    doing: &'static str,
    work: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(doing, &e))
}

/// [`on_blocking_thread`] for work whose every error is ours (a broken store, say): it
/// becomes a 500 too, with its causes in the log.
pub(crate) async fn blocking<T: Send + 'static, E: std::error::Error + Send + 'static>(
    doing: &'static str,
    work: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    on_blocking_thread(doing, work)
        .await?
        .map_err(|e| ApiError::internal(doing, &e))
}

/// Whether the client accepts a gzip-encoded body. `dart:io` always sends
/// `Accept-Encoding: gzip`; `gzip;q=0` means no.
pub fn accepts_gzip(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get_all(axum::http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let zero_q = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !zero_q
        })
}
