//! The web UI in a real headless Chromium, driven over WebDriver: sign in with a token,
//! find a package by search, read its README, create a token for the CI member on the
//! tokens page, fetch a listing with it as `dart pub` would, revoke it and see the client
//! refused. Screenshots of the pages go to `target/screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them the test says why and passes, unless `TAGPUB_REQUIRE_BROWSER` is set (as CI
//! does), so that a missing browser never passes unnoticed there.

use crate::support;

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::ClientError;
use support::web_registry::{token_for, web_registry};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// How long any one page may take to show what the test waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// A chromedriver on a free port of 127.0.0.1, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let status = format!("{url}/status");
        let started = Instant::now();
        let http = reqwest::blocking::Client::new();
        loop {
            let ready = http
                .get(&status)
                .send()
                .ok()
                .and_then(|r| r.json::<serde_json::Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "chromedriver did not get ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Why the browser test cannot run here, if it cannot.
fn missing_browser() -> Option<String> {
    [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .find(|p| !Path::new(p).exists())
        .map(|p| format!("{p} is not installed (apt-get install chromium chromium-driver)"))
}

fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target/tmp has a parent")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--window-size=1280,1100".to_string(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"binary": CHROMIUM, "args": args}),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.expect("a screenshot");
    std::fs::write(screenshots().join(name), png).expect("save the screenshot");
}

/// The text of the element `css` once it satisfies `ready`: pages change under the
/// test after every click, so the element is looked up again until it does.
async fn text_when(client: &Client, css: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < PATIENCE {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if ready(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{css} never got ready; it last said {last:?}");
}

async fn text_of(client: &Client, css: &str, expected: &str) -> String {
    text_when(client, css, |t| t.contains(expected)).await
}

#[test]
fn a_leader_signs_in_reads_a_readme_and_hands_the_ci_member_a_token() {
    if let Some(why) = missing_browser() {
        assert!(
            std::env::var_os("TAGPUB_REQUIRE_BROWSER").is_none(),
            "TAGPUB_REQUIRE_BROWSER is set but {why}"
        );
        eprintln!("skipping the browser test: {why}");
        return;
    }
    let r = web_registry(false);
    let s = &r.server;
    let base = s.base_url.clone();
    let token = token_for(s, "alice@acme.dev");
    let driver = Driver::start();
    let profile = tempfile::tempdir().expect("a fresh profile");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime for WebDriver");
    let c = runtime.block_on(browser(&driver, profile.path()));

    let secret = runtime.block_on(async {
        // Signing in: anonymous visitors are sent to the form.
        c.goto(&base).await.unwrap();
        c.find(Locator::LinkText("Sign in"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let field = c
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Id("token"))
            .await
            .unwrap();
        field.send_keys(&token).await.unwrap();
        c.find(Locator::Css("form.stack button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(&c, "header .who", "alice@acme.dev").await;
        shoot(&c, "list.png").await;

        // Finding a package by search and reading its README.
        let q = c.find(Locator::Id("q")).await.unwrap();
        q.send_keys("widgets").await.unwrap();
        c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(&c, "h1", "matching").await;
        assert!(
            text_of(&c, "p.count", "package")
                .await
                .starts_with("1 package")
        );
        c.find(Locator::LinkText("acme_widgets"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(&c, "#readme article.markdown", "Buttons, cards and dialogs").await;
        // The registry's own script runs under the page's policy: copy buttons appear.
        let copy = c
            .find(Locator::Css("button.copy[data-copy=add-command]"))
            .await
            .unwrap();
        assert!(
            copy.is_displayed().await.unwrap(),
            "the copy button is shown"
        );
        shoot(&c, "package.png").await;
        c.set_window_size(1280, 3000).await.unwrap();
        shoot(&c, "package-full.png").await;
        c.set_window_size(1280, 1100).await.unwrap();

        // A token for the CI member, from the tokens page.
        c.find(Locator::LinkText("Tokens"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let pick = c
            .wait()
            .at_most(PATIENCE)
            .for_element(Locator::Id("pick-member"))
            .await
            .unwrap();
        pick.select_by_value("ci-mobile@acme.dev").await.unwrap();
        c.find(Locator::Css("form.pick button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        text_of(&c, "h1", "ci-mobile@acme.dev").await;
        c.find(Locator::Id("token-name"))
            .await
            .unwrap()
            .send_keys("ci-mobile pipeline")
            .await
            .unwrap();
        c.find(Locator::Id("token-expiry"))
            .await
            .unwrap()
            .select_by_value("90d")
            .await
            .unwrap();
        c.find(Locator::Css("button.primary"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let secret = text_of(&c, "#new-token", "tagpub_").await;
        let ci_command = text_of(&c, "#env-token", "--env-var").await;
        assert_eq!(
            ci_command,
            format!("dart pub token add {base} --env-var TAGPUB_TOKEN")
        );
        shoot(&c, "tokens.png").await;
        c.set_window_size(1280, 2200).await.unwrap();
        shoot(&c, "tokens-full.png").await;
        c.set_window_size(1280, 1100).await.unwrap();
        secret
    });

    // The CI member's token reads what its team reads, as `dart pub get` does.
    let ci = s.client().with_token(&secret);
    let listing = ci
        .list("secret_pkg")
        .expect("the CI token reads secret_pkg");
    assert_eq!(listing.name, "secret_pkg");

    runtime.block_on(async {
        c.goto(&format!("{base}tokens?member=ci-mobile%40acme.dev"))
            .await
            .unwrap();
        c.find(Locator::Css(
            "button.danger[aria-label^='Revoke token ci-mobile pipeline']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
        text_of(&c, ".banner.ok", "was revoked").await;
        // Readable on a phone: the list at a phone's width, for people to look at.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&base).await.unwrap();
        text_of(&c, "ol.packages", "acme_widgets").await;
        shoot(&c, "list-phone.png").await;
    });
    match ci.list("secret_pkg") {
        Err(ClientError::Auth { status: 401, .. }) => {}
        other => panic!("a revoked token must get 401, got {other:?}"),
    }
    runtime.block_on(c.close()).expect("close the browser");
}
