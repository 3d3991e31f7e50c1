//! Background loops of the daemon: polling repositories and flushing token uses.

use super::schedule::settle;
use super::{AppState, TOKEN_USE_FLUSH};
use crate::config::{RepoUrl, Repository};
use crate::release::RepoReport;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

/// Starts a poll loop for every configured repository that has none (at start-up and
/// after a config reload adds repositories).
pub fn start_missing_loops(state: &Arc<AppState>, stop: &watch::Receiver<bool>) {
    let config = state.config.load();
    for repo in &config.repositories {
        if let Some(wake) = state.schedule.start_polling(&repo.key) {
            tokio::spawn(poll_loop(
                state.clone(),
                repo.key.clone(),
                wake,
                stop.clone(),
            ));
        }
    }
}

/// Syncs one repository on its `poll_interval`, reading its settings from the current
/// config each time; ends when the repository leaves the config or the server stops.
async fn poll_loop(
    state: Arc<AppState>,
    key: String,
    (tx, mut wake): (mpsc::Sender<Instant>, mpsc::Receiver<Instant>),
    mut stop: watch::Receiver<bool>,
) {
    // Kept for the life of the loop: dropping it stops watching. Setting up a watch
    // walks the repository's refs/, which must not stall the async workers at start-up.
    let repo = state.config.load().repository(&key).cloned();
    let _watcher = tokio::task::spawn_blocking(move || repo.and_then(|r| watch_local(&r, tx)))
        .await
        .ok()
        .flatten();
    let mut learned: Option<Instant> = None;
    loop {
        let Some(repo) = state.config.load().repository(&key).cloned() else {
            let shown = crate::config::redact(&key);
            info!(repo = %shown, "{shown} left the config; no longer polling it");
            state.schedule.stop_polling(&key);
            return;
        };
        if !state.store.leader.is_leader() {
            // Another replica syncs (docs/architecture.md "Several replicas"): a wake-up
            // that reached this one (its git hook, a webhook, a watched ref) goes to
            // the leader through the database, and this loop looks again soon, ready to
            // take over.
            tokio::select! {
                _ = tokio::time::sleep(FOLLOWER_CHECK) => {}
                Some(_) = wake.recv() => {
                    settle(&mut wake, SETTLE).await;
                    forward_wake(&state, &key).await;
                }
                _ = stop.changed() => return,
            }
            continue;
        }
        match state.sync_repository(repo.clone()).await {
            Ok(report) => {
                if let Some(at) = learned.take()
                    && !report.new_versions.is_empty()
                {
                    state.tracker.record_tag_latency(at.elapsed());
                }
                log_report(&report)
            }
            Err(e) => {
                let e = crate::report::chain(&e);
                error!(repo = %repo.url.display(), error = %e, "sync of {} failed: the store is not usable: {e}", repo.url.display())
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(repo.poll_interval) => {}
            Some(at) = wake.recv() => {
                settle(&mut wake, SETTLE).await;
                learned = Some(at);
            }
            _ = stop.changed() => return,
        }
    }
}

/// How often a follower's loop looks whether it became the leader.
const FOLLOWER_CHECK: Duration = Duration::from_millis(500);

/// Hands a wake-up of repository `key` to the leader (store/postgres/live.rs).
async fn forward_wake(state: &Arc<AppState>, key: &str) {
    let store = state.store.clone();
    let k = key.to_string();
    let sent = tokio::task::spawn_blocking(move || store.forward_wake(&k)).await;
    match sent {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let shown = crate::config::redact(key);
            let e = crate::report::chain(&e);
            warn!(repo = %shown, error = %e, "cannot forward the wake-up of {shown} to the leader: {e}; it syncs at its next poll")
        }
        Err(e) => error!(error = %e, "forwarding a wake-up panicked"),
    }
}

/// Wakes the poll loops of repositories whose wake-up another replica forwarded, while
/// this one leads; a follower drops them (the leader got them too).
pub async fn forwarded_wakes(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    let Some(mut wakes) = state.store.wakes.as_ref().and_then(|w| w.take()) else {
        return;
    };
    loop {
        tokio::select! {
            Some(key) = wakes.recv() => {
                if state.store.leader.is_leader() {
                    state.notify(&key);
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// How long a wake-up waits for the rest of its burst (a push of many tags, a forge
/// sending several events) before fetching.
const SETTLE: Duration = Duration::from_millis(25);

/// Watches a repository at a local path for ref changes (new tags, packed-refs), so a
/// push into it is picked up without any webhook. Remote repositories have nothing
/// local to watch.
fn watch_local(repo: &Repository, tx: mpsc::Sender<Instant>) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let RepoUrl::Local(path) = &repo.url else {
        return None;
    };
    let git_dir = if path.join(".git").is_dir() {
        path.join(".git")
    } else {
        path.clone()
    };
    let handler = move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if event.kind.is_access() {
            return;
        }
        let touches_refs = event.paths.iter().any(|p| {
            p.components().any(|c| c.as_os_str() == "refs")
                || p.file_name().is_some_and(|n| n == "packed-refs")
        });
        if touches_refs {
            // Full means a wake-up is pending already.
            let _ = tx.try_send(Instant::now());
        }
    };
    let mut watcher = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            warn!(repo = %repo.url.display(), error = %e, "cannot watch {}; relying on polling", repo.url.display());
            return None;
        }
    };
    let refs = git_dir.join("refs");
    let watched = watcher
        .watch(&git_dir, notify::RecursiveMode::NonRecursive)
        .and_then(|()| watcher.watch(&refs, notify::RecursiveMode::Recursive));
    if let Err(e) = watched {
        warn!(repo = %repo.url.display(), error = %e, "cannot watch {}; relying on polling", repo.url.display());
        return None;
    }
    Some(watcher)
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
            Ok(Err(e)) => {
                let e = crate::report::chain(&e);
                error!(error = %e, "cannot record token use: {e}")
            }
            Err(e) => error!(error = %e, "recording token use panicked"),
            Ok(Ok(())) => {}
        }
    }
}

/// How often abandoned uploads are looked for, besides at start.
const SWEEP_EVERY: Duration = Duration::from_secs(10 * 60);

/// Expires abandoned uploads and deletes their archives, at start and every
/// [`SWEEP_EVERY`].
pub async fn sweep_loop(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    loop {
        let s = state.clone();
        let swept = tokio::task::spawn_blocking(move || {
            let data_dir = s.config.load().data_dir.clone();
            crate::publish::sweep(&s.store, &data_dir, super::now())
        })
        .await;
        match swept {
            Ok(Err(e)) => {
                let e = crate::report::chain(&e);
                error!(error = %e, "cannot expire abandoned uploads: {e}")
            }
            Err(e) => error!(error = %e, "expiring abandoned uploads panicked"),
            Ok(Ok(())) => {}
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
            _ = stop.changed() => return,
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
