//! Forge webhooks over real HTTP: each provider's signature, ping and other events,
//! matching the repository across URL forms, and a signed push that gets a tag served.
//!
//! Fixture hosts are rewritten to loopback so that no test ever reaches outside this
//! machine, even when the server tries to fetch a matched repository.

use crate::support;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use support::GitRepo;
use support::server::{TestServer, start};
use support::wait::wait_for;

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
    wait_for("the pushed tag to be served", || {
        server
            .client()
            .list("hooked")
            .unwrap()
            .version("1.1.0")
            .is_some()
    });
}
