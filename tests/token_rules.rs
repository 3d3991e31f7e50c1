//! Issue 9, defects 1 and 2 over real HTTP and the real binary: managing someone else's
//! tokens never gives the caller more than they have, and no token lifetime or stored
//! date can crash a request, a listing or `tagpub token list`.

mod support;

use serde_json::json;
use std::process::Command;
use support::server::{TestServer, start};
use support::{GitRepo, PubClient, RawResponse};
use tagpub::auth::token;

/// The issue's team (admin is a plain member of mobile) plus the people a leader might
/// try to reach through: carol is also in web, dave leads web.
const MEMBERS: &str = r#"
access:
  anonymous_read: false
members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: ci@acme.dev}
  - {email: bob@acme.dev}
  - {email: carol@acme.dev}
  - {email: dave@acme.dev}
teams:
  - {name: mobile, leaders: [alice@acme.dev], members: [ci@acme.dev, admin@acme.dev, carol@acme.dev, dave@acme.dev]}
  - {name: web, leaders: [dave@acme.dev], members: [bob@acme.dev, carol@acme.dev]}
"#;

struct Registry {
    server: TestServer,
    _repos: [GitRepo; 2],
    dir: tempfile::TempDir,
}

/// `mobile_pkg` is readable by team mobile, `web_pkg` by team web.
fn registry() -> Registry {
    let mobile = GitRepo::init();
    mobile.release("mobile_pkg", "1.0.0", "v1.0.0");
    let web = GitRepo::init();
    web.release("web_pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{MEMBERS}repositories:\n  - url: {}\n    teams: [mobile]\n    poll_interval: 1h\n  - url: {}\n    teams: [web]\n    poll_interval: 1h\n",
        mobile.path().display(),
        web.path().display()
    );
    let server = start(dir.path(), "", &body);
    server.sync();
    Registry {
        server,
        _repos: [mobile, web],
        dir,
    }
}

fn token_for(server: &TestServer, member: &str) -> String {
    token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap()
    .secret
    .expose()
    .to_string()
}

fn client(server: &TestServer, member: &str) -> PubClient {
    server.client().with_token(&token_for(server, member))
}

fn call(
    c: &PubClient,
    method: reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> RawResponse {
    let mut request = c.request(method, &c.url(path), None, true);
    if let Some(body) = body {
        request = request.json(&body);
    }
    c.send(request).unwrap()
}

fn issue(c: &PubClient, body: serde_json::Value) -> RawResponse {
    call(c, reqwest::Method::POST, "api/tokens", Some(body))
}

/// Tokens of `member` in the store.
fn stored(server: &TestServer, member: &str) -> usize {
    server
        .state
        .store
        .tokens
        .tokens(Some(member))
        .unwrap()
        .len()
}

#[test]
fn a_team_leader_cannot_mint_an_admins_token() {
    let r = registry();
    let s = &r.server;
    let alice = client(s, "alice@acme.dev");
    // The reproduction of the issue, then the same email spelled differently.
    for spelling in ["admin@acme.dev", "ADMIN@acme.dev ", " Admin@ACME.dev\t"] {
        let answer = issue(
            &alice,
            json!({"member": spelling, "name": "ci", "expires_in": "90d"}),
        );
        assert_eq!(answer.status, 403, "{spelling:?}: {}", answer.text());
        let message = answer.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains("only admins"), "{message}");
        assert!(answer.header("www-authenticate").is_some());
    }
    assert_eq!(stored(s, "admin@acme.dev"), 0, "no admin token was stored");
    // Her own team member is still hers to manage.
    assert_eq!(issue(&alice, json!({"member": "CI@acme.dev "})).status, 201);
    assert_eq!(stored(s, "ci@acme.dev"), 1);
}

#[test]
fn a_team_leader_cannot_mint_a_token_for_a_member_also_in_another_team() {
    let r = registry();
    let s = &r.server;
    let alice = client(s, "alice@acme.dev");
    // carol reads web_pkg, which alice cannot: her token would be alice's way in.
    assert_eq!(alice.get_api("api/packages/web_pkg").unwrap().status, 403);
    let answer = issue(&alice, json!({"member": "carol@acme.dev"}));
    assert_eq!(answer.status, 403, "{}", answer.text());
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("web") && message.contains("ask an admin"),
        "{message}"
    );
    assert_eq!(stored(s, "carol@acme.dev"), 0);
}

#[test]
fn a_team_leader_cannot_mint_a_token_for_the_leader_of_another_team() {
    let r = registry();
    let s = &r.server;
    let alice = client(s, "alice@acme.dev");
    let answer = issue(&alice, json!({"member": "dave@acme.dev"}));
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert_eq!(stored(s, "dave@acme.dev"), 0);
    // dave leads web and is in mobile: carol (in both) has no right he lacks, but ci is
    // in no team he leads.
    let dave = client(s, "dave@acme.dev");
    assert_eq!(
        issue(&dave, json!({"member": "carol@acme.dev"})).status,
        201
    );
    assert_eq!(issue(&dave, json!({"member": "ci@acme.dev"})).status, 403);
}

