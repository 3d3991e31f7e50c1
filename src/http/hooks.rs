//! Push notifications: `POST hooks/git` from the shipped `hooks/post-receive`, and the
//! forges' webhooks. A notification only wakes the repository's poll loop; polling
//! stays the guarantee.

use super::ApiError;
use crate::app::AppState;
use crate::config::{Repository, key};
use crate::webhook;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tracing::{error, info, warn};

#[derive(Debug, Deserialize)]
struct GitHookRequest {
    repository: String,
    #[serde(default)]
    refs: Vec<String>,
}

/// The secret a repository's notifications must carry, from the environment variable
/// its `webhook_secret_env` names.
pub fn secret_of(repo: &Repository) -> Result<Vec<u8>, ApiError> {
    let Some(var) = &repo.webhook_secret_env else {
        return Err(ApiError::Forbidden(format!(
            "{} accepts no push notifications: set webhook_secret_env for it in registry.yaml",
            repo.url.display()
        )));
    };
    match std::env::var(var) {
        Ok(s) if !s.is_empty() => Ok(s.into_bytes()),
        _ => {
            error!(repo = %repo.url.display(), var = %var, "webhook secret variable {var} of {} is not set; push notifications are refused", repo.url.display());
            Err(ApiError::Internal {
                doing: "check the notification's secret".into(),
                cause: None,
            })
        }
    }
}

/// Finds the configured repository that `text` (a path or URL, as written in
/// registry.yaml or as a forge spells it) designates.
pub fn find_repository<'c>(repos: &'c [Repository], text: &str) -> Option<&'c Repository> {
    if let Some(r) = repos.iter().find(|r| r.key == text) {
        return Some(r);
    }
    let wanted = key::normalize(text)?;
    repos.iter().find(|r| r.identity.as_ref() == Some(&wanted))
}

fn accepted(state: &AppState, repo: &Repository, source: &str, addr: &str) -> Response {
    state.tracker.record_webhook(&repo.key, crate::clock::now());
    let woke = state.notify(&repo.key);
    info!(repo = %repo.url.display(), source, sender = %addr, "push notification for {} from {source}", repo.url.display());
    if !woke {
        warn!(repo = %repo.url.display(), "no poll loop for {} yet; the notification waits for the next pass", repo.url.display());
    }
    (
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"queued": repo.url.display()}).to_string(),
    )
        .into_response()
}

fn sender(headers: &HeaderMap, peer: SocketAddr) -> String {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .map(|v| format!(" (forwarded for {v})"))
        .unwrap_or_default();
    format!("{peer}{forwarded}")
}

/// `POST hooks/git` with `Authorization: Bearer <secret>` and
/// `{"repository": "...", "refs": [...]}`.
pub async fn git(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let addr = sender(&headers, peer);
    let request: GitHookRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not a notification ({e}); send {{\"repository\": \"<tagpub.repo>\", \"refs\": [\"refs/tags/...\"]}}"
        ))
    })?;
    let config = state.config.load();
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .unwrap_or("");
    // Unknown repository, repository without a secret and wrong secret get one answer,
    // so that nobody learns which repositories exist or take notifications; the log
    // says which it was.
    let refuse = |why: String| {
        warn!(sender = %addr, "refused a git hook notification from {addr}: {why}");
        ApiError::Unauthenticated(
            "the notification was refused: tagpub.repo must be the repository's url as written in registry.yaml, and tagpub.secret the value of its webhook_secret_env; the registry's log says which was wrong".into(),
        )
    };
    let Some(repo) = find_repository(&config.repositories, &request.repository) else {
        return Err(refuse(format!(
            // Debug-quoted: the text is the caller's, and must not forge log lines.
            "no repository {:?} in registry.yaml",
            crate::config::redact(&request.repository)
        )));
    };
    let Ok(secret) = secret_of(repo) else {
        return Err(refuse(format!(
            "{} has no webhook_secret_env (or its variable is not set)",
            repo.url.display()
        )));
    };
    if !bool::from(presented.as_bytes().ct_eq(&secret)) {
        return Err(refuse(format!(
            "wrong or missing secret for {}",
            repo.url.display()
        )));
    }
    let _ = request.refs;
    Ok(accepted(&state, repo, "hooks/git", &addr))
}

