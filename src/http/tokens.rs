//! `POST/GET/DELETE api/tokens`: issuing, listing and revoking tokens over HTTP with the
//! caller's own token. Who may do what for whom is `auth::policy::may_manage_tokens`,
//! the one rule the command line follows too.

use super::auth::Auth;
use super::{ApiError, blocking};
use crate::app::AppState;
use crate::auth::policy::{self, TokenManager};
use crate::auth::token;
use crate::clock::{now, parse_lifetime, rfc3339};
use crate::config::{Config, Email};
use crate::store::{TokenRecord, UploadedPackage};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use tracing::info;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueRequest {
    member: Option<Email>,
    name: Option<String>,
    expires_in: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct MemberFilter {
    member: Option<Email>,
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, super::JSON),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The token's public fields; never the secret or its hash.
pub fn describe(t: &TokenRecord) -> Value {
    json!({
        "id": t.id,
        "member": t.member,
        "name": t.name,
        "created": rfc3339(t.created),
        "last_used": t.last_used.map(rfc3339),
        "expires": t.expires.map(rfc3339),
        "revoked": t.revoked.map(rfc3339),
    })
}

/// The packages created by `dart pub publish`, with their uploaders: the part of a
/// member's rights that lives in the store.
async fn uploaded(state: &AppState) -> Result<Vec<UploadedPackage>, ApiError> {
    let store = state.store.clone();
    blocking("check who may manage tokens", move || {
        store.publishing.packages()
    })
    .await
}

/// `Ok` when `actor` may manage `target`'s tokens, else the 403 saying why.
fn may_manage(
    config: &Config,
    uploaded: &[UploadedPackage],
    actor: &str,
    target: &Email,
) -> Result<(), ApiError> {
    policy::may_manage_tokens(config, uploaded, TokenManager::Member(actor), target)
        .map_err(ApiError::Forbidden)
}

pub async fn issue(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let actor = super::auth::require_member(&state, &caller)?;
    let request: IssueRequest = if body.iter().all(u8::is_ascii_whitespace) {
        IssueRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadRequest(format!(
                "the body is not a token request ({e}); send {{\"member\": \"...\", \"name\": \"...\", \"expires_in\": \"90d\"}}"
            ))
        })?
    };
    let config = state.config.load();
    let member = request.member.unwrap_or_else(|| Email::new(&actor));
    if !policy::is_member(&config, &member) {
        return Err(ApiError::BadRequest(format!(
            "{member} is not a member; add it under members in registry.yaml first"
        )));
    }
    may_manage(&config, &uploaded(&state).await?, &actor, &member)?;
    let now = now();
    let expires = match request.expires_in.as_deref() {
        Some(text) => Some(now.saturating_add(
            parse_lifetime(text).map_err(|e| ApiError::BadRequest(format!("expires_in: {e}")))?,
        )),
        None => None,
    };
    let name = request.name.unwrap_or_default();
    let store = state.store.clone();
    let (m, n) = (member.clone(), name.clone());
    let issued = blocking("issue a token", move || {
        token::issue(&store, &m, &n, expires, now)
    })
    .await?;
    info!(actor = %actor, member = %member, token_id = %issued.record.id, "{actor} issued token {} for {member}", issued.record.id);
    let mut body = describe(&issued.record);
    body["token"] = json!(issued.secret.expose());
    Ok(json_response(StatusCode::CREATED, body))
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Query(filter): Query<MemberFilter>,
) -> Result<Response, ApiError> {
    let actor = super::auth::require_member(&state, &caller)?;
    let config = state.config.load();
    let uploaded = uploaded(&state).await?;
    let member = filter.member;
    if let Some(m) = &member {
        may_manage(&config, &uploaded, &actor, m)?;
    }
    let store = state.store.clone();
    let tokens = blocking("list tokens", move || {
        store.tokens.tokens(member.as_deref())
    })
    .await?;
    let visible: Vec<Value> = tokens
        .iter()
        .filter(|t| may_manage(&config, &uploaded, &actor, &Email::new(&t.member)).is_ok())
        .map(describe)
        .collect();
    Ok(json_response(StatusCode::OK, json!({ "tokens": visible })))
}

pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let actor = super::auth::require_member(&state, &caller)?;
    let store = state.store.clone();
    let lookup = id.clone();
    let record = blocking("find a token", move || store.tokens.token_by_id(&lookup)).await?;
    let config = state.config.load();
    let uploaded = uploaded(&state).await?;
    // A token the caller may not manage is not in their listing either: answer as if it
    // did not exist, so that ids cannot be probed for their owners.
    let Some(record) =
        record.filter(|r| may_manage(&config, &uploaded, &actor, &Email::new(&r.member)).is_ok())
    else {
        return Err(ApiError::NotFound(format!(
            "no token with the id {id} is yours to revoke; GET api/tokens lists those that are"
        )));
    };
    let store = state.store.clone();
    let target = id.clone();
    blocking("revoke a token", move || {
        store.tokens.revoke_token(&target, now())
    })
    .await?;
    state.tokens.clear();
    info!(actor = %actor, member = %record.member, token_id = %id, "{actor} revoked token {id} of {}", record.member);
    Ok(json_response(StatusCode::OK, json!({ "revoked": [id] })))
}

/// `DELETE api/tokens?member=EMAIL`: log a member out everywhere.
pub async fn revoke_member(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Query(filter): Query<MemberFilter>,
) -> Result<Response, ApiError> {
    let actor = super::auth::require_member(&state, &caller)?;
    let Some(member) = filter.member else {
        return Err(ApiError::BadRequest(
            "say whose tokens to revoke: DELETE api/tokens?member=EMAIL, or DELETE api/tokens/ID for one".into(),
        ));
    };
    let config = state.config.load();
    may_manage(&config, &uploaded(&state).await?, &actor, &member)?;
    let store = state.store.clone();
    let m = member.clone();
    let ids = blocking("revoke tokens", move || {
        store.tokens.revoke_member(&m, now())
    })
    .await?;
    state.tokens.clear();
    info!(actor = %actor, member = %member, count = ids.len(), "{actor} revoked every token of {member}: {}", ids.join(", "));
    Ok(json_response(StatusCode::OK, json!({ "revoked": ids })))
}
