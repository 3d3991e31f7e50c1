//! Issue 9, defect 6: what callers and logs learn about repositories. `metrics` is for
//! admins and the configured scraper; secrets inside repository URLs are refused at load;
//! `hooks/git` answers every refusal alike.

use crate::support;

use std::path::Path;
use support::command::tagpub;
use support::config::write_config;
use support::server::{TestServer, start};
use support::{GitRepo, PubClient, RawResponse};
use tagpub::auth::token;
use tagpub::config::Config;

/// The value cargo sets for `TAGPUB_TEST_METRICS_TOKEN` (.cargo/config.toml).
const METRICS_TOKEN: &str = "metrics-scraper-token-3";
/// The value cargo sets for `TAGPUB_TEST_WEBHOOK_SECRET`.
const HOOK_SECRET: &str = "test-webhook-secret-1";

const MEMBERS: &str =
    "members:\n  - {email: admin@acme.dev, admin: true}\n  - {email: bob@acme.dev}\n";

fn serve(dir: &Path, repo: &GitRepo, extra: &str) -> TestServer {
    let body = format!(
        "{MEMBERS}{extra}repositories:\n  - url: {}\n    poll_interval: 1h\n",
        repo.path().display()
    );
    let server = start(dir, "", &body);
    server.sync();
    server
}

fn with_token_of(server: &TestServer, member: &str) -> PubClient {
    let issued = token::issue(&server.state.store, member, "", None, tagpub::clock::now()).unwrap();
    server.client().with_token(issued.secret.expose())
}

fn metrics_status(client: &PubClient) -> u16 {
    client.get("metrics").unwrap().status
}

