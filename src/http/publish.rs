//! The three steps of `dart pub publish` (docs/protocol.md §5): `versions/new` hands out
//! an absolute upload URL and an upload id, the multipart POST stores the archive and
//! redirects to finalize, and finalize validates and publishes.

use super::ApiError;
use super::auth::Auth;
use crate::app::AppState;
use crate::clock::now;
use crate::publish::form::{FormError, FormLimits, read_upload_form};
use crate::publish::{self, Refusal};
use axum::body::{Body, BodyDataStream};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

#[derive(Debug, Deserialize)]
pub struct UploadId {
    upload_id: Option<String>,
}

/// The answer for a publishing failure: refusals by their kind, the rest internal.
pub(super) fn publish_error(e: publish::Error) -> ApiError {
    match e {
        publish::Error::Refused { kind, message } => match kind {
            Refusal::Forbidden => ApiError::Forbidden(message),
            Refusal::NotFound => ApiError::NotFound(message),
            Refusal::TooLarge => ApiError::TooLarge(message),
            // A clash is a 400 too, as pub.dev answers a version that exists: the
            // client shows the message of any 4xx and retries none (docs/protocol.md
            // §3.1, §5.4).
            Refusal::Invalid | Refusal::Conflict => ApiError::BadRequest(message),
        },
        other => ApiError::internal("publish", &other),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, publish::Error> + Send + 'static,
) -> Result<T, ApiError> {
    super::on_blocking_thread("publish", f)
        .await?
        .map_err(publish_error)
}

/// Step 1: `GET api/packages/versions/new`.
pub async fn new_upload(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let member = super::auth::require_member(&state, &caller)?;
    let s = state.clone();
    let id = blocking(move || publish::start(&s.store, &member, now())).await?;
    let url = state
        .config
        .load()
        .base_url
        .join("api/packages/versions/upload");
    Ok((
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"url": url, "fields": {"upload_id": id}}).to_string(),
    )
        .into_response())
}

/// An upload-step error the client displays: GCS-style XML (§5.3); JSON would be
/// silently dropped at this step.
fn xml_error(status: StatusCode, code: &str, message: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    (
        status,
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        format!(
            "<?xml version='1.0' encoding='UTF-8'?><Error><Code>{}</Code><Message>{}</Message></Error>",
            escape(code),
            escape(message)
        ),
    )
        .into_response()
}

/// Step 2: the multipart `POST`. Anything that arrives is stored and checked at
/// finalize, where the client shows the reason; only what prevents storing it is
/// refused here. The body is read as it arrives, within [`FormLimits`]: a body or a field
/// over its bound is refused before the rest of it is read.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let member = super::auth::require_member(&state, &caller)?;
    let limits = FormLimits::for_archive(state.config.load().uploads.max_archive_bytes);
    let too_large = |e: FormError| {
        let (kind, code) = e.kind_and_code();
        let status = match kind {
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ => StatusCode::BAD_REQUEST,
        };
        xml_error(status, code, &e.to_string())
    };
    // The client always sends Content-Length (§5.3): a body announced too large is
    // refused before any of it is read.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut body = body.into_data_stream();
    if announced.is_some_and(|n| n > limits.body()) {
        linger(body, limits);
        return Ok(too_large(FormError::BodyTooLarge {
            limit: limits.body(),
        }));
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let form = match read_upload_form(&mut body, content_type, limits).await {
        Ok(form) => form,
        Err(e) => {
            linger(body, limits);
            return Ok(too_large(e));
        }
    };
    let s = state.clone();
    let data_dir = state.config.load().data_dir.clone();
    let id = form.upload_id;
    let upload_id = id.clone();
    let received = blocking(move || {
        publish::receive(
            &s.store,
            &data_dir,
            (&upload_id, &member),
            &form.archive,
            now(),
        )
    })
    .await;
    match received {
        Ok(()) => {}
        Err(ApiError::BadRequest(m)) | Err(ApiError::NotFound(m)) => {
            return Ok(xml_error(StatusCode::BAD_REQUEST, "InvalidUpload", &m));
        }
        Err(other) => return Err(other),
    }
    // The id was found among this member's uploads, so it is safe to put into a URL.
    let location = state
        .config
        .load()
        .base_url
        .join(&format!("api/packages/versions/finalize?upload_id={id}"));
    Ok((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

/// How long the rest of a refused upload is read after the answer.
const LINGER: std::time::Duration = std::time::Duration::from_secs(30);

/// Reads and drops the rest of a refused body, at most twice the bound of a whole body
/// and for at most [`LINGER`], while the answer goes out: `dart pub` writes its whole
/// body before reading, and a connection closed under it ends in a reset instead of
/// the message. Nothing read here is kept.
fn linger(mut body: BodyDataStream, limits: FormLimits) {
    let most = limits.body().saturating_mul(2);
    tokio::spawn(async move {
        let drain = async {
            let mut read = 0u64;
            while let Some(Ok(chunk)) = body.next().await {
                read += chunk.len() as u64;
                if read > most {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(LINGER, drain).await;
    });
}

/// Step 3: `GET api/packages/versions/finalize?upload_id=…`.
pub async fn finalize(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
    Query(query): Query<UploadId>,
) -> Result<Response, ApiError> {
    let member = super::auth::require_member(&state, &caller)?;
    let Some(id) = query.upload_id else {
        return Err(ApiError::BadRequest(
            "finalize needs ?upload_id=…; run `dart pub publish` again".into(),
        ));
    };
    let s = state.clone();
    let result = blocking(move || {
        let config = s.config.load();
        let index = s.index.load();
        publish::finalize(&config, &s.store, &index, &id, &member, now())
    })
    .await;
    let (message, changed) = result?;
    // Serve the new version at once: the client resolves against the listing next.
    let s = state.clone();
    super::blocking("publish", move || {
        s.refresh_packages(&changed.into_iter().collect::<Vec<_>>())
    })
    .await?;
    Ok((
        [(header::CONTENT_TYPE, super::JSON)],
        json!({"success": {"message": message}}).to_string(),
    )
        .into_response())
}
