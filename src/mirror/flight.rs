//! Request coalescing: many concurrent requests for the same missing listing or archive
//! make one upstream request, whose result they all get.

use super::stats::Stats;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Work in progress by key. A key is in the map only while its work runs; callers that
/// come later must look in their cache first (the work stores its result there), which
/// is why [`Flights::run`] takes the whole lookup-or-fetch as `work`.
pub struct Flights<V> {
    running: Mutex<HashMap<String, Arc<OnceCell<V>>>>,
}

impl<V> Default for Flights<V> {
    fn default() -> Self {
        Flights {
            running: Mutex::new(HashMap::new()),
        }
    }
}

impl<V: Clone> Flights<V> {
    /// Runs `work` for `key`, unless it is already running: then waits for that run and
    /// returns its result. If the caller running the work goes away (its client
    /// disconnected), one of the waiters runs it instead. `stats` counts the callers
    /// waiting and those served by another's run.
    pub async fn run<F, Fut>(&self, key: &str, stats: &Stats, work: F) -> V
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = V>,
    {
        let cell = {
            let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
            running.entry(key.to_string()).or_default().clone()
        };
        let waiting = stats.waiting();
        let mut ran = false;
        let value = cell
            .get_or_init(|| {
                ran = true;
                work()
            })
            .await
            .clone();
        drop(waiting);
        if !ran {
            stats.coalesced();
        }
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.get(key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            running.remove(key);
        }
        value
    }

    /// How many keys have work running (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(Flights::<usize>::default());
        let stats = Arc::new(Stats::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (flights, runs, gate) = (flights.clone(), runs.clone(), gate.clone());
            let stats = stats.clone();
            tasks.push(tokio::spawn(async move {
                flights
                    .run("k", &stats, || async move {
                        let _permit = gate.acquire().await.expect("the gate stays open");
                        runs.fetch_add(1, Ordering::SeqCst) + 41
                    })
                    .await
            }));
        }
        while stats.snapshot().waiting < 20 {
            tokio::task::yield_now().await;
        }
        gate.add_permits(100);
        for t in tasks {
            assert_eq!(t.await.unwrap(), 41);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(stats.snapshot().coalesced, 19);
        assert_eq!(stats.snapshot().waiting, 0);
        assert_eq!(flights.len(), 0, "finished work leaves the map");
        // Later callers run the work again (their cache lookup is part of it).
        assert_eq!(flights.run("k", &stats, || async { 7 }).await, 7);
    }
}
