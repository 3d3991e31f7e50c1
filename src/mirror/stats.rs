//! What the mirror did, for `GET api/status` and `GET metrics`: upstream requests by
//! outcome, cache hits and misses, bytes fetched, stale listings served, and the last
//! upstream error.

use serde::Serialize;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// How one request to the upstream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// 404 or 410: the upstream has no such package.
    NotFound,
    /// 401 or 403: the upstream refused our token (or wants one).
    Refused,
    /// No answer in time.
    Timeout,
    /// An archive whose bytes do not hash to the listed sha256.
    Mismatch,
    /// Anything else: connection failures, 5xx, unusable bodies.
    Error,
}

const OUTCOMES: [(Outcome, &str); 6] = [
    (Outcome::Ok, "ok"),
    (Outcome::NotFound, "not_found"),
    (Outcome::Refused, "refused"),
    (Outcome::Timeout, "timeout"),
    (Outcome::Mismatch, "mismatch"),
    (Outcome::Error, "error"),
];

#[derive(Debug, Default)]
pub struct Stats {
    outcomes: [AtomicU64; OUTCOMES.len()],
    hits: AtomicU64,
    misses: AtomicU64,
    bytes: AtomicU64,
    stale: AtomicU64,
    coalesced: AtomicU64,
    waiting: AtomicU64,
    last_error: Mutex<Option<LastError>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LastError {
    /// Seconds since the epoch.
    pub at: i64,
    pub message: String,
}

/// The counters at one moment, as `api/status` shows them.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    pub upstream_requests: std::collections::BTreeMap<&'static str, u64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub bytes_fetched: u64,
    pub stale_served: u64,
    /// Requests answered by another request's upstream fetch (coalescing).
    pub coalesced: u64,
    /// Requests waiting for an upstream fetch right now.
    pub waiting: u64,
    pub last_error: Option<LastError>,
}

fn slot(outcome: Outcome) -> usize {
    OUTCOMES
        .iter()
        .position(|(o, _)| *o == outcome)
        .expect("every outcome is listed in OUTCOMES")
}

impl Stats {
    pub fn request(&self, outcome: Outcome) {
        self.outcomes[slot(outcome)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    pub fn fetched(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub fn stale(&self) {
        self.stale.fetch_add(1, Ordering::Relaxed);
    }

    pub fn coalesced(&self) {
        self.coalesced.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request as waiting for an upstream fetch until the guard is dropped.
    pub fn waiting(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(&self.waiting)
    }

    /// Records `message` (already free of credentials) as the last upstream error.
    pub fn error(&self, message: String) {
        let mut last = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        *last = Some(LastError {
            at: crate::clock::now(),
            message,
        });
    }

    pub fn snapshot(&self) -> Snapshot {
        let last_error = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        Snapshot {
            upstream_requests: OUTCOMES
                .iter()
                .map(|(o, label)| (*label, self.outcomes[slot(*o)].load(Ordering::Relaxed)))
                .collect(),
            cache_hits: self.hits.load(Ordering::Relaxed),
            cache_misses: self.misses.load(Ordering::Relaxed),
            bytes_fetched: self.bytes.load(Ordering::Relaxed),
            stale_served: self.stale.load(Ordering::Relaxed),
            coalesced: self.coalesced.load(Ordering::Relaxed),
            waiting: self.waiting.load(Ordering::Relaxed),
            last_error,
        }
    }

    /// Appends the mirror's families in Prometheus text format (0.0.4).
    pub fn render(&self, out: &mut String) {
        let s = self.snapshot();
        let name = "tagpub_upstream_requests_total";
        let _ = writeln!(
            out,
            "# HELP {name} Requests to the upstream repository, by outcome.\n# TYPE {name} counter"
        );
        for (label, count) in &s.upstream_requests {
            let _ = writeln!(out, "{name}{{outcome=\"{label}\"}} {count}");
        }
        for (name, help, value) in [
            (
                "tagpub_mirror_cache_hits_total",
                "Mirrored listings, advisories and archives answered from the cache.",
                s.cache_hits,
            ),
            (
                "tagpub_mirror_cache_misses_total",
                "Mirrored requests that had to ask the upstream.",
                s.cache_misses,
            ),
            (
                "tagpub_upstream_bytes_total",
                "Bytes received from the upstream.",
                s.bytes_fetched,
            ),
            (
                "tagpub_mirror_stale_served_total",
                "Listings served past their listing_ttl because the upstream failed.",
                s.stale_served,
            ),
            (
                "tagpub_mirror_coalesced_total",
                "Requests answered by another request's upstream fetch.",
                s.coalesced,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let name = "tagpub_mirror_waiting";
        let _ = writeln!(
            out,
            "# HELP {name} Requests waiting for the upstream now.\n# TYPE {name} gauge\n{name} {}",
            s.waiting
        );
        let name = "tagpub_upstream_last_error_timestamp_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} When the upstream last failed (0: never).\n# TYPE {name} gauge\n{name} {}",
            s.last_error.map_or(0, |e| e.at)
        );
    }
}

/// See [`Stats::waiting`].
pub struct Waiting<'a>(&'a AtomicU64);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}
