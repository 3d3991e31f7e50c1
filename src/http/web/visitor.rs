//! Who is looking at a page: the session cookie turned into a [`Visitor`], checking the
//! session's token at every request (`http::auth::verify_id`, the path every token takes),
//! so that revoking it, its expiry or its member's removal ends the session at once.

use super::super::auth::{Refusal, verify_id};
use crate::app::AppState;
use crate::auth::Caller;
use crate::web::{Visitor, session};
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::convert::Infallible;
use std::sync::Arc;
use tracing::warn;

/// A [`Visitor`] with what the response must do about the session cookie.
pub struct Seen {
    pub visitor: Visitor,
    /// The stored hash of the session id, when a session is open.
    pub session: Option<String>,
    /// The cookie named a session that is over: remove it.
    pub clear_cookie: bool,
}

impl Seen {
    fn anonymous() -> Seen {
        Seen {
            visitor: Visitor::default(),
            session: None,
            clear_cookie: false,
        }
    }

    /// A visitor whose session just ended, told why on the page.
    fn ended(notice: &str) -> Seen {
        Seen {
            visitor: Visitor {
                notice: Some(notice.to_string()),
                ..Visitor::default()
            },
            session: None,
            clear_cookie: true,
        }
    }
}

/// The session id in the request's cookies, if one is well-formed.
pub fn session_id(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| session::cookie_value(h, session::SESSION_COOKIE))
        .map(str::to_string)
}

impl FromRequestParts<Arc<AppState>> for Seen {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Seen, Infallible> {
        let Some(id) = session_id(parts) else {
            return Ok(Seen::anonymous());
        };
        let hash = session::hash(&id);
        let store = state.store.clone();
        let lookup = hash.clone();
        let found = tokio::task::spawn_blocking(move || store.sessions.session(&lookup)).await;
        let record = match found {
            Ok(Ok(record)) => record,
            Ok(Err(e)) => {
                warn!(error = %crate::report::chain(&e), "cannot look up a web session; answering as anonymous: {}", crate::report::chain(&e));
                return Ok(Seen::anonymous());
            }
            Err(e) => {
                warn!(error = %e, "looking up a web session failed: {e}");
                return Ok(Seen::anonymous());
            }
        };
        let now = crate::app::now();
        let Some(record) = record.filter(|r| r.expires > now) else {
            return Ok(Seen::ended(
                "Your session has ended. Sign in again to see what your token may read.",
            ));
        };
        match verify_id(state, &record.token_id).await {
            Ok(Ok(token)) => Ok(Seen {
                visitor: Visitor {
                    caller: Caller {
                        member: Some(token.member),
                        token_id: Some(token.id),
                    },
                    csrf: Some(session::csrf_token(&id)),
                    notice: None,
                },
                session: Some(hash),
                clear_cookie: false,
            }),
            Ok(Err(refusal)) => {
                let store = state.store.clone();
                let removed =
                    tokio::task::spawn_blocking(move || store.sessions.remove_session(&hash)).await;
                if let Ok(Err(e)) = removed {
                    warn!(error = %crate::report::chain(&e), "cannot remove an ended web session: {}", crate::report::chain(&e));
                }
                Ok(Seen::ended(match refusal {
                    Refusal::Revoked => {
                        "You were signed out: the token this browser signed in with was revoked."
                    }
                    Refusal::Expired => {
                        "You were signed out: the token this browser signed in with has expired."
                    }
                    Refusal::NotMember => {
                        "You were signed out: your member was removed from the registry."
                    }
                    Refusal::Unknown => {
                        "You were signed out: the token this browser signed in with no longer exists."
                    }
                }))
            }
            // Logged by `verify_id`; the page is still served, to an anonymous visitor.
            Err(_) => Ok(Seen::anonymous()),
        }
    }
}
