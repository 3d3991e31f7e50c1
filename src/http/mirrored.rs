//! Requests for names that no repository or upload of ours serves, answered from the
//! upstream through `crate::mirror`: the listing, its archives and advisories. Our own
//! names never get here, so they are never merged with the upstream's versions, and a
//! name matching `upstream.private` is never asked for upstream.

use super::ApiError;
use super::packages::json_body;
use crate::app::AppState;
use crate::auth::{self, Caller, Decision, Readers};
use crate::config::Config;
use crate::index::Body;
use crate::mirror::{self, Kind};
use axum::http::HeaderMap;
use axum::response::Response;
use std::sync::Arc;

/// `Some(config)` when `name` is read from the upstream and `caller` may read it: the
/// same rule as our packages without `teams` (docs/protocol.md §2.4 for 401 vs 403).
/// `None` when the name is ours, or not mirrored: the caller answers as before.
pub fn target(
    state: &AppState,
    name: &str,
    caller: &Caller,
) -> Result<Option<Arc<Config>>, ApiError> {
    if state.index.load().package(name).is_some() {
        return Ok(None);
    }
    let config = state.config.load_full();
    if !mirror::admits(&config, name) {
        return Ok(None);
    }
    match auth::check_read(&config, caller, name, Some(&Readers::Everyone)) {
        Decision::Allow => Ok(Some(config)),
        Decision::NotFound => Err(not_found(name)),
        Decision::Unauthenticated { message } => Err(ApiError::Unauthenticated(message)),
        Decision::Forbidden { message } => Err(ApiError::Forbidden(message)),
    }
}

fn not_found(name: &str) -> ApiError {
    ApiError::NotFound(format!("package `{name}` was not found"))
}

/// A name that differs from one of ours only in case is not fetched either: to tagpub
/// they are one name. Checked when the upstream would be asked, not on every cached
/// answer, since it walks every name we serve.
fn is_ours_in_another_case(state: &AppState, name: &str) -> bool {
    state
        .index
        .load()
        .names()
        .any(|n| n.eq_ignore_ascii_case(name))
}

fn api_error(e: mirror::Error) -> ApiError {
    match e {
        mirror::Error::NotFound { .. } | mirror::Error::NoSuchVersion { .. } => {
            ApiError::NotFound(e.to_string())
        }
        mirror::Error::Unavailable {
            message,
            timed_out: true,
        } => ApiError::GatewayTimeout(message),
        mirror::Error::Unavailable { message, .. } => ApiError::BadGateway(message),
        mirror::Error::Mismatch { .. } => ApiError::BadGateway(e.to_string()),
        // Logged where it happened.
        mirror::Error::Local { doing } => ApiError::Internal {
            doing: doing.to_string(),
            cause: None,
        },
    }
}

/// `GET api/packages/{name}` for a mirrored name.
pub async fn listing(
    state: &AppState,
    config: Arc<Config>,
    name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    document(state, config, Kind::Listing, name, headers).await
}

/// `GET api/packages/{name}/advisories` for a mirrored name.
pub async fn advisories(
    state: &AppState,
    config: Arc<Config>,
    name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    document(state, config, Kind::Advisories, name, headers).await
}

async fn document(
    state: &AppState,
    config: Arc<Config>,
    kind: Kind,
    name: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let doc = fetch(state, &config, kind, name).await?;
    let body = Body {
        gzip: doc.gzip.clone(),
    };
    // Listings and advisories of one name are two bodies: keyed apart.
    let key = match kind {
        Kind::Listing => name.to_string(),
        Kind::Advisories => format!("{name}/advisories"),
    };
    Ok(json_body(state, Some(&key), &body, headers))
}

/// The listing or advisories of `name`: from memory when fresh, otherwise through the
/// mirror (disk, then the upstream).
async fn fetch(
    state: &AppState,
    config: &Arc<Config>,
    kind: Kind,
    name: &str,
) -> Result<Arc<mirror::Document>, ApiError> {
    match state.mirror.fresh(config, kind, name) {
        Some(doc) => Ok(doc),
        None if is_ours_in_another_case(state, name) => Err(not_found(name)),
        None => match kind {
            Kind::Listing => state.mirror.listing(config, name).await,
            Kind::Advisories => state.mirror.advisories(config, name).await,
        }
        .map_err(api_error),
    }
}

/// The listing of `name`, which must list `version`.
async fn listing_with(
    state: &AppState,
    config: &Arc<Config>,
    name: &str,
    version: &str,
) -> Result<Arc<mirror::Document>, ApiError> {
    let doc = fetch(state, config, Kind::Listing, name).await?;
    if doc.archive(version).is_none() {
        return Err(ApiError::NotFound(format!(
            "package `{name}` has no version {version}"
        )));
    }
    Ok(doc)
}

/// `GET api/packages/{name}/versions/{version}` for a mirrored name (docs/protocol.md
/// §1.7, older clients): the version's entry of the listing we serve, so its
/// `archive_url` is ours too.
pub async fn version_info(
    state: &AppState,
    config: Arc<Config>,
    name: &str,
    version: &str,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    let doc = listing_with(state, &config, name, version).await?;
    let wanted = version.to_string();
    let body = super::blocking("render a version", move || {
        let plain = Body {
            gzip: doc.gzip.clone(),
        }
        .plain();
        let listing: serde_json::Value = serde_json::from_slice(&plain)?;
        let entry = listing["versions"]
            .as_array()
            .and_then(|versions| versions.iter().find(|v| v["version"] == wanted.as_str()))
            .ok_or_else(|| std::io::Error::other(format!("the mirrored listing lacks {wanted}")))?;
        Ok::<_, std::io::Error>(Body {
            gzip: mirror::listing::gzip(entry.to_string().as_bytes()),
        })
    })
    .await?;
    Ok(json_body(state, None, &body, headers))
}

/// `api/packages/{name}/versions/{version}/archive.tar.gz` for a mirrored name (§1.7):
/// where the redirect goes, our own archive URL of a version the listing has.
pub async fn legacy_archive_url(
    state: &AppState,
    config: Arc<Config>,
    name: &str,
    version: &str,
) -> Result<String, ApiError> {
    listing_with(state, &config, name, version).await?;
    Ok(mirror::listing::archive_url(
        &config.base_url,
        name,
        version,
    ))
}

/// `GET packages/{name}/versions/{version}.tar.gz` for a mirrored name: from our store
/// once fetched and verified.
pub async fn archive(
    state: &AppState,
    config: Arc<Config>,
    name: &str,
    version: &str,
) -> Result<Response, ApiError> {
    if is_ours_in_another_case(state, name) {
        return Err(not_found(name));
    }
    let (sha256, fetched) = state
        .mirror
        .archive(&config, name, version)
        .await
        .map_err(api_error)?;
    let bytes = match fetched {
        Some(bytes) => {
            state.hot.put(&sha256, bytes.clone());
            bytes
        }
        None => super::archives::stored(state, &sha256)
            .await?
            .ok_or_else(|| {
                tracing::error!(package = %name, version = %version, sha256 = %sha256, "the mirrored archive of {name} {version} vanished from the store");
                ApiError::Internal {
                    doing: "read an archive".into(),
                    cause: None,
                }
            })?,
    };
    Ok(super::archives::answer(bytes, &sha256))
}
