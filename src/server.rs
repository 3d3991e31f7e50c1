//! `serve()`: the one place where the shared state, its background loops and the HTTP
//! router come together, for `tagpub serve` and for the tests.

use crate::app::{self, AppState};
use std::future::Future;
use std::sync::Arc;
use tracing::{error, info};

/// Serves HTTP on `listener` and keeps every repository synced on its `poll_interval`
/// until `shutdown` completes; then stops accepting, finishes in-flight requests, writes
/// the token uses not yet recorded and returns.
pub async fn serve(
    state: Arc<AppState>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    app::start_loops(&state, &stop_rx);
    let result = crate::http::serve(state.clone(), listener, async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    })
    .await;
    if let Err(e) = state.flush_token_uses() {
        let e = crate::report::chain(&e);
        error!(error = %e, "cannot record token use at shutdown: {e}");
    }
    info!("tagpub stopped");
    result
}
