//! `tagpub sync`: one pass over every repository, with a progress bar on a terminal and
//! plain lines otherwise, then a summary. Rejected tags are reported, not fatal; a broken
//! store is fatal.
//!
//! Several repositories are synced at once (`--jobs`, one per core by default), sharing
//! one `Builders` pool; `release::InOrder` keeps every claim what a serial run decides.
//! Each repository's lines are printed together, in registry.yaml order, so the output
//! is the same whatever the number of jobs.

use crate::config::Config;
use crate::release::{self, RepoReport};
use crate::store::Store;
use anyhow::Context;
use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// How many repositories to sync at once (default: one per core). The outcome is
    /// the same for any number; 1 syncs them one after another.
    #[arg(long, value_name = "N")]
    pub jobs: Option<NonZeroUsize>,
}

pub fn run(config: Config, args: SyncArgs) -> anyhow::Result<ExitCode> {
    let store = Store::open_configured(&config, false).context("while opening the store")?;
    let mirrors = config.data_dir.join("mirrors");
    let builders = release::Builders::for_this_machine();
    let repositories = &config.repositories;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(repositories.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let jobs = args
        .jobs
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(2, NonZeroUsize::get)
        .min(repositories.len())
        .max(1);
    let order = release::InOrder::new(repositories);
    // Passes start in registry.yaml order (which `InOrder` relies on); after an error
    // none starts, as a serial run would stop there.
    let next = AtomicUsize::new(0);
    let failed_pass = AtomicBool::new(false);
    let mut results: Vec<Option<Result<RepoReport, crate::store::Error>>> =
        repositories.iter().map(|_| None).collect();
    let (mut new_versions, mut rejected, mut failed) = (0, 0, 0);
    let mut printed = 0;
    std::thread::scope(|scope| {
        let (done, finished) = mpsc::channel();
        for _ in 0..jobs {
            let done = done.clone();
            let (order, next, failed_pass) = (&order, &next, &failed_pass);
            let (store, mirrors, builders, bar) = (&store, &mirrors, &builders, &bar);
            scope.spawn(move || {
                while !failed_pass.load(Ordering::SeqCst) {
                    let at = next.fetch_add(1, Ordering::SeqCst);
                    let Some(repo) = repositories.get(at) else {
                        break;
                    };
                    let name = repo.url.display();
                    match bar {
                        Some(b) => b.set_message(name),
                        None => eprintln!("syncing {name}"),
                    }
                    let result = order.pass(at, store, mirrors, builders);
                    if result.is_err() {
                        failed_pass.store(true, Ordering::SeqCst);
                    }
                    if done.send((at, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done);
        for (at, result) in finished {
            results[at] = Some(result);
            if let Some(b) = &bar {
                b.inc(1);
            }
            // Every report whose predecessors are all printed, in order.
            while let Some(Some(Ok(report))) = results.get(printed) {
                print_report(&repositories[printed].url.display(), report, bar.as_ref());
                failed += usize::from(report.fetch_error.is_some());
                new_versions += report.new_versions.len();
                rejected += report.rejected.len();
                printed += 1;
            }
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    // The first repository in registry.yaml order that failed: the one a serial run
    // would have stopped at.
    if let Some((at, Err(e))) = results
        .into_iter()
        .enumerate()
        .find_map(|(at, r)| r.filter(Result::is_err).map(|r| (at, r)))
    {
        return Err(e).with_context(|| format!("while syncing {}", repositories[at].url.display()));
    }
    println!(
        "synced {} repositories ({failed} unreachable): {new_versions} new version(s), {rejected} rejected tag(s)",
        repositories.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Prints what one repository's pass did, a line per event, above the progress bar.
fn print_report(name: &str, report: &RepoReport, bar: Option<&indicatif::ProgressBar>) {
    let print = |line: String| match bar {
        Some(b) => b.println(line),
        None => println!("{line}"),
    };
    if let Some(e) = &report.fetch_error {
        print(format!("{name}: fetch failed: {e}"));
    }
    for (package, version, tag) in &report.new_versions {
        print(format!("{name}: new {package} {version} (tag {tag})"));
    }
    for p in &report.rejected {
        print(format!(
            "{name}: rejected tag {} of {}: {}",
            p.tag, p.package, p.reason
        ));
    }
    for w in &report.warnings {
        print(format!("{name}: warning: {w}"));
    }
}
