//! `ApiError`: every failure a handler can answer, mapped to a status and pub's
//! `{"error":{"code","message"}}` body (docs/protocol.md §3.2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub enum ApiError {
    NotFound(String),
    BadRequest(String),
    /// 401 with a `WWW-Authenticate` challenge carrying `message` (§2.5).
    Unauthenticated(String),
    Forbidden(String),
    /// 413: the request body is larger than the endpoint accepts.
    TooLarge(String),
    /// Something broke on our side while trying to do `doing`. The client learns only
    /// that; `cause`, the whole chain of errors, goes to the log once, when the answer
    /// is sent (`None` when it was logged where it was found).
    Internal {
        doing: String,
        cause: Option<String>,
    },
    /// 502: the upstream of the mirror failed or answered something unusable.
    BadGateway(String),
    /// 504: the upstream of the mirror did not answer in time.
    GatewayTimeout(String),
}

impl ApiError {
    /// A failure of ours to `doing` because of `error`, which is logged with its causes
    /// when the answer goes out.
    pub fn internal(doing: &str, error: &dyn std::error::Error) -> ApiError {
        ApiError::Internal {
            doing: doing.to_string(),
            cause: Some(crate::report::chain(error)),
        }
    }
}

/// Makes a message safe for a `WWW-Authenticate` quoted string and a terminal: printable
/// ASCII, no `"` or `\`, collapsed whitespace, at most 1024 characters (§2.5).
pub fn challenge_message(message: &str) -> String {
    let cleaned: String = message
        .chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            c if (' '..='~').contains(&c) => c,
            _ => ' ',
        })
        .collect();
    let collapsed = cleaned.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.chars().take(1024).collect()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = match self {
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, "NotFound", m),
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "InvalidInput", m),
            ApiError::Unauthenticated(m) => (StatusCode::UNAUTHORIZED, "MissingAuthentication", m),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "InsufficientPermissions", m),
            ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge", m),
            ApiError::BadGateway(m) => (StatusCode::BAD_GATEWAY, "UpstreamFailed", m),
            ApiError::GatewayTimeout(m) => (StatusCode::GATEWAY_TIMEOUT, "UpstreamTimeout", m),
            ApiError::Internal { doing, cause } => {
                if let Some(cause) = cause {
                    tracing::error!(error = %cause, "failed to {doing}: {cause}");
                }
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "InternalError",
                    format!("the registry failed to {doing}; the error is in its log"),
                )
            }
        };
        let body = json!({"error": {"code": code, "message": message}}).to_string();
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(super::JSON));
        // The client shows the message of a 401 or 403 only from this header (§2.5).
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            let value = format!(
                "Bearer realm=\"pub\", message=\"{}\"",
                challenge_message(&message)
            );
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(header::WWW_AUTHENTICATE, v);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_internal_error_keeps_its_causes_for_the_log_not_the_client() {
        let e = crate::store::Error::Query {
            doing: "reading tokens",
            source: Box::new(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
                Some("disk I/O error".into()),
            )),
        };
        let error = ApiError::internal("check a token", &e);
        let ApiError::Internal { doing, cause } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(doing, "check a token");
        let cause = cause.as_deref().unwrap_or_default();
        assert!(
            cause.starts_with("catalog query failed while reading tokens: disk I/O error"),
            "{cause}"
        );
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8_lossy(&body);
        assert!(body.contains("failed to check a token"), "{body}");
        assert!(
            !body.contains("disk"),
            "the cause reached the client: {body}"
        );
    }

    #[test]
    fn challenge_messages_are_clean() {
        let m = challenge_message("run \"dart pub token add\"\n\tnow – é\\x");
        assert_eq!(
            m,
            "run 'dart pub token add' now   /x"
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        );
        assert_eq!(challenge_message(&"a".repeat(2000)).len(), 1024);
    }
}
