//! Web UI sessions and forms over real HTTP: the cookie's flags and what is stored of
//! it, CSRF and origin checks on every form that changes something, revocation ending a
//! session at once, and the tokens page following the API's rule of who manages whose
//! tokens.

use crate::support;

use support::ClientError;
use support::web::Browser;
use support::web_registry::{signed_in, token_for, web_registry};
use tagpub::store::Store;
use tagpub::web::session;

fn tokens_of(store: &Store, member: &str) -> usize {
    store.tokens.tokens(Some(member)).unwrap().len()
}

#[test]
fn the_session_cookie_is_http_only_strict_and_holds_no_token() {
    let r = web_registry(false);
    let s = &r.server;
    let token = token_for(s, "alice@acme.dev");
    let b = Browser::new(&s.base_url);
    let answer = b.sign_in(&token);
    assert_eq!(answer.status, 303, "{}", answer.html);
    assert_eq!(answer.header("location"), Some("/"));
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tagpub_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http base_url: {cookie}");
    let id = b.cookie("tagpub_session").unwrap();
    assert!(!cookie.contains(&token) && !token.contains(&id));
    // The store keeps the id's hash only.
    let sessions = &s.state.store.sessions;
    assert!(sessions.session(&session::hash(&id)).unwrap().is_some());
    assert!(sessions.session(&id).unwrap().is_none());
    assert!(b.get("tokens").text().contains("alice@acme.dev"));
    // A forged or guessed cookie is nobody.
    let forged = Browser::new(&s.base_url);
    forged.set_cookie("tagpub_session", &"0".repeat(64));
    assert_eq!(forged.get("tokens").status, 303);
}

#[test]
fn a_bad_token_does_not_sign_in() {
    let r = web_registry(false);
    let s = &r.server;
    let revoked = token_for(s, "bob@acme.dev");
    let id = s.state.store.tokens.tokens(Some("bob@acme.dev")).unwrap()[0]
        .id
        .clone();
    s.state.store.tokens.revoke_token(&id, 1).unwrap();
    for (token, why) in [
        ("tagpub_nope", "not known"),
        (revoked.as_str(), "revoked"),
        ("", "not known"),
    ] {
        let b = Browser::new(&s.base_url);
        let answer = b.sign_in(token);
        assert_eq!(answer.status, 401, "{token}");
        assert!(answer.text().contains(why), "{why}: {}", answer.text());
        assert!(b.cookie("tagpub_session").is_none());
    }
}

#[test]
fn forms_without_the_right_csrf_token_or_origin_are_refused() {
    let r = web_registry(false);
    let s = &r.server;
    let store = &s.state.store;
    let (b, _) = signed_in(s, "alice@acme.dev");
    let csrf = b.get("tokens").field("csrf").expect("a CSRF field");
    let create = |csrf: &str| {
        vec![
            ("csrf", csrf.to_string()),
            ("action", "create".to_string()),
            ("member", "alice@acme.dev".to_string()),
            ("name", "laptop".to_string()),
            ("expires_in", "30d".to_string()),
        ]
    };
    let post = |origin: Option<&str>, fields: Vec<(&'static str, String)>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        b.post_from(origin, "tokens", &fields)
    };
    let origin = b.origin();
    let other_session = signed_in(s, "alice@acme.dev").0;
    let someone_elses = other_session.get("tokens").field("csrf").unwrap();
    let before = tokens_of(store, "alice@acme.dev");
    for (what, origin, fields) in [
        ("no token", Some(origin.as_str()), create("")),
        (
            "a wrong token",
            Some(origin.as_str()),
            create(&"a".repeat(64)),
        ),
        (
            "another session's token",
            Some(origin.as_str()),
            create(&someone_elses),
        ),
        ("another site", Some("https://evil.example"), create(&csrf)),
        ("an opaque origin", Some("null"), create(&csrf)),
    ] {
        let answer = post(origin, fields);
        assert_eq!(answer.status, 403, "{what}: {}", answer.html);
        assert_eq!(tokens_of(store, "alice@acme.dev"), before, "{what}");
    }
    let answer = post(Some(&origin), create(&csrf));
    assert_eq!(answer.status, 200, "{}", answer.html);
    assert_eq!(tokens_of(store, "alice@acme.dev"), before + 1);
    // Signing out needs the token too.
    assert_eq!(b.post("logout", &[("csrf", "")]).status, 403);
    assert_eq!(b.get("tokens").status, 200, "still signed in");
    assert_eq!(b.post("logout", &[("csrf", &csrf)]).status, 303);
    assert_eq!(b.get("tokens").status, 303, "signed out");
    // Signing in needs the form's own token (no login CSRF), from this registry.
    let fresh = Browser::new(&s.base_url);
    let token = token_for(s, "bob@acme.dev");
    let forged = fresh.post("login", &[("csrf", &"b".repeat(64)), ("token", &token)]);
    assert_eq!(forged.status, 403);
    let login_csrf = fresh.get("login").field("csrf").unwrap();
    let elsewhere = fresh.post_from(
        Some("https://evil.example"),
        "login",
        &[("csrf", &login_csrf), ("token", &token)],
    );
    assert_eq!(elsewhere.status, 403);
    assert!(fresh.cookie("tagpub_session").is_none());
}

