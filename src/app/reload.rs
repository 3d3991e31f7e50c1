//! Reloading `registry.yaml` without a restart: when the file changes on disk (watched
//! with `notify`) and on SIGHUP. A reload that fails validation keeps the running config
//! and logs why.

use super::{AppState, poll};
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::{error, info, warn};

/// Editors save in bursts (write, rename, chmod); changes closer together than this
/// are one reload.
const SETTLE: Duration = Duration::from_millis(100);

impl AppState {
    /// Loads the config file again and, if it is valid, makes it current: access rules
    /// apply from the next request, package settings are re-rendered, and new
    /// repositories get their poll loops (by the caller). Returns why it was refused.
    pub fn reload_config(&self) -> Result<(), crate::config::Error> {
        let path = self.config.load().path.clone();
        let config = Config::load(&path)?;
        let old = self.config.load();
        if config.data_dir != old.data_dir || config.listen != old.listen {
            warn!("data_dir and listen changes take effect only after a restart");
        }
        self.config.store(Arc::new(config));
        if let Err(e) = self.refresh_index() {
            error!(error = %e, "cannot rebuild the index after a config reload: {e}");
        }
        info!(path = %path.display(), "reloaded {}", path.display());
        Ok(())
    }
}

/// Starts watching the config file and SIGHUP; runs until `stop` fires.
pub fn watch(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    let (tx, rx) = mpsc::unbounded_channel::<()>();
    let path = state.config.load().path.clone();
    let watcher = file_watcher(&path, tx.clone());
    #[cfg(unix)]
    {
        let tx = tx.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let Ok(mut hup) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            else {
                return;
            };
            loop {
                tokio::select! {
                    Some(()) = hup.recv() => { info!("SIGHUP: reloading the config"); let _ = tx.send(()); }
                    _ = stop.changed() => return,
                }
            }
        });
    }
    tokio::spawn(reload_loop(state, rx, stop, watcher));
}

async fn reload_loop(
    state: Arc<AppState>,
    mut rx: mpsc::UnboundedReceiver<()>,
    mut stop: watch::Receiver<bool>,
    // Kept alive for as long as the loop runs; dropping it stops the watching.
    _watcher: Option<notify::RecommendedWatcher>,
) {
    loop {
        tokio::select! {
            got = rx.recv() => if got.is_none() { return },
            _ = stop.changed() => return,
        }
        // Let a burst of events settle, then reload once.
        tokio::time::sleep(SETTLE).await;
        while rx.try_recv().is_ok() {}
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.reload_config()).await {
            Ok(Ok(())) => poll::start_missing_loops(&state, &stop),
            Ok(Err(e)) => {
                error!(error = %e, "the changed config is not valid; still running the previous one:\n{e}")
            }
            Err(e) => error!(error = %e, "config reload panicked"),
        }
    }
}

/// Watches the directory holding the config (editors replace files, which a watch on
/// the file itself would lose) and signals changes to that file.
fn file_watcher(
    path: &std::path::Path,
    tx: mpsc::UnboundedSender<()>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let name = path.file_name()?.to_os_string();
    let handler = move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
            && event
                .paths
                .iter()
                .any(|p| p.file_name() == Some(name.as_os_str()))
        {
            let _ = tx.send(());
        }
    };
    match notify::recommended_watcher(handler) {
        Ok(mut w) => match w.watch(dir, notify::RecursiveMode::NonRecursive) {
            Ok(()) => Some(w),
            Err(e) => {
                warn!(error = %e, "cannot watch {} for changes; reload with SIGHUP", dir.display());
                None
            }
        },
        Err(e) => {
            warn!(error = %e, "cannot watch the config for changes; reload with SIGHUP");
            None
        }
    }
}