#[test]
fn a_team_leader_cannot_mint_a_token_for_an_uploader_of_a_package_they_do_not_upload() {
    let r = registry();
    let s = &r.server;
    // ci created a package with `dart pub publish`; alice is not one of its uploaders.
    s.state
        .store
        .publishing
        .create_package(
            "ci_pkg",
            "ci@acme.dev",
            &["mobile".to_string()],
            tagpub::clock::now(),
        )
        .unwrap();
    let alice = client(s, "alice@acme.dev");
    let answer = issue(&alice, json!({"member": "ci@acme.dev"}));
    assert_eq!(answer.status, 403, "{}", answer.text());
    assert!(answer.text().contains("ci_pkg"), "{}", answer.text());
    assert_eq!(stored(s, "ci@acme.dev"), 0);
}

#[test]
fn a_team_leader_can_neither_list_nor_revoke_an_admins_tokens() {
    let r = registry();
    let s = &r.server;
    let admin_issued = token::issue(
        &s.state.store,
        "admin@acme.dev",
        "laptop",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    let admin = s.client().with_token(admin_issued.secret.expose());
    let admin_works = || admin.get_api("api/status").unwrap().status == 200;
    assert!(admin_works());
    let alice = client(s, "alice@acme.dev");
    for query in [
        "api/tokens?member=admin@acme.dev",
        "api/tokens?member=ADMIN@acme.dev%20",
        "api/tokens?member=%20admin@Acme.Dev",
    ] {
        let answer = alice.get_api(query).unwrap();
        assert_eq!(answer.status, 403, "{query}: {}", answer.text());
    }
    let all = alice.get_api("api/tokens").unwrap();
    assert_eq!(all.status, 200);
    assert!(!all.text().contains("admin@acme.dev"), "{}", all.text());
    assert!(
        !all.text().contains(&admin_issued.record.id),
        "{}",
        all.text()
    );

    // Revoking the admin's token by id looks exactly like revoking an unknown id.
    let by_id = call(
        &alice,
        reqwest::Method::DELETE,
        &format!("api/tokens/{}", admin_issued.record.id),
        None,
    );
    let unknown = call(
        &alice,
        reqwest::Method::DELETE,
        "api/tokens/tk_0000000000000000",
        None,
    );
    assert_eq!(by_id.status, 404, "{}", by_id.text());
    assert_eq!(
        by_id.text().replace(&admin_issued.record.id, "ID"),
        unknown.text().replace("tk_0000000000000000", "ID")
    );
    for query in [
        "api/tokens?member=admin@acme.dev",
        "api/tokens?member=ADMIN@acme.dev%20",
    ] {
        let answer = call(&alice, reqwest::Method::DELETE, query, None);
        assert_eq!(answer.status, 403, "{query}: {}", answer.text());
    }
    assert!(admin_works(), "the admin's token survived every attempt");
    // The admin still manages their own.
    let own = call(
        &admin,
        reqwest::Method::GET,
        "api/tokens?member=admin@acme.dev",
        None,
    );
    assert_eq!(own.status, 200);
    assert!(own.text().contains(&admin_issued.record.id));
}

#[test]
fn a_far_future_expires_in_is_refused_and_listing_keeps_working() {
    let r = registry();
    let s = &r.server;
    let bob = client(s, "bob@acme.dev");
    let answer = issue(&bob, json!({"expires_in": "99999999999d"}));
    assert_eq!(answer.status, 400, "{}", answer.text());
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("10 years") && message.contains("expires_in"),
        "{message}"
    );
    assert_eq!(issue(&bob, json!({"expires_in": "3653d"})).status, 400);
    assert_eq!(
        stored(s, "bob@acme.dev"),
        1,
        "only the token bob signed in with"
    );
    let longest = issue(&bob, json!({"expires_in": "3652d"}));
    assert_eq!(longest.status, 201, "{}", longest.text());

    for who in [
        &bob,
        &client(s, "dave@acme.dev"),
        &client(s, "admin@acme.dev"),
    ] {
        let listed = who.get_api("api/tokens").unwrap();
        assert_eq!(listed.status, 200, "{}", listed.text());
        assert!(listed.text().contains("bob@acme.dev"), "{}", listed.text());
    }
}