#[test]
fn revoking_the_token_ends_the_session_at_once() {
    let r = web_registry(false);
    let s = &r.server;
    let (b, token) = signed_in(s, "alice@acme.dev");
    assert_eq!(b.get("tokens").status, 200);
    assert!(b.get("packages/secret_pkg").status == 200);
    // Revoked the way `tagpub token revoke` does: another process, the same database.
    let other = Store::open(&s.state.config.load().data_dir).unwrap();
    let id = other.tokens.tokens(Some("alice@acme.dev")).unwrap()[0]
        .id
        .clone();
    other
        .tokens
        .revoke_token(&id, tagpub::clock::now())
        .unwrap();
    let page = b.get("packages/secret_pkg");
    assert_eq!(page.status, 401, "the very next request is anonymous");
    assert!(page.text().contains("signed out"), "{}", page.text());
    assert!(
        b.cookie("tagpub_session").is_none(),
        "the cookie is removed"
    );
    assert_eq!(b.get("tokens").status, 303);
    match s.client().with_token(&token).list("secret_pkg") {
        Err(ClientError::Auth { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn leaders_issue_and_revoke_the_ci_members_tokens() {
    let r = web_registry(false);
    let s = &r.server;
    let (alice, _) = signed_in(s, "alice@acme.dev");
    let page = alice.get("tokens");
    // The members alice may manage: herself and the CI member of her team.
    assert!(page.html.contains("<option value=\"ci-mobile@acme.dev\""));
    assert!(!page.html.contains("<option value=\"bob@acme.dev\""));
    assert!(!page.html.contains("<option value=\"admin@acme.dev\""));
    assert_eq!(alice.get("tokens?member=bob@acme.dev").status, 403);
    let csrf = page.field("csrf").unwrap();
    let created = alice.post(
        "tokens",
        &[
            ("csrf", &csrf),
            ("action", "create"),
            ("member", "ci-mobile@acme.dev"),
            ("name", "ci-mobile pipeline"),
            ("expires_in", "90d"),
        ],
    );
    assert_eq!(created.status, 200, "{}", created.html);
    assert_eq!(created.header("cache-control"), Some("no-store"));
    let secret = created
        .element_text("new-token")
        .expect("the secret is shown once");
    let text = created.text();
    assert!(text.contains(&format!("dart pub token add {}", s.base_url)));
    assert!(text.contains(&format!(
        "dart pub token add {} --env-var TAGPUB_TOKEN",
        s.base_url
    )));
    let ci = s.client().with_token(&secret);
    assert_eq!(ci.list("secret_pkg").unwrap().name, "secret_pkg");
    let listed = alice.get("tokens?member=ci-mobile@acme.dev");
    assert!(!listed.html.contains(&secret), "never shown again");
    let id = s
        .state
        .store
        .tokens
        .tokens(Some("ci-mobile@acme.dev"))
        .unwrap()[0]
        .id
        .clone();
    assert!(listed.html.contains(&id));
    // Bob may not act for the CI member, even with a valid form.
    let (bob, _) = signed_in(s, "bob@acme.dev");
    let bob_csrf = bob.get("tokens").field("csrf").unwrap();
    for (action, extra) in [("create", ("name", "x")), ("revoke", ("id", id.as_str()))] {
        let answer = bob.post(
            "tokens",
            &[
                ("csrf", &bob_csrf),
                ("action", action),
                ("member", "ci-mobile@acme.dev"),
                extra,
            ],
        );
        assert!(
            matches!(answer.status, 403 | 404),
            "{action}: {}",
            answer.status
        );
    }
    ci.list("secret_pkg").unwrap();
    let revoked = alice.post(
        "tokens",
        &[
            ("csrf", &csrf),
            ("action", "revoke"),
            ("member", "ci-mobile@acme.dev"),
            ("id", &id),
        ],
    );
    assert_eq!(revoked.status, 200, "{}", revoked.html);
    match ci.list("secret_pkg") {
        Err(ClientError::Auth { status: 401, .. }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn signing_out_everywhere_revokes_my_tokens_but_not_ci_ones() {
    let r = web_registry(false);
    let s = &r.server;
    let ci = s.client().with_token(&token_for(s, "ci-mobile@acme.dev"));
    let (alice, laptop) = signed_in(s, "alice@acme.dev");
    let (elsewhere, _) = signed_in(s, "alice@acme.dev");
    let csrf = alice.get("tokens").field("csrf").unwrap();
    // Without the confirmation box a browser does not send the form; the server does
    // what the form says.
    let answer = alice.post(
        "tokens",
        &[
            ("csrf", &csrf),
            ("action", "revoke_all"),
            ("member", "alice@acme.dev"),
            ("confirm", "yes"),
        ],
    );
    assert_eq!(answer.status, 303);
    assert_eq!(answer.header("location"), Some("/login"));
    assert_eq!(
        alice.get("tokens").status,
        303,
        "this browser is signed out"
    );
    assert_eq!(elsewhere.get("tokens").status, 303, "and every other one");
    assert!(s.client().with_token(&laptop).list("open_pkg").is_err());
    ci.list("secret_pkg")
        .expect("the CI member's token keeps working");
}
