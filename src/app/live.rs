//! One live state for the daemon and the `tagpub` commands that write to its data dir
//! while it runs (`sync`, `package …`, `token …`): the daemon notices every commit to
//! the database through its change counter ([`crate::store::Changes`]) and rebuilds
//! what it serves from the store, within [`CHECK_EVERY`], when the commit touched what
//! the index is built from (the catalog generation): token uses, sessions and audit
//! entries rebuild nothing. Tokens do not wait for this: every authenticated request
//! checks the counter itself (`http::auth`).

use super::AppState;
use crate::index::Index;
use crate::report::chain;
use crate::store;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::watch;
use tracing::{debug, error};

/// How often the change counter is read.
pub const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The database's counters when what is served was last built from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Seen {
    counter: i64,
    catalog: i64,
}

impl Seen {
    /// Reads both counters, the commit counter first ([`store::Changes::catalog`]).
    pub(super) fn read(changes: &store::Changes) -> Result<Seen, store::Error> {
        let counter = changes.counter()?;
        Ok(Seen {
            counter,
            catalog: changes.catalog()?,
        })
    }
}

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
        self.index_reloads.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Reloads the index whenever the catalog changed; runs until `stop` fires. Commits
/// of the daemon itself count too: a reload then finds its own change and keeps every
/// package as it was.
pub async fn watch_store(state: Arc<AppState>, mut stop: watch::Receiver<bool>) {
    // As read before the first build: commits made since are seen at the first check.
    let mut seen = state.loaded;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(CHECK_EVERY) => {}
            _ = stop.changed() => return,
        }
        let s = state.clone();
        let checked = tokio::task::spawn_blocking(move || {
            // The cheap counter first; the generation only once something was committed.
            if s.store.changes.counter()? == seen.counter {
                return Ok(seen);
            }
            let now = Seen::read(&s.store.changes)?;
            if now.catalog != seen.catalog {
                s.reload_store()?;
                debug!("the catalog changed; reloaded what is served");
            }
            Ok::<_, store::Error>(now)
        })
        .await;
        match checked {
            // After a failed reload `seen` stays: the next check tries again.
            Ok(Ok(now)) => seen = now,
            Ok(Err(e)) => {
                error!(error = %chain(&e), "cannot reload what is served from the store: {}", chain(&e))
            }
            Err(e) => error!(error = %e, "reloading from the store panicked"),
        }
    }
}
