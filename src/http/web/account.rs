//! Signing in and out, the tokens page and the admin page.

use super::super::ApiError;
use super::super::auth::verify;
use super::visitor::Seen;
use super::{blocking, error_page, forms, page, see_other, visitor_of};
use crate::app::AppState;
use crate::store::SessionRecord;
use crate::web::pages::LoginPage;
use crate::web::{Error, Layout, admin, session, tokens};
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use tracing::info;

#[derive(Debug, Default, Deserialize)]
pub struct Next {
    next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    next: Option<String>,
}

/// The sign-in page, with a fresh form token in a cookie and in the form.
fn login_page(
    state: &AppState,
    seen: &Seen,
    status: StatusCode,
    next: &str,
    error: Option<String>,
) -> Response {
    let config = state.config.load();
    let form_token = match session::random_id() {
        Ok(t) => t,
        Err(e) => {
            tracing::error!(error = %e, "the random number generator failed: {e}");
            return error_page(
                state,
                seen,
                Error::BadRequest("The registry cannot sign anyone in right now.".into()),
            );
        }
    };
    let here = format!("{}login", config.base_url.path());
    let template = LoginPage {
        layout: Layout::new(&config, &seen.visitor, "Sign in".into(), &here),
        form_token: form_token.clone(),
        next: next.to_string(),
        error,
    };
    let mut response = page(state, seen, status, &template);
    forms::set_login_cookie(state, &mut response, &form_token);
    response
}

/// `GET login`.
pub async fn login_form(
    State(state): State<Arc<AppState>>,
    seen: Seen,
    Query(next): Query<Next>,
) -> Response {
    let next = forms::safe_next(&state.config.load(), next.next.as_deref());
    if seen.visitor.member().is_some() {
        return see_other(&next);
    }
    login_page(&state, &seen, StatusCode::OK, &next, None)
}

