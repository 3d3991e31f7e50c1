//! Building a pass's archives on every core (docs/architecture.md, "The sync pipeline").
//!
//! Jobs (one tag each) run on worker threads: each reads its tag from git and
//! compresses the archive, so one worker's git reads overlap another's deflate. Results
//! come back to the pass in job order, whatever order they finish in, so that a pass
//! decides exactly as a serial one would. Two limits hold across every pass of the
//! process: builds running at once (the cores), and bytes of built archives waiting to
//! be stored (memory). The job the pass waits for next is never held back by the byte
//! limit, so a pass always makes progress.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

/// Bytes of built archives that may wait to be stored, over all passes, by default.
pub const DEFAULT_BUDGET: usize = 64 * 1024 * 1024;

/// How far past the job a pass waits for its workers may run, in jobs: keeps results
/// of small archives from piling up where the byte limit would not stop them.
const WINDOW: usize = 256;

/// The limits shared by every sync pass of a process.
#[derive(Debug)]
pub struct Builders {
    slots: usize,
    budget: usize,
    usage: Mutex<Usage>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct Usage {
    /// Builds running now.
    busy: usize,
    /// Bytes of built archives not yet stored.
    bytes: usize,
}

impl Builders {
    /// At most `slots` builds at once, and `budget` bytes of built archives waiting.
    pub fn new(slots: usize, budget: usize) -> Builders {
        Builders {
            slots: slots.max(1),
            budget: budget.max(1),
            usage: Mutex::default(),
            changed: Condvar::new(),
        }
    }

    /// One build per core, [`DEFAULT_BUDGET`] bytes waiting.
    pub fn for_this_machine() -> Builders {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Builders::new(cores, DEFAULT_BUDGET)
    }

    /// How many builds may run at once.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// How many bytes a pass gathers before storing them together: a share of the
    /// budget small enough that the passes running at once (one per core at most,
    /// app/schedule.rs) leave room for their workers to go on meanwhile.
    pub fn batch_bytes(&self) -> usize {
        (self.budget / (2 * self.slots)).max(1)
    }

    fn usage(&self) -> MutexGuard<'_, Usage> {
        self.usage.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until job `job` of `line` may start: a slot is free, it is within the
    /// window, and the budget has room (or it is the job the pass waits for). `None`
    /// when the pass stopped meanwhile.
    fn start<R>(&self, line: &Line<R>, job: usize) -> Option<Slot<'_>> {
        let mut usage = self.usage();
        loop {
            if line.stop.load(Ordering::SeqCst) {
                return None;
            }
            let wanted = line.wanted.load(Ordering::SeqCst);
            let fits = usage.bytes < self.budget || job <= wanted;
            if usage.busy < self.slots && job < wanted + WINDOW && fits {
                usage.busy += 1;
                return Some(Slot { builders: self });
            }
            usage = self.changed.wait(usage).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn notify(&self) {
        // Taken so that a worker between its check and its wait cannot miss the change.
        drop(self.usage());
        self.changed.notify_all();
    }
}

/// A running build; dropping it (also by a panic) frees the slot.
struct Slot<'b> {
    builders: &'b Builders,
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.builders.usage().busy -= 1;
        self.builders.changed.notify_all();
    }
}

/// Bytes of a built archive counted against the budget until this is dropped, once
/// the archive is stored (or abandoned).
#[derive(Debug)]
pub struct Reservation<'b> {
    builders: &'b Builders,
    bytes: usize,
}

impl Reservation<'_> {
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut usage = self.builders.usage();
        usage.bytes -= self.bytes;
        drop(usage);
        self.builders.changed.notify_all();
    }
}

/// The results of one pass's jobs, handed over in job order.
pub struct Line<'b, R> {
    builders: &'b Builders,
    jobs: usize,
    next: AtomicUsize,
    /// The job whose result the pass takes next.
    wanted: AtomicUsize,
    /// Set when the pass ends early (a store error) or a worker panicked.
    stop: AtomicBool,
    done: Mutex<Done<'b, R>>,
    ready: Condvar,
}

struct Done<'b, R> {
    results: BTreeMap<usize, (R, Reservation<'b>)>,
    panicked: bool,
}

