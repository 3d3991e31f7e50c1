//! The web UI's pages over real HTTP: they show exactly what the API lets the same
//! person read, READMEs are sanitized, package pages carry versions, provenance and the
//! reasons tags were refused, and the API keeps answering as before.

use crate::support;

use support::web::Browser;
use support::web_registry::{WebRegistry, signed_in, token_for, web_registry};
use support::{PubClient, server::TestServer};

const PACKAGES: [&str; 4] = ["secret_pkg", "open_pkg", "broken_pkg", "no_such_pkg"];

/// The status `dart pub` gets for a package's listing.
fn api_status(server: &TestServer, member: Option<&str>, package: &str) -> u16 {
    let client = match member {
        Some(m) => server.client().with_token(&token_for(server, m)),
        None => PubClient::new(&server.base_url),
    };
    client
        .get_api(&format!("api/packages/{package}"))
        .expect("the API answers")
        .status
}

fn browser(server: &TestServer, member: Option<&str>) -> Browser {
    match member {
        Some(m) => signed_in(server, m).0,
        None => Browser::new(&server.base_url),
    }
}

/// Reasons `tagpub check` gives for the refused tags of every repository.
fn check_reasons(r: &WebRegistry) -> Vec<(String, String, String)> {
    let config = r.server.state.config.load();
    config
        .repositories
        .iter()
        .flat_map(|repo| tagpub::release::check_repository(repo).rejected)
        .map(|p| (p.package, p.tag, p.reason))
        .collect()
}

fn assert_pages_follow_the_api(r: &WebRegistry, who: Option<&str>) {
    let s = &r.server;
    let b = browser(s, who);
    let list = b.get("");
    assert_eq!(list.status, 200);
    let searched = b.get("?q=pkg");
    for package in PACKAGES {
        let api = api_status(s, who, package);
        let page = b.get(&format!("packages/{package}"));
        let listed = list.html.contains(&format!("packages/{package}\""));
        assert_eq!(listed, api == 200, "{who:?}: {package} in the list");
        assert_eq!(
            searched.html.contains(&format!("packages/{package}\"")),
            api == 200,
            "{who:?}: {package} in a search"
        );
        // A package whose every tag was refused has no listing, but its page tells
        // those who may read its repository why.
        let shows_refusals = package == "broken_pkg" && page.status == 200;
        if shows_refusals {
            assert_eq!(api, 404, "{who:?}: broken_pkg");
            assert!(
                page.text().contains("Why isn't my tag here?"),
                "{}",
                page.html
            );
        } else {
            assert_eq!(
                page.status, api,
                "{who:?}: page of {package}: {}",
                page.html
            );
        }
        for path in [
            format!("packages/{package}/versions/1.0.0"),
            format!("packages/{package}/versions/1.0.0/files/README.md"),
        ] {
            let status = b.get(&path).status;
            if api == 200 {
                assert_eq!(status, 200, "{who:?}: {path}");
            } else if !shows_refusals {
                assert_eq!(status, api, "{who:?}: {path}");
            }
        }
    }
    // No page the visitor can open shows a refusal they could not read in the API.
    let readable: Vec<&str> = PACKAGES
        .into_iter()
        .filter(|p| {
            let page = b.get(&format!("packages/{p}"));
            page.status == 200
        })
        .collect();
    for (package, tag, reason) in check_reasons(r) {
        let seen = readable
            .iter()
            .map(|p| b.get(&format!("packages/{p}")).text())
            .chain([list.text(), searched.text()])
            .any(|text| text.contains(&reason));
        let may = match package.as_str() {
            "broken_pkg" => matches!(who, Some("ci-mobile@acme.dev" | "admin@acme.dev")),
            p => api_status(s, who, p) == 200,
        };
        assert_eq!(
            seen, may,
            "{who:?}: the reason for {package} {tag} ({reason})"
        );
    }
}

#[test]
fn pages_never_show_what_the_api_refuses() {
    let r = web_registry(false);
    for who in [
        None,
        Some("bob@acme.dev"),
        Some("ci-mobile@acme.dev"),
        Some("admin@acme.dev"),
    ] {
        assert_pages_follow_the_api(&r, who);
    }
    let anonymous = Browser::new(&r.server.base_url).get("");
    assert!(
        anonymous.text().contains("Sign in"),
        "anonymous visitors are told how to see more: {}",
        anonymous.html
    );
}

