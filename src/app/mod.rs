//! Shared state and `serve()`: the one place where config, store, index, sync loops and
//! the HTTP router are wired together.

mod live;
mod poll;
mod reload;
pub mod status;

use crate::config::{Config, Repository};
use crate::index::Index;
use crate::release::{self, RepoReport};
use crate::store::{self, Store};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Mutex;
use tracing::{error, info};

/// Everything a request or a sync pass needs.
pub struct AppState {
    pub config: ArcSwap<Config>,
    pub index: ArcSwap<Index>,
    pub store: Arc<Store>,
    /// One lock per repository, so a repository is never synced twice at once.
    sync_locks: std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Last use of each token since the last flush: recording every read in the database
    /// would turn reads into writes, so uses are batched.
    token_uses: std::sync::Mutex<HashMap<String, i64>>,
    /// Repositories (by config key) that have a running poll loop.
    polling: std::sync::Mutex<std::collections::HashSet<String>>,
    /// Wakes the poll loop of a repository (webhooks, git hooks, file watching). The
    /// channel holds one pending wake-up, so bursts coalesce; it carries when tagpub
    /// learned of the push.
    wakers: std::sync::Mutex<HashMap<String, tokio::sync::mpsc::Sender<std::time::Instant>>>,
    pub tracker: status::Tracker,
    pub tokens: crate::auth::cache::TokenCache,
    /// Limits concurrent sync passes to the number of cores.
    sync_slots: tokio::sync::Semaphore,
    /// Archives served recently, kept in memory.
    pub hot: crate::http::hot::HotArchives,
    /// Serialises index updates: each reads the current index and stores a changed
    /// copy, so two at once would lose one of the changes.
    index_update: std::sync::Mutex<()>,
    /// Forge deliveries seen lately, so a retried one causes no second fetch.
    pub deliveries: crate::webhook::RecentDeliveries,
    /// Packages of `upstream:` served under our hosted-url.
    pub mirror: crate::mirror::Mirror,
}

pub use crate::clock::now;

/// How often batched token uses are written.
pub(crate) const TOKEN_USE_FLUSH: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    /// Opens the store under `config.data_dir` and builds the index from it, without
    /// touching git: a restart serves what was stored, at once.
    pub fn open(config: Config) -> Result<Arc<AppState>, store::Error> {
        let store = Arc::new(Store::open(&config.data_dir)?);
        report_conflicts(&config, &store)?;
        let index = Index::build(
            &config,
            store.catalog.summaries(None)?,
            &store.publishing.packages()?,
        );
        let mirror = crate::mirror::Mirror::new(store.clone(), &config.data_dir);
        Ok(Arc::new(AppState {
            config: ArcSwap::from_pointee(config),
            index: ArcSwap::from_pointee(index),
            store,
            mirror,
            sync_locks: Default::default(),
            token_uses: Default::default(),
            polling: Default::default(),
            wakers: Default::default(),
            tracker: Default::default(),
            tokens: Default::default(),
            hot: Default::default(),
            sync_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            ),
            index_update: Default::default(),
            deliveries: Default::default(),
        }))
    }

    /// The path of `base_url`, `/` or `/prefix/`.
    pub fn base_path(&self) -> String {
        self.config.load().base_url.path().to_string()
    }

    /// Rebuilds the served index from the store.
    pub fn refresh_index(&self) -> Result<(), store::Error> {
        let _update = self.index_update.lock().unwrap_or_else(|p| p.into_inner());
        let config = self.config.load();
        let index = Index::build(
            &config,
            self.store.catalog.summaries(None)?,
            &self.store.publishing.packages()?,
        );
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

    /// The listing of `package`, rendered from the store on its first request in this
    /// index generation.
    pub fn listing(
        &self,
        package: &crate::index::PackageView,
    ) -> Result<crate::index::Body, store::Error> {
        if let Some(body) = package.cached_listing() {
            return Ok(body.clone());
        }
        let stored = self.store.catalog.versions_of(&package.name)?;
        let body = crate::index::listing_body(&self.config.load(), package, &stored);
        Ok(package.cache_listing(body))
    }

    /// `GET api/packages/{name}/versions/{version}`, rendered per request: only clients
    /// older than Dart 2.14 ask for it.
    pub fn version_info(
        &self,
        package: &crate::index::PackageView,
        version: &str,
    ) -> Result<Option<crate::index::Body>, store::Error> {
        let stored = self.store.catalog.versions_of(&package.name)?;
        Ok(stored
            .iter()
            .find(|s| s.version == version)
            .and_then(|s| crate::index::version_body(&self.config.load(), package, s)))
    }

    /// Asks for a sync of repository `key` soon; returns false if it has no poll loop.
    /// Many calls in a burst lead to one fetch.
    pub fn notify(&self, key: &str) -> bool {
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        match wakers.get(key) {
            // A full channel means a wake-up is already pending: this one coalesces.
            Some(tx) => !matches!(
                tx.try_send(std::time::Instant::now()),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_))
            ),
            None => false,
        }
    }

    /// Whether a wake-up of repository `key` is waiting to be served.
    pub fn wake_pending(&self, key: &str) -> bool {
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.get(key).is_some_and(|tx| tx.capacity() == 0)
    }

    /// Notes that a token was used; written by [`AppState::flush_token_uses`].
    pub fn record_token_use(&self, id: &str, at: i64) {
        let mut uses = self.token_uses.lock().unwrap_or_else(|p| p.into_inner());
        uses.insert(id.to_string(), at);
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

    fn lock_for(&self, key: &str) -> Arc<Mutex<()>> {
        let mut locks = self.sync_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(key.to_string()).or_default().clone()
    }

    /// One pass over one repository, on a blocking thread; the index is refreshed when
    /// something new is served.
    pub async fn sync_repository(
        self: &Arc<Self>,
        repo: Repository,
    ) -> Result<RepoReport, store::Error> {
        let lock = self.lock_for(&repo.key);
        let _guard = lock.lock().await;
        // At most one pass per core at a time: fifty repositories starting together
        // otherwise hold fifty passes' worth of memory at once.
        let _slot = self.sync_slots.acquire().await;
        let state = self.clone();
        let config = self.config.load_full();
        let mirrors = config.data_dir.join("mirrors");
        let key = repo.key.clone();
        let started = std::time::Instant::now();
        let pass = self.tracker.pass_started();
        let report = tokio::task::spawn_blocking(move || {
            release::sync_repository(&repo, &config.repositories, &state.store, &mirrors)
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
            self.refresh_packages(&names)?;
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

/// Serves HTTP on `listener` and keeps every repository synced on its `poll_interval`
/// until `shutdown` completes; then stops accepting, finishes in-flight requests and
/// returns.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    poll::start_missing_loops(&state, &stop_rx);
    tokio::spawn(poll::flush_loop(state.clone(), stop_rx.clone()));
    tokio::spawn(poll::sweep_loop(state.clone(), stop_rx.clone()));
    tokio::spawn(live::watch_store(state.clone(), stop_rx.clone()));
    reload::watch(state.clone(), stop_rx.clone());
    let router = crate::http::router(state.clone());
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service)
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        })
        .await;
    if let Err(e) = state.flush_token_uses() {
        let e = crate::report::chain(&e);
        error!(error = %e, "cannot record token use at shutdown: {e}");
    }
    info!("tagpub stopped");
    result
}
