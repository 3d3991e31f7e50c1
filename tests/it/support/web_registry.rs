//! The registry the web UI's tests look at: members and teams, four repositories whose
//! packages cover what pages show (READMEs hostile and ordinary, CHANGELOGs, versions,
//! refused tags, discontinuation), and signing in.

use super::git::GitRepo;
use super::server::TestServer;
use super::web::Browser;

/// Members and teams of the web UI's registries: alice leads `mobile`, whose member is
/// the CI member; bob is in no team.
pub const MEMBERS: &str = "members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: ci-mobile@acme.dev}
  - {email: bob@acme.dev}
teams:
  - {name: mobile, leaders: [alice@acme.dev], members: [ci-mobile@acme.dev]}
";

/// A PNG of one transparent pixel.
pub const PIXEL_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// The README of `open_pkg`: GitHub markdown, an image from the archive, and every kind
/// of active content a sanitizer must remove.
pub const HOSTILE_README: &str = "# Open package

It opens things, with style. ![logo](doc/logo.png)

- [x] tables
- [ ] rockets

| what | how |
|------|-----|
| open | `open_pkg.open()` |

```dart
import 'package:open_pkg/open_pkg.dart';
```

<script>alert('script')</script>

<img src=\"https://img.example/x.png\" onerror=\"alert('onerror')\">

[a trap](javascript:alert('link'))

<a href=\"JAVASCRIPT:alert('upper')\">another</a>

<iframe src=\"https://evil.example/\"></iframe>

<div onclick=\"alert('click')\" style=\"position:fixed\">clickable</div>
";

/// The README of `acme_widgets`: what a package's README usually holds.
pub const WIDGETS_README: &str = "# acme_widgets

Buttons, cards and dialogs in Acme's design language, for every Flutter app of the team.

## Install

```sh
dart pub add acme_widgets --hosted-url https://pub.acme.dev/
```

## Use

```dart
import 'package:acme_widgets/acme_widgets.dart';

final button = AcmeButton(label: 'Pay now', onPressed: pay);
```

| Widget | Since | Notes |
|--------|-------|-------|
| `AcmeButton` | 1.0.0 | primary and secondary styles |
| `AcmeCard` | 1.1.0 | with an optional header image |
| `AcmeDialog` | 1.2.0 | confirms before destructive actions |

- [x] light and dark themes
- [x] right-to-left layouts
- [ ] tablet layouts

> [!NOTE]
> Colours follow the design system; see `doc/colours.md`.
";

/// Writes `pubspec.yaml` (with `extra` lines) and a library, commits and tags.
pub fn release_with(repo: &GitRepo, name: &str, version: &str, tag: &str, extra: &str) {
    repo.write(
        "pubspec.yaml",
        format!(
            "name: {name}\nversion: {version}\ndescription: The {name} package, for the web UI's tests.\nenvironment:\n  sdk: ^3.0.0\n{extra}"
        ),
    );
    repo.write(
        &format!("lib/{name}.dart"),
        format!("const String version = '{version}';\n"),
    );
    repo.commit(&format!("release {name} {version}"));
    repo.tag(tag);
}

/// A tag whose pubspec says another version: refused, with a reason.
pub fn bad_tag(repo: &GitRepo, name: &str, pubspec_version: &str, tag: &str) {
    release_with(repo, name, pubspec_version, tag, "");
}

/// A registry with four repositories: `open_pkg` (every member reads it; a hostile
/// README, a CHANGELOG, a pre-release, a refused tag `v2.0.0`; discontinued in favour
/// of `secret_pkg`), `secret_pkg` (team mobile; a refused tag `v1.5.0`), `broken_pkg`
/// (team mobile; its only tag refused, so nothing is served) and `acme_widgets` (every
/// member; a README and CHANGELOG as people write them, four versions).
pub struct WebRegistry {
    pub server: TestServer,
    pub open: GitRepo,
    pub secret: GitRepo,
    #[expect(dead_code, reason = "kept so the repository outlives the server")]
    pub broken: GitRepo,
    #[expect(dead_code, reason = "kept so the repository outlives the server")]
    pub widgets: GitRepo,
    _dir: tempfile::TempDir,
}

