//! The axum extractor that turns `Authorization: Bearer <token>` into a [`Caller`].
//!
//! No header means anonymous; a header with an unknown, revoked or expired token is a
//! 401 at once, whatever the route, because the client must drop that token
//! (docs/protocol.md §2.4).

use super::ApiError;
use crate::app::AppState;
use crate::auth::token::{self, Check};
use crate::auth::{Caller, policy, token_hint};
use crate::store::TokenRecord;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::sync::Arc;
use tracing::warn;

/// The authenticated (or anonymous) caller of a request.
pub struct Auth(pub Caller);

impl FromRequestParts<Arc<AppState>> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Auth, ApiError> {
        let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return Ok(Auth(Caller::default()));
        };
        let config = state.config.load();
        let unauthenticated =
            |why: &str| ApiError::Unauthenticated(format!("{why}. {}", token_hint(&config)));
        let text = value.to_str().unwrap_or("");
        let Some((scheme, secret)) = text.split_once(' ') else {
            return Err(unauthenticated(
                "The Authorization header is not `Bearer <token>`",
            ));
        };
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(unauthenticated("Only Bearer tokens are accepted"));
        }
        let record = verify(state, secret.trim()).await?;
        Ok(Auth(Caller {
            member: Some(record.member),
            token_id: Some(record.id),
        }))
    }
}

/// The valid token whose secret is `secret`, its use noted; else the 401 that says why
/// (unknown, revoked, expired, or its member removed). Every way of presenting a token
/// goes through here: the `Authorization` header and the web UI's sign-in form.
pub async fn verify(state: &Arc<AppState>, secret: &str) -> Result<TokenRecord, ApiError> {
    let now = crate::app::now();
    let checked = if !secret.starts_with(token::PREFIX) {
        Check::Unknown
    } else {
        let presented = token::hash(secret);
        // Cheap (no lock waits in WAL mode); it is what makes a revocation from the
        // command line count from the very next request.
        let counter = state.store.changes.counter();
        if let Err(e) = &counter {
            warn!(error = %crate::report::chain(e), "cannot read the database's change counter; not trusting cached tokens");
        }
        state.tokens.check_changes(counter.ok());
        let record = match state.tokens.get(&presented) {
            Some(record) => record,
            None => {
                let store = state.store.clone();
                let hash = presented.clone();
                let record =
                    super::blocking("check a token", move || store.tokens.token_by_hash(&hash))
                        .await?;
                state.tokens.put(&presented, record.clone());
                record
            }
        };
        token::classify(&presented, record, now)
    };
    accept(state, checked, now).map_err(|refusal| {
        ApiError::Unauthenticated(format!(
            "{}. {}",
            refusal.reason(),
            token_hint(&state.config.load())
        ))
    })
}

/// Why a presented token may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    /// Its member was removed from registry.yaml.
    NotMember,
}

impl Refusal {
    /// The first sentence of the 401's message.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Unknown => "This token is not known to the registry",
            Refusal::Revoked => "This token was revoked",
            Refusal::Expired => "This token has expired",
            Refusal::NotMember => "This token's member was removed from the registry",
        }
    }
}

/// The valid token with id `id` (the one a web session was opened with), its use
/// noted, or why it may not be used. Read from the database at every call, so a
/// revocation ends the session on its next request.
pub async fn verify_id(
    state: &Arc<AppState>,
    id: &str,
) -> Result<Result<TokenRecord, Refusal>, ApiError> {
    let store = state.store.clone();
    let lookup = id.to_string();
    let record =
        super::blocking("check a token", move || store.tokens.token_by_id(&lookup)).await?;
    let now = crate::app::now();
    let checked = match record {
        Some(record) => token::classify(&record.hash.clone(), Some(record), now),
        None => Check::Unknown,
    };
    Ok(accept(state, checked, now))
}

/// What a checked token means for the request: its record when it may be used.
fn accept(state: &AppState, checked: Check, now: i64) -> Result<TokenRecord, Refusal> {
    let config = state.config.load();
    match checked {
        Check::Valid(record) if policy::is_member(&config, &record.member) => {
            state.record_token_use(&record.id, now);
            Ok(record)
        }
        Check::Valid(record) => {
            warn!(member = %record.member, token_id = %record.id, "token {} of {} used, but {} is no longer a member", record.id, record.member, record.member);
            Err(Refusal::NotMember)
        }
        Check::Revoked(record) => {
            warn!(member = %record.member, token_id = %record.id, "revoked token {} of {} used", record.id, record.member);
            Err(Refusal::Revoked)
        }
        Check::Expired(record) => {
            warn!(member = %record.member, token_id = %record.id, "expired token {} of {} used", record.id, record.member);
            Err(Refusal::Expired)
        }
        Check::Unknown => Err(Refusal::Unknown),
    }
}

/// The caller's member email, or the 401 that tells an anonymous caller how to get a
/// token: for endpoints that need someone signed in whatever the package.
pub fn require_member(state: &AppState, caller: &Caller) -> Result<String, ApiError> {
    caller
        .member
        .clone()
        .ok_or_else(|| ApiError::Unauthenticated(token_hint(&state.config.load())))
}