#[test]
fn metrics_are_for_admins_and_the_scraper_token_only() {
    let repo = GitRepo::init();
    repo.release("metered", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let s = serve(
        dir.path(),
        &repo,
        "access:\n  anonymous_read: false\nmetrics:\n  token_env: TAGPUB_TEST_METRICS_TOKEN\n",
    );
    let anonymous = s.client().get("metrics").unwrap();
    assert_eq!(anonymous.status, 401);
    assert!(
        !anonymous
            .text()
            .contains(&repo.path().display().to_string())
    );
    assert_eq!(metrics_status(&with_token_of(&s, "bob@acme.dev")), 403);
    assert_eq!(metrics_status(&s.client().with_token("not-the-token")), 401);
    let admin = with_token_of(&s, "admin@acme.dev").get("metrics").unwrap();
    assert_eq!(admin.status, 200);
    assert!(
        admin.text().contains("tagpub_fetches_total{repository="),
        "{}",
        admin.text()
    );
    let scraper = s.client().with_token(METRICS_TOKEN).get("metrics").unwrap();
    assert_eq!(scraper.status, 200);
    assert_eq!(scraper.text().lines().next(), admin.text().lines().next());
}

#[test]
fn metrics_are_closed_even_with_anonymous_reads_unless_the_config_opens_them() {
    let repo = GitRepo::init();
    repo.release("metered", "1.0.0", "v1.0.0");
    let closed_dir = tempfile::tempdir().unwrap();
    let closed = serve(
        closed_dir.path(),
        &repo,
        "access:\n  anonymous_read: true\n",
    );
    assert_eq!(metrics_status(&closed.client()), 401);
    assert_eq!(
        metrics_status(&closed.client().with_token(METRICS_TOKEN)),
        401
    );
    let open_dir = tempfile::tempdir().unwrap();
    let open = serve(open_dir.path(), &repo, "metrics:\n  public: true\n");
    assert_eq!(metrics_status(&open.client()), 200);
}

fn load(repositories: &str) -> Result<Config, String> {
    Config::from_yaml(
        &format!("base_url: https://pub.acme.dev/\nrepositories:\n{repositories}"),
        Path::new("/etc/tagpub/registry.yaml"),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_token_in_a_repository_url_is_refused_at_load() {
    for url in [
        "https://ghp_x@github.com/acme/x.git",
        "https://x-access-token:ghp_x@github.com/acme/x.git",
        "http://ghp_x@git.acme.dev/x.git",
    ] {
        let err = load(&format!("  - url: {url}\n")).unwrap_err();
        assert!(err.contains("repositories[0].url"), "{err}");
        assert!(
            err.contains("credentials:") && err.contains("password_env"),
            "{err}"
        );
        assert!(
            !err.contains("ghp_x"),
            "the token leaked into the error: {err}"
        );
    }
    // ssh user names are account names, not secrets.
    for url in [
        "ssh://git@github.com/acme/x.git",
        "git@github.com:acme/x.git",
    ] {
        assert!(load(&format!("  - url: {url}\n")).is_ok(), "{url}");
    }
    // And the same through the binary, as an operator meets it.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "repositories:\n  - url: https://ghp_x@github.com/acme/x.git\n",
    );
    let (code, _, stderr) = tagpub(&config, &["check"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("repositories[0].url") && stderr.contains("credentials:"),
        "{stderr}"
    );
    assert!(!stderr.contains("ghp_x"), "{stderr}");
}

#[test]
fn credentials_over_plain_http_are_refused_at_load() {
    let err = load(
        "  - url: http://git.acme.dev/x.git\n    credentials: {username: ci, password_env: GIT_PASSWORD}\n",
    )
    .unwrap_err();
    assert!(
        err.contains("repositories[0].credentials") && err.contains("https://"),
        "{err}"
    );
    let err = load("  - url: http://ci:hunter2@git.acme.dev/x.git\n").unwrap_err();
    assert!(
        err.contains("repositories[0].url") && !err.contains("hunter2"),
        "{err}"
    );
    assert!(
        load("  - url: https://git.acme.dev/x.git\n    credentials: {username: ci, password_env: GIT_PASSWORD}\n")
            .is_ok()
    );
    assert!(
        load("  - url: http://git.acme.dev/x.git\n").is_ok(),
        "anonymous http stays"
    );
}

fn notify(s: &TestServer, repository: &str, secret: &str) -> RawResponse {
    let c = s.client();
    let request = c
        .request(reqwest::Method::POST, &c.url("hooks/git"), None, true)
        .header("authorization", format!("Bearer {secret}"))
        .json(&serde_json::json!({"repository": repository, "refs": ["refs/tags/v1.0.0"]}));
    c.send(request).unwrap()
}

#[test]
fn hooks_git_answers_unknown_secretless_and_wrong_secret_repositories_alike() {
    let guarded = GitRepo::init();
    guarded.release("guarded", "1.0.0", "v1.0.0");
    let secretless = GitRepo::init();
    secretless.release("secretless", "1.0.0", "v1.0.0");
    let (guarded_url, secretless_url) = (
        guarded.path().display().to_string(),
        secretless.path().display().to_string(),
    );
    let dir = tempfile::tempdir().unwrap();
    let s = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {guarded_url}\n    webhook_secret_env: TAGPUB_TEST_WEBHOOK_SECRET\n    poll_interval: 1h\n  - url: {secretless_url}\n    poll_interval: 1h\n"
        ),
    );
    let answers = [
        notify(&s, "/srv/git/no-such-repository.git", HOOK_SECRET),
        notify(&s, &secretless_url, HOOK_SECRET),
        notify(&s, &guarded_url, "not-the-secret"),
    ];
    let shape = |a: &RawResponse| {
        (
            a.status,
            a.header("content-type").map(str::to_string),
            a.header("www-authenticate").map(str::to_string),
            a.body.clone(),
        )
    };
    assert_eq!(answers[0].status, 401, "{}", answers[0].text());
    for (i, a) in answers.iter().enumerate() {
        assert_eq!(shape(a), shape(&answers[0]), "answer {i}: {}", a.text());
        assert!(!a.text().contains(&secretless_url) && !a.text().contains("no-such"));
    }
    assert_eq!(notify(&s, &guarded_url, HOOK_SECRET).status, 202);
}
