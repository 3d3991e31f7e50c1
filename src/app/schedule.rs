//! When repositories are synced: one pass per repository at a time and at most one per
//! core overall, one poll loop per repository, and the wake-ups (webhooks, git hooks,
//! file watching) that cut a loop's wait short.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedMutexGuard, Semaphore, SemaphorePermit, mpsc};

/// The bookkeeping of sync passes and poll loops, by repository key.
#[derive(Debug)]
pub struct Scheduler {
    /// One lock per repository, so a repository is never synced twice at once.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Repositories that have a running poll loop.
    polling: Mutex<HashSet<String>>,
    /// Wakes the poll loop of a repository. The channel holds one pending wake-up, so
    /// bursts coalesce; it carries when tagpub learned of the push.
    wakers: Mutex<HashMap<String, mpsc::Sender<Instant>>>,
    /// Limits concurrent sync passes to the number of cores.
    slots: Semaphore,
}

impl Default for Scheduler {
    fn default() -> Scheduler {
        Scheduler {
            locks: Default::default(),
            polling: Default::default(),
            wakers: Default::default(),
            slots: Semaphore::new(
                std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
            ),
        }
    }
}

/// The right to run a sync pass of one repository, held for the length of the pass.
pub struct Turn<'a> {
    _repository: OwnedMutexGuard<()>,
    _slot: Option<SemaphorePermit<'a>>,
}

impl Scheduler {
    /// Waits until repository `key` may be synced: no other pass of it runs, and fewer
    /// passes than cores run overall.
    pub async fn turn(&self, key: &str) -> Turn<'_> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            locks.entry(key.to_string()).or_default().clone()
        };
        let repository = lock.lock_owned().await;
        // At most one pass per core at a time: fifty repositories starting together
        // otherwise hold fifty passes' worth of memory at once. The semaphore is never
        // closed, so there always is a permit to wait for.
        let slot = self.slots.acquire().await.ok();
        Turn {
            _repository: repository,
            _slot: slot,
        }
    }

    /// Notes that a poll loop for `key` starts, and returns the channel that wakes it;
    /// `None` if `key` has one already.
    pub fn start_polling(
        &self,
        key: &str,
    ) -> Option<(mpsc::Sender<Instant>, mpsc::Receiver<Instant>)> {
        let mut polling = self.polling.lock().unwrap_or_else(|p| p.into_inner());
        if !polling.insert(key.to_string()) {
            return None;
        }
        let (tx, rx) = mpsc::channel::<Instant>(1);
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.insert(key.to_string(), tx.clone());
        Some((tx, rx))
    }

    /// Notes that the poll loop of `key` ended.
    pub fn stop_polling(&self, key: &str) {
        let mut polling = self.polling.lock().unwrap_or_else(|p| p.into_inner());
        polling.remove(key);
        let mut wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.remove(key);
    }

    /// Asks for a sync of repository `key` soon; returns false if it has no poll loop.
    /// Many calls in a burst lead to one fetch.
    pub fn notify(&self, key: &str) -> bool {
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        match wakers.get(key) {
            // A full channel means a wake-up is already pending: this one coalesces.
            Some(tx) => !matches!(
                tx.try_send(Instant::now()),
                Err(mpsc::error::TrySendError::Closed(_))
            ),
            None => false,
        }
    }

    /// Whether a wake-up of repository `key` is waiting to be served.
    pub fn wake_pending(&self, key: &str) -> bool {
        let wakers = self.wakers.lock().unwrap_or_else(|p| p.into_inner());
        wakers.get(key).is_some_and(|tx| tx.capacity() == 0)
    }
}

/// Lets the rest of a burst arrive on `rx` for `wait`, then drops it: the caller acts
/// once for the whole burst (a push of many tags, an editor saving in several steps).
pub async fn settle<T>(rx: &mut mpsc::Receiver<T>, wait: Duration) {
    tokio::time::sleep(wait).await;
    while rx.try_recv().is_ok() {}
}
