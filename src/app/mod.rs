//! Shared state ([`AppState`]) and the background loops of a serving daemon: what a
//! request or a sync pass needs, and keeping it current. Knows no HTTP; `server.rs`
//! wires it to the router.

mod live;
mod poll;
mod reload;
pub mod schedule;
pub mod status;

use crate::config::{Config, Repository};
use crate::index::Index;
use crate::release::{self, RepoReport};
use crate::store::{self, Store};
use arc_swap::ArcSwap;
use schedule::Scheduler;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::watch;
use tracing::error;

/// Everything a request or a sync pass needs.
pub struct AppState {
    pub config: ArcSwap<Config>,
    pub index: ArcSwap<Index>,
    pub store: Arc<Store>,
    /// When each repository is synced.
    pub schedule: Scheduler,
    /// Last use of each token since the last flush: recording every read in the database
    /// would turn reads into writes, so uses are batched.
    token_uses: std::sync::Mutex<HashMap<String, i64>>,
    pub tracker: status::Tracker,
    pub tokens: crate::auth::cache::TokenCache,
    /// Archives in demand, kept in memory.
    pub hot: store::HotArchives,
    /// Plain forms of listings in demand, for clients that do not accept gzip.
    pub plain: crate::index::PlainBodies,
    /// Serialises index updates: each reads the current index and stores a changed
    /// copy, so two at once would lose one of the changes.
    index_update: std::sync::Mutex<()>,
    /// Forge deliveries seen lately, so a retried one causes no second fetch.
    pub deliveries: crate::webhook::RecentDeliveries,
    /// Packages of `upstream:` served under our hosted-url.
    pub mirror: crate::mirror::Mirror,
    /// Where sync passes build archives: every core, bounded memory, shared by the
    /// passes running at once.
    pub builders: release::Builders,
    /// The database's counters as of the first index build.
    loaded: live::Seen,
    /// Rebuilds of the whole index after a change to the catalog (app/live.rs).
    index_reloads: std::sync::atomic::AtomicU64,
}

pub use crate::clock::now;

