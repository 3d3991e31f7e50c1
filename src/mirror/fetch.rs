//! HTTP to the upstream: listings and advisories as JSON, archives as bytes (following
//! the upstream's redirects to its storage). Bounded everywhere: connect and read
//! timeouts, a total timeout on JSON, and a size cap on every body.

use super::stats::{Outcome, Stats};
use crate::config::Upstream;
use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION};
use std::sync::Mutex;
use std::time::Duration;
use tracing::debug;

/// The media type pub asks for on API requests (docs/protocol.md §1.2).
const PUB_ACCEPT: &str = "application/vnd.pub.v2+json";
/// The largest listing or advisories body read (pub.dev's largest listings are a few MiB).
const MAX_JSON_BYTES: u64 = 64 << 20;

/// Why an upstream request gave nothing usable. `detail` is for the log (never holds a
/// credential); `Display` is for people.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    /// 404 or 410.
    #[error("not found")]
    NotFound,
    /// The answer is larger than tagpub accepts: a problem of this answer, not of the
    /// upstream as a whole (no back-off).
    #[error("sent more than the {} MiB tagpub accepts", limit >> 20)]
    TooLarge { limit: u64, detail: String },
    #[error("{summary}")]
    Failed {
        outcome: Outcome,
        /// What a client may read: status or kind of failure, no internals.
        summary: String,
        /// The whole cause, for the log.
        detail: String,
    },
}

impl Failure {
    pub fn outcome(&self) -> Outcome {
        match self {
            Failure::NotFound => Outcome::NotFound,
            Failure::TooLarge { .. } => Outcome::Error,
            Failure::Failed { outcome, .. } => *outcome,
        }
    }
}

/// One HTTP client per timeout setting: `upstream.timeout` may change on reload.
#[derive(Default)]
pub struct Fetcher {
    client: Mutex<Option<(Duration, reqwest::Client)>>,
}

impl Fetcher {
    fn client(&self, timeout: Duration) -> Result<reqwest::Client, Failure> {
        let mut slot = self.client.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, client)) = slot.as_ref()
            && *t == timeout
        {
            return Ok(client.clone());
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("tagpub/", env!("CARGO_PKG_VERSION"), " (mirror)"))
            .connect_timeout(timeout)
            .read_timeout(timeout)
            // Archives live behind redirects on pub.dev (api/archives/… to storage);
            // reqwest drops Authorization when a redirect leaves the origin.
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| Failure::Failed {
                outcome: Outcome::Error,
                summary: "tagpub cannot set up its HTTP client".into(),
                detail: crate::report::chain(&e),
            })?;
        *slot = Some((timeout, client.clone()));
        Ok(client)
    }

    /// `GET <upstream>api/packages/<name>` or `…/advisories`: the body of a 2xx answer.
    pub async fn json(
        &self,
        upstream: &Upstream,
        relative: &str,
        stats: &Stats,
    ) -> Result<Bytes, Failure> {
        let url = upstream.url.join(relative);
        let client = self.client(upstream.timeout)?;
        let request = with_token(client.get(&url), upstream, &url)
            .header(ACCEPT, PUB_ACCEPT)
            .timeout(upstream.timeout);
        let answer = get(request, &url, MAX_JSON_BYTES, stats).await;
        record(stats, &answer);
        answer
    }

    /// `GET <archive_url>` as the upstream listed it, following redirects, at most
    /// `limit` bytes. No total timeout: a large archive may take long, but never a
    /// silent `timeout`.
    pub async fn archive(
        &self,
        upstream: &Upstream,
        url: &str,
        limit: u64,
        stats: &Stats,
    ) -> Result<Bytes, Failure> {
        let client = self.client(upstream.timeout)?;
        let request = with_token(client.get(url), upstream, url);
        let answer = get(request, url, limit, stats).await;
        // A mismatch is counted by the caller, which checks the bytes.
        if answer.is_err() {
            record(stats, &answer);
        }
        answer
    }
}

fn record(stats: &Stats, answer: &Result<Bytes, Failure>) {
    match answer {
        Ok(_) => stats.request(Outcome::Ok),
        Err(f) => {
            stats.request(f.outcome());
            if let Failure::Failed { detail, .. } | Failure::TooLarge { detail, .. } = f {
                stats.error(detail.clone());
            }
        }
    }
}

/// Attaches the upstream's token by pub's own prefix rule (docs/protocol.md §2.3): only
/// to URLs under the upstream's hosted-url, never to another host an archive URL names.
fn with_token(
    request: reqwest::RequestBuilder,
    upstream: &Upstream,
    url: &str,
) -> reqwest::RequestBuilder {
    let Some(var) = &upstream.token_env else {
        return request;
    };
    if !url
        .to_ascii_lowercase()
        .starts_with(&upstream.url.as_str().to_ascii_lowercase())
    {
        return request;
    }
    match std::env::var(var) {
        Ok(token) if !token.is_empty() => request.header(AUTHORIZATION, format!("Bearer {token}")),
        _ => {
            // Reported at start-up and by `tagpub check` (Config::environment_problems).
            debug!(var = %var, "upstream.token_env names {var}, which is not set; asking the upstream without a token");
            request
        }
    }
}

async fn get(
    request: reqwest::RequestBuilder,
    url: &str,
    limit: u64,
    stats: &Stats,
) -> Result<Bytes, Failure> {
    // Storage URLs may be signed: their query is a credential, kept out of the log.
    let shown = url.split_once('?').map_or(url, |(path, _)| path);
    let failed = |outcome, summary: String, detail: String| Failure::Failed {
        outcome,
        summary,
        detail: format!("GET {shown}: {detail}"),
    };
    let transport = |e: reqwest::Error| {
        let e = e.without_url();
        if e.is_timeout() {
            failed(
                Outcome::Timeout,
                "did not answer in time".into(),
                crate::report::chain(&e),
            )
        } else {
            failed(
                Outcome::Error,
                "could not be reached".into(),
                crate::report::chain(&e),
            )
        }
    };
    let mut response = request.send().await.map_err(transport)?;
    let status = response.status();
    match status {
        s if s.is_success() => {}
        StatusCode::NOT_FOUND | StatusCode::GONE => return Err(Failure::NotFound),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            return Err(failed(
                Outcome::Refused,
                format!(
                    "refused tagpub's request ({status}); an admin must check upstream.token_env"
                ),
                format!("answered {status}"),
            ));
        }
        _ => {
            return Err(failed(
                Outcome::Error,
                format!("answered {status}"),
                format!("answered {status}"),
            ));
        }
    }
    let too_large = |what: &str| Failure::TooLarge {
        limit,
        detail: format!("GET {shown}: {what} is over the limit of {limit} bytes"),
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large("Content-Length"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        stats.fetched(chunk.len());
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large("the body"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}
