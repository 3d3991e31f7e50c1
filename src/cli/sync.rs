//! `tagpub sync`: one pass over every repository, with a progress bar on a terminal and
//! plain lines otherwise, then a summary. Rejected tags are reported, not fatal; a broken
//! store is fatal.

use crate::config::Config;
use crate::release;
use crate::store::Store;
use anyhow::Context;
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    let store = Store::open_configured(&config, false).context("while opening the store")?;
    let mirrors = config.data_dir.join("mirrors");
    let builders = release::Builders::for_this_machine();
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(config.repositories.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(bar)
    } else {
        None
    };
    let (mut new_versions, mut rejected, mut failed) = (0, 0, 0);
    for repo in &config.repositories {
        let name = repo.url.display();
        match &bar {
            Some(b) => b.set_message(name.clone()),
            None => eprintln!("syncing {name}"),
        }
        let report =
            release::sync_repository(repo, &config.repositories, &store, &mirrors, &builders)
                .with_context(|| format!("while syncing {name}"))?;
        let print = |line: String| match &bar {
            Some(b) => b.println(line),
            None => println!("{line}"),
        };
        if let Some(e) = &report.fetch_error {
            failed += 1;
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
        new_versions += report.new_versions.len();
        rejected += report.rejected.len();
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    println!(
        "synced {} repositories ({failed} unreachable): {new_versions} new version(s), {rejected} rejected tag(s)",
        config.repositories.len()
    );
    Ok(ExitCode::SUCCESS)
}
