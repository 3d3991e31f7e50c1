//! `/tokens`: a member's tokens in a browser, and those of the members they may manage
//! (`auth::policy::may_manage_tokens`, the rule the API and the command line follow):
//! list (never secrets), create (the secret shown once, with the `dart pub token add`
//! commands), revoke one, revoke all ("sign out everywhere").

use super::{Error, Layout, Visitor};
use crate::app::AppState;
use crate::auth::policy::{self, TokenManager};
use crate::auth::token;
use crate::clock::{now, parse_lifetime};
use crate::config::Email;
use crate::store::{TokenRecord, UploadedPackage};
use askama::Template;
use tracing::info;

/// The environment variable the CI command reads the token from.
pub const ENV_VAR: &str = "TAGPUB_TOKEN";

/// Lifetimes offered by the form, as `(value, label)`; `""` never expires.
pub const LIFETIMES: [(&str, &str); 5] = [
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("365d", "1 year"),
    ("7d", "7 days"),
    ("", "never"),
];

#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    /// `active`, `revoked` or `expired`.
    pub status: &'static str,
}

/// A token just created: the one moment its secret is shown.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub name: String,
    pub member: String,
    pub secret: String,
    pub add_command: String,
    pub env_command: String,
}

#[derive(Template)]
#[template(path = "tokens.html")]
pub struct TokensPage {
    pub layout: Layout,
    /// Whose tokens are shown.
    pub member: String,
    /// The members whose tokens the visitor may manage (themself first).
    pub choices: Vec<String>,
    pub active: Vec<TokenRow>,
    pub inactive: Vec<TokenRow>,
    pub created: Option<Created>,
    pub message: Option<String>,
    pub lifetimes: &'static [(&'static str, &'static str)],
    pub env_var: &'static str,
}

impl TokensPage {
    /// Whether the tokens shown are the visitor's own.
    pub fn own(&self) -> bool {
        self.layout.member.as_deref() == Some(self.member.as_str())
    }
}

fn uploaded(state: &AppState) -> Result<Vec<UploadedPackage>, Error> {
    state
        .store
        .publishing
        .packages()
        .map_err(Error::store("check who may manage tokens"))
}

/// The signed-in member, or the error that sends the visitor to sign in.
pub fn signed_in(visitor: &Visitor) -> Result<&str, Error> {
    visitor
        .member()
        .ok_or_else(|| Error::SignIn("Sign in to manage tokens.".into()))
}

/// `Ok` when `actor` may manage `target`'s tokens, else the 403 saying why.
fn may_manage(
    state: &AppState,
    uploaded: &[UploadedPackage],
    actor: &str,
    target: &Email,
) -> Result<(), Error> {
    policy::may_manage_tokens(
        &state.config.load(),
        uploaded,
        TokenManager::Member(actor),
        target,
    )
    .map_err(Error::Forbidden)
}

fn row(t: &TokenRecord, now: i64) -> TokenRow {
    let never = || "never".to_string();
    TokenRow {
        id: t.id.clone(),
        name: t.name.clone(),
        created: super::date_time(t.created),
        last_used: t.last_used.map_or_else(never, super::date_time),
        expires: t.expires.map_or_else(never, super::date_time),
        status: if t.revoked.is_some() {
            "revoked"
        } else if t.expires.is_some_and(|e| e <= now) {
            "expired"
        } else {
            "active"
        },
    }
}

