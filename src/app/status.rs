//! What happened to each repository, for `GET api/status` and `GET metrics`.

use crate::release::{RepoReport, TagProblem};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds (seconds) of the tag-to-served latency histogram.
const LATENCY_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// The last known state of one repository.
#[derive(Debug, Clone, Default)]
pub struct RepoStatus {
    /// When the last fetch (or read, for local repositories) finished.
    pub last_fetch: Option<i64>,
    pub last_fetch_ms: Option<u64>,
    /// The fetch error of the last pass, if it failed.
    pub last_error: Option<String>,
    pub last_webhook: Option<i64>,
    pub last_report: Option<ReportDigest>,
}

/// Rejected tags kept per package, the latest of a pass; the others are counted.
pub const REJECTED_KEPT: usize = 10;
/// Warnings kept per repository; the others are counted.
pub const WARNINGS_KEPT: usize = 100;

/// What is kept of a pass's [`RepoReport`] until the next one: counts, and the latest
/// few rejections and warnings. The whole report holds every tag, which for thousands
/// of packages is megabytes; which versions are served (and from which tag) is in the
/// index and the catalog (docs/architecture.md, "The index").
#[derive(Debug, Clone, Default)]
pub struct ReportDigest {
    /// Versions served (or already served) by the pass.
    pub served: usize,
    /// Per package, its rejected tags (the latest [`REJECTED_KEPT`]) and how many there were.
    pub rejected: BTreeMap<String, (Vec<TagProblem>, usize)>,
    /// The latest [`WARNINGS_KEPT`] warnings, and how many there were.
    pub warnings: (Vec<String>, usize),
    pub waiting_on: Vec<String>,
}

impl ReportDigest {
    pub fn of(report: &RepoReport) -> ReportDigest {
        let mut rejected: BTreeMap<String, (Vec<TagProblem>, usize)> = BTreeMap::new();
        for p in &report.rejected {
            let (kept, count) = rejected.entry(p.package.clone()).or_default();
            *count += 1;
            kept.push(p.clone());
        }
        for (kept, _) in rejected.values_mut() {
            let drop = kept.len().saturating_sub(REJECTED_KEPT);
            kept.drain(..drop);
            kept.shrink_to_fit();
        }
        let skip = report.warnings.len().saturating_sub(WARNINGS_KEPT);
        ReportDigest {
            served: report.served.len(),
            rejected,
            warnings: (report.warnings[skip..].to_vec(), report.warnings.len()),
            waiting_on: report.waiting_on.clone(),
        }
    }

    /// Rejected tags of all packages, in all.
    pub fn rejected_count(&self) -> usize {
        self.rejected.values().map(|(_, n)| n).sum()
    }
}

#[derive(Debug, Default)]
struct Counters {
    fetches: u64,
    failures: u64,
    duration_seconds_sum: f64,
    webhooks: u64,
    /// The [`Tracker::pass_finished`] number of the last pass.
    finished: u64,
}