/// `POST hooks/{github,gitlab,gitea,bitbucket}`: the delivery must verify with the
/// secret of a configured repository before its body is read at all; the payload then
/// has to name that repository.
pub async fn forge(
    State(state): State<Arc<AppState>>,
    Path(provider): Path<String>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Some(provider) = webhook::Provider::from_path_segment(&provider) else {
        return Err(ApiError::NotFound(format!(
            "no webhook endpoint hooks/{provider}; use hooks/github, hooks/gitlab, hooks/gitea or hooks/bitbucket"
        )));
    };
    let addr = sender(&headers, peer);
    // The route reads at most MAX_DELIVERY_BYTES; a larger body is refused before any
    // signature is computed over it (webhook/delivery.rs).
    let too_large = || {
        warn!(provider = provider.as_str(), sender = %addr, "refused a {} webhook from {addr}: the body is over {} bytes", provider.as_str(), webhook::MAX_DELIVERY_BYTES);
        ApiError::TooLarge(format!(
            "the {} webhook body is larger than {} KiB, more than any tag push needs; tagpub only needs push events for tags, and still polls the repository",
            provider.as_str(),
            webhook::MAX_DELIVERY_BYTES >> 10
        ))
    };
    let body = match body {
        Ok(body) => body,
        Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
            return Err(too_large());
        }
        Err(e) => {
            return Err(ApiError::BadRequest(format!(
                "the webhook body could not be read: {e}"
            )));
        }
    };
    let lookup = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let config = state.config.load();
    let mut verified = Vec::new();
    let mut last_refusal = None;
    for repo in config
        .repositories
        .iter()
        .filter(|r| r.webhook_secret_env.is_some())
    {
        let Ok(secret) = secret_of(repo) else {
            continue;
        };
        match webhook::verify(provider, &lookup, &body, &secret) {
            Ok(()) => verified.push(repo),
            Err(e) => last_refusal = Some(e),
        }
    }
    if verified.is_empty() {
        let why = last_refusal.map_or_else(
            || "no repository in registry.yaml has a webhook_secret_env with a value".to_string(),
            |e| e.to_string(),
        );
        warn!(provider = provider.as_str(), sender = %addr, "refused a {} webhook from {addr}: {why}", provider.as_str());
        return Err(ApiError::Unauthenticated(format!(
            "the {} webhook could not be verified: {why}; use the value of the repository's webhook_secret_env as the webhook secret",
            provider.as_str()
        )));
    }
    let event = webhook::parse(provider, &lookup, &body)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    match event.kind {
        webhook::EventKind::Push => {}
        webhook::EventKind::Ping => return Ok(acknowledged("ping")),
        webhook::EventKind::Other(name) => {
            return Ok(acknowledged(&format!("{name} events are ignored")));
        }
    }
    let repo = verified
        .into_iter()
        .find(|r| r.identity.as_ref().is_some_and(|key| event.names(key)));
    match repo {
        Some(repo) => {
            if let Some(id) = webhook::delivery_id(provider, &lookup)
                && !state.deliveries.first_time(provider, &id)
            {
                info!(repo = %repo.url.display(), delivery = %id, sender = %addr, "{} delivery {id} for {} was received before; not fetching again", provider.as_str(), repo.url.display());
                return Ok(acknowledged(&format!(
                    "delivery {id} was received before; nothing more to do"
                )));
            }
            Ok(accepted(&state, repo, provider.as_str(), &addr))
        }
        None => Err(ApiError::NotFound(format!(
            "no watched repository is at {}; add it to registry.yaml or fix its url",
            event.clone_urls.join(" or ")
        ))),
    }
}

fn acknowledged(what: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"ok": what}).to_string(),
    )
        .into_response()
}
