//! What replicas learn from each other through PostgreSQL, on threads of their own
//! with connections of their own, so no request ever waits on them:
//!
//! - changes: `LISTEN tagpub_changes` bumps an in-memory counter
//!   ([`crate::store::Changes`]); the hot path reads the counter, never the database.
//!   A notification names the table written (schema.rs, version 2): one the served
//!   index is built from bumps the catalog counter too.
//!   The connection is checked every [`CHECK_EVERY`]; a lost one is re-opened, and
//!   re-opening counts as a change (what happened meanwhile was not heard).
//! - wake-ups: `LISTEN tagpub_wake` carries a repository key from a replica that got a
//!   webhook or git hook to the leader ([`Wakes`]).
//! - leadership: a session-level advisory lock held on a dedicated connection
//!   ([`Leadership`]); followers try to take it every [`CHECK_EVERY`]. PostgreSQL
//!   releases it when the leader's session ends (process killed, connection lost);
//!   a leader that cannot reach the database steps down at its next check.

use super::{LEADER_LOCK, parse_url};
use crate::store::changes::CATALOG_TABLES;
use postgres::fallible_iterator::FallibleIterator;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::{info, warn};

/// How often the listening and leadership connections are checked.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

fn connect(url: &str) -> Result<postgres::Client, String> {
    let mut config = parse_url(url).map_err(|e| crate::report::chain(&e))?;
    config.connect_timeout(Duration::from_secs(5));
    config.application_name("tagpub-live");
    config
        .connect(postgres::NoTls)
        .map_err(|e| crate::report::chain(&e))
}

/// Wake-ups forwarded by other replicas, for the leader to act on.
pub struct Wakes {
    receiver: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
}

