//! `tagpub serve` as a child process: the real binary, as an operator starts it, for
//! what the in-process `server::TestServer` cannot show (start-up, signals, the log,
//! git hooks calling it from outside).

use super::client::PubClient;
use super::command::TAGPUB;
use super::wait::{PATIENCE, poll};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};

/// A running `tagpub serve`. Dropping it stops it.
pub struct Daemon {
    child: Child,
    /// `http://<address it listens on>/`, from its log.
    pub base_url: String,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
    exit: Option<ExitStatus>,
}

impl Daemon {
    /// Starts `tagpub -c <config> serve <args>` with `env` (`RUST_LOG=info` unless `env`
    /// sets it) and waits until it logs where it listens. Git sees no configuration but
    /// its own, as in the tests' repositories: no `GIT_*` variables, no user or system
    /// config, `HOME` in the config's directory.
    pub fn start(config: &Path, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let home = config.parent().expect("the config is in a directory");
        let mut command = Command::new(TAGPUB);
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GIT_") {
                command.env_remove(key);
            }
        }
        let mut child = command
            .arg("-c")
            .arg(config)
            .arg("serve")
            .args(args)
            .env("RUST_LOG", "info")
            .env("HOME", home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start tagpub serve");
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        // Drains stderr for the server's whole life so that it never blocks on a full pipe.
        let reader = {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    if let Some(at) = line.find("on http://") {
                        let addr = line[at + "on http://".len()..].split('/').next();
                        let _ = tx.send(addr.unwrap_or_default().to_owned());
                    }
                    let mut log = log.lock().expect("log lock");
                    log.push_str(&line);
                    log.push('\n');
                }
            })
        };
        let addr = rx.recv_timeout(PATIENCE);
        let mut daemon = Daemon {
            child,
            base_url: String::new(),
            log,
            reader: Some(reader),
            exit: None,
        };
        match addr {
            Ok(addr) => daemon.base_url = format!("http://{addr}/"),
            Err(_) => panic!(
                "tagpub serve never said where it listens:\n{}",
                daemon.stop()
            ),
        }
        daemon
    }

    /// A client for `base_url`.
    pub fn client(&self) -> PubClient {
        PubClient::new(&self.base_url)
    }

    /// Waits until `name` lists `version`.
    pub fn wait_until_listed(&self, name: &str, version: &str) {
        let client = self.client();
        let listed = poll(PATIENCE, || {
            let listing = client.list(name).ok()?;
            listing
                .versions()
                .iter()
                .any(|v| v == version)
                .then_some(())
        });
        assert!(
            listed.is_some(),
            "{name} {version} was not listed within {PATIENCE:?}; server log:\n{}",
            self.log()
        );
    }

    /// Everything it has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// SIGTERM, then waits for the process and the end of its log; returns the log.
    pub fn stop(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            self.exit = self.child.wait().ok();
            let _ = reader.join();
        }
        self.log()
    }

    /// SIGKILL, as a machine dying does it: no shutdown of any kind. Returns the log.
    pub fn kill(&mut self) -> String {
        if let Some(reader) = self.reader.take() {
            let _ = self.child.kill();
            self.exit = self.child.wait().ok();
            let _ = reader.join();
        }
        self.log()
    }

    /// How it ended, once [`Daemon::stop`] has stopped it.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.exit
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}
