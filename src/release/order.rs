//! Passes over several repositories at once that decide exactly as one after another.
//!
//! `tagpub sync` runs its passes on several threads. What one pass decides depends on
//! the others only through package-name claims (release/claim.rs): a repository's
//! claim on a name reads the names that the repositories listed before it hold, and
//! who owns the name. So each pass, once its own names are recorded and before it
//! claims any, waits until
//! 1. every repository listed before it has recorded its names (or ended), so that no
//!    name is decided from what an earlier repository held on a previous run; then
//! 2. every earlier repository holding one of its names (compared without case) has
//!    ended, so that whether it stored a version of the name first is known, as it
//!    would be in a serial run.
//!
//! A pass that reaches its claims after an earlier repository's pass failed (a store
//! error) stops there, claiming nothing: a serial run would have stopped before it.
//!
//! Passes that share no name then run side by side, and a later repository never
//! claims a name an earlier one holds: its claims see what a serial run's would. Waits
//! point only at earlier repositories, and passes start in registry.yaml order, so the
//! earliest pass not ended always progresses.

use super::builds::Builders;
use super::sync::{RepoReport, sync_repository_then};
use crate::config::Repository;
use crate::store::Store;
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Waiting,
    NamesRecorded,
    Ended,
    /// Ended with an error.
    Failed,
}

/// The passes of one run over `repositories`, started in their order.
pub struct InOrder<'a> {
    repositories: &'a [Repository],
    stages: Mutex<Vec<Stage>>,
    changed: Condvar,
}

impl<'a> InOrder<'a> {
    pub fn new(repositories: &'a [Repository]) -> InOrder<'a> {
        InOrder {
            repositories,
            stages: Mutex::new(vec![Stage::Waiting; repositories.len()]),
            changed: Condvar::new(),
        }
    }

    fn stages(&self) -> MutexGuard<'_, Vec<Stage>> {
        self.stages.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn set(&self, at: usize, stage: Stage) {
        let mut stages = self.stages();
        stages[at] = stages[at].max(stage);
        self.changed.notify_all();
    }

    /// Blocks until every pass `ready` names has reached `stage`.
    fn wait(&self, stage: Stage, ready: impl Fn(usize) -> bool) {
        let mut stages = self.stages();
        while stages
            .iter()
            .enumerate()
            .any(|(j, s)| ready(j) && *s < stage)
        {
            stages = self.changed.wait(stages).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// The pass over repository number `at` of the list (`release::sync_repository`),
    /// waiting where its claims depend on earlier passes. Every repository before `at`
    /// must have been started, or be started by another thread.
    pub fn pass(
        &self,
        at: usize,
        store: &Store,
        mirrors: &Path,
        builders: &Builders,
    ) -> Result<RepoReport, crate::store::Error> {
        // Ended however it ends (an error, a panic): nobody waits for it any longer.
        struct End<'o, 'a>(&'o InOrder<'a>, usize);
        impl Drop for End<'_, '_> {
            fn drop(&mut self) {
                self.0.set(self.1, Stage::Ended);
            }
        }
        let _end = End(self, at);
        let config = &self.repositories[at];
        let result =
            sync_repository_then(config, self.repositories, store, mirrors, builders, || {
                self.set(at, Stage::NamesRecorded);
                self.wait(Stage::NamesRecorded, |j| j < at);
                let names = store.catalog.names_by_repo()?;
                let folded = |key: &str| -> BTreeSet<String> {
                    names
                        .get(key)
                        .into_iter()
                        .flatten()
                        .map(|n| n.to_ascii_lowercase())
                        .collect()
                };
                let mine = folded(&config.key);
                let sharing: Vec<bool> = self.repositories[..at]
                    .iter()
                    .map(|other| !folded(&other.key).is_disjoint(&mine))
                    .collect();
                self.wait(Stage::Ended, |j| sharing.get(j).copied().unwrap_or(false));
                Ok(!self.stages()[..at].contains(&Stage::Failed))
            });
        if result.is_err() {
            self.set(at, Stage::Failed);
        }
        result
    }
}