impl Wakes {
    /// The stream of forwarded repository keys; `None` after the first call.
    pub fn take(&self) -> Option<mpsc::UnboundedReceiver<String>> {
        self.receiver
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// Starts listening; the counter is bumped for every notified commit. The thread
/// ends once `counter` is dropped.
pub fn listen(url: &str) -> (Arc<AtomicI64>, Arc<AtomicI64>, Wakes) {
    let counter = Arc::new(AtomicI64::new(0));
    let catalog = Arc::new(AtomicI64::new(0));
    let (tx, rx) = mpsc::unbounded_channel();
    let weak = Arc::downgrade(&counter);
    let weak_catalog = Arc::downgrade(&catalog);
    let url = url.to_string();
    std::thread::Builder::new()
        .name("tagpub-listen".into())
        .spawn(move || listen_loop(&url, &weak, &weak_catalog, &tx))
        .expect("a thread can be started");
    (
        counter,
        catalog,
        Wakes {
            receiver: Mutex::new(Some(rx)),
        },
    )
}

/// Whether a notification of `tagpub_changes` with `payload` may change the served
/// index: a table of [`CATALOG_TABLES`], or no table named (a database still at schema
/// version 1, while another replica migrates it).
fn touches_catalog(payload: &str) -> bool {
    payload.is_empty() || CATALOG_TABLES.contains(&payload)
}

fn bump(counter: &Weak<AtomicI64>) {
    if let Some(c) = counter.upgrade() {
        c.fetch_add(1, Ordering::SeqCst);
    }
}

fn listen_loop(
    url: &str,
    counter: &Weak<AtomicI64>,
    catalog: &Weak<AtomicI64>,
    wakes: &mpsc::UnboundedSender<String>,
) {
    let mut lost = false;
    while counter.strong_count() > 0 {
        let mut client = match connect(url) {
            Ok(c) => c,
            Err(e) => {
                if !lost {
                    warn!(error = %e, "cannot listen for changes from other replicas: {e}; retrying every second");
                    lost = true;
                }
                std::thread::sleep(CHECK_EVERY);
                continue;
            }
        };
        if let Err(e) = client.batch_execute("LISTEN tagpub_changes; LISTEN tagpub_wake") {
            warn!(error = %e, "cannot listen for changes from other replicas: {e}");
            std::thread::sleep(CHECK_EVERY);
            continue;
        }
        if lost {
            info!("listening for changes from other replicas again");
        }
        // Whatever was committed while nobody listened: everything may have changed.
        bump(catalog);
        let Some(c) = counter.upgrade() else { return };
        c.fetch_add(1, Ordering::SeqCst);
        drop(c);
        loop {
            let mut alive = true;
            for n in client.notifications().timeout_iter(CHECK_EVERY).iterator() {
                match n {
                    Ok(n) if n.channel() == "tagpub_wake" => {
                        let _ = wakes.send(n.payload().to_string());
                    }
                    Ok(n) => {
                        // The catalog first: a reader that sees the commit counted
                        // then finds the catalog moved too.
                        if touches_catalog(n.payload()) {
                            bump(catalog);
                        }
                        match counter.upgrade() {
                            Some(c) => {
                                c.fetch_add(1, Ordering::SeqCst);
                            }
                            None => return,
                        }
                    }
                    Err(_) => {
                        alive = false;
                        break;
                    }
                }
            }
            if counter.strong_count() == 0 {
                return;
            }
            // Quiet for a while: make sure the connection is still there.
            if !alive || client.is_closed() || client.simple_query("SELECT 1").is_err() {
                warn!(
                    "lost the connection that listens for changes from other replicas; reconnecting"
                );
                lost = true;
                break;
            }
        }
    }
}

/// Whether this replica is the one that syncs repositories.
#[derive(Clone)]
pub struct Leadership {
    leader: Option<Arc<AtomicBool>>,
}

impl Leadership {
    /// A store used by one process only: always the leader.
    pub fn alone() -> Leadership {
        Leadership { leader: None }
    }

    /// A process on a shared store that never syncs on its own (a command).
    pub fn never() -> Leadership {
        Leadership {
            leader: Some(Arc::new(AtomicBool::new(false))),
        }
    }

    /// Competes for leadership through the advisory lock until dropped.
    pub fn compete(url: &str) -> Leadership {
        let flag = Arc::new(AtomicBool::new(false));
        let weak = Arc::downgrade(&flag);
        let url = url.to_string();
        std::thread::Builder::new()
            .name("tagpub-leader".into())
            .spawn(move || compete_loop(&url, &weak))
            .expect("a thread can be started");
        Leadership { leader: Some(flag) }
    }

    pub fn is_leader(&self) -> bool {
        self.leader
            .as_ref()
            .is_none_or(|l| l.load(Ordering::SeqCst))
    }

    /// `leader` or `follower` among replicas; `single` with the embedded store.
    pub fn role(&self) -> &'static str {
        match &self.leader {
            None => "single",
            Some(l) if l.load(Ordering::SeqCst) => "leader",
            Some(_) => "follower",
        }
    }
}

fn compete_loop(url: &str, flag: &Weak<AtomicBool>) {
    let mut client: Option<postgres::Client> = None;
    let mut leader = false;
    let set = |value: bool| match flag.upgrade() {
        Some(f) => {
            f.store(value, Ordering::SeqCst);
            true
        }
        None => false,
    };
    loop {
        if client.is_none() {
            match connect(url) {
                Ok(c) => client = Some(c),
                Err(e) => {
                    warn!(error = %e, "cannot reach PostgreSQL to compete for leadership: {e}")
                }
            }
        }
        let step = match client.as_mut() {
            None => Err(()),
            Some(c) if leader => c.simple_query("SELECT 1").map(|_| true).map_err(|_| ()),
            Some(c) => c
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])
                .map(|r| r.get::<_, bool>(0))
                .map_err(|_| ()),
        };
        let now_leader = match step {
            Ok(held) => held,
            Err(()) => {
                // The session is gone, and the lock with it.
                client = None;
                false
            }
        };
        if now_leader != leader {
            if now_leader {
                info!("this replica is now the leader: it syncs repositories");
            } else {
                warn!("this replica is no longer the leader: another one syncs repositories");
            }
            leader = now_leader;
        }
        if !set(leader) {
            return; // The store is gone; dropping the client releases the lock.
        }
        std::thread::sleep(if leader { CHECK_EVERY } else { CHECK_EVERY / 2 });
    }
}
