//! One live state for the daemon and the `tagpub` commands that write to its data dir
//! while it runs (`sync`, `package …`, `token …`): the daemon notices every commit to
//! the database through its change counter ([`crate::store::Changes`]) and rebuilds
//! what it serves from the store, within [`CHECK_EVERY`]. Tokens do not wait for this:
//! every authenticated request checks the counter itself (`http::auth`).

use super::AppState;
use crate::index::Index;
use crate::report::chain;
use crate::store;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, error};

/// How often the change counter is read.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

impl AppState {
    /// Rebuilds the served index from the store, keeping the packages that did not
    /// change (and their rendered listings).
    pub fn reload_store(&self) -> Result<(), store::Error> {
        let _update = self.index_update.lock().unwrap_or_else(|p| p.into_inner());
        let config = self.config.load();
        let index = Index::load(
            &config,
            self.store.catalog.as_ref(),
            &self.store.publishing.packages()?,
        )?
        .keeping_unchanged(&self.index.load());
        self.index.store(Arc::new(index));
        Ok(())
    }
}

/// Reloads the index whenever the database changed; runs until `stop` fires. Commits
/// of the daemon itself count too: a reload then finds its own change and keeps every
/// package as it was.
pub async fn watch_store(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    // Unknown at first, so the first check reloads: it covers commits made between
    // opening the store and starting this loop.
    let mut seen = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
        let s = state.clone();
        let checked = tokio::task::spawn_blocking(move || {
            let counter = s.store.changes.counter()?;
            if Some(counter) != seen {
                s.reload_store()?;
            }
            Ok::<_, store::Error>(counter)
        })
        .await;
        match checked {
            Ok(Ok(counter)) => {
                if seen.is_some_and(|old| old != counter) {
                    debug!("the database changed; reloaded what is served");
                }
                seen = Some(counter);
            }
            Ok(Err(e)) => {
                error!(error = %chain(&e), "cannot reload what is served from the store: {}", chain(&e))
            }
            Err(e) => error!(error = %e, "reloading from the store panicked"),
        }
    }
}
