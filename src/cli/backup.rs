//! `tagpub backup PATH`: a consistent copy of the database, also while the daemon runs.
//! Restoring it is described in README.md ("Backup and restore").

use crate::config::Config;
use crate::store::{self, Store};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// Where to write the copy of the database (one file, readable only by you).
    pub path: PathBuf,
    /// Replace PATH if it exists.
    #[arg(long)]
    pub force: bool,
}

pub fn run(config: Config, args: BackupArgs) -> anyhow::Result<ExitCode> {
    // A rotation script that writes today's backup over yesterday's by mistake should
    // have to say so.
    if args.path.exists() && !args.force {
        bail!(
            "{} exists; choose another path, or pass --force to replace it",
            args.path.display()
        );
    }
    if config
        .store
        .as_ref()
        .is_some_and(|s| s.database_url_env.is_some())
    {
        bail!(
            "the catalog of {} is in PostgreSQL (store.database_url_env), which `tagpub backup` does not copy; back it up with pg_dump (docs/operations.md)",
            config.path.display()
        );
    }
    // Opening the store refuses a data dir whose database was lost, so an empty
    // database is never written over a good backup.
    let _store = Store::open(&config.data_dir).context("while opening the store")?;
    let summary = store::backup(&config.data_dir, &args.path, args.force)
        .with_context(|| format!("while backing up to {}", args.path.display()))?;
    println!(
        "backed up {} to {}: {} version(s), {} token(s), {} uploaded package(s)",
        store::database_path(&config.data_dir).display(),
        args.path.display(),
        summary.versions,
        summary.tokens,
        summary.uploaded_packages
    );
    println!(
        "archives are not in the backup: copy {} as well (its files never change)",
        config.data_dir.join("archives").display()
    );
    Ok(ExitCode::SUCCESS)
}