/// What [`Line::take`] found.
pub enum Taken<'b, R> {
    /// The next result, with the bytes it holds against the budget.
    Ready(R, Reservation<'b>),
    /// Not ready by the deadline.
    NotYet,
    /// Every job's result was taken.
    End,
}

impl<'b, R> Line<'b, R> {
    fn done(&self) -> MutexGuard<'_, Done<'b, R>> {
        self.done.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next result in job order, waiting for it until `deadline` (forever with
    /// `None`).
    pub fn take(&self, deadline: Option<Instant>) -> Taken<'b, R> {
        let wanted = self.wanted.load(Ordering::SeqCst);
        if wanted >= self.jobs {
            return Taken::End;
        }
        let mut done = self.done();
        loop {
            if let Some((result, reservation)) = done.results.remove(&wanted) {
                drop(done);
                self.wanted.store(wanted + 1, Ordering::SeqCst);
                self.builders.notify();
                return Taken::Ready(result, reservation);
            }
            assert!(!done.panicked, "building an archive panicked");
            done = match deadline {
                None => self.ready.wait(done).unwrap_or_else(|p| p.into_inner()),
                Some(at) => {
                    let Some(left) = at.checked_duration_since(Instant::now()) else {
                        return Taken::NotYet;
                    };
                    self.ready
                        .wait_timeout(done, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
            };
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.builders.notify();
    }

    /// One worker: takes jobs in order until none is left or the pass stops.
    fn work<J, S>(
        &self,
        jobs: &[J],
        mut state: S,
        build: &(impl Fn(&mut S, &J) -> (R, usize) + Sync),
    ) {
        let _guard = PanicGuard { line: self };
        loop {
            let job = self.next.fetch_add(1, Ordering::SeqCst);
            if job >= self.jobs {
                return;
            }
            let Some(slot) = self.builders.start(self, job) else {
                return;
            };
            let (result, bytes) = build(&mut state, &jobs[job]);
            drop(slot);
            self.builders.usage().bytes += bytes;
            let reservation = Reservation {
                builders: self.builders,
                bytes,
            };
            self.done().results.insert(job, (result, reservation));
            self.ready.notify_all();
        }
    }
}

/// Wakes the pass when a worker panics, rather than leaving it waiting for a result
/// that never comes; the panic itself is raised again when the workers are joined.
struct PanicGuard<'l, 'b, R> {
    line: &'l Line<'b, R>,
}

impl<R> Drop for PanicGuard<'_, '_, R> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.line.done().panicked = true;
            self.line.ready.notify_all();
            self.line.stop();
        }
    }
}

/// Runs `build` on every job, on one worker thread per state in `states` (each worker
/// owns one: a git handle, say), while `consume` takes the results in job order from
/// the [`Line`] on the calling thread. `build` returns a result and the bytes it holds.
/// When `consume` returns, jobs not yet started are dropped.
pub fn in_order<'b, J: Sync, S: Send, R: Send, T>(
    builders: &'b Builders,
    jobs: &[J],
    states: Vec<S>,
    build: impl Fn(&mut S, &J) -> (R, usize) + Sync,
    consume: impl FnOnce(&Line<'b, R>) -> T,
) -> T {
    let line = Line {
        builders,
        jobs: jobs.len(),
        next: AtomicUsize::new(0),
        wanted: AtomicUsize::new(0),
        stop: AtomicBool::new(false),
        done: Mutex::new(Done {
            results: BTreeMap::new(),
            panicked: false,
        }),
        ready: Condvar::new(),
    };
    std::thread::scope(|s| {
        let (line, build) = (&line, &build);
        for state in states {
            s.spawn(move || line.work(jobs, state, build));
        }
        // Stops the workers however `consume` ends, a panic included.
        struct StopOnExit<'l, 'b, R>(&'l Line<'b, R>);
        impl<R> Drop for StopOnExit<'_, '_, R> {
            fn drop(&mut self) {
                self.0.stop();
            }
        }
        let _stop = StopOnExit(line);
        consume(line)
    })
}

#[cfg(test)]
mod tests;
