//! Running tagpub as an operator does: a data dir private to its user, a lost database
//! refused instead of silently replaced, `tagpub backup` and its restore, and a config
//! watch that sees only the config file.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use support::GitRepo;
use support::command::{command, tagpub_text};
use support::config::write_config;
use support::server::start;
use support::tarball::package_archive;
use support::wait::{PATIENCE, poll, wait_for};
use tagpub::auth::token;

const MEMBERS: &str = "members:\n  - {email: admin@acme.dev, admin: true}\n";

/// The admin and `git` as the only repository.
fn members_and(git: &GitRepo) -> String {
    format!("{MEMBERS}repositories:\n  - url: {}\n", git.url())
}

/// Path, size, modification time and mode of everything under `dir`.
fn snapshot(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime, u32)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let meta = entry.metadata().unwrap();
            #[cfg(unix)]
            let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions());
            #[cfg(not(unix))]
            let mode = 0;
            all.push((entry.path(), meta.len(), meta.modified().unwrap(), mode));
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    all.sort();
    all
}

#[test]
fn a_zero_byte_database_refuses_every_command_and_touches_nothing() {
    let git = GitRepo::init();
    git.release("pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &members_and(&git));
    let (code, out) = tagpub_text(&config, &["sync"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = tagpub_text(&config, &["token", "issue", "--member", "admin@acme.dev"]);
    assert_eq!(code, 0, "{out}");
    let db = dir.path().join("data/tagpub.sqlite3");
    std::fs::File::options()
        .write(true)
        .open(&db)
        .unwrap()
        .set_len(0)
        .unwrap();
    let before = snapshot(&dir.path().join("data"));
    let backup = dir.path().join("backup.sqlite3");
    for args in [
        &["sync"][..],
        &["serve", "--listen", "127.0.0.1:0"],
        &["token", "list"],
        &["package", "uploader", "list", "pkg"],
        &["audit"],
        &["backup", backup.to_str().unwrap()],
    ] {
        let (code, out) = tagpub_text(&config, args);
        assert_ne!(code, 0, "tagpub {args:?} must refuse: {out}");
        assert!(
            out.contains("is empty (0 bytes)")
                && out.contains("tagpub backup")
                && out.contains("move")
                && out.contains(&db.display().to_string()),
            "tagpub {args:?} must say what happened and how to recover: {out}"
        );
    }
    assert_eq!(snapshot(&dir.path().join("data")), before);
    assert!(!backup.exists());
}

#[test]
fn a_fresh_data_dir_initialises_and_is_private() {
    let git = GitRepo::init();
    git.release("pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &members_and(&git));
    let (code, out) = tagpub_text(&config, &["sync"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 new version(s)"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let data = dir.path().join("data");
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("tagpub.sqlite3")), 0o600);
        for (path, ..) in snapshot(&data.join("archives")) {
            if path.is_file() {
                assert_eq!(mode(&path), 0o600, "{}", path.display());
            }
        }
    }
}

#[test]
fn a_backup_made_while_the_server_runs_restores_tokens_uploads_and_versions() {
    let git = GitRepo::init();
    git.release("gitpkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "access:\n  anonymous_read: false\n{MEMBERS}repositories:\n  - url: {}\n    poll_interval: 1h\n",
        git.url()
    );
    let s = start(dir.path(), "", &body);
    s.sync();
    let now = tagpub::clock::now();
    let kept = token::issue(&s.state.store, "admin@acme.dev", "kept", None, now).unwrap();
    let admin = s.client().with_token(kept.secret.expose());
    admin
        .publish(&package_archive("uploaded", "1.0.0", ""))
        .unwrap();
    let listed = |c: &support::PubClient, name: &str| {
        let l = c.list(name).unwrap();
        l.versions
            .iter()
            .map(|v| (v.version.clone(), v.archive_sha256.clone()))
            .collect::<Vec<_>>()
    };
    let before = (listed(&admin, "gitpkg"), listed(&admin, "uploaded"));

    let backup = dir.path().join("backup.sqlite3");
    let (code, out) = tagpub_text(&s.config_path, &["backup", backup.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 version(s), 1 token(s), 1 uploaded package(s)"),
        "{out}"
    );
    let (code, out) = tagpub_text(&s.config_path, &["backup", backup.to_str().unwrap()]);
    assert_ne!(code, 0, "an existing backup is not replaced silently");
    assert!(out.contains("--force"), "{out}");

    // After the backup: a token the restore will not know.
    let later = token::issue(&s.state.store, "admin@acme.dev", "later", None, now).unwrap();
    s.stop();

    // The restore documented in README.md.
    let data = dir.path().join("data");
    std::fs::copy(&backup, data.join("tagpub.sqlite3")).unwrap();
    for stale in ["tagpub.sqlite3-wal", "tagpub.sqlite3-shm"] {
        let _ = std::fs::remove_file(data.join(stale));
    }
    let s = start(dir.path(), "", &body);
    let admin = s.client().with_token(kept.secret.expose());
    assert_eq!(
        (listed(&admin, "gitpkg"), listed(&admin, "uploaded")),
        before
    );
    let stranger = s.client().with_token(later.secret.expose());
    assert_eq!(stranger.get_api("api/packages/gitpkg").unwrap().status, 401);
    let (code, out) = tagpub_text(
        &s.config_path,
        &["backup", "--force", backup.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{out}");
}

/// Reads `path` until it holds `needle` `times` times.
fn wait_for_text(path: &Path, needle: &str, times: usize) -> String {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    poll(PATIENCE, || {
        Some(read()).filter(|t| t.matches(needle).count() >= times)
    })
    .unwrap_or_else(|| {
        panic!(
            "no {times}× `{needle}` within {PATIENCE:?} in:\n{}",
            last_chars(&read(), 4000)
        )
    })
}

/// The last `n` characters of `text`, where a long log ends.
fn last_chars(text: &str, n: usize) -> &str {
    let skip = text.chars().count().saturating_sub(n);
    text.char_indices()
        .nth(skip)
        .map_or("", |(at, _)| &text[at..])
}

#[test]
fn trace_logging_into_the_config_directory_does_not_feed_the_config_watch() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.yaml");
    let yaml = "base_url: http://127.0.0.1:1/\ndata_dir: .\nrepositories: []\n";
    std::fs::write(&config, yaml).unwrap();
    let log = dir.path().join("tagpub.log");
    let mut daemon = command(&config, &["serve", "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info,notify=trace,tagpub=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Watching: said by tagpub, or (what also shows it on a build without that line)
    // by notify's trace.
    wait_for("the config to be watched", || {
        std::fs::read_to_string(&log)
            .is_ok_and(|t| t.contains("watching") || t.contains("adding inotify watch"))
    });
    // Other files in the directory: the database (data_dir is `.`), the log, this one.
    std::fs::write(dir.path().join("unrelated.txt"), "x").unwrap();
    // The config's own changes still reload it: written in place, replaced the way
    // editors save, and in place again (the watch follows the new file).
    std::fs::write(&config, format!("{yaml}# edited\n")).unwrap();
    wait_for_text(&log, "reloaded", 1);
    let saved = dir.path().join(".registry.yaml.swp");
    std::fs::write(&saved, format!("{yaml}# saved by an editor\n")).unwrap();
    std::fs::rename(&saved, &config).unwrap();
    wait_for_text(&log, "reloaded", 2);
    std::fs::write(&config, format!("{yaml}# edited again\n")).unwrap();
    let text = wait_for_text(&log, "reloaded", 3);
    daemon.kill().unwrap();
    daemon.wait().unwrap();
    // A log that is not a terminal is plain text, without colour codes.
    assert!(
        !text.contains('\u{1b}'),
        "escape codes in a log file: {}",
        last_chars(&text, 400)
    );
    // Events of the watch were logged (trace), but none about another file.
    assert!(
        text.contains("inotify") || !cfg!(target_os = "linux"),
        "{text}"
    );
    for other in ["unrelated.txt", "tagpub.log", "tagpub.sqlite3"] {
        let seen: Vec<&str> = text
            .lines()
            .filter(|l| l.contains("notify") && l.contains(other))
            .collect();
        assert!(seen.is_empty(), "the watch saw {other}: {seen:#?}");
    }
}

#[test]
fn the_daemons_metrics_say_what_its_allocator_holds() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("registry.yaml");
    std::fs::write(
        &config,
        "base_url: http://127.0.0.1:1/\ndata_dir: data\nmetrics: {public: true}\nrepositories: []\n",
    )
    .unwrap();
    let mut daemon = support::daemon::Daemon::start(&config, &["--listen", "127.0.0.1:0"], &[]);
    let metrics = daemon.client().get("metrics").unwrap();
    assert_eq!(metrics.status, 200);
    let text = String::from_utf8(metrics.body).unwrap();
    let value = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
            .parse()
            .unwrap()
    };
    let (allocated, resident) = (
        value("tagpub_heap_allocated_bytes"),
        value("tagpub_heap_resident_bytes"),
    );
    // The binary's allocator holds at least the config, the index and the runtime.
    assert!(allocated > 100_000, "{allocated}");
    assert!(resident >= allocated, "{resident} < {allocated}");
    daemon.stop();
}
