//! Members, teams and tokens over real HTTP: who reads what, who issues tokens for whom,
//! revocation, expiry, config reloads, and the exact 401/403 answers the client needs.

use crate::support;

use support::server::{TestServer, start};
use support::wait::wait_for;
use support::{ClientError, GitRepo, PubClient};
use tagpub::auth::token;

const MEMBERS: &str = r#"
members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: ci-mobile@acme.dev}
  - {email: bob@acme.dev}
teams:
  - {name: mobile, leaders: [alice@acme.dev], members: [ci-mobile@acme.dev]}
"#;

struct Registry {
    server: TestServer,
    _repos: (GitRepo, GitRepo),
    _dir: tempfile::TempDir,
}

/// `secret_pkg` is readable by team mobile; `open_pkg` by every member.
fn registry(anonymous_read: bool) -> Registry {
    let secret = GitRepo::init();
    secret.release("secret_pkg", "1.0.0", "v1.0.0");
    let open = GitRepo::init();
    open.release("open_pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "", &config(anonymous_read, "", &secret, &open));
    server.sync();
    Registry {
        server,
        _repos: (secret, open),
        _dir: dir,
    }
}

fn config(
    anonymous_read: bool,
    extra_team_members: &str,
    secret: &GitRepo,
    open: &GitRepo,
) -> String {
    let members = MEMBERS.replace(
        "members: [ci-mobile@acme.dev]",
        &format!("members: [ci-mobile@acme.dev{extra_team_members}]"),
    );
    format!(
        "access:\n  anonymous_read: {anonymous_read}\n{members}repositories:\n  - url: {}\n    teams: [mobile]\n    poll_interval: 1h\n  - url: {}\n    poll_interval: 1h\n",
        secret.path().display(),
        open.path().display()
    )
}

fn token_for(server: &TestServer, member: &str) -> String {
    let issued = token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    issued.secret.expose().to_string()
}

fn client(server: &TestServer, member: Option<&str>) -> PubClient {
    match member {
        Some(m) => server.client().with_token(&token_for(server, m)),
        None => server.client(),
    }
}

/// The status the client sees for a listing and for the archive of 1.0.0.
fn statuses(server: &TestServer, client: &PubClient, package: &str) -> (u16, u16) {
    let listing = client
        .get_api(&format!("api/packages/{package}"))
        .unwrap()
        .status;
    let archive = client
        .get(&format!("packages/{package}/versions/1.0.0.tar.gz"))
        .unwrap()
        .status;
    let _ = server;
    (listing, archive)
}

#[test]
fn who_reads_what_when_anonymous_reads_are_off() {
    let r = registry(false);
    let s = &r.server;
    let cases: [(Option<&str>, [u16; 3]); 5] = [
        (None, [401, 401, 401]),
        (Some("bob@acme.dev"), [403, 200, 404]),
        (Some("ci-mobile@acme.dev"), [200, 200, 404]),
        (Some("alice@acme.dev"), [200, 200, 404]),
        (Some("admin@acme.dev"), [200, 200, 404]),
    ];
    for (who, [secret, open, unknown]) in cases {
        let c = client(s, who);
        assert_eq!(
            statuses(s, &c, "secret_pkg"),
            (secret, secret),
            "{who:?} reading secret_pkg"
        );
        assert_eq!(
            statuses(s, &c, "open_pkg"),
            (open, open),
            "{who:?} reading open_pkg"
        );
        assert_eq!(
            statuses(s, &c, "no_such_pkg").0,
            unknown,
            "{who:?} reading an unknown name"
        );
    }
    // A valid token without the right gets 403 naming what is missing, never 401.
    let bob = client(s, Some("bob@acme.dev"));
    match bob.list("secret_pkg") {
        Err(ClientError::Auth { status: 403, .. }) => {}
        other => panic!("{other:?}"),
    }
    let body = bob.get_api("api/packages/secret_pkg").unwrap().json();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("mobile") && message.contains("alice@acme.dev"),
        "{message}"
    );
    // Authenticated answers are private to the caller.
    let listing = client(s, Some("alice@acme.dev"))
        .list("secret_pkg")
        .unwrap();
    assert!(listing.header("cache-control").unwrap().contains("private"));
}

#[test]
fn who_reads_what_when_anonymous_reads_are_on() {
    let r = registry(true);
    let s = &r.server;
    let anonymous = s.client();
    assert_eq!(statuses(s, &anonymous, "open_pkg"), (200, 200));
    assert_eq!(statuses(s, &anonymous, "secret_pkg"), (401, 401));
    assert_eq!(statuses(s, &anonymous, "no_such_pkg").0, 404);
    // A bad token is refused even where no token is needed, so the client drops it.
    let stale = s
        .client()
        .with_token("tagpub_0000000000000000000000000000000000000000000000000000000000000000");
    assert_eq!(statuses(s, &stale, "open_pkg").0, 401);
}

