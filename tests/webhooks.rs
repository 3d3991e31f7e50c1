//! Forge webhooks over real HTTP: each provider's signature, ping and other events,
//! matching the repository across URL forms, and a signed push that gets a tag served.
//!
//! Fixture hosts are rewritten to loopback so that no test ever reaches outside this
//! machine, even when the server tries to fetch a matched repository.

mod support;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, Instant};
use support::GitRepo;
use support::server::{TestServer, start};

const SECRET: &str = "test-webhook-secret-1"; // .cargo/config.toml: TAGPUB_TEST_WEBHOOK_SECRET

fn fixture(name: &str) -> String {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/webhooks/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    [
        "github.com",
        "gitlab.acme.dev",
        "gitea.acme.dev",
        "forge.acme.dev",
        "bitbucket.org",
    ]
    .iter()
    .fold(text, |t, host| t.replace(host, "127.0.0.1"))
}

fn hmac_hex(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The headers each provider sends with a delivery signed with `secret`.
fn signed(provider: &str, event: &str, body: &str, secret: &str) -> Vec<(&'static str, String)> {
    let hex = hmac_hex(secret, body);
    match provider {
        "github" => vec![
            ("X-GitHub-Event", event.into()),
            ("X-Hub-Signature-256", format!("sha256={hex}")),
        ],
        "gitlab" => vec![
            ("X-Gitlab-Event", event.into()),
            ("X-Gitlab-Token", secret.into()),
        ],
        "gitea" => vec![("X-Gitea-Event", event.into()), ("X-Gitea-Signature", hex)],
        "forgejo" => vec![
            ("X-Forgejo-Event", event.into()),
            ("X-Gitea-Event", event.into()),
            ("X-Forgejo-Signature", hex.clone()),
            ("X-Hub-Signature-256", format!("sha256={hex}")),
        ],
        "bitbucket" => vec![
            ("X-Event-Key", event.into()),
            ("X-Hub-Signature", format!("sha256={hex}")),
        ],
        other => panic!("{other}"),
    }
}

fn post(
    server: &TestServer,
    path: &str,
    headers: &[(&'static str, String)],
    body: &str,
) -> (u16, String) {
    let client = server.client();
    let mut request = client
        .request(reqwest::Method::POST, &client.url(path), None, true)
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let answer = client.send(request).unwrap();
    (answer.status, answer.text())
}

/// A registry watching one repository per provider fixture, at loopback URLs.
fn registry(dir: &tempfile::TempDir) -> TestServer {
    let urls = [
        "https://127.0.0.1/Acme-Corp/Widgets.git",
        "https://127.0.0.1/mobile/flutter/design-system.git",
        "https://127.0.0.1/acme/http_client.git",
        "https://127.0.0.1/mobile/l10n.git",
        "https://127.0.0.1/acme-mobile/json-utils.git",
    ];
    let repos: String = urls
        .iter()
        .map(|u| format!("  - url: {u}\n    webhook_secret_env: TAGPUB_TEST_WEBHOOK_SECRET\n    poll_interval: 1h\n"))
        .collect();
    start(dir.path(), "", &format!("repositories:\n{repos}"))
}

#[test]
fn each_provider_signature_is_accepted_and_a_wrong_one_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let server = registry(&dir);
    let cases = [
        ("github", "github", "push", "github_push.json", "Widgets"),
        (
            "gitlab",
            "gitlab",
            "Tag Push Hook",
            "gitlab_tag_push.json",
            "design-system",
        ),
        ("gitea", "gitea", "push", "gitea_push.json", "http_client"),
        ("gitea", "forgejo", "push", "forgejo_push.json", "l10n"),
        (
            "bitbucket",
            "bitbucket",
            "repo:push",
            "bitbucket_push.json",
            "json-utils",
        ),
    ];
    for (endpoint, flavour, event, file, repo) in cases {
        let body = fixture(file);
        let path = format!("hooks/{endpoint}");
        let (status, text) = post(
            &server,
            &path,
            &signed(flavour, event, &body, SECRET),
            &body,
        );
        assert_eq!(status, 202, "{flavour}: {text}");
        assert!(
            text.contains(repo),
            "{flavour} matched the wrong repository: {text}"
        );

        let (status, text) = post(
            &server,
            &path,
            &signed(flavour, event, &body, "wrong-secret"),
            &body,
        );
        assert_eq!(status, 401, "{flavour} with a wrong secret: {text}");
        assert!(
            !text.contains(SECRET) && !text.contains("wrong-secret"),
            "{text}"
        );
        let tampered = body.replacen('{', "{\"x\":1,", 1);
        if flavour != "gitlab" {
            let (status, _) = post(
                &server,
                &path,
                &signed(flavour, event, &body, SECRET),
                &tampered,
            );
            assert_eq!(status, 401, "{flavour} with a tampered body");
        }
        let (status, _) = post(&server, &path, &[], &body);
        assert_eq!(status, 401, "{flavour} without a signature");
    }
    let (status, _) = post(&server, "hooks/sourcehut", &[], "{}");
    assert_eq!(status, 404);
}

#[test]
fn pings_and_other_events_are_acknowledged_and_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let server = registry(&dir);
    let ping = fixture("github_ping.json");
    let (status, text) = post(
        &server,
        "hooks/github",
        &signed("github", "ping", &ping, SECRET),
        &ping,
    );
    assert_eq!(status, 200, "{text}");
    let issues = r#"{"action":"opened","repository":{"clone_url":"https://127.0.0.1/Acme-Corp/Widgets.git"}}"#;
    let (status, text) = post(
        &server,
        "hooks/github",
        &signed("github", "issues", issues, SECRET),
        issues,
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("ignored"), "{text}");
}

#[test]
fn a_signed_push_for_an_unknown_repository_is_404() {
    let dir = tempfile::tempdir().unwrap();
    let server = registry(&dir);
    let body = fixture("github_push.json").replace("Acme-Corp/Widgets", "Acme-Corp/Unknown");
    let (status, text) = post(
        &server,
        "hooks/github",
        &signed("github", "push", &body, SECRET),
        &body,
    );
    assert_eq!(status, 404, "{text}");
}

#[test]
fn a_signed_webhook_gets_a_pushed_tag_of_a_mirrored_repository_served() {
    let work = GitRepo::init();
    work.release("hooked", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", bare.path().display());
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {url}\n    webhook_secret_env: TAGPUB_TEST_WEBHOOK_SECRET\n    poll_interval: 1h\n"
        ),
    );
    server.sync();
    work.release("hooked", "1.1.0", "v1.1.0");
    work.push_tags_to(&bare);
    // The payload names the repository with a trailing slash and no `.git` handling
    // needed: any form of the URL matches.
    let body = serde_json::json!({
        "ref": "refs/tags/v1.1.0",
        "repository": {"clone_url": format!("{url}/"), "html_url": url},
    })
    .to_string();
    let (status, text) = post(
        &server,
        "hooks/github",
        &signed("github", "push", &body, SECRET),
        &body,
    );
    assert_eq!(status, 202, "{text}");
    let deadline = Instant::now() + Duration::from_secs(15);
    while server
        .client()
        .list("hooked")
        .unwrap()
        .version("1.1.0")
        .is_none()
    {
        assert!(Instant::now() < deadline, "the pushed tag was not served");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A server mirroring one repository whose webhook secret is set, once its first pass
/// has run; returns the server and the repository's config key.
fn mirrored(dir: &tempfile::TempDir, work: &GitRepo) -> (TestServer, String, support::BareRepo) {
    work.release("hooked", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let url = format!("file://{}", bare.path().display());
    let server = start(
        dir.path(),
        "",
        &format!(
            "repositories:\n  - url: {url}\n    webhook_secret_env: TAGPUB_TEST_WEBHOOK_SECRET\n    poll_interval: 1h\n"
        ),
    );
    wait_for_fetches(&server, &url, 1);
    (server, url, bare)
}

fn wait_for_fetches(server: &TestServer, key: &str, n: u64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.state.tracker.fetches(key) < n {
        assert!(Instant::now() < deadline, "fewer than {n} fetches of {key}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn accepted_webhooks(server: &TestServer, key: &str) -> String {
    let labels = [(key.to_string(), "r".to_string())].into_iter().collect();
    let metrics = server.state.tracker.render(&labels, 0);
    metrics
        .lines()
        .find(|l| l.starts_with("tagpub_webhooks_total{"))
        .unwrap()
        .to_string()
}

/// Regression: a forge retrying a delivery (or someone pressing "redeliver") caused a
/// second fetch for the same push.
#[test]
fn a_repeated_delivery_is_acknowledged_without_a_second_fetch() {
    let work = GitRepo::init();
    let dir = tempfile::tempdir().unwrap();
    let (server, url, _bare) = mirrored(&dir, &work);
    let body = serde_json::json!({"ref": "refs/tags/v1.0.0", "repository": {"clone_url": url}})
        .to_string();
    let deliver = |id: &str| {
        let mut headers = signed("github", "push", &body, SECRET);
        headers.push(("X-GitHub-Delivery", id.to_string()));
        post(&server, "hooks/github", &headers, &body)
    };
    let (status, text) = deliver("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(status, 202, "{text}");
    wait_for_fetches(&server, &url, 2);
    let before = accepted_webhooks(&server, &url);

    let (status, text) = deliver("72d3162e-cc78-11e3-81ab-4c9367dc0958");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("received before"), "{text}");
    assert!(
        !server.state.wake_pending(&url),
        "the repeat queued a fetch"
    );
    assert_eq!(accepted_webhooks(&server, &url), before);
    assert_eq!(server.state.tracker.fetches(&url), 2);

    // Another delivery id is another push.
    let (status, text) = deliver("9a5e0b6c-0000-4000-8000-000000000001");
    assert_eq!(status, 202, "{text}");
    wait_for_fetches(&server, &url, 3);
    // Without the secret, a delivery id proves nothing and is not remembered.
    let mut forged = signed("github", "push", &body, "not-the-secret");
    forged.push((
        "X-GitHub-Delivery",
        "9a5e0b6c-0000-4000-8000-000000000002".into(),
    ));
    assert_eq!(post(&server, "hooks/github", &forged, &body).0, 401);
    let (status, text) = deliver("9a5e0b6c-0000-4000-8000-000000000002");
    assert_eq!(status, 202, "{text}");
}

/// Regression: any body up to axum's default of 2 MB was buffered and hashed with every
/// repository's secret before anything else was decided.
#[test]
fn an_oversized_delivery_is_refused_with_413_and_a_clear_message() {
    let work = GitRepo::init();
    let dir = tempfile::tempdir().unwrap();
    let (server, url, _bare) = mirrored(&dir, &work);
    let padding = "x".repeat(tagpub::webhook::MAX_DELIVERY_BYTES);
    let body = serde_json::json!({"ref": "refs/tags/v1.0.0", "repository": {"clone_url": url}, "padding": padding})
        .to_string();
    let (status, text) = post(
        &server,
        "hooks/github",
        &signed("github", "push", &body, SECRET),
        &body,
    );
    assert_eq!(status, 413, "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let message = json["error"]["message"].as_str().unwrap();
    assert!(message.contains("larger than 1024 KiB"), "{message}");

    // Sent in chunks, without a Content-Length, it is cut off at the limit just the same.
    let client = server.client();
    let mut request = client
        .request(
            reqwest::Method::POST,
            &client.url("hooks/github"),
            None,
            true,
        )
        .header("Content-Type", "application/json")
        .body(reqwest::blocking::Body::new(std::io::Cursor::new(
            body.clone().into_bytes(),
        )));
    for (name, value) in signed("github", "push", &body, SECRET) {
        request = request.header(name, value);
    }
    let answer = client.send(request).unwrap();
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(server.state.tracker.fetches(&url), 1, "nothing was fetched");
}

fn tagpub_command(dir: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tagpub"));
    command
        .args(["-c", dir.join("registry.yaml").to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("TAGPUB_TEST_UNSET_HOOK_SECRET");
    command
}

/// Regression: a `webhook_secret_env` naming an unset variable went unnoticed until
/// every delivery failed.
#[test]
fn check_and_start_up_report_a_webhook_secret_variable_that_is_not_set() {
    let work = GitRepo::init();
    work.release("unsigned", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("registry.yaml"),
        format!(
            "base_url: http://127.0.0.1:1/\nlisten: 127.0.0.1:0\ndata_dir: data\nrepositories:\n  - url: {}\n    webhook_secret_env: TAGPUB_TEST_UNSET_HOOK_SECRET\n",
            work.path().display()
        ),
    )
    .unwrap();
    let out = tagpub_command(dir.path(), &["check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("repositories[0].webhook_secret_env: the environment variable TAGPUB_TEST_UNSET_HOOK_SECRET is not set"),
        "{stdout}"
    );

    use std::io::BufRead;
    let mut serve = tagpub_command(dir.path(), &["serve"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = serve.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.contains("TAGPUB_TEST_UNSET_HOOK_SECRET is not set") => break true,
            Ok(line) => seen.push(line),
            Err(_) => break false,
        }
    };
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert!(found, "start-up did not report it:\n{}", seen.join("\n"));
}
