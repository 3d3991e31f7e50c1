//! `GET packages/{name}/versions/{version}.tar.gz`: the archive, byte for byte as stored
//! (docs/protocol.md §1.4). Never `Content-Encoding`: the client would un-gzip it and hash the tar.

use super::ApiError;
use super::auth::Auth;
use super::packages::readable;
use crate::app::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

pub async fn download(
    State(state): State<Arc<AppState>>,
    Path((name, file)): Path<(String, String)>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let Some(version) = file.strip_suffix(".tar.gz") else {
        return Err(ApiError::NotFound(format!(
            "nothing is served at packages/{name}/versions/{file}"
        )));
    };
    if let Some(config) = super::mirrored::target(&state, &name, &caller)? {
        return super::mirrored::archive(&state, config, &name, version).await;
    }
    let package = readable(&state, &name, &caller)?;
    let Some(v) = package.version(version) else {
        return Err(ApiError::NotFound(format!(
            "package `{name}` has no version {version}"
        )));
    };
    let sha256 = v.sha256();
    let Some(bytes) = stored(&state, &sha256).await? else {
        tracing::error!(package = %name, version = %version, sha256 = %sha256, "the archive of {name} {version} is missing from the store; run `tagpub sync` to rebuild it");
        return Err(ApiError::Internal {
            doing: "read an archive".into(),
            cause: None,
        });
    };
    Ok(answer(bytes, &sha256))
}

/// The archive `sha256` from memory or the store; `None` if the store lacks it.
pub(super) async fn stored(
    state: &AppState,
    sha256: &str,
) -> Result<Option<bytes::Bytes>, ApiError> {
    if let Some(bytes) = state.hot.get(sha256) {
        return Ok(Some(bytes));
    }
    let sha = sha256.to_string();
    let store = state.store.clone();
    let read = super::blocking("read an archive", move || store.blobs.get(&sha)).await?;
    Ok(read.map(|read| {
        let read = bytes::Bytes::from(read);
        state.hot.put(sha256, read.clone());
        read
    }))
}

/// An archive answer: the bytes as stored, never `Content-Encoding` (§8.3).
pub(super) fn answer(bytes: bytes::Bytes, sha256: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{sha256}\"")) {
        headers.insert(header::ETAG, etag);
    }
    response
}

/// `api/packages/{name}/versions/{version}/archive.tar.gz`, used by pre-2.8 clients:
/// a redirect to the archive URL, as pub.dev does.
pub async fn legacy_redirect(
    State(state): State<Arc<AppState>>,
    Path((name, version)): Path<(String, String)>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let target = match super::mirrored::target(&state, &name, &caller)? {
        Some(config) => {
            super::mirrored::legacy_archive_url(&state, config, &name, &version).await?
        }
        None => {
            let package = readable(&state, &name, &caller)?;
            if package.version(&version).is_none() {
                return Err(ApiError::NotFound(format!(
                    "package `{name}` has no version {version}"
                )));
            }
            crate::index::archive_url(&state.config.load(), &name, &version)
        }
    };
    let location =
        HeaderValue::from_str(&target).map_err(|e| ApiError::internal("build a redirect", &e))?;
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}
