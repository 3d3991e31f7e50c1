//! Background loops of the daemon: polling repositories and flushing token uses.

use super::{AppState, TOKEN_USE_FLUSH};
use crate::release::RepoReport;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::{error, info};

/// Starts a poll loop for every configured repository that has none (at start-up and
/// after a config reload adds repositories).
pub fn start_missing_loops(state: &Arc<AppState>, stop: &watch::Receiver<bool>) {
    let config = state.config.load();
    let mut polling = state.polling.lock().unwrap_or_else(|p| p.into_inner());
    for repo in &config.repositories {
        if polling.insert(repo.key.clone()) {
            tokio::spawn(poll_loop(state.clone(), repo.key.clone(), stop.clone()));
        }
    }
}

/// Syncs one repository on its `poll_interval`, reading its settings from the current
/// config each time; ends when the repository leaves the config or the server stops.
async fn poll_loop(state: Arc<AppState>, key: String, mut stop: watch::Receiver<bool>) {
    loop {
        let Some(repo) = state.config.load().repository(&key).cloned() else {
            info!(repo = %key, "{key} left the config; no longer polling it");
            state
                .polling
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&key);
            return;
        };
        match state.sync_repository(repo.clone()).await {
            Ok(report) => log_report(&report),
            Err(e) => {
                error!(repo = %repo.url.display(), error = %e, "sync of {} failed: the store is not usable: {e}", repo.url.display())
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(repo.poll_interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Writes batched token uses every [`TOKEN_USE_FLUSH`].
pub async fn flush_loop(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TOKEN_USE_FLUSH) => {}
            _ = stop.changed() => return,
        }
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.flush_token_uses()).await {
            Ok(Err(e)) => error!(error = %e, "cannot record token use: {e}"),
            Err(e) => error!(error = %e, "recording token use panicked"),
            Ok(Ok(())) => {}
        }
    }
}

fn log_report(report: &RepoReport) {
    if !report.new_versions.is_empty() {
        info!(
            repo = %report.repo,
            new_versions = report.new_versions.len(),
            rejected = report.rejected.len(),
            "synced {}: {} new version(s)",
            report.repo,
            report.new_versions.len()
        );
    }
}
