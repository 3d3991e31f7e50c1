//! The git hooks shipped in `hooks/`: `post-receive` run by a real `git push` into a bare
//! repository that notifies a real `tagpub serve`, and `pre-push` in an author's clone.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use support::config::write_config;
use support::daemon::Daemon;
use support::{BareRepo, GitRepo};

/// The variable `registry.yaml` names as `webhook_secret_env`; set only on the server
/// process, so tests never touch their own environment.
const SECRET_ENV: &str = "TAGPUB_TEST_GIT_HOOK_SECRET";
const SECRET: &str = "hook-secret-4f1c9a7e";

/// Copies `hooks/<name>` into `hooks_dir`, executable, as the README tells users to.
fn install_hook(hooks_dir: &Path, name: &str) {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("hooks")
        .join(name);
    std::fs::create_dir_all(hooks_dir).expect("create the hooks directory");
    let installed = hooks_dir.join(name);
    std::fs::copy(&shipped, &installed).expect("copy the shipped hook");
    std::fs::set_permissions(&installed, std::fs::Permissions::from_mode(0o755))
        .expect("make the hook executable");
}

/// `git push <args>` from `repo`; returns whether it succeeded and everything it printed.
fn push(repo: &GitRepo, args: &[&str]) -> (bool, String) {
    let out = repo.try_run(std::iter::once("push").chain(args.iter().copied()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The lines a hook printed, as the pusher sees them (`remote: ` prefix removed).
fn tagpub_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .map(|l| l.strip_prefix("remote: ").unwrap_or(l).trim_end())
        .filter(|l| l.starts_with("tagpub"))
        .map(str::to_owned)
        .collect()
}

/// `tagpub serve` on `127.0.0.1:0` for the single repository `repo_url` (polled hourly,
/// so only a notification makes a new tag appear within the test's deadline), with the
/// webhook secret in its environment.
fn serve(dir: &Path, repo_url: &str) -> Daemon {
    let config = write_config(
        dir,
        &format!(
            "access:\n  anonymous_read: true\n\
             repositories:\n  - url: {repo_url}\n    webhook_secret_env: {SECRET_ENV}\n    \
             poll_interval: 1h\n"
        ),
    );
    Daemon::start(
        &config,
        &["--listen", "127.0.0.1:0"],
        &[(SECRET_ENV, SECRET)],
    )
}

/// An author's clone with one released version, its bare remote `origin` (which the
/// server reads through `file://`), and `post-receive` installed in the remote.
fn served_repo(name: &str) -> (GitRepo, BareRepo) {
    let work = GitRepo::init();
    work.release(name, "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    install_hook(&bare.path().join("hooks"), "post-receive");
    let remote = bare.path().to_str().expect("temp paths are UTF-8");
    work.run(["remote", "add", "origin", remote]);
    (work, bare)
}

fn configure_post_receive(bare: &BareRepo, url: &str, secret: &str) {
    bare.run(["config", "tagpub.url", url]);
    bare.run(["config", "tagpub.secret", secret]);
    bare.run(["config", "tagpub.repo", &bare.url()]);
}

#[test]
fn post_receive_notifies_tagpub_and_the_pushed_tag_is_served() {
    let (work, bare) = served_repo("hooked");
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), &bare.url());
    server.wait_until_listed("hooked", "1.0.0");
    configure_post_receive(&bare, &server.base_url, SECRET);

    // A branch alone is not news for tagpub: the hook stays quiet.
    work.write("README.md", "hooked\n");
    work.commit("readme");
    let (ok, output) = push(&work, &["origin", "main"]);
    assert!(ok, "{output}");
    assert_eq!(tagpub_lines(&output), Vec::<String>::new(), "{output}");

    work.release("hooked", "1.1.0", "v1.1.0");
    work.tag_annotated("snapshot-2024", "an annotated tag that is no release");
    let (ok, output) = push(&work, &["origin", "main", "v1.1.0", "snapshot-2024"]);
    assert!(ok, "{output}");
    assert_eq!(
        tagpub_lines(&output),
        [format!(
            "tagpub: notified {}hooks/git of 2 tag(s) in {}",
            server.base_url,
            bare.url()
        )],
        "{output}"
    );
    assert!(!output.contains(SECRET), "the secret reached the pusher");
    server.wait_until_listed("hooked", "1.1.0");
    let log = server.stop();
    assert!(!log.contains(SECRET), "the secret reached the server log");
}

#[test]
fn post_receive_lets_the_push_through_when_tagpub_is_down() {
    let (work, bare) = served_repo("unheard");
    let dir = tempfile::tempdir().unwrap();
    let mut server = serve(dir.path(), &bare.url());
    server.wait_until_listed("unheard", "1.0.0");
    configure_post_receive(&bare, &server.base_url, SECRET);
    server.stop();

    work.release("unheard", "1.1.0", "v1.1.0");
    let (ok, output) = push(&work, &["origin", "main", "v1.1.0"]);
    assert!(ok, "a stopped tagpub must not fail the push:\n{output}");
    let lines = tagpub_lines(&output);
    assert_eq!(lines.len(), 1, "{output}");
    let expected = format!("tagpub: could not notify {}hooks/git (", server.base_url);
    assert!(lines[0].starts_with(&expected), "{output}");
    assert!(
        lines[0].ends_with("); tags will be picked up by polling"),
        "{output}"
    );
    assert!(bare.tags().contains(&"v1.1.0".to_owned()));
}

#[test]
fn post_receive_reports_a_wrong_secret_and_still_succeeds() {
    let (work, bare) = served_repo("refused");
    let dir = tempfile::tempdir().unwrap();
    let server = serve(dir.path(), &bare.url());
    // Without the trailing slash users often forget: the hook adds it.
    let url = server.base_url.trim_end_matches('/');
    configure_post_receive(&bare, url, "not-the-secret-91d2");

    work.release("refused", "1.1.0", "v1.1.0");
    let (ok, output) = push(&work, &["origin", "v1.1.0"]);
    assert!(ok, "{output}");
    let lines = tagpub_lines(&output);
    assert_eq!(lines.len(), 1, "{output}");
    let expected = format!("tagpub: could not notify {url}/hooks/git (HTTP 401");
    assert!(lines[0].starts_with(&expected), "{output}");
    assert!(!output.contains("not-the-secret-91d2"), "{output}");
}

#[test]
fn post_receive_without_config_says_what_to_set() {
    let (work, bare) = served_repo("unconfigured");
    bare.run(["config", "tagpub.url", "http://127.0.0.1:1/"]);
    work.release("unconfigured", "1.1.0", "v1.1.0");
    let (ok, output) = push(&work, &["origin", "v1.1.0"]);
    assert!(ok, "{output}");
    let lines = tagpub_lines(&output);
    assert_eq!(lines.len(), 1, "{output}");
    assert!(lines[0].starts_with("tagpub: not notified"), "{output}");
    assert!(lines[0].contains("git config tagpub.repo"), "{output}");
    assert!(!lines[0].contains("git config tagpub.url"), "{output}");
}

/// An author's clone with `pre-push` installed and a bare `origin` holding `main`.
fn author_repo(files: &[(&str, String)]) -> (GitRepo, BareRepo) {
    let work = GitRepo::init();
    for (path, contents) in files {
        work.write(path, contents);
    }
    work.commit("first");
    let bare = work.bare_clone();
    install_hook(&work.path().join(".git/hooks"), "pre-push");
    let remote = bare.path().to_str().expect("temp paths are UTF-8");
    work.run(["remote", "add", "origin", remote]);
    (work, bare)
}

fn hooks_dir_of(repo: &GitRepo) -> PathBuf {
    repo.path().join(".git/hooks")
}

#[test]
fn pre_push_refuses_a_tag_its_pubspec_disagrees_with_and_says_how_to_fix_it() {
    let (work, bare) = author_repo(&[("pubspec.yaml", support::pubspec("widgets", "1.0.0"))]);
    assert!(hooks_dir_of(&work).join("pre-push").is_file());
    work.tag("v1.1.0");
    let (ok, output) = push(&work, &["origin", "v1.1.0"]);
    assert!(
        !ok,
        "a tag the pubspec disagrees with must be refused:\n{output}"
    );
    for needle in [
        "refusing to push tag v1.1.0",
        "pubspec.yaml at that tag says version 1.0.0, but the tag says 1.1.0",
        "set `version: 1.1.0` in pubspec.yaml, commit",
        "git tag -f v1.1.0 && git push origin v1.1.0",
        "git tag v1.0.0 ",
    ] {
        assert!(output.contains(needle), "missing {needle:?} in:\n{output}");
    }
    assert!(bare.tags().is_empty(), "nothing was pushed");

    // Following the advice works.
    work.write("pubspec.yaml", support::pubspec("widgets", "1.1.0"));
    work.commit("bump to 1.1.0");
    work.run(["tag", "-f", "v1.1.0"]);
    let (ok, output) = push(&work, &["origin", "main", "v1.1.0"]);
    assert!(ok, "{output}");
    assert_eq!(bare.tags(), ["v1.1.0"]);
}

#[test]
fn pre_push_reads_the_pubspec_at_the_tag_not_at_head() {
    let (work, bare) = author_repo(&[("pubspec.yaml", support::pubspec("widgets", "1.0.0"))]);
    let first = work.head();
    // Quotes and a comment around the version are YAML, not part of the version.
    work.write(
        "pubspec.yaml",
        "name: widgets\nversion: \"1.2.0\" # released\nenvironment:\n  sdk: ^3.0.0\n",
    );
    work.commit("1.2.0");
    work.tag_at("v1.0.0", &first);
    work.tag("v1.2.0");
    work.tag("1.2.0");
    work.tag("not-a-release");
    let (ok, output) = push(&work, &["origin", "--tags"]);
    assert!(ok, "{output}");
    assert_eq!(bare.tags(), ["1.2.0", "not-a-release", "v1.0.0", "v1.2.0"]);

    work.tag_at("v1.3.0", &first);
    let (ok, output) = push(&work, &["origin", "v1.3.0"]);
    assert!(!ok, "{output}");
    assert!(output.contains("says version 1.0.0"), "{output}");

    work.write(
        "pubspec.yaml",
        "name: widgets\nenvironment:\n  sdk: ^3.0.0\n",
    );
    work.commit("version lost");
    work.tag("v1.4.0");
    let (ok, output) = push(&work, &["origin", "v1.4.0"]);
    assert!(!ok, "{output}");
    assert!(
        output.contains("pubspec.yaml at that tag has no top-level `version:`"),
        "{output}"
    );

    // Deleting a tag pushes nothing to check.
    let (ok, output) = push(&work, &["origin", "--delete", "v1.0.0"]);
    assert!(ok, "{output}");
}

#[test]
fn pre_push_peels_annotated_tags() {
    let (work, bare) = author_repo(&[("pubspec.yaml", support::pubspec("widgets", "2.0.0"))]);
    work.tag_annotated("v2.0.0", "release 2.0.0");
    work.tag_annotated("v2.0.1", "release 2.0.1");
    let (ok, output) = push(&work, &["origin", "v2.0.0"]);
    assert!(ok, "{output}");
    let (ok, output) = push(&work, &["origin", "v2.0.1"]);
    assert!(!ok, "{output}");
    assert!(
        output.contains("says version 2.0.0, but the tag says 2.0.1"),
        "{output}"
    );
    // The advice keeps the tag annotated.
    assert!(
        output.contains("git tag -a -f v2.0.1 && git push origin v2.0.1"),
        "{output}"
    );
    assert_eq!(bare.tags(), ["v2.0.0"]);
}

#[test]
fn pre_push_follows_the_monorepo_patterns_in_git_config() {
    let (work, bare) = author_repo(&[
        (
            "packages/foo/pubspec.yaml",
            support::pubspec("foo", "2.0.0"),
        ),
        (
            "packages/bar/pubspec.yaml",
            support::pubspec("bar", "0.3.0"),
        ),
    ]);
    work.run([
        "config",
        "--add",
        "tagpub.package",
        "packages/foo foo-v{{version}}",
    ]);
    work.run([
        "config",
        "--add",
        "tagpub.package",
        "packages/bar/ bar-v{{version}} bar-{{version}}",
    ]);
    work.run([
        "config",
        "--add",
        "tagpub.package",
        "packages/baz baz-v{{version}}",
    ]);
    for tag in [
        "foo-v2.0.0",
        "bar-0.3.0",
        "bar-v0.4.0",
        "baz-v1.0.0",
        "v9.9.9",
    ] {
        work.tag(tag);
    }

    // All pushed tags are checked before refusing; a refused push pushes nothing.
    let (ok, output) = push(&work, &["origin", "foo-v2.0.0", "bar-v0.4.0", "baz-v1.0.0"]);
    assert!(!ok, "{output}");
    assert!(!output.contains("tag foo-v2.0.0"), "{output}");
    assert!(
        output.contains(
            "packages/bar/pubspec.yaml at that tag says version 0.3.0, but the tag says 0.4.0"
        ),
        "{output}"
    );
    assert!(output.contains("git tag bar-v0.3.0 "), "{output}");
    assert!(
        output.contains("there is no packages/baz/pubspec.yaml at that tag"),
        "{output}"
    );
    assert!(bare.tags().is_empty(), "{:?}", bare.tags());

    // The root default (`v{{version}}`) no longer applies once packages are configured.
    let (ok, output) = push(&work, &["origin", "foo-v2.0.0", "bar-0.3.0", "v9.9.9"]);
    assert!(ok, "{output}");
    assert_eq!(bare.tags(), ["bar-0.3.0", "foo-v2.0.0", "v9.9.9"]);
}
