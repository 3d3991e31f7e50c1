//! Changing uploaded packages over HTTP, in pub.dev's shapes where it has them:
//! `PUT api/packages/{name}/options` (`isDiscontinued`, `replacedBy`),
//! `PUT api/packages/{name}/versions/{version}/options` (`isRetracted`), uploaders, and
//! `GET api/audit` for admins.

use super::ApiError;
use super::auth::Auth;
use crate::app::AppState;
use crate::auth::{Caller, policy};
use crate::clock::{now, rfc3339};
use crate::config::Email;
use crate::publish::{self, Actor};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use std::sync::Arc;

fn actor(state: &AppState, caller: &Caller) -> Result<Actor, ApiError> {
    super::auth::require_member(state, caller).map(Actor::Member)
}

fn body<T: DeserializeOwned>(bytes: &Bytes, example: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid ({e}); send {example}")))
}

fn ok(message: String) -> Response {
    (
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"success": {"message": message}}).to_string(),
    )
        .into_response()
}

/// Runs a change on a blocking thread, then re-renders the index so listings show it.
async fn change(
    state: &Arc<AppState>,
    package: &str,
    f: impl FnOnce(&AppState) -> Result<String, publish::Error> + Send + 'static,
) -> Result<Response, ApiError> {
    let s = state.clone();
    let package = package.to_string();
    let message = super::on_blocking_thread("change a package", move || {
        let message = f(&s)?;
        s.refresh_packages(&[package])?;
        Ok::<_, publish::Error>(message)
    })
    .await?
    .map_err(super::publish::publish_error)?;
    Ok(ok(message))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PackageOptions {
    is_discontinued: bool,
    replaced_by: Option<String>,
}

pub async fn package_options(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let actor = actor(&state, &caller)?;
    let options: PackageOptions = body(
        &bytes,
        r#"{"isDiscontinued": true, "replacedBy": "other_package"}"#,
    )?;
    change(&state, &name.clone(), move |s| {
        publish::discontinue(
            &s.config.load(),
            &s.store,
            &actor,
            &name,
            options.is_discontinued,
            options.replaced_by.as_deref(),
            now(),
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct VersionOptions {
    is_retracted: bool,
}

pub async fn version_options(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path((name, version)): Path<(String, String)>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let actor = actor(&state, &caller)?;
    let options: VersionOptions = body(&bytes, r#"{"isRetracted": true}"#)?;
    change(&state, &name.clone(), move |s| {
        publish::retract(
            &s.config.load(),
            &s.store,
            &s.index.load(),
            &actor,
            (&name, &version),
            options.is_retracted,
            now(),
        )
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Uploader {
    email: Email,
}

pub async fn list_uploaders(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    // Whoever may read the package may see who uploads it.
    let package = super::packages::readable(&state, &name, &caller)?;
    let s = state.clone();
    let uploaded = super::blocking("list uploaders", move || {
        s.store.publishing.package(&package.name)
    })
    .await?;
    let Some(uploaded) = uploaded else {
        return Err(ApiError::BadRequest(format!(
            "{name} is served from git and has no uploaders"
        )));
    };
    Ok((
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"uploaders": uploaded.uploaders}).to_string(),
    )
        .into_response())
}

pub async fn add_uploader(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path(name): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let actor = actor(&state, &caller)?;
    let uploader: Uploader = body(&bytes, r#"{"email": "someone@acme.dev"}"#)?;
    change(&state, &name.clone(), move |s| {
        publish::set_uploader(
            &s.config.load(),
            &s.store,
            &actor,
            &name,
            &uploader.email,
            true,
            now(),
        )
    })
    .await
}

pub async fn remove_uploader(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path((name, email)): Path<(String, Email)>,
) -> Result<Response, ApiError> {
    let actor = actor(&state, &caller)?;
    change(&state, &name.clone(), move |s| {
        publish::set_uploader(
            &s.config.load(),
            &s.store,
            &actor,
            &name,
            &email,
            false,
            now(),
        )
    })
    .await
}

#[derive(Deserialize)]
pub struct AuditQuery {
    package: Option<String>,
    limit: Option<usize>,
}

/// `GET api/audit[?package=NAME&limit=N]`, admins only, newest first.
pub async fn audit(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Query(query): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let config = state.config.load();
    let member = super::auth::require_member(&state, &caller)?;
    if !policy::is_admin(&config, &member) {
        return Err(ApiError::Forbidden(format!(
            "{member} is not an admin; only admins read the audit trail"
        )));
    }
    let s = state.clone();
    let limit = query.limit.unwrap_or(100).min(10_000);
    let entries = super::blocking("read the audit trail", move || {
        s.store
            .publishing
            .audit_log(query.package.as_deref(), limit)
    })
    .await?;
    let entries: Vec<_> = entries
        .iter()
        .map(|e| json!({"at": rfc3339(e.at), "actor": e.actor, "action": e.action, "package": e.package, "version": e.version, "detail": e.detail}))
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, super::JSON),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        json!({"entries": entries}).to_string(),
    )
        .into_response())
}
