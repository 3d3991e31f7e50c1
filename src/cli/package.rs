//! `tagpub package …` and `tagpub audit`: managing uploaded packages on the server, with
//! the rights of whoever can read the data dir.

use crate::app::AppState;
use crate::clock::{now, rfc3339};
use crate::config::{Config, Email};
use crate::publish::{self, Actor};
use anyhow::{Context, bail};
use std::process::ExitCode;

#[derive(Debug, clap::Subcommand)]
pub enum PackageCommand {
    /// Retract a version: it stays listed and downloadable, but new resolutions skip it.
    Retract { name: String, version: String },
    /// Undo a retraction.
    Unretract { name: String, version: String },
    /// Mark a package discontinued, optionally naming its replacement.
    Discontinue {
        name: String,
        #[arg(long)]
        replaced_by: Option<String>,
        /// Undo: the package is maintained again.
        #[arg(long)]
        undo: bool,
    },
    /// Manage who may publish new versions.
    #[command(subcommand)]
    Uploader(UploaderCommand),
}

#[derive(Debug, clap::Subcommand)]
pub enum UploaderCommand {
    Add { name: String, email: Email },
    Remove { name: String, email: Email },
    List { name: String },
}

#[derive(Debug, clap::Args)]
pub struct AuditArgs {
    /// Only this package.
    #[arg(long)]
    pub package: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

fn refusal(e: publish::Error) -> anyhow::Error {
    match e {
        publish::Error::Refused { message, .. } => anyhow::anyhow!(message),
        other => anyhow::Error::new(other),
    }
}

pub fn run(config: Config, command: PackageCommand) -> anyhow::Result<ExitCode> {
    let state = AppState::open(config).context("while opening the store")?;
    let config = state.config.load();
    let index = state.index.load();
    let actor = Actor::ServerCommand;
    let message = match command {
        PackageCommand::Retract { name, version } => publish::retract(
            &config,
            &state.store,
            &index,
            &actor,
            (&name, &version),
            true,
            now(),
        ),
        PackageCommand::Unretract { name, version } => publish::retract(
            &config,
            &state.store,
            &index,
            &actor,
            (&name, &version),
            false,
            now(),
        ),
        PackageCommand::Discontinue {
            name,
            replaced_by,
            undo,
        } => {
            if undo && replaced_by.is_some() {
                bail!("--undo and --replaced-by do not go together");
            }
            publish::discontinue(
                &config,
                &state.store,
                &actor,
                &name,
                !undo,
                replaced_by.as_deref(),
                now(),
            )
        }
        PackageCommand::Uploader(UploaderCommand::Add { name, email }) => {
            publish::set_uploader(&config, &state.store, &actor, &name, &email, true, now())
        }
        PackageCommand::Uploader(UploaderCommand::Remove { name, email }) => {
            publish::set_uploader(&config, &state.store, &actor, &name, &email, false, now())
        }
        PackageCommand::Uploader(UploaderCommand::List { name }) => {
            let Some(package) = state
                .store
                .publishing
                .package(&name)
                .context("while reading the package")?
            else {
                bail!("{name} is not an uploaded package");
            };
            for u in package.uploaders {
                println!("{u}");
            }
            return Ok(ExitCode::SUCCESS);
        }
    }
    .map_err(refusal)?;
    println!("{message}");
    println!("a running `tagpub serve` on this data dir shows the change within a second");
    Ok(ExitCode::SUCCESS)
}

pub fn audit(config: Config, args: AuditArgs) -> anyhow::Result<ExitCode> {
    let store =
        crate::store::Store::open_configured(&config, false).context("while opening the store")?;
    let entries = store
        .publishing
        .audit_log(args.package.as_deref(), args.limit)
        .context("while reading the audit trail")?;
    for e in entries {
        println!(
            "{}  {:<26} {:<15} {}{}{}",
            rfc3339(e.at),
            e.actor,
            e.action,
            e.package,
            e.version.map(|v| format!(" {v}")).unwrap_or_default(),
            if e.detail.is_empty() {
                String::new()
            } else {
                format!(": {}", e.detail)
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