#[test]
fn anonymous_visitors_see_what_anonymous_reads_allow() {
    let r = web_registry(true);
    assert_pages_follow_the_api(&r, None);
    let list = Browser::new(&r.server.base_url).get("");
    assert!(list.html.contains("packages/open_pkg\""));
    assert!(!list.html.contains("secret_pkg\""));
}

#[test]
fn readme_html_is_sanitized() {
    let r = web_registry(false);
    let (b, _) = signed_in(&r.server, "bob@acme.dev");
    let page = b.get("packages/open_pkg");
    assert_eq!(page.status, 200);
    let lower = page.html.to_lowercase();
    for gone in [
        "alert(",
        "onerror",
        "onclick",
        "javascript:",
        "<iframe",
        "position:fixed",
    ] {
        assert!(!lower.contains(gone), "{gone} survived: {}", page.html);
    }
    assert_eq!(
        lower.matches("<script").count(),
        1,
        "only the registry's own script: {}",
        page.html
    );
    assert!(lower.contains("<script src=\"/static/app.js?v="));
    let text = page.text();
    assert!(text.contains("It opens things, with style."), "{text}");
    assert!(
        text.contains("a trap") && text.contains("clickable"),
        "{text}"
    );
    assert!(page.html.contains("<table>") && page.html.contains("type=\"checkbox\""));
    // The image of the README is served from the archive, as an image that can run
    // nothing, to whoever may read the package only.
    let src = "/packages/open_pkg/versions/1.0.0/files/doc/logo.png";
    assert!(
        page.html.contains(&format!("src=\"{src}\"")),
        "{}",
        page.html
    );
    let image = b.get(src);
    assert_eq!(image.status, 200);
    assert_eq!(image.header("content-type"), Some("image/png"));
    assert!(
        image
            .header("content-security-policy")
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(Browser::new(&r.server.base_url).get(src).status, 401);
    let secret = b.get("packages/secret_pkg/versions/1.0.0/files/README.md");
    assert_eq!(secret.status, 403);
    assert!(!secret.html.contains("Only the mobile team"));
}

#[test]
fn package_page_shows_versions_provenance_install_and_refused_tags() {
    let r = web_registry(false);
    let s = &r.server;
    let (b, token) = signed_in(s, "ci-mobile@acme.dev");
    let listing = s.client().with_token(&token).list("open_pkg").unwrap();
    let page = b.get("packages/open_pkg");
    assert_eq!(page.status, 200);
    let text = page.text();
    for version in &listing.versions {
        let sha256 = version.archive_sha256.as_deref().unwrap();
        assert!(page.html.contains(sha256), "sha256 of {}", version.version);
    }
    let commit = r.open.rev_parse("v1.0.0");
    assert!(page.html.contains(&commit), "the commit of v1.0.0");
    assert!(
        text.contains(&r.open.path().display().to_string()),
        "the repository"
    );
    assert!(text.contains("1.1.0-beta.1 pre-release"), "{text}");
    assert!(text.contains("1.0.0 latest"), "{text}");
    assert!(text.contains(&format!(
        "dart pub add open_pkg --hosted-url {}",
        s.base_url
    )));
    assert!(
        text.contains(&format!("hosted: {} version: ^1.0.0", s.base_url)),
        "{text}"
    );
    assert!(text.contains("Discontinued.") && page.html.contains("href=\"/packages/secret_pkg\""));
    assert!(
        text.contains("First release of the opener."),
        "the changelog"
    );
    assert!(text.contains("path ^1.8.0 pub.dev"), "{text}");
    assert!(text.contains("secret_pkg ^1.0.0 this registry"), "{text}");
    assert!(page.html.contains("href=\"https://example.com/open_pkg\""));
    // Refused tags, each with the reason `tagpub check` gives.
    let reasons: Vec<_> = check_reasons(&r)
        .into_iter()
        .filter(|(p, _, _)| p == "open_pkg")
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    let (_, tag, reason) = &reasons[0];
    assert!(text.contains(&format!("tag {tag}")), "{text}");
    assert!(text.contains(reason.as_str()), "{reason} in {text}");
    // One version's page: its README and pubspec.
    let version = b.get("packages/open_pkg/versions/1.1.0-beta.1");
    assert_eq!(version.status, 200);
    assert!(version.text().contains("version: 1.1.0-beta.1"));
    assert!(version.text().contains("It opens things"));
    assert_eq!(b.get("packages/open_pkg/versions/9.9.9").status, 404);
}

#[test]
fn the_api_keeps_answering_as_before() {
    let r = web_registry(true);
    let s = &r.server;
    let client = s.client();
    for path in ["", "packages/open_pkg", "packages/open_pkg/versions/1.0.0"] {
        for accept in [Some("application/vnd.pub.v2+json"), Some("*/*"), None] {
            let answer = client.request(reqwest::Method::GET, &client.url(path), accept, false);
            let answer = client.send(answer).unwrap();
            assert_eq!(answer.status, 404, "{path} {accept:?}");
            // The archive route's own wording, unchanged.
            let slash = if path.contains("versions") { "" } else { "/" };
            assert_eq!(
                answer.json()["error"]["message"],
                format!("nothing is served at {slash}{path}"),
                "{path} {accept:?}"
            );
        }
    }
    let post = reqwest::blocking::Client::new()
        .post(client.url(""))
        .send()
        .unwrap();
    assert_eq!(post.status(), 404);
    // A browser clicking an archive link downloads the archive.
    let listing = client.list("open_pkg").unwrap();
    let archive = Browser::new(&s.base_url).get("packages/open_pkg/versions/1.0.0.tar.gz");
    assert_eq!(archive.status, 200);
    assert_eq!(
        archive.header("content-type"),
        Some("application/octet-stream")
    );
    let bytes = client.download(&listing.versions[0]).unwrap();
    assert!(!bytes.is_empty());
}

#[test]
fn every_page_carries_a_strict_content_security_policy() {
    let r = web_registry(true);
    let (b, _) = signed_in(&r.server, "admin@acme.dev");
    for path in [
        "",
        "packages/open_pkg",
        "tokens",
        "admin",
        "login",
        "packages/none",
    ] {
        let page = b.get(path);
        let csp = page.header("content-security-policy").unwrap_or_default();
        for part in [
            "default-src 'none'",
            "script-src 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(
            page.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert!(page.header("referrer-policy").is_some(), "{path}");
        assert!(!page.html.contains(" style=\""), "{path}: inline styles");
        assert!(!page.html.contains("<script>"), "{path}: inline scripts");
    }
}

#[test]
fn admin_page_is_for_admins() {
    let r = web_registry(false);
    let s = &r.server;
    assert_eq!(Browser::new(&s.base_url).get("admin").status, 303);
    let (bob, _) = signed_in(s, "bob@acme.dev");
    assert_eq!(bob.get("admin").status, 403);
    let (admin, _) = signed_in(s, "admin@acme.dev");
    let page = admin.get("admin");
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(
        text.contains(&r.secret.path().display().to_string()),
        "{text}"
    );
    assert!(text.contains(" ok "), "{text}");
    assert!(text.contains("broken_pkg tag v1.0.0"), "{text}");
}

#[test]
fn pages_work_under_a_path_prefix() {
    let repo = support::GitRepo::init();
    repo.write("README.md", "# Prefixed\n\n![logo](logo.png)\n")
        .write("logo.png", support::web_registry::PIXEL_PNG);
    repo.release("prefixed_pkg", "1.0.0", "v1.0.0");
    let dir = tempfile::tempdir().unwrap();
    let body = format!(
        "{}repositories:\n  - url: {}\n    poll_interval: 1h\n",
        support::web_registry::MEMBERS,
        repo.path().display()
    );
    let s = support::server::start(dir.path(), "registry/", &body);
    s.sync();
    let (b, _) = signed_in(&s, "bob@acme.dev");
    let list = b.get("");
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(
        list.html
            .contains("href=\"/registry/packages/prefixed_pkg\"")
    );
    assert!(list.html.contains("href=\"/registry/static/app.css?v="));
    let cookie = b.cookie("tagpub_session");
    assert!(cookie.is_some());
    let page = b.get("packages/prefixed_pkg");
    assert_eq!(page.status, 200);
    let logo = "/registry/packages/prefixed_pkg/versions/1.0.0/files/logo.png";
    assert!(
        page.html.contains(&format!("src=\"{logo}\"")),
        "{}",
        page.html
    );
    assert_eq!(b.get("static/app.css").status, 200);
    assert_eq!(
        b.get("packages/prefixed_pkg/versions/1.0.0/files/logo.png")
            .status,
        200
    );
    assert_eq!(b.get("tokens").status, 200);
    let api = s.client().get_api("").unwrap();
    assert_eq!(api.status, 404);
    assert_eq!(
        api.json()["error"]["message"],
        "nothing is served at /registry/"
    );
}