/// `POST login`: checks the pasted token as every request's token is checked, and opens
/// a session holding its id (never the token).
pub async fn login(
    State(state): State<Arc<AppState>>,
    seen: Seen,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let config = state.config.load();
    let next = forms::safe_next(&config, form.next.as_deref());
    if let Err(why) = forms::check_origin(&config, &headers) {
        return login_page(&state, &seen, StatusCode::FORBIDDEN, &next, Some(why));
    }
    let cookie = forms::login_cookie(&headers).unwrap_or_default();
    if !session::same_secret(&form.csrf, &cookie) {
        let why =
            "The sign-in form expired or was not sent from this registry; paste the token again.";
        return login_page(
            &state,
            &seen,
            StatusCode::FORBIDDEN,
            &next,
            Some(why.into()),
        );
    }
    let record = match verify(&state, form.token.trim()).await {
        Ok(record) => record,
        Err(ApiError::Unauthenticated(why)) => {
            return login_page(&state, &seen, StatusCode::UNAUTHORIZED, &next, Some(why));
        }
        Err(_) => {
            return error_page(
                &state,
                &seen,
                Error::BadRequest("The registry could not check the token; try again.".into()),
            );
        }
    };
    let Ok(id) = session::random_id() else {
        return error_page(
            &state,
            &seen,
            Error::BadRequest("The registry cannot sign anyone in right now.".into()),
        );
    };
    let now = crate::app::now();
    let expires = (now + session::LIFETIME_SECONDS).min(record.expires.unwrap_or(i64::MAX));
    let stored = SessionRecord {
        id_hash: session::hash(&id),
        token_id: record.id.clone(),
        created: now,
        expires,
    };
    let s = state.clone();
    let saved = blocking(move || {
        s.store
            .sessions
            .insert_session(&stored)
            .map_err(Error::store("open a session"))
    })
    .await;
    if let Err(e) = saved {
        return error_page(&state, &seen, e);
    }
    info!(member = %record.member, token_id = %record.id, "{} signed in to the web UI with token {}", record.member, record.id);
    let mut response = see_other(&next);
    forms::set_session_cookie(&state, &mut response, &id, expires - now);
    forms::clear_login_cookie(&state, &mut response);
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST logout`: ends this browser's session (the token stays valid).
pub async fn logout(
    State(state): State<Arc<AppState>>,
    seen: Seen,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let config = state.config.load();
    if let Err(why) = forms::check_form(&config, &headers, &seen.visitor, &form.csrf) {
        return error_page(&state, &seen, Error::Forbidden(why));
    }
    if let Some(hash) = seen.session.clone() {
        let s = state.clone();
        let removed = blocking(move || {
            s.store
                .sessions
                .remove_session(&hash)
                .map_err(Error::store("end a session"))
        })
        .await;
        if let Err(e) = removed {
            return error_page(&state, &seen, e);
        }
    }
    let mut response = see_other(config.base_url.path());
    forms::clear_session_cookie(&state, &mut response);
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct MemberQuery {
    member: Option<String>,
}

/// Sends an anonymous visitor to the sign-in page and back to `here`.
fn sign_in_first(state: &AppState, seen: &Seen, here: &str) -> Response {
    let config = state.config.load();
    let layout = Layout::new(&config, &seen.visitor, String::new(), here);
    let mut response = see_other(&layout.sign_in_link());
    if seen.clear_cookie {
        forms::clear_session_cookie(state, &mut response);
    }
    response
}

/// `GET tokens`.
pub async fn tokens(
    State(state): State<Arc<AppState>>,
    seen: Seen,
    Query(query): Query<MemberQuery>,
) -> Response {
    let visitor = visitor_of(&seen);
    let s = state.clone();
    let built =
        blocking(move || tokens::tokens_page(&s, &visitor, query.member.as_deref(), None, None))
            .await;
    match built {
        Ok(p) => page(&state, &seen, StatusCode::OK, &p),
        Err(Error::SignIn(_)) => {
            sign_in_first(&state, &seen, &format!("{}tokens", state.base_path()))
        }
        Err(e) => error_page(&state, &seen, e),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TokensForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    member: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in: String,
    #[serde(default)]
    id: String,
}

/// `POST tokens`: create, revoke, or revoke all ("sign out everywhere").
pub async fn tokens_action(
    State(state): State<Arc<AppState>>,
    seen: Seen,
    headers: HeaderMap,
    Form(form): Form<TokensForm>,
) -> Response {
    let config = state.config.load();
    if let Err(why) = forms::check_form(&config, &headers, &seen.visitor, &form.csrf) {
        return error_page(&state, &seen, Error::Forbidden(why));
    }
    let Some(actor) = seen.visitor.member().map(str::to_string) else {
        return sign_in_first(&state, &seen, &format!("{}tokens", state.base_path()));
    };
    let own_token = seen.visitor.caller.token_id.clone().unwrap_or_default();
    let visitor = visitor_of(&seen);
    let s = state.clone();
    let done = blocking(move || {
        let member = form.member.trim();
        let member = (!member.is_empty()).then_some(member);
        let (created, message, signed_out) = match form.action.as_str() {
            "create" => {
                if form.name.trim().is_empty() || form.name.chars().count() > 100 {
                    return Err(Error::BadRequest(
                        "Give the token a name of at most 100 characters, such as laptop or ci-mobile.".into(),
                    ));
                }
                let target = member.unwrap_or(&actor);
                let created =
                    tokens::create(&s, &actor, target, &form.name, &form.expires_in)?;
                (Some(created), None, false)
            }
            "revoke" => {
                tokens::revoke(&s, &actor, form.id.trim())?;
                let message = format!("Token {} was revoked.", form.id.trim());
                (None, Some(message), form.id.trim() == own_token)
            }
            "revoke_all" => {
                let target = member.unwrap_or(&actor);
                let count = tokens::revoke_all(&s, &actor, target)?;
                let message = format!("{count} tokens of {target} were revoked.");
                let mine = crate::config::Email::new(target) == actor.as_str();
                (None, Some(message), mine)
            }
            other => {
                return Err(Error::BadRequest(format!(
                    "`{other}` is not something the tokens page does"
                )));
            }
        };
        if signed_out {
            return Ok(None);
        }
        tokens::tokens_page(&s, &visitor, member, created, message).map(Some)
    })
    .await;
    match done {
        Ok(Some(p)) => {
            let mut response = page(&state, &seen, StatusCode::OK, &p);
            // The page may show a token's secret: never store it anywhere.
            response.headers_mut().insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        // The visitor revoked the token of their own session: they are signed out.
        Ok(None) => {
            let mut response = see_other(&format!("{}login", state.base_path()));
            forms::clear_session_cookie(&state, &mut response);
            response
        }
        Err(e) => error_page(&state, &seen, e),
    }
}

/// `GET admin`.
pub async fn admin(State(state): State<Arc<AppState>>, seen: Seen) -> Response {
    let visitor = visitor_of(&seen);
    let s = state.clone();
    match blocking(move || admin::admin_page(&s, &visitor)).await {
        Ok(p) => page(&state, &seen, StatusCode::OK, &p),
        Err(Error::SignIn(_)) => {
            sign_in_first(&state, &seen, &format!("{}admin", state.base_path()))
        }
        Err(e) => error_page(&state, &seen, e),
    }
}