/// Parses a `WWW-Authenticate` value as RFC 7235 challenges the way the client's
/// http_parser does (docs/protocol.md §2.5) and returns (scheme, params) pairs; panics on
/// any syntax error, because the client would then drop the whole header.
fn parse_challenges(header: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    let mut rest = header.trim();
    while !rest.is_empty() {
        let end = rest.find(' ').expect("a challenge needs parameters");
        let scheme = rest[..end].to_string();
        rest = rest[end..].trim_start();
        let mut params = Vec::new();
        loop {
            let eq = rest.find('=').expect("name=value");
            let name = rest[..eq].trim().to_ascii_lowercase();
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric()),
                "bad parameter name {name:?}"
            );
            rest = &rest[eq + 1..];
            let value;
            if let Some(q) = rest.strip_prefix('"') {
                let mut v = String::new();
                let mut chars = q.char_indices();
                let mut close = None;
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => v.push(chars.next().expect("escape").1),
                        '"' => {
                            close = Some(i);
                            break;
                        }
                        c => v.push(c),
                    }
                }
                rest = &q[close.expect("unterminated quoted string") + 1..];
                value = v;
            } else {
                let end = rest.find([',', ' ']).unwrap_or(rest.len());
                value = rest[..end].to_string();
                rest = &rest[end..];
            }
            params.push((name, value));
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(r) => {
                    rest = r.trim_start();
                    // Another parameter follows, or a new challenge (a scheme then space).
                    let next = rest.split([' ', '=']).next().unwrap_or("");
                    if !rest[next.len()..].starts_with('=') {
                        break;
                    }
                }
                None => break,
            }
        }
        out.push((scheme, params));
    }
    out
}

#[test]
fn the_401_challenge_is_exactly_what_the_client_parses() {
    let r = registry(false);
    let s = &r.server;
    for path in [
        "api/packages/secret_pkg",
        "api/packages/no_such_pkg",
        "packages/open_pkg/versions/1.0.0.tar.gz",
    ] {
        let answer = s.client().get_api(path).unwrap();
        assert_eq!(answer.status, 401, "{path}");
        let headers: Vec<_> = answer.headers.get_all("www-authenticate").iter().collect();
        assert_eq!(headers.len(), 1, "exactly one challenge header");
        let challenges = parse_challenges(headers[0].to_str().unwrap());
        assert_eq!(challenges.len(), 1);
        let (scheme, params) = &challenges[0];
        assert!(scheme.eq_ignore_ascii_case("bearer"));
        assert_eq!(params[0], ("realm".to_string(), "pub".to_string()));
        let message = &params
            .iter()
            .find(|(n, _)| n == "message")
            .expect("a message")
            .1;
        assert!(message.len() <= 1024);
        assert!(
            message.chars().all(|c| (' '..='~').contains(&c)) && !message.contains('"'),
            "{message}"
        );
        assert!(
            message.contains(&format!("dart pub token add {}", s.base_url)),
            "{message}"
        );
        let body = answer.json();
        assert!(body["error"]["message"].is_string());
    }
}

#[test]
fn token_issue_rules_over_http() {
    let r = registry(false);
    let s = &r.server;
    let issue = |who: Option<&str>, body: serde_json::Value| {
        let c = client(s, who);
        let request = c
            .request(reqwest::Method::POST, &c.url("api/tokens"), None, true)
            .json(&body);
        c.send(request).unwrap()
    };
    let cases = [
        (Some("admin@acme.dev"), "bob@acme.dev", 201),
        (Some("alice@acme.dev"), "ci-mobile@acme.dev", 201),
        (Some("alice@acme.dev"), "bob@acme.dev", 403),
        (Some("bob@acme.dev"), "bob@acme.dev", 201),
        (Some("bob@acme.dev"), "alice@acme.dev", 403),
        (Some("ci-mobile@acme.dev"), "alice@acme.dev", 403),
        (None, "bob@acme.dev", 401),
        (Some("admin@acme.dev"), "stranger@acme.dev", 400),
    ];
    for (who, member, status) in cases {
        let answer = issue(
            who,
            serde_json::json!({"member": member, "name": "ci", "expires_in": "90d"}),
        );
        assert_eq!(
            answer.status,
            status,
            "{who:?} issuing for {member}: {}",
            answer.text()
        );
        if status == 201 {
            let body = answer.json();
            let secret = body["token"].as_str().unwrap();
            assert!(
                secret.starts_with("tagpub_") && body["id"].as_str().unwrap().starts_with("tk_")
            );
            // The new token works at once, with its member's rights.
            let fresh = s.client().with_token(secret);
            let expected = if member == "bob@acme.dev" { 403 } else { 200 };
            assert_eq!(
                fresh.get_api("api/packages/secret_pkg").unwrap().status,
                expected
            );
        }
    }
    let bad = issue(
        Some("bob@acme.dev"),
        serde_json::json!({"expires_in": "soon"}),
    );
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("expires_in"), "{}", bad.text());

    // Listing shows only what the caller may manage, and never a secret.
    let alice = client(s, Some("alice@acme.dev"));
    let listed = alice.get_api("api/tokens").unwrap().json();
    let members: Vec<&str> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["member"].as_str().unwrap())
        .collect();
    assert!(
        members
            .iter()
            .all(|m| ["alice@acme.dev", "ci-mobile@acme.dev"].contains(m)),
        "{members:?}"
    );
    assert!(!listed.to_string().contains("tagpub_"), "{listed}");
}

