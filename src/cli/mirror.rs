//! `tagpub mirror warm|export|import`: carrying an app's public dependencies into the
//! mirror's cache ahead of time, and into a registry with no route to the upstream.

use crate::app::AppState;
use crate::config::{Admission, Config};
use crate::mirror::lockfile::{self, Locked};
use anyhow::{Context, bail};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, clap::Subcommand)]
pub enum MirrorCommand {
    /// Fetch every hosted package of the lockfiles (listing and locked archive, checked
    /// against the lockfile's sha256) from the upstream into the cache.
    Warm {
        /// pubspec.lock files.
        #[arg(required = true)]
        lockfiles: Vec<PathBuf>,
    },
    /// Warm, then write the lockfiles' listings and archives into one bundle file.
    Export {
        /// pubspec.lock files.
        #[arg(long = "lock", required = true)]
        lockfiles: Vec<PathBuf>,
        /// The bundle to write.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Load a bundle written by `export`, verifying every sha256.
    Import {
        /// The bundle to read.
        bundle: PathBuf,
    },
}

pub fn run(config: Config, command: MirrorCommand) -> anyhow::Result<ExitCode> {
    if config.upstream.is_none() {
        bail!(
            "{} has no `upstream:` section, so tagpub mirrors nothing; add one (for a registry without a route to it, keep `url: https://pub.dev/`: it is only asked when reachable)",
            config.path.display()
        );
    }
    let state = AppState::open(config).context("while opening the store")?;
    match command {
        MirrorCommand::Warm { lockfiles } => {
            let (_, failed) = warm(&state, &lockfiles)?;
            Ok(if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        MirrorCommand::Export { lockfiles, output } => {
            let (wanted, failed) = warm(&state, &lockfiles)?;
            if failed > 0 {
                bail!("{failed} package(s) could not be fetched; no bundle was written");
            }
            let archives = state
                .mirror
                .export(&wanted, &output)
                .with_context(|| format!("while writing {}", output.display()))?;
            println!(
                "wrote {}: {} package(s), {archives} archive(s)",
                output.display(),
                wanted.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        MirrorCommand::Import { bundle } => {
            let max_bytes = state.config.load().uploads.max_archive_bytes;
            let imported = state
                .mirror
                .import(&bundle, max_bytes, |name| refusal(&state, name))
                .with_context(|| format!("while importing {}", bundle.display()))?;
            for (name, why) in &imported.skipped {
                println!("skipped {name}: {why}");
            }
            println!(
                "imported {} package(s) and {} archive(s) from {}",
                imported.packages.len(),
                imported.archives,
                bundle.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Why `name` is not mirrored here, if it is not.
fn refusal(state: &AppState, name: &str) -> Option<String> {
    let index = state.index.load();
    if index.package(name).is_some() || index.names().any(|n| n.eq_ignore_ascii_case(name)) {
        return Some("served by this registry itself".into());
    }
    let config = state.config.load();
    if config.declares(name) {
        return Some("declared in registry.yaml as one of ours".into());
    }
    let upstream = config.upstream.as_ref()?;
    match upstream.admit(name) {
        Admission::Mirrored if crate::mirror::admits(&config, name) => None,
        Admission::Mirrored => Some("not a valid package name".into()),
        Admission::Private => Some("matches upstream.private".into()),
        Admission::Denied => Some("matches upstream.deny".into()),
        Admission::NotAllowed => Some("matches no pattern of upstream.allow".into()),
    }
}

/// Warms every mirrored package of `lockfiles`; returns what was warmed (name →
/// versions) and how many failed. Each package gets one line.
fn warm(
    state: &Arc<AppState>,
    lockfiles: &[PathBuf],
) -> anyhow::Result<(BTreeMap<String, BTreeSet<String>>, usize)> {
    let mut locked: Vec<Locked> = Vec::new();
    for path in lockfiles {
        locked.extend(lockfile::read(path)?);
    }
    locked.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
    locked.dedup_by(|a, b| a.name == b.name && a.version == b.version && a.sha256 == b.sha256);
    let runtime = super::runtime()?;
    let config = state.config.load_full();
    let mut warmed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut failed = 0;
    for l in &locked {
        if let Some(why) = refusal(state, &l.name) {
            println!("skipped {} {}: {why}", l.name, l.version);
            continue;
        }
        match runtime.block_on(warm_one(state, &config, l)) {
            Ok(sha256) => {
                println!("cached {} {} ({sha256})", l.name, l.version);
                warmed
                    .entry(l.name.clone())
                    .or_default()
                    .insert(l.version.clone());
            }
            Err(why) => {
                println!("FAILED {} {}: {why}", l.name, l.version);
                failed += 1;
            }
        }
    }
    Ok((warmed, failed))
}

async fn warm_one(
    state: &AppState,
    config: &Arc<Config>,
    locked: &Locked,
) -> Result<String, String> {
    let listing = state
        .mirror
        .listing(config, &locked.name)
        .await
        .map_err(|e| e.to_string())?;
    let Some(listed) = listing.archive(&locked.version) else {
        return Err(format!(
            "the upstream does not list version {}",
            locked.version
        ));
    };
    if let Some(expected) = &locked.sha256
        && *expected != *listed.sha256
    {
        return Err(format!(
            "the lockfile pins sha256 {expected}, but the upstream lists {}; the archive changed since the lockfile was written, so it is not cached",
            listed.sha256
        ));
    }
    let (sha256, _) = state
        .mirror
        .archive(config, &locked.name, &locked.version)
        .await
        .map_err(|e| e.to_string())?;
    Ok(sha256)
}