pub fn web_registry(anonymous_read: bool) -> WebRegistry {
    let dir = tempfile::tempdir().expect("temp dir");
    // The server's address must be known before the pubspecs that depend on it are
    // written, so the repositories are filled after the start and synced then.
    let (open, secret, broken) = (GitRepo::init(), GitRepo::init(), GitRepo::init());
    let widgets = GitRepo::init();
    let body = format!(
        "access:\n  anonymous_read: {anonymous_read}\n{MEMBERS}repositories:
  - url: {}
    poll_interval: 1h
    packages:
      - {{path: ., discontinued: true, replaced_by: secret_pkg}}
  - url: {}
    teams: [mobile]
    poll_interval: 1h
  - url: {}
    teams: [mobile]
    poll_interval: 1h
  - url: {}
    poll_interval: 1h
",
        open.path().display(),
        secret.path().display(),
        broken.path().display(),
        widgets.path().display()
    );
    let server = super::server::start(dir.path(), "", &body);
    open.write("README.md", HOSTILE_README)
        .write(
            "CHANGELOG.md",
            "## 1.0.0\n\n- First release of the opener.\n",
        )
        .write("doc/logo.png", PIXEL_PNG);
    let deps = format!(
        "homepage: https://example.com/open_pkg\ndependencies:\n  path: ^1.8.0\n  secret_pkg:\n    hosted: {}\n    version: ^1.0.0\n",
        server.base_url
    );
    release_with(&open, "open_pkg", "1.0.0", "v1.0.0", &deps);
    release_with(&open, "open_pkg", "1.1.0-beta.1", "v1.1.0-beta.1", &deps);
    bad_tag(&open, "open_pkg", "1.9.9", "v2.0.0");
    secret.write(
        "README.md",
        "# Secret\n\nOnly the mobile team reads this.\n",
    );
    release_with(&secret, "secret_pkg", "1.0.0", "v1.0.0", "");
    bad_tag(&secret, "secret_pkg", "1.4.0", "v1.5.0");
    bad_tag(&broken, "broken_pkg", "0.9.0", "v1.0.0");
    widgets
        .write("README.md", WIDGETS_README)
        .write("doc/colours.md", "# Colours\n");
    let flutter = "dependencies:\n  flutter:\n    sdk: flutter\n  intl: ^0.19.0\n";
    for (version, change) in [
        ("1.0.0", "AcmeButton"),
        ("1.1.0", "AcmeCard"),
        ("1.2.0-dev.1", "AcmeDialog, for trying"),
        ("1.2.0", "AcmeDialog"),
    ] {
        let log = widgets.path().join("CHANGELOG.md");
        let old = std::fs::read_to_string(&log).unwrap_or_default();
        widgets.write(
            "CHANGELOG.md",
            format!("## {version}\n\n- {change}.\n\n{old}"),
        );
        release_with(
            &widgets,
            "acme_widgets",
            version,
            &format!("v{version}"),
            flutter,
        );
    }
    server.sync();
    WebRegistry {
        server,
        open,
        secret,
        broken,
        widgets,
        _dir: dir,
    }
}

/// A token for `member`, issued as `tagpub token issue` does.
pub fn token_for(server: &TestServer, member: &str) -> String {
    tagpub::auth::token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .expect("issue a token")
    .secret
    .expose()
    .to_string()
}

/// A browser signed in as `member` with a fresh token; returns the token too.
pub fn signed_in(server: &TestServer, member: &str) -> (Browser, String) {
    let token = token_for(server, member);
    let browser = Browser::new(&server.base_url);
    let answer = browser.sign_in(&token);
    assert_eq!(
        answer.status, 303,
        "signing in as {member}: {}",
        answer.html
    );
    (browser, token)
}