/// The page for `target`'s tokens (the visitor's own when `None`).
pub fn tokens_page(
    state: &AppState,
    visitor: &Visitor,
    target: Option<&str>,
    created: Option<Created>,
    message: Option<String>,
) -> Result<TokensPage, Error> {
    let actor = signed_in(visitor)?;
    let config = state.config.load();
    let uploaded = uploaded(state)?;
    let member = Email::new(target.unwrap_or(actor));
    may_manage(state, &uploaded, actor, &member)?;
    let mut choices = vec![actor.to_string()];
    choices.extend(
        config
            .members
            .iter()
            .map(|m| m.email.clone())
            .filter(|m| m != actor)
            .filter(|m| {
                policy::may_manage_tokens(&config, &uploaded, TokenManager::Member(actor), m)
                    .is_ok()
            })
            .map(|m| m.to_string()),
    );
    let now = now();
    let (active, inactive): (Vec<TokenRow>, Vec<TokenRow>) = state
        .store
        .tokens
        .tokens(Some(&member))
        .map_err(Error::store("list tokens"))?
        .iter()
        .rev()
        .map(|t| row(t, now))
        .partition(|r| r.status == "active");
    let here = format!(
        "{}tokens?member={}",
        config.base_url.path(),
        super::query_value(&member)
    );
    Ok(TokensPage {
        layout: Layout::new(&config, visitor, "Tokens".into(), &here),
        member: member.to_string(),
        choices,
        active,
        inactive,
        created,
        message,
        lifetimes: &LIFETIMES,
        env_var: ENV_VAR,
    })
}

/// Creates a token for `member` named `name`, expiring after `expires_in` (`""`: never).
pub fn create(
    state: &AppState,
    actor: &str,
    member: &str,
    name: &str,
    expires_in: &str,
) -> Result<Created, Error> {
    let config = state.config.load();
    let member = Email::new(member);
    if !policy::is_member(&config, &member) {
        return Err(Error::BadRequest(format!(
            "{member} is not a member; add it under members in registry.yaml first"
        )));
    }
    may_manage(state, &uploaded(state)?, actor, &member)?;
    let now = now();
    let expires = match expires_in.trim() {
        "" => None,
        text => Some(now.saturating_add(
            parse_lifetime(text).map_err(|e| Error::BadRequest(format!("Expiry: {e}")))?,
        )),
    };
    let name = name.trim();
    let issued =
        token::issue(&state.store, &member, name, expires, now).map_err(|source| Error::Token {
            doing: "issue a token",
            source,
        })?;
    info!(actor = %actor, member = %member, token_id = %issued.record.id, "{actor} issued token {} for {member} in the web UI", issued.record.id);
    let base = config.base_url.as_str();
    Ok(Created {
        id: issued.record.id.clone(),
        name: name.to_string(),
        member: member.to_string(),
        secret: issued.secret.expose().to_string(),
        add_command: format!("dart pub token add {base}"),
        env_command: format!("dart pub token add {base} --env-var {ENV_VAR}"),
    })
}

/// Revokes token `id` if `actor` may manage its member's tokens; returns that member.
/// A token they may not manage is answered as unknown, as the API does.
pub fn revoke(state: &AppState, actor: &str, id: &str) -> Result<String, Error> {
    let record = state
        .store
        .tokens
        .token_by_id(id)
        .map_err(Error::store("find a token"))?;
    let uploaded = uploaded(state)?;
    let Some(record) =
        record.filter(|r| may_manage(state, &uploaded, actor, &Email::new(&r.member)).is_ok())
    else {
        return Err(Error::NotFound(format!(
            "no token with the id {id} is yours to revoke"
        )));
    };
    state
        .store
        .tokens
        .revoke_token(id, now())
        .map_err(Error::store("revoke a token"))?;
    state.tokens.clear();
    info!(actor = %actor, member = %record.member, token_id = %id, "{actor} revoked token {id} of {} in the web UI", record.member);
    Ok(record.member)
}

/// Revokes every token of `member` ("sign out everywhere"); returns how many.
pub fn revoke_all(state: &AppState, actor: &str, member: &str) -> Result<usize, Error> {
    let member = Email::new(member);
    may_manage(state, &uploaded(state)?, actor, &member)?;
    let ids = state
        .store
        .tokens
        .revoke_member(&member, now())
        .map_err(Error::store("revoke tokens"))?;
    state.tokens.clear();
    info!(actor = %actor, member = %member, count = ids.len(), "{actor} revoked every token of {member} in the web UI: {}", ids.join(", "));
    Ok(ids.len())
}
