//! Waiting on a condition with a deadline: the one way the tests synchronise with the
//! server's background work and with child processes. Never a sleep as synchronisation.

use std::time::{Duration, Instant};

/// How long [`wait_for`] waits. Generous, so that a busy machine does not fail a test; a
/// passing test waits only as long as its condition takes.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// How often a condition is checked.
const INTERVAL: Duration = Duration::from_millis(20);

/// Checks `condition` until it holds; panics naming `what` after [`PATIENCE`].
pub fn wait_for(what: &str, condition: impl FnMut() -> bool) {
    wait_within(PATIENCE, what, condition);
}

/// As [`wait_for`], for a test whose point is the limit (a promise such as "within a
/// second", given a few more seconds for a busy machine).
pub fn wait_within(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    if poll(limit, || condition().then_some(())).is_none() {
        panic!("{what}: not within {} s", limit.as_secs_f32());
    }
}

/// Calls `found` until it returns `Some`, for at most `limit`; `None` if it never did, so
/// that the caller can fail with what it knows (a server log, the text it searched).
pub fn poll<T>(limit: Duration, mut found: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = found() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(INTERVAL);
    }
}