/// How often batched token uses are written.
pub(crate) const TOKEN_USE_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// Opens the store `config` names and builds the index from it, without touching
    /// git: a restart serves what was stored, at once. For a command, which never syncs
    /// on behalf of replicas; `tagpub serve` uses [`AppState::open_serving`].
    pub fn open(config: Config) -> Result<Arc<AppState>, store::Error> {
        AppState::open_with(config, false)
    }

    /// As [`AppState::open`], for the daemon: with a shared store, it competes to be
    /// the replica that syncs (store/postgres/live.rs).
    pub fn open_serving(config: Config) -> Result<Arc<AppState>, store::Error> {
        AppState::open_with(config, true)
    }

    fn open_with(config: Config, compete: bool) -> Result<Arc<AppState>, store::Error> {
        let store = Arc::new(Store::open_configured(&config, compete)?);
        report_conflicts(&config, &store)?;
        // Read before the build, so the watcher starts from what this index holds
        // instead of rebuilding it at once (app/live.rs).
        let loaded = live::Seen::read(&store.changes)?;
        let index = Index::load(
            &config,
            store.catalog.as_ref(),
            &store.publishing.packages()?,
        )?;
        let mirror = crate::mirror::Mirror::new(store.clone(), &config.data_dir);
        Ok(Arc::new(AppState {
            config: ArcSwap::from_pointee(config),
            index: ArcSwap::from_pointee(index),
            store,
            mirror,
            schedule: Default::default(),
            token_uses: Default::default(),
            tracker: Default::default(),
            tokens: Default::default(),
            hot: Default::default(),
            plain: Default::default(),
            index_update: Default::default(),
            deliveries: Default::default(),
            builders: release::Builders::for_this_machine(),
            loaded,
            index_reloads: Default::default(),
        }))
    }

    /// How many times the whole index was rebuilt because the catalog changed
    /// (`tagpub_index_reloads_total`).
    pub fn index_reloads(&self) -> u64 {
        self.index_reloads
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The path of `base_url`, `/` or `/prefix/`.
    pub fn base_path(&self) -> String {
        self.config.load().base_url.path().to_string()
    }

    /// Rebuilds the served index from the store.
    pub fn refresh_index(&self) -> Result<(), store::Error> {
        let _update = self.index_update.lock().unwrap_or_else(|p| p.into_inner());
        let config = self.config.load();
        let index = Index::load(
            &config,
            self.store.catalog.as_ref(),
            &self.store.publishing.packages()?,
        )?;
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Re-reads the packages in `names` from the store and swaps in an index where only
    /// they changed; cheaper than [`AppState::refresh_index`] with many packages.
    pub fn refresh_packages(&self, names: &[String]) -> Result<(), store::Error> {
        let _update = self.index_update.lock().unwrap_or_else(|p| p.into_inner());
        let config = self.config.load();
        let mut versions = Vec::new();
        let mut uploaded = Vec::new();
        for name in names {
            versions.extend(self.store.catalog.summaries(Some(name))?);
            uploaded.extend(self.store.publishing.package(name)?);
        }
        let index = self
            .index
            .load()
            .with_packages(&config, names, versions, &uploaded);
        self.index.store(Arc::new(index));
        Ok(())
    }

    /// Asks for a sync of repository `key` soon ([`Scheduler::notify`]).
    pub fn notify(&self, key: &str) -> bool {
        self.schedule.notify(key)
    }

    /// Whether a wake-up of repository `key` is waiting ([`Scheduler::wake_pending`]).
    pub fn wake_pending(&self, key: &str) -> bool {
        self.schedule.wake_pending(key)
    }

    /// Notes that a token was used; written by [`AppState::flush_token_uses`].
    pub fn record_token_use(&self, id: &str, at: i64) {
        let mut uses = self.token_uses.lock().unwrap_or_else(|p| p.into_inner());
        // The same few tokens make most requests: no allocation for one already noted.
        match uses.get_mut(id) {
            Some(last) => *last = at,
            None => {
                uses.insert(id.to_string(), at);
            }
        }
    }

    /// Writes the batched token uses.
    pub fn flush_token_uses(&self) -> Result<(), store::Error> {
        let uses: Vec<(String, i64)> = {
            let mut uses = self.token_uses.lock().unwrap_or_else(|p| p.into_inner());
            uses.drain().collect()
        };
        if uses.is_empty() {
            return Ok(());
        }
        self.store.tokens.touch_tokens(&uses)
    }

    /// One pass over one repository, on a blocking thread; the index is refreshed when
    /// something new is served.
    pub async fn sync_repository(
        self: &Arc<Self>,
        repo: Repository,
    ) -> Result<RepoReport, store::Error> {
        let _turn = self.schedule.turn(&repo.key).await;
        let state = self.clone();
        let config = self.config.load_full();
        let mirrors = config.data_dir.join("mirrors");
        let key = repo.key.clone();
        let started = std::time::Instant::now();
        let pass = self.tracker.pass_started();
        let report = tokio::task::spawn_blocking(move || {
            release::sync_repository(
                &repo,
                &config.repositories,
                &state.store,
                &mirrors,
                &state.builders,
            )
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        if !report.new_versions.is_empty() {
            let mut names: Vec<String> = report
                .new_versions
                .iter()
                .map(|(p, _, _)| p.clone())
                .collect();
            names.sort();
            names.dedup();
            // The store is read on a blocking thread, never on an async worker.
            let state = self.clone();
            tokio::task::spawn_blocking(move || state.refresh_packages(&names))
                .await
                .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))?;
        }
        self.tracker
            .record_sync(&key, now(), started.elapsed(), &report);
        // Repositories listed later that wait for this one to decide a shared package
        // name (release/claim.rs) look again now rather than at their next poll.
        for again in self.tracker.pass_finished(&key, pass) {
            self.notify(&again);
        }
        Ok(report)
    }

    /// One pass over every repository, concurrently.
    pub async fn sync_all(self: &Arc<Self>) -> Vec<Result<RepoReport, store::Error>> {
        let repos = self.config.load().repositories.clone();
        let tasks: Vec<_> = repos
            .iter()
            .cloned()
            .map(|r| {
                let state = self.clone();
                tokio::spawn(async move { state.sync_repository(r).await })
            })
            .collect();
        let mut reports = Vec::new();
        for t in tasks {
            reports.push(
                t.await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
            );
        }
        // A repository that waited for an earlier one to be read (release/claim.rs)
        // decides again now that every repository has been, in registry.yaml order.
        for (repo, report) in repos.into_iter().zip(reports.iter_mut()) {
            if matches!(report, Ok(r) if !r.waiting_on.is_empty()) {
                *report = self.sync_repository(repo).await;
            }
        }
        reports
    }
}

/// Logs package names held by a repository that does not serve them (release/claim.rs),
/// above all versions an earlier tagpub stored from a second source, now hidden.
fn report_conflicts(config: &Config, store: &Store) -> Result<(), store::Error> {
    for c in store.catalog.conflicts()? {
        let (owner, other) = status::conflict_sources(config, &c);
        if c.hidden.is_empty() {
            tracing::warn!(package = %c.package, served_from = %owner, also_in = %other, "package {} is served from {owner} only; {other} holds it too and is refused", c.package);
        } else {
            error!(package = %c.package, served_from = %owner, also_in = %other, "package {} is served from {owner}; versions {} stored earlier from {other} are no longer served (a package name comes from one source); rename the package in one of them", c.package, c.hidden.join(", "));
        }
    }
    Ok(())
}

/// Starts the background work of a serving daemon, until `stop` fires: a poll loop per
/// repository, writing batched token uses, expiring abandoned uploads, following the
/// database's commits and reloading the config file.
pub fn start_loops(state: &Arc<AppState>, stop: &watch::Receiver<bool>) {
    poll::start_missing_loops(state, stop);
    tokio::spawn(poll::flush_loop(state.clone(), stop.clone()));
    tokio::spawn(poll::sweep_loop(state.clone(), stop.clone()));
    tokio::spawn(live::watch_store(state.clone(), stop.clone()));
    tokio::spawn(poll::forwarded_wakes(state.clone(), stop.clone()));
    reload::watch(state.clone(), stop.clone());
}
