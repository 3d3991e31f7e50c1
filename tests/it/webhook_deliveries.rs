//! Forge deliveries beyond their signature: the size cap that comes before any hashing,
//! repeated delivery ids, and a webhook secret variable that is not set.

use crate::support;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{Duration, Instant};
use support::GitRepo;
use support::command::command;
use support::config::write_config;
use support::server::{TestServer, start};
use support::wait::wait_for;

const SECRET: &str = "test-webhook-secret-1"; // .cargo/config.toml: TAGPUB_TEST_WEBHOOK_SECRET

/// The headers GitHub sends with a push signed with `secret`.
fn github_push(body: &str, secret: &str) -> Vec<(&'static str, String)> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body.as_bytes());
    vec![
        ("X-GitHub-Event", "push".into()),
        (
            "X-Hub-Signature-256",
            format!("sha256={}", hex::encode(mac.finalize().into_bytes())),
        ),
    ]
}

fn post(server: &TestServer, headers: &[(&'static str, String)], body: &str) -> (u16, String) {
    let client = server.client();
    let mut request = client
        .request(
            reqwest::Method::POST,
            &client.url("hooks/github"),
            None,
            true,
        )
        .header("Content-Type", "application/json")
        .body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let answer = client.send(request).unwrap();
    (answer.status, answer.text())
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
    wait_for(&format!("{n} fetches of {key}"), || {
        server.state.tracker.fetches(key) >= n
    });
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
        let mut headers = github_push(&body, SECRET);
        headers.push(("X-GitHub-Delivery", id.to_string()));
        post(&server, &headers, &body)
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
    let mut forged = github_push(&body, "not-the-secret");
    forged.push((
        "X-GitHub-Delivery",
        "9a5e0b6c-0000-4000-8000-000000000002".into(),
    ));
    assert_eq!(post(&server, &forged, &body).0, 401);
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
    let (status, text) = post(&server, &github_push(&body, SECRET), &body);
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
    for (name, value) in github_push(&body, SECRET) {
        request = request.header(name, value);
    }
    let answer = client.send(request).unwrap();
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(server.state.tracker.fetches(&url), 1, "nothing was fetched");
}

fn tagpub_command(config: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = command(config, args);
    command.env_remove("TAGPUB_TEST_UNSET_HOOK_SECRET");
    command
}

/// Regression: a `webhook_secret_env` naming an unset variable went unnoticed until
/// every delivery failed.
#[test]
fn check_and_start_up_report_a_webhook_secret_variable_that_is_not_set() {
    let work = GitRepo::init();
    work.release("unsigned", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "listen: 127.0.0.1:0\nrepositories:\n  - url: {}\n    webhook_secret_env: TAGPUB_TEST_UNSET_HOOK_SECRET\n",
            work.path().display()
        ),
    );
    let out = tagpub_command(&config, &["check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("repositories[0].webhook_secret_env: the environment variable TAGPUB_TEST_UNSET_HOOK_SECRET is not set"),
        "{stdout}"
    );

    use std::io::BufRead;
    let mut serve = tagpub_command(&config, &["serve"])
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
