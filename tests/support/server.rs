//! A real tagpub server on `127.0.0.1:0`, in-process, with its own data directory.

use super::client::PubClient;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tagpub::app::AppState;
use tagpub::config::Config;
use tagpub::release::RepoReport;

/// A running server. Dropping it shuts it down gracefully.
pub struct TestServer {
    pub state: Arc<AppState>,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT/PREFIX` with a trailing slash.
    pub base_url: String,
    pub config_path: PathBuf,
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

/// Writes `registry.yaml` into `dir` (data in `dir/data`), with `body` holding the
/// `repositories:` section and anything else, and starts a server at `prefix` ("" or
/// "some/prefix/"). Unless `body` sets `access:`, anonymous reads are on, so tests
/// about other things need no tokens.
pub fn start(dir: &Path, prefix: &str, body: &str) -> TestServer {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let addr = listener.local_addr().expect("bound address");
    let base_url = format!("http://{addr}/{prefix}");
    let config_path = dir.join("registry.yaml");
    let access = if body.contains("access:") {
        ""
    } else {
        "access:\n  anonymous_read: true\n"
    };
    let yaml = format!("base_url: {base_url}\nlisten: {addr}\ndata_dir: data\n{access}{body}");
    std::fs::write(&config_path, yaml).expect("write registry.yaml");
    let config = Config::load(&config_path).expect("test config is valid");
    let state = AppState::open(config).expect("open the store");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = {
        let state = state.clone();
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            tagpub::server::serve(state, listener, async move {
                let _ = rx.await;
            })
            .await
        })
    };
    TestServer {
        state,
        addr,
        base_url,
        config_path,
        runtime: Some(runtime),
        shutdown: Some(tx),
        served: Some(served),
    }
}

impl TestServer {
    /// A client for this server's hosted URL.
    pub fn client(&self) -> PubClient {
        PubClient::new(&self.base_url)
    }

    /// One sync pass over every repository, as the poll loop does; panics if the store
    /// fails.
    pub fn sync(&self) -> Vec<RepoReport> {
        let runtime = self.runtime.as_ref().expect("server is running");
        runtime
            .block_on(self.state.sync_all())
            .into_iter()
            .map(|r| r.expect("sync works"))
            .collect()
    }

    /// Stops the server and waits until it has stopped.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let (Some(runtime), Some(served)) = (self.runtime.take(), self.served.take()) {
            let _ = runtime.block_on(served);
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}