/// `tagpub -c <config> <args>` on the registry's config, while its server runs.
fn tagpub(r: &Registry, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tagpub"))
        .args(["-c", r.dir.path().join("registry.yaml").to_str().unwrap()])
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run tagpub");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_far_future_expiry_already_in_the_database_still_lists() {
    let r = registry();
    let s = &r.server;
    let bob_secret = token_for(s, "bob@acme.dev");
    let now = tagpub::clock::now();
    // What an older tagpub stored for `99999999999d`, and the largest value SQLite holds,
    // written straight into the database as an old data dir would have them.
    let old = token::issue(&s.state.store, "bob@acme.dev", "old", None, now).unwrap();
    let extreme = token::issue(&s.state.store, "bob@acme.dev", "extreme", None, now).unwrap();
    let db = rusqlite::Connection::open(r.dir.path().join("data/tagpub.sqlite3")).unwrap();
    for (id, expires) in [
        (&old.record.id, now + 99_999_999_999 * 86_400),
        (&extreme.record.id, i64::MAX),
    ] {
        let changed = db
            .execute(
                "UPDATE tokens SET expires = ?1 WHERE id = ?2",
                rusqlite::params![expires, id],
            )
            .unwrap();
        assert_eq!(changed, 1);
    }
    drop(db);

    for who in [
        s.client().with_token(&bob_secret),
        client(s, "admin@acme.dev"),
        client(s, "dave@acme.dev"),
    ] {
        let listed = who.get_api("api/tokens?member=bob@acme.dev").unwrap();
        assert_eq!(listed.status, 200, "{}", listed.text());
        let body = listed.json();
        let expiry = |id: &str| {
            body["tokens"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["id"] == id)
                .map(|t| t["expires"].clone())
        };
        for id in [&old.record.id, &extreme.record.id] {
            assert_eq!(expiry(id), Some(json!("9999-12-31T23:59:59Z")), "{body}");
        }
    }
    let (code, stdout, stderr) = tagpub(&r, &["token", "list", "--member", "bob@acme.dev"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&old.record.id) && stdout.contains(&extreme.record.id),
        "{stdout}"
    );
    assert!(stdout.contains("9999-12-31T23:59:59Z"), "{stdout}");
}

#[test]
fn the_command_line_refuses_a_far_future_expiry_before_storing_anything() {
    let r = registry();
    let (code, stdout, stderr) = tagpub(
        &r,
        &[
            "token",
            "issue",
            "--member",
            "bob@acme.dev",
            "--expires-in",
            "99999999999d",
        ],
    );
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(
        stderr.contains("--expires-in") && stderr.contains("10 years"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stored(&r.server, "bob@acme.dev"), 0);
    let (code, stdout, stderr) = tagpub(&r, &["token", "list"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn a_panicking_handler_answers_500_json_and_the_server_keeps_serving() {
    use axum::routing::get;
    async fn boom() -> &'static str {
        panic!("handler bug 7f3a")
    }
    let router = tagpub::http::harden(
        axum::Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "fine" })),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move { axum::serve(listener, router).await });
    let http = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap();
    for _ in 0..2 {
        let answer = http.get(format!("http://{addr}/boom")).send().unwrap();
        assert_eq!(answer.status(), 500);
        assert_eq!(
            answer.headers()["content-type"],
            "application/json; charset=utf-8"
        );
        let body: serde_json::Value = answer.json().unwrap();
        assert_eq!(body["error"]["code"], "InternalError", "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.contains("7f3a"),
            "panic details stay in the log: {message}"
        );
        let ok = http.get(format!("http://{addr}/ok")).send().unwrap();
        assert_eq!(
            (ok.status().as_u16(), ok.text().unwrap()),
            (200, "fine".into())
        );
    }
    runtime.shutdown_background();
}

#[test]
fn a_member_spelled_with_capitals_and_spaces_is_the_same_member_over_http_and_the_command_line() {
    let r = registry();
    let s = &r.server;
    let alice = client(s, "alice@acme.dev");
    let alices_id = alice.get_api("api/tokens").unwrap().json()["tokens"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let ids = |answer: RawResponse| -> Vec<String> {
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().to_string())
            .collect()
    };
    let admin = client(s, "admin@acme.dev");
    for query in [
        "api/tokens?member=alice@acme.dev",
        "api/tokens?member=%20ALICE@acme.dev%20",
        "api/tokens?member=+Alice@Acme.Dev%09",
    ] {
        assert_eq!(
            ids(admin.get_api(query).unwrap()),
            vec![alices_id.clone()],
            "{query}"
        );
    }
    // Issued over HTTP for a spelling, the token belongs to the member.
    let issued = issue(&admin, json!({"member": " ALICE@acme.dev ", "name": "ci"}));
    assert_eq!(issued.status, 201, "{}", issued.text());
    assert_eq!(issued.json()["member"], "alice@acme.dev");
    assert_eq!(stored(s, "alice@acme.dev"), 2);

    let (code, out, err) = tagpub(&r, &["token", "list", "--member", " ALICE@acme.dev "]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&alices_id), "{out}");
    assert_eq!(out.matches("alice@acme.dev").count(), 2, "{out}");
    let (code, out, err) = tagpub(&r, &["token", "issue", "--member", "ALICE@Acme.dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("for alice@acme.dev"), "{out}");
    assert_eq!(stored(s, "alice@acme.dev"), 3);
    let (code, out, err) = tagpub(&r, &["token", "revoke", "--member", " Alice@acme.dev"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("revoked 3 token(s) of alice@acme.dev"),
        "{out}"
    );
}
