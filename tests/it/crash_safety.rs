//! kill -9 at any moment loses nothing that was reported: a version logged as ingested
//! is served, with the same sha256, after a restart (docs/architecture.md, "The sync
//! pipeline").

use crate::support;

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::GitRepo;
use support::config::{one_repository, write_config};
use support::daemon::Daemon;
use support::wait::{PATIENCE, poll};

const RELEASES: usize = 300;

/// `(version, sha256)` of every "ingested" line of `log`.
fn ingested(log: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in log.lines() {
        // The log may be coloured; drop the escape sequences.
        let mut plain = String::new();
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                plain.push(c);
            }
        }
        let Some(rest) = plain.split("ingested crashy ").nth(1) else {
            continue;
        };
        let version = rest.split(' ').next().unwrap().to_string();
        let sha = plain.split("sha256=").nth(1).unwrap()[..64].to_string();
        out.insert(version, sha);
    }
    out
}

#[test]
fn kill_9_during_a_big_initial_sync_loses_no_version_it_reported() {
    let repo = GitRepo::init();
    repo.fast_import(&support::git::releases_stream(
        "crashy", RELEASES, 8, 60_000,
    ));
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "access:\n  anonymous_read: true\n{}",
            one_repository(repo.path())
        ),
    );
    let mut daemon = Daemon::start(&config, &["--listen", "127.0.0.1:0"], &[]);
    // Killed as soon as some versions were reported, while the pass is still going:
    // looked at every millisecond, so that the kill lands close to the report.
    let deadline = Instant::now() + PATIENCE;
    let mut reported = None;
    while reported.is_none() && Instant::now() < deadline {
        let log = daemon.log();
        if log.matches("ingested crashy ").count() >= 20 {
            reported = Some(());
        } else {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let log = daemon.kill();
    assert!(reported.is_some(), "nothing was ingested in time:\n{log}");
    let before = ingested(&log);
    assert!(
        before.len() < RELEASES,
        "the pass ended before the kill; the test needs a bigger repository"
    );

    // The repository is unreadable now: whatever is served comes from the store alone.
    std::fs::rename(repo.path().join(".git"), repo.path().join("moved.git")).unwrap();
    let daemon = Daemon::start(&config, &["--listen", "127.0.0.1:0"], &[]);
    let listing = poll(Duration::from_secs(10), || {
        daemon.client().list("crashy").ok()
    })
    .unwrap_or_else(|| panic!("crashy is not listed after the restart:\n{}", daemon.log()));
    for (version, sha256) in &before {
        let listed = listing
            .version(version)
            .unwrap_or_else(|| panic!("{version} was reported before the kill but is lost"));
        assert_eq!(listed.archive_sha256.as_ref(), Some(sha256), "{version}");
        let file = dir
            .path()
            .join("data/archives")
            .join(&sha256[..2])
            .join(format!("{sha256}.tar.gz"));
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(&hex::encode(Sha256::digest(&bytes)), sha256, "{version}");
    }
    std::fs::rename(repo.path().join("moved.git"), repo.path().join(".git")).unwrap();
}