#[test]
fn revoking_one_token_or_all_of_a_member_keeps_the_ci_member_working() {
    let r = registry(false);
    let s = &r.server;
    let laptop = token::issue(
        &s.state.store,
        "alice@acme.dev",
        "laptop",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let (laptop_id, alice_laptop) = (laptop.record.id.clone(), laptop.secret.expose().to_string());
    let alice_desktop = token_for(s, "alice@acme.dev");
    let ci = token_for(s, "ci-mobile@acme.dev");
    let ok = |t: &str| {
        s.client()
            .with_token(t)
            .get_api("api/packages/secret_pkg")
            .unwrap()
            .status
    };
    assert_eq!(
        (ok(&alice_laptop), ok(&alice_desktop), ok(&ci)),
        (200, 200, 200)
    );

    // Alice revokes her laptop's token over HTTP.
    let alice = s.client().with_token(&alice_desktop);
    let tokens = alice
        .get_api("api/tokens?member=alice@acme.dev")
        .unwrap()
        .json();
    assert_eq!(tokens["tokens"].as_array().unwrap().len(), 2, "{tokens}");
    let answer = alice
        .send(alice.request(
            reqwest::Method::DELETE,
            &alice.url(&format!("api/tokens/{laptop_id}")),
            None,
            true,
        ))
        .unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!((ok(&alice_laptop), ok(&alice_desktop)), (401, 200));

    // "Log out everywhere" for alice: her tokens die, the CI member's token lives.
    let answer = alice
        .send(alice.request(
            reqwest::Method::DELETE,
            &alice.url("api/tokens?member=alice@acme.dev"),
            None,
            true,
        ))
        .unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!((ok(&alice_desktop), ok(&ci)), (401, 200));
    // Bob may not revoke the CI member's tokens.
    let bob = client(s, Some("bob@acme.dev"));
    let answer = bob
        .send(bob.request(
            reqwest::Method::DELETE,
            &bob.url("api/tokens?member=ci-mobile@acme.dev"),
            None,
            true,
        ))
        .unwrap();
    assert_eq!(answer.status, 403);
    assert_eq!(ok(&ci), 200);
}

#[test]
fn expired_tokens_and_removed_members_get_401() {
    let r = registry(false);
    let s = &r.server;
    let now = tagpub::clock::now();
    let expired = token::issue(
        &s.state.store,
        "alice@acme.dev",
        "old",
        Some(now - 1),
        now - 100,
    )
    .unwrap();
    let stranger = token::issue(&s.state.store, "gone@acme.dev", "", None, now).unwrap();
    for secret in [expired.secret.expose(), stranger.secret.expose()] {
        let answer = s
            .client()
            .with_token(secret)
            .get_api("api/packages/open_pkg")
            .unwrap();
        assert_eq!(answer.status, 401);
    }
}

#[test]
fn a_config_reload_changes_access_on_the_fly_and_a_broken_one_changes_nothing() {
    let secret = GitRepo::init();
    secret.release("secret_pkg", "1.0.0", "v1.0.0");
    let open = GitRepo::init();
    open.release("open_pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path(), "", &config(false, "", &secret, &open));
    s.sync();
    let bob = client(&s, Some("bob@acme.dev"));
    assert_eq!(bob.get_api("api/packages/secret_pkg").unwrap().status, 403);

    // Bob joins team mobile: the file watcher reloads the config, and bob's existing
    // token reads the package without a restart.
    let text = std::fs::read_to_string(&s.config_path).unwrap();
    let header: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    std::fs::write(
        &s.config_path,
        format!(
            "{header}{}",
            config(false, ", bob@acme.dev", &secret, &open)
        ),
    )
    .unwrap();
    wait_for("the reloaded config to let bob read secret_pkg", || {
        bob.get_api("api/packages/secret_pkg").unwrap().status == 200
    });

    // A config that fails validation keeps the running one.
    std::fs::write(&s.config_path, format!("{header}members: [{{emial: x}}]\n")).unwrap();
    assert!(s.state.reload_config().is_err());
    assert_eq!(bob.get_api("api/packages/secret_pkg").unwrap().status, 200);
}

#[test]
fn a_token_revoked_from_the_command_line_stops_working_without_a_restart() {
    let r = registry(false);
    let s = &r.server;
    let issued = token::issue(
        &s.state.store,
        "alice@acme.dev",
        "laptop",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let alice = s.client().with_token(issued.secret.expose());
    assert_eq!(
        alice.get_api("api/packages/secret_pkg").unwrap().status,
        200
    );
    // What `tagpub token revoke` does, on the store, bypassing the server.
    assert!(
        s.state
            .store
            .tokens
            .revoke_token(&issued.record.id, tagpub::clock::now())
            .unwrap()
    );
    // That it takes effect in the running server; tests assert no speed.
    wait_for("the revoked token to get 401", || {
        alice.get_api("api/packages/secret_pkg").unwrap().status == 401
    });
}
