//! `GET api/packages/{name}` (the listing, docs/protocol.md §1.3) and
//! `GET api/packages/{name}/versions/{version}` (one version, §1.7); both through the
//! mirror for names that none of ours serves (`mirrored`).

use super::auth::Auth;
use super::{ApiError, JSON, accepts_gzip};
use crate::app::AppState;
use crate::auth::{self, Caller, Decision};
use crate::index::{Body, PackageView};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Finds a package and applies the one access check every package read goes through.
pub fn readable(
    state: &AppState,
    name: &str,
    caller: &Caller,
) -> Result<Arc<PackageView>, ApiError> {
    let index = state.index.load();
    let package = index.package(name);
    let not_found = || ApiError::NotFound(format!("package `{name}` was not found"));
    match auth::check_read(
        &state.config.load(),
        caller,
        name,
        package.map(|p| &p.readers),
    ) {
        Decision::Allow => package.cloned().ok_or_else(not_found),
        Decision::NotFound => Err(not_found()),
        Decision::Unauthenticated { message } => Err(ApiError::Unauthenticated(message)),
        Decision::Forbidden { message } => Err(ApiError::Forbidden(message)),
    }
}

/// Answers a prebuilt JSON body, gzipped when the client accepts it. The plain form
/// of a body served under a `name` (a listing) is kept for the next such client.
pub fn json_body(
    state: &AppState,
    name: Option<&str>,
    body: &Body,
    request: &HeaderMap,
) -> Response {
    let gzip = accepts_gzip(request);
    let bytes = match name {
        _ if gzip => body.gzip.clone(),
        Some(name) => state.plain.get(name, body),
        None => bytes::Bytes::from(body.plain()),
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Private packages must not land in shared caches, and a new tag must show at once.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    response
}

pub async fn listing(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Auth(caller): Auth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(config) = super::mirrored::target(&state, &name, &caller)? {
        return super::mirrored::listing(&state, config, &name, &headers).await;
    }
    let package = readable(&state, &name, &caller)?;
    // The common case answers from memory, without a hop to a blocking thread.
    if let Some(body) = package.cached_listing() {
        return Ok(json_body(&state, Some(&name), body, &headers));
    }
    let s = state.clone();
    let body = super::blocking("render a listing", move || {
        package.listing(&s.config.load(), s.store.catalog.as_ref())
    })
    .await?;
    Ok(json_body(&state, Some(&name), &body, &headers))
}

pub async fn version_info(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    Auth(caller): Auth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(config) = super::mirrored::target(&state, &name, &caller)? {
        return super::mirrored::version_info(&state, config, &name, &version, &headers).await;
    }
    let package = readable(&state, &name, &caller)?;
    if package.version(&version).is_none() {
        return Err(ApiError::NotFound(format!(
            "package `{name}` has no version {version}"
        )));
    }
    let s = state.clone();
    let v = version.clone();
    let body = super::blocking("render a version", move || {
        package.version_info(&s.config.load(), s.store.catalog.as_ref(), &v)
    })
    .await?;
    let body = body.ok_or_else(|| ApiError::Internal {
        doing: "render a version".into(),
        cause: Some(format!(
            "the catalog holds no version {version} of {name} with a JSON pubspec, though the index serves it"
        )),
    })?;
    Ok(json_body(&state, None, &body, &headers))
}

/// `GET api/packages/{name}/advisories` (§1.5): passed through for mirrored names. Our
/// own packages have none (their listings say so by omitting `advisoriesUpdated`), but
/// the access check is the listing's, since a 401 here would delete the client's token.
pub async fn advisories(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    Auth(caller): Auth,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(config) = super::mirrored::target(&state, &name, &caller)? {
        return super::mirrored::advisories(&state, config, &name, &headers).await;
    }
    readable(&state, &name, &caller)?;
    Err(ApiError::NotFound(format!(
        "package `{name}` has no security advisories here"
    )))
}
