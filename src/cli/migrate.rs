//! `tagpub migrate --to-postgres`: moves an installation on SQLite and a data dir into
//! the PostgreSQL database named by `store.database_url_env` (docs/operations.md,
//! "Moving to several replicas").

use crate::config::Config;
use crate::store;
use anyhow::{Context, bail};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// Copy the catalog (versions, tags, tokens, sessions, uploads, audit) from
    /// data_dir's SQLite database into the PostgreSQL database of
    /// `store.database_url_env`, after checking every archive's sha256.
    #[arg(long, required = true)]
    pub to_postgres: bool,
}

pub fn run(config: Config, args: MigrateArgs) -> anyhow::Result<ExitCode> {
    debug_assert!(args.to_postgres);
    let Some(url) = config.store.as_ref().and_then(|s| s.database_url()) else {
        bail!(
            "{} has no store.database_url_env, so there is no PostgreSQL to migrate to; add `store:` with `database_url_env: TAGPUB_DATABASE_URL` (docs/configuration.md)",
            config.path.display()
        );
    };
    let url = url.map_err(anyhow::Error::msg)?;
    // Archives first: a replica must never list a version whose archive is not in the
    // bucket yet. Copying is verified and skips what an earlier run copied.
    let s3 = config.store.as_ref().and_then(|s| s.s3.as_ref());
    if let Some(settings) = s3 {
        let target = store::open_s3(settings, &config.data_dir)
            .with_context(|| format!("while opening the bucket {}", settings.bucket))?;
        let from = store::FileBlobs::open(&config.data_dir.join("archives"))
            .context("while opening the data dir's archives")?;
        let copied = store::copy_blobs(&from, &target, |_| {}).with_context(|| {
            format!(
                "while copying the archives of {} to the bucket {}",
                config.data_dir.display(),
                settings.bucket
            )
        })?;
        println!(
            "archives: {} copied to the bucket {} ({} bytes), {} already there, each sha256 verified",
            copied.copied, settings.bucket, copied.bytes, copied.present
        );
    }
    let done = store::migrate_to_postgres(&config.data_dir, &url).with_context(|| {
        format!(
            "while migrating {} to PostgreSQL",
            config.data_dir.display()
        )
    })?;
    if done.already_done {
        println!(
            "the PostgreSQL database already holds exactly this registry ({} archive(s) verified); nothing to do",
            done.archives
        );
    } else {
        let rows: Vec<String> = done
            .rows
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(t, n)| format!("{n} {t}"))
            .collect();
        println!(
            "migrated {} to PostgreSQL: {}; {} archive(s) verified, {} staged upload(s) carried over. {}",
            config.data_dir.display(),
            if rows.is_empty() {
                "no rows".to_string()
            } else {
                rows.join(", ")
            },
            done.archives,
            done.staged,
            match s3 {
                Some(s) => format!("Archives are served from the bucket {}", s.bucket),
                None => format!(
                    "Archives stay in {}/archives, which every replica must share",
                    config.data_dir.display()
                ),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
