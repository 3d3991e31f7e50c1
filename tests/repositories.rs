//! Where repositories live: local clones, bare repositories, mirrored file:// remotes,
//! and remotes that cannot be reached.

mod support;

use support::GitRepo;
use support::server::start;

#[test]
fn a_file_url_is_mirrored_and_fetched_incrementally() {
    let work = GitRepo::init();
    work.release("mirrored", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: file://{}\n    poll_interval: 1h\n",
            bare.path().display()
        ),
    );
    let report = server.sync().remove(0);
    assert_eq!(report.fetch_error, None);
    assert_eq!(
        server.client().list("mirrored").unwrap().versions(),
        ["1.0.0"]
    );
    assert!(
        dir.path().join("data/mirrors").is_dir(),
        "a mirror lives in data_dir"
    );

    work.release("mirrored", "1.1.0", "v1.1.0");
    work.push_tags_to(&bare);
    server.sync();
    assert_eq!(
        server.client().list("mirrored").unwrap().versions(),
        ["1.0.0", "1.1.0"]
    );
}

#[test]
fn a_bare_repository_at_a_local_path_is_read_in_place() {
    let work = GitRepo::init();
    work.release("bare_local", "0.1.0", "v0.1.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!("repositories:\n  - url: {}\n", bare.path().display()),
    );
    server.sync();
    assert_eq!(
        server.client().list("bare_local").unwrap().versions(),
        ["0.1.0"]
    );
}

#[test]
fn an_unreachable_repository_keeps_its_versions_and_reports_the_failure() {
    let work = GitRepo::init();
    work.release("flaky", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let moved_away = bare.path().with_extension("gone");
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "repositories:\n  - url: file://{}\n    poll_interval: 1h\n",
        bare.path().display()
    );
    let server = start(dir.path(), "", &config);
    server.sync();
    std::fs::rename(bare.path(), &moved_away).unwrap();

    let report = server.sync().remove(0);
    let error = report.fetch_error.expect("the failure is reported");
    assert!(
        error.contains(&bare.path().display().to_string()),
        "{error}"
    );
    assert_eq!(server.client().list("flaky").unwrap().versions(), ["1.0.0"]);

    // It is retried on the next pass.
    std::fs::rename(&moved_away, bare.path()).unwrap();
    work.release("flaky", "1.1.0", "v1.1.0");
    work.push_tags_to(&bare);
    let report = server.sync().remove(0);
    assert_eq!(report.fetch_error, None);
    assert_eq!(
        server.client().list("flaky").unwrap().versions(),
        ["1.0.0", "1.1.0"]
    );
}

#[test]
fn a_repository_that_never_existed_is_reported_not_fatal() {
    let good = GitRepo::init();
    good.release("fine", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {}/does-not-exist.git\n  - url: {}\n  - url: https://127.0.0.1:9/nothing.git\n    credentials: {{username: u, password_env: TAGPUB_TEST_UNSET_PASSWORD}}\n",
            dir.path().display(),
            good.path().display()
        ),
    );
    let reports = server.sync();
    assert!(reports[0].fetch_error.is_some());
    assert_eq!(reports[1].fetch_error, None);
    let missing_env = reports[2].fetch_error.clone().unwrap();
    assert!(
        missing_env.contains("TAGPUB_TEST_UNSET_PASSWORD"),
        "{missing_env}"
    );
    assert_eq!(server.client().list("fine").unwrap().versions(), ["1.0.0"]);
}

/// Regression: two repositories finishing their sync at the same moment each stored an
/// index holding only their own new package, so one package went missing (404).
#[test]
fn concurrent_syncs_of_many_repositories_keep_every_package_listed() {
    let repos: Vec<GitRepo> = (0..8)
        .map(|i| {
            let r = GitRepo::init();
            r.release(&format!("pkg{i}"), "1.0.0", "v1.0.0");
            r
        })
        .collect();
    let config: String = repos
        .iter()
        .map(|r| format!("  - url: {}\n    poll_interval: 1h\n", r.path().display()))
        .collect();
    for _ in 0..10 {
        let dir = tempfile::tempdir().unwrap();
        // The poll loops sync every repository at start, concurrently with this pass.
        let server = start(dir.path(), "", &format!("repositories:\n{config}"));
        server.sync();
        for i in 0..8 {
            assert!(
                server.client().list(&format!("pkg{i}")).is_ok(),
                "pkg{i} went missing"
            );
        }
    }
}

/// Regression: when a fetch failed before reaching the mirror (here: its password is not
/// set), a mirror that could not be opened either went unmentioned, so the report named
/// only the password while nothing stored before could be read from git.
#[test]
fn a_broken_mirror_is_reported_beside_the_fetch_failure() {
    let dir = tempfile::tempdir().unwrap();
    let url = "https://git.invalid/acme/broken.git";
    let mirror = tagpub::release::mirror_dir(&dir.path().join("data/mirrors"), url);
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::write(mirror.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    std::fs::write(mirror.join("config"), "[[[ not a git config\n").unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {url}\n    credentials: {{username: ci, password_env: TAGPUB_TEST_NEVER_SET}}\n    poll_interval: 1h\n"
        ),
    );
    let report = server.sync().remove(0);
    let error = report.fetch_error.expect("the failure is reported");
    assert!(error.contains("TAGPUB_TEST_NEVER_SET"), "{error}");
    assert!(
        error.contains(&mirror.display().to_string()) && error.contains("cannot be opened"),
        "the broken mirror is not mentioned: {error}"
    );
}

/// Regression: when the tags of a mirror could not be listed after a failed fetch, the
/// listing error replaced the fetch error in the report instead of joining it.
#[test]
fn a_mirror_with_damaged_refs_reports_the_fetch_and_the_listing_failure() {
    let work = GitRepo::init();
    work.release("refs_damaged", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: file://{}\n    poll_interval: 1h\n",
            bare.path().display()
        ),
    );
    assert_eq!(server.sync().remove(0).fetch_error, None);
    let mirrors = dir.path().join("data/mirrors");
    let mirror = std::fs::read_dir(&mirrors)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(mirror.join("packed-refs"), "damaged\n").unwrap();

    let error = server
        .sync()
        .remove(0)
        .fetch_error
        .expect("the failure is reported");
    assert!(error.contains("cannot fetch tags"), "{error}");
    assert!(error.contains("cannot list the tags"), "{error}");
    assert_eq!(
        server.client().list("refs_damaged").unwrap().versions(),
        ["1.0.0"]
    );
}
