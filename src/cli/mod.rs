//! The command line (README.md "Command line"): one file per subcommand.

mod backup;
mod check;
mod migrate;
mod mirror;
mod package;
mod serve;
mod sync;
mod token;

use anyhow::Context;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "tagpub",
    version,
    about = "A private Dart/Flutter package repository fed by git tags"
)]
pub struct Args {
    /// The registry config file.
    #[arg(
        short,
        long,
        global = true,
        env = "TAGPUB_CONFIG",
        default_value = "registry.yaml"
    )]
    pub config: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: sync repositories, watch for changes, serve HTTP.
    Serve(serve::ServeArgs),
    /// One pass: fetch every repository, ingest new tags, print a summary, exit.
    Sync(sync::SyncArgs),
    /// Validate the config and report which tags would be served or rejected, and why,
    /// without writing anything.
    Check,
    /// Issue, list and revoke tokens.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Retract, discontinue and manage uploaders of uploaded packages.
    #[command(subcommand)]
    Package(package::PackageCommand),
    /// Show the audit trail of publishing: publishes, refusals, retractions, uploaders.
    Audit(package::AuditArgs),
    /// Copy the database (tokens, uploaded packages, served versions) to a file, also
    /// while the daemon runs.
    Backup(backup::BackupArgs),
    /// Move this installation's SQLite catalog and data dir into the shared store named
    /// by `store:` (docs/operations.md), every archive verified.
    Migrate(migrate::MigrateArgs),
    /// Fill the mirror's cache from lockfiles, or carry it to an offline registry.
    #[command(subcommand)]
    Mirror(mirror::MirrorCommand),
}

/// Logs go to stderr, coloured on a terminal; `RUST_LOG` overrides the default level
/// (info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,gix=warn"));
    // Colours only on a terminal: a log file or the journal gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let load = || tagpub_config(&args.config);
    match args.command {
        Command::Serve(a) => serve::run(load()?, a),
        Command::Sync(a) => sync::run(load()?, a),
        Command::Check => check::run(load()?),
        Command::Token(t) => token::run(load()?, t),
        Command::Package(p) => package::run(load()?, p),
        Command::Audit(a) => package::audit(load()?, a),
        Command::Backup(a) => backup::run(load()?, a),
        Command::Migrate(a) => migrate::run(load()?, a),
        Command::Mirror(m) => mirror::run(load()?, m),
    }
}

fn tagpub_config(path: &std::path::Path) -> anyhow::Result<crate::config::Config> {
    crate::config::Config::load(path).with_context(|| format!("while loading {}", path.display()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("while starting the async runtime")
}
