//! `tagpub serve`.

use crate::app::AppState;
use crate::config::Config;
use anyhow::Context;
use std::process::ExitCode;
use tracing::info;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Listen on this address instead of the config's `listen`.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

pub fn run(config: Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    for problem in config.environment_problems() {
        tracing::error!("{problem}");
    }
    let listen = args.listen.unwrap_or(config.listen);
    let base_url = config.base_url.as_str().to_string();
    let state = AppState::open_serving(config).context("while opening the store")?;
    super::runtime()?.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("while binding {listen}; is another process using it?"))?;
        let local = listener.local_addr().context("while reading the bound address")?;
        info!(listen = %local, base_url = %base_url, "tagpub serving {base_url} on http://{local}/");
        crate::server::serve(state, listener, shutdown_signal()).await.context("while serving HTTP")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    info!("shutting down");
}