/// Statuses and Prometheus counters, per repository key.
#[derive(Debug, Default)]
pub struct Tracker {
    repos: Mutex<HashMap<String, (RepoStatus, Counters)>>,
    latency: Mutex<Histogram>,
    /// Passes finished so far, to order them (see [`Tracker::pass_finished`]).
    passes: AtomicU64,
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; LATENCY_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Tracker {
    pub fn record_sync(&self, key: &str, at: i64, took: Duration, report: &RepoReport) {
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let (status, counters) = repos.entry(key.to_string()).or_default();
        status.last_fetch = Some(at);
        status.last_fetch_ms = Some(took.as_millis() as u64);
        status.last_error = report.fetch_error.clone();
        status.last_report = Some(ReportDigest::of(report));
        counters.fetches += 1;
        counters.duration_seconds_sum += took.as_secs_f64();
        if report.fetch_error.is_some() {
            counters.failures += 1;
        }
    }

    pub fn record_webhook(&self, key: &str, at: i64) {
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let (status, counters) = repos.entry(key.to_string()).or_default();
        status.last_webhook = Some(at);
        counters.webhooks += 1;
    }

    /// From the moment tagpub learned of a push to the version being in the listing.
    pub fn record_tag_latency(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let mut h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    }

    /// Fetches (or reads) of repository `key` so far.
    pub fn fetches(&self, key: &str) -> u64 {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        repos.get(key).map_or(0, |(_, c)| c.fetches)
    }

    /// A number to pass to [`Tracker::pass_finished`] when the pass now starting ends.
    pub fn pass_started(&self) -> u64 {
        self.passes.load(Ordering::SeqCst)
    }

    /// Notes the end of a pass of `key` (whose report [`Tracker::record_sync`] holds) that
    /// began at `started`, and returns the repositories to sync again because of
    /// release/claim.rs: those waiting for `key`, and `key` itself if a repository it waits
    /// for finished a pass meanwhile (its answer came too late for this pass).
    pub fn pass_finished(&self, key: &str, started: u64) -> Vec<String> {
        let mut repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let seq = self.passes.fetch_add(1, Ordering::SeqCst) + 1;
        let waits_for = |s: &RepoStatus, other: &str| {
            s.last_report
                .as_ref()
                .is_some_and(|r| r.waiting_on.iter().any(|w| w == other))
        };
        let mut again: Vec<String> = repos
            .iter()
            .filter(|(k, (s, _))| k.as_str() != key && waits_for(s, key))
            .map(|(k, _)| k.clone())
            .collect();
        if let Some((s, _)) = repos.get(key)
            && repos
                .iter()
                .any(|(k, (_, c))| c.finished > started && waits_for(s, k))
        {
            again.push(key.to_string());
        }
        repos.entry(key.to_string()).or_default().1.finished = seq;
        again
    }

    pub fn status(&self, key: &str) -> RepoStatus {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        repos.get(key).map(|(s, _)| s.clone()).unwrap_or_default()
    }

    /// Prometheus text exposition (format 0.0.4). Written by hand: a handful of counters
    /// and one histogram do not justify a metrics framework and its global registry.
    pub fn render(&self, labels: &BTreeMap<String, String>, packages: usize) -> String {
        let repos = self.repos.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        let mut family =
            |name: &str, kind: &str, help: &str, value: &dyn Fn(&Counters) -> String| {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for (key, label) in labels {
                    let v = repos
                        .get(key)
                        .map_or_else(|| value(&Counters::default()), |(_, c)| value(c));
                    let _ = writeln!(out, "{name}{{repository=\"{}\"}} {v}", escape(label));
                }
            };
        family(
            "tagpub_fetches_total",
            "counter",
            "Fetches (or reads) of a repository.",
            &|c| c.fetches.to_string(),
        );
        family(
            "tagpub_fetch_failures_total",
            "counter",
            "Fetches that failed.",
            &|c| c.failures.to_string(),
        );
        family(
            "tagpub_fetch_duration_seconds_total",
            "counter",
            "Time spent in sync passes.",
            &|c| format!("{:.6}", c.duration_seconds_sum),
        );
        family(
            "tagpub_webhooks_total",
            "counter",
            "Accepted push notifications.",
            &|c| c.webhooks.to_string(),
        );
        let h = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        let name = "tagpub_tag_to_served_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} From learning of a push to the new version being listed.\n# TYPE {name} histogram"
        );
        for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", h.counts[i]);
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {}\n{name}_sum {:.6}\n{name}_count {}",
            h.count, h.sum, h.count
        );
        let _ = writeln!(
            out,
            "# HELP tagpub_packages Packages served.\n# TYPE tagpub_packages gauge\ntagpub_packages {packages}"
        );
        out
    }
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The owner and the other source of a name conflict, as people know them.
pub fn conflict_sources(
    config: &crate::config::Config,
    c: &crate::store::NameConflict,
) -> (String, String) {
    let name = |key: &str| {
        if key.is_empty() {
            "`dart pub publish`".to_string()
        } else {
            config
                .repository(key)
                .map_or_else(|| crate::config::redact(key), |r| r.url.display())
        }
    };
    (name(&c.owner), name(&c.other))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_keeps_counts_and_the_latest_rejections() {
        let report = RepoReport {
            served: vec![("a".into(), "1.0.0".into(), "v1.0.0".into()); 3],
            rejected: (0..25)
                .map(|i| TagProblem {
                    package: if i % 5 == 0 { "b" } else { "a" }.into(),
                    tag: format!("t{i}"),
                    reason: format!("reason {i}"),
                })
                .collect(),
            warnings: (0..150).map(|i| format!("w{i}")).collect(),
            waiting_on: vec!["other".into()],
            ..Default::default()
        };
        let digest = ReportDigest::of(&report);
        assert_eq!(digest.served, 3);
        assert_eq!(digest.rejected_count(), 25);
        let (a, count) = &digest.rejected["a"];
        assert_eq!(*count, 20);
        assert_eq!(a.len(), REJECTED_KEPT);
        assert_eq!(a.last().unwrap().tag, "t24", "the latest are kept");
        assert_eq!(a.first().unwrap().tag, "t13");
        assert_eq!(digest.rejected["b"].0.len(), 5);
        assert_eq!(digest.warnings.1, 150);
        assert_eq!(digest.warnings.0.len(), WARNINGS_KEPT);
        assert_eq!(digest.warnings.0.last().unwrap(), "w149");
        assert_eq!(digest.waiting_on, ["other"]);
    }
}
