//! Reloading `registry.yaml` without a restart: when the file changes on disk (watched
//! with `notify`) and on SIGHUP. A reload that fails validation keeps the running config
//! and logs why.

use super::schedule::settle;
use super::{AppState, poll};
use crate::config::Config;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

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
            let e = crate::report::chain(&e);
            error!(error = %e, "cannot rebuild the index after a config reload: {e}");
        }
        info!(path = %path.display(), "reloaded {}", path.display());
        Ok(())
    }
}

/// Starts watching the config file and SIGHUP; runs until `stop` fires.
pub fn watch(state: Arc<AppState>, stop: watch::Receiver<bool>) {
    // One pending reload at most: a full channel means one is due already.
    let (tx, rx) = mpsc::channel::<()>(1);
    let path = state.config.load().path.clone();
    let watcher = ConfigWatch::start(&path, tx.clone());
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
                    Some(()) = hup.recv() => { info!("SIGHUP: reloading the config"); let _ = tx.try_send(()); }
                    _ = stop.changed() => return,
                }
            }
        });
    }
    tokio::spawn(reload_loop(state, rx, stop, watcher));
}

async fn reload_loop(
    state: Arc<AppState>,
    mut rx: mpsc::Receiver<()>,
    mut stop: watch::Receiver<bool>,
    // Kept alive for as long as the loop runs; dropping it stops the watching.
    mut watcher: Option<ConfigWatch>,
) {
    loop {
        tokio::select! {
            got = rx.recv() => if got.is_none() { return },
            _ = stop.changed() => return,
        }
        settle(&mut rx, SETTLE).await;
        if let Some(w) = &mut watcher {
            // Before reading the file, so a change made while reading is not missed.
            w.renew(&stop).await;
        }
        let s = state.clone();
        match tokio::task::spawn_blocking(move || s.reload_config()).await {
            Ok(Ok(())) => poll::start_missing_loops(&state, &stop),
            Ok(Err(e)) => {
                let e = crate::report::chain(&e);
                error!(error = %e, "the changed config is not valid; still running the previous one:\n{e}")
            }
            Err(e) => error!(error = %e, "config reload panicked"),
        }
    }
}

/// A watch on the config file itself. Not on its directory: every event there would be
/// seen (and, with trace logging, logged by the watcher, which is an event again when
/// the log is written to that directory). Editors save by replacing the file, which
/// ends a watch on it, so the watch is renewed after every change.
struct ConfigWatch {
    watcher: notify::RecommendedWatcher,
    path: std::path::PathBuf,
}

impl ConfigWatch {
    fn start(path: &std::path::Path, tx: mpsc::Sender<()>) -> Option<ConfigWatch> {
        use notify::Watcher;
        let handler = move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !event.kind.is_access()
            {
                let _ = tx.try_send(());
            }
        };
        let mut watcher = match notify::recommended_watcher(handler) {
            Ok(w) => w,
            Err(e) => {
                warn!(error = %e, "cannot watch the config for changes; reload with SIGHUP");
                return None;
            }
        };
        if let Err(e) = watcher.watch(path, notify::RecursiveMode::NonRecursive) {
            warn!(error = %e, "cannot watch {} for changes; reload with SIGHUP", path.display());
            return None;
        }
        debug!(path = %path.display(), "watching {} for changes", path.display());
        Some(ConfigWatch {
            watcher,
            path: path.to_path_buf(),
        })
    }

    /// Watches the file now at the path, waiting a little for it while an editor
    /// replaces it.
    async fn renew(&mut self, stop: &watch::Receiver<bool>) {
        use notify::Watcher;
        let _ = self.watcher.unwatch(&self.path);
        for attempt in 1..=RENEW_ATTEMPTS {
            match self
                .watcher
                .watch(&self.path, notify::RecursiveMode::NonRecursive)
            {
                Ok(()) => return,
                Err(e) if attempt == RENEW_ATTEMPTS || *stop.borrow() => {
                    warn!(error = %e, "cannot watch {} for changes any more; reload with SIGHUP", self.path.display());
                    return;
                }
                Err(_) => tokio::time::sleep(SETTLE).await,
            }
        }
    }
}

/// How many times (each [`SETTLE`] apart) a vanished config file is waited for.
const RENEW_ATTEMPTS: u32 = 50;
