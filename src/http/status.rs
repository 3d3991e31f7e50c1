//! `GET api/status` (admins only): per repository, the last fetch and its result, the
//! last push notification, and per package what is served and which tags are rejected
//! and why. `GET metrics`: Prometheus text, for admins, the scraper token that
//! `metrics.token_env` names, or anyone when `metrics.public` is set.

use super::ApiError;
use super::auth::Auth;
use crate::app::AppState;
use crate::auth::policy;
use crate::clock::rfc3339;
use crate::store::TagOutcome;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use subtle::ConstantTimeEq;
use tracing::warn;

pub async fn status(
    State(state): State<Arc<AppState>>,
    Auth(caller): Auth,
) -> Result<Response, ApiError> {
    let config = state.config.load();
    let member = super::auth::require_member(&state, &caller)?;
    if !policy::is_admin(&config, &member) {
        return Err(ApiError::Forbidden(format!(
            "{member} is not an admin; only admins see api/status"
        )));
    }
    // What is served, and from which tag, is in the index and the catalog: the tracker
    // keeps only counts and the latest rejections of each pass (app/status.rs).
    let store = state.store.clone();
    let keys: Vec<String> = config.repositories.iter().map(|r| r.key.clone()).collect();
    let records = super::blocking("read the tags of the repositories", move || {
        keys.iter()
            .map(|key| store.catalog.tag_records(key))
            .collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let index = state.index.load();
    let repositories: Vec<Value> = config
        .repositories
        .iter()
        .zip(records)
        .map(|(repo, records)| {
            let s = state.tracker.status(&repo.key);
            let mut packages: BTreeMap<String, (Vec<Value>, Vec<Value>, usize)> =
                BTreeMap::new();
            let mut warnings = (Vec::new(), 0);
            if let Some(report) = s.last_report {
                for r in records {
                    let TagOutcome::Served { version } = &r.outcome else {
                        continue;
                    };
                    let served_here = index.package(&r.package).is_some_and(|p| {
                        p.repo.as_deref() == Some(repo.key.as_str())
                            && p.version(version).is_some()
                    });
                    if served_here {
                        packages
                            .entry(r.package)
                            .or_default()
                            .0
                            .push(json!({"version": version, "tag": r.tag}));
                    }
                }
                for (package, (kept, count)) in report.rejected {
                    let entry = packages.entry(package).or_default();
                    entry.1 = kept
                        .iter()
                        .map(|p| json!({"tag": p.tag, "reason": p.reason}))
                        .collect();
                    entry.2 = count;
                }
                warnings = report.warnings;
            }
            let packages: Map<String, Value> = packages
                .into_iter()
                .map(|(name, (served, rejected, rejected_count))| {
                    (
                        name,
                        json!({"served": served, "rejected": rejected, "rejected_count": rejected_count}),
                    )
                })
                .collect();
            json!({
                "url": repo.url.display(),
                "last_fetch": s.last_fetch.map(rfc3339),
                "last_fetch_ms": s.last_fetch_ms,
                "last_fetch_ok": s.last_fetch.map(|_| s.last_error.is_none()),
                "last_error": s.last_error,
                "last_webhook": s.last_webhook.map(rfc3339),
                "packages": packages,
                "warnings": warnings.0,
                "warnings_count": warnings.1,
            })
        })
        .collect();
    // Names held by a repository that does not serve them (release/claim.rs).
    let store = state.store.clone();
    let conflicts = super::blocking("list package name conflicts", move || {
        store.catalog.conflicts()
    })
    .await?;
    let conflicts: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            let (served_from, also_in) = crate::app::status::conflict_sources(&config, c);
            json!({
                "package": c.package,
                "served_from": served_from,
                "also_in": also_in,
                "hidden_versions": c.hidden,
            })
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, super::JSON),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        json!({
            // Which replica syncs repositories (docs/operations.md "Several replicas").
            "role": state.store.leader.role(),
            "repositories": repositories,
            "conflicts": conflicts,
            "mirror": config.upstream.as_ref().map(|u| json!({
                "upstream": u.url.as_str(),
                "listing_ttl_seconds": u.listing_ttl.as_secs(),
                "counters": state.mirror.stats.snapshot(),
            })),
        })
        .to_string(),
    )
        .into_response())
}

pub async fn metrics(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    auth: Result<Auth, ApiError>,
) -> Result<Response, ApiError> {
    let config = state.config.load();
    if !config.metrics.public && !is_scraper(&config.metrics, &headers) {
        // Not the scraper's token: then it has to be a member's, and an admin's.
        let Auth(caller) = auth?;
        let member = super::auth::require_member(&state, &caller)?;
        if !policy::is_admin(&config, &member) {
            return Err(ApiError::Forbidden(format!(
                "{member} is not an admin; metrics are for admins and for the scraper token named by metrics.token_env in registry.yaml"
            )));
        }
    }
    let labels: BTreeMap<String, String> = config
        .repositories
        .iter()
        .map(|r| (r.key.clone(), r.url.display()))
        .collect();
    let mut body = state.tracker.render(&labels, state.index.load().len());
    if config.upstream.is_some() {
        state.mirror.stats.render(&mut body);
    }
    body.push_str(&format!(
        "# HELP tagpub_index_reloads_total Rebuilds of the served index after another writer changed the catalog.\n# TYPE tagpub_index_reloads_total counter\ntagpub_index_reloads_total {}\n",
        state.index_reloads()
    ));
    heap_metrics(&mut body);
    let leader = u8::from(state.store.leader.role() != "follower");
    body.push_str(&format!(
        "# HELP tagpub_leader 1 when this replica syncs repositories (always with one replica), 0 for a follower.\n# TYPE tagpub_leader gauge\ntagpub_leader {leader}\n"
    ));
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body,
    )
        .into_response())
}

/// Whether the request carries `Authorization: Bearer <the value of metrics.token_env>`.
fn is_scraper(metrics: &crate::config::Metrics, headers: &HeaderMap) -> bool {
    let Some(var) = &metrics.token_env else {
        return false;
    };
    let Some(presented) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
    else {
        return false;
    };
    match std::env::var(var) {
        Ok(expected) if !expected.is_empty() => {
            bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
        }
        _ => {
            warn!(var = %var, "metrics.token_env names {var}, which is not set; only admins can read metrics");
            false
        }
    }
}

/// jemalloc's own counts, when it is the allocator (the `tagpub` binary): what the
/// program holds, and what the allocator keeps resident for it. Resident growing while
/// allocated stays flat is memory kept back, not data; both growing is data.
fn heap_metrics(body: &mut String) {
    use tikv_jemalloc_ctl::{epoch, stats};
    let counts =
        epoch::advance().and_then(|_| Ok((stats::allocated::read()?, stats::resident::read()?)));
    if let Ok((allocated, resident)) = counts
        && allocated > 0
    {
        body.push_str(&format!(
            "# HELP tagpub_heap_allocated_bytes Bytes the daemon holds in allocations (jemalloc).\n# TYPE tagpub_heap_allocated_bytes gauge\ntagpub_heap_allocated_bytes {allocated}\n# HELP tagpub_heap_resident_bytes Bytes of memory jemalloc keeps resident, allocations and its own overhead and kept-back pages included.\n# TYPE tagpub_heap_resident_bytes gauge\ntagpub_heap_resident_bytes {resident}\n"
        ));
    }
}
