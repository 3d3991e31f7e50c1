//! `dart pub publish` end to end: the three steps as the client drives them, every
//! validation rule, retries, permissions, names owned by git, retraction and
//! discontinuation, and the audit trail.

mod support;

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use support::server::{TestServer, start};
use support::{ClientError, GitRepo, PubClient};
use tagpub::auth::token;

const CONFIG: &str = r#"
access:
  anonymous_read: false
members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: ci@acme.dev}
  - {email: bob@acme.dev}
  - {email: eve@acme.dev}
teams:
  - {name: mobile, leaders: [alice@acme.dev], members: [ci@acme.dev]}
  - {name: web, members: [bob@acme.dev]}
uploads:
  publishers: [mobile]
  max_archive_mib: 2
  max_unpacked_mib: 8
"#;

struct Registry {
    server: TestServer,
    _git: GitRepo,
    _dir: tempfile::TempDir,
}

fn registry() -> Registry {
    let git = GitRepo::init();
    git.release("gitpkg", "1.0.0", "v1.0.0");
    git.release("gitpkg", "1.0.1", "v1.0.1");
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "",
        &format!(
            "{CONFIG}repositories:\n  - url: {}\n    poll_interval: 1h\n    packages:\n      - name: gitpkg\n        retracted: [\"1.0.1\"]\n        discontinued: true\n        replaced_by: fresh_pkg\n",
            git.path().display()
        ),
    );
    server.sync();
    Registry {
        server,
        _git: git,
        _dir: dir,
    }
}

fn as_member(server: &TestServer, member: &str) -> PubClient {
    let issued = token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .unwrap();
    server.client().with_token(issued.secret.expose())
}

fn pubspec(name: &str, version: &str) -> String {
    format!(
        "name: {name}\nversion: {version}\ndescription: Published by a test.\nenvironment:\n  sdk: ^3.0.0\n"
    )
}

/// A `.tar.gz` shaped like the one `dart pub publish` makes.
fn archive(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, path, *content).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

fn package(name: &str, version: &str) -> Vec<u8> {
    archive(&[
        ("pubspec.yaml", pubspec(name, version).as_bytes()),
        ("lib/main.dart", format!("// {name} {version}\n").as_bytes()),
        ("LICENSE", b"MIT"),
    ])
}

/// A raw ustar header, for entries the `tar` crate refuses to write.
fn raw_entry(name: &str, kind: u8, size: u64, link: &str) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    let size = format!("{size:011o}");
    // Eleven octal digits and a NUL, or twelve digits for sizes of 8 GiB and more.
    h[124..124 + size.len()].copy_from_slice(size.as_bytes());
    h[136..147].copy_from_slice(b"14540000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h.to_vec()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// A tar with a good pubspec followed by `extra` raw bytes (entries), then end blocks.
fn tar_with(name: &str, extra: &[u8]) -> Vec<u8> {
    let spec = pubspec(name, "1.0.0");
    let mut tar = raw_entry("pubspec.yaml", b'0', spec.len() as u64, "");
    tar.extend_from_slice(spec.as_bytes());
    tar.resize(tar.len().div_ceil(512) * 512, 0);
    tar.extend_from_slice(extra);
    tar.extend_from_slice(&[0u8; 1024]);
    tar
}

fn refused(result: Result<String, ClientError>) -> (u16, String) {
    match result {
        Err(ClientError::ServerMessage { status, message }) => (status, message),
        Err(ClientError::Auth {
            status,
            www_authenticate,
            ..
        }) => (status, www_authenticate.unwrap_or_default()),
        other => panic!("expected a refusal the client shows, got {other:?}"),
    }
}

#[test]
fn a_publish_driven_like_the_client_is_resolvable_and_downloadable_byte_for_byte() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    let bytes = package("fresh_pkg", "1.0.0");
    let message = alice.publish(&bytes).expect("publish");
    assert!(message.contains("fresh_pkg 1.0.0"), "{message}");
    let listing = alice.list("fresh_pkg").unwrap();
    assert_eq!(listing.versions(), ["1.0.0"]);
    let v = listing.version("1.0.0").unwrap();
    let downloaded = alice.download(v).unwrap();
    assert_eq!(downloaded, bytes, "archives are served exactly as uploaded");
    let files = support::extract(&downloaded).unwrap();
    assert_eq!(files.text("lib/main.dart"), Some("// fresh_pkg 1.0.0\n"));
    // The upload form is what the client needs: an absolute url and string fields.
    let form = alice.upload_form().unwrap();
    assert!(form.url.starts_with(&r.server.base_url), "{}", form.url);
}

#[test]
fn every_validation_rule_is_refused_at_finalize_with_a_readable_message() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    let huge_pubspec = format!(
        "{}description2: '{}'\n",
        pubspec("big_spec", "1.0.0"),
        "x".repeat(130 * 1024)
    );
    let bomb = {
        // 16 MiB of zeros compress to a few KiB; the unpacked limit here is 8 MiB.
        let mut enc = GzEncoder::new(Vec::new(), Compression::best());
        let spec = pubspec("bomb", "1.0.0");
        let mut tar = raw_entry("pubspec.yaml", b'0', spec.len() as u64, "");
        tar.extend_from_slice(spec.as_bytes());
        tar.resize(tar.len().div_ceil(512) * 512, 0);
        tar.extend_from_slice(&raw_entry("zeros", b'0', 16 << 20, ""));
        enc.write_all(&tar).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..17 {
            enc.write_all(&zeros).unwrap();
        }
        enc.finish().unwrap()
    };
    let mut trailing = package("trailing", "1.0.0");
    trailing.extend_from_slice(b"garbage after the gzip member");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not gzip", b"definitely not an archive".to_vec(), "gzip"),
        (
            "no pubspec",
            archive(&[("lib/a.dart", b"")]),
            "pubspec.yaml",
        ),
        ("reserved name", package("class", "1.0.0"), "class"),
        ("non-canonical version", package("canon", "01.0.0"), "1.0.0"),
        (
            "path dependency",
            archive(&[(
                "pubspec.yaml",
                format!(
                    "{}dependencies:\n  other:\n    path: ../other\n",
                    pubspec("pathy", "1.0.0")
                )
                .as_bytes(),
            )]),
            "other",
        ),
        (
            "no SDK constraint",
            archive(&[(
                "pubspec.yaml",
                b"name: nosdk\nversion: 1.0.0\ndescription: x\n",
            )]),
            "SDK constraint",
        ),
        (
            "escaping path",
            gzip(&tar_with("escape", &raw_entry("../evil.dart", b'0', 0, ""))),
            "evil.dart",
        ),
        (
            "symlink",
            gzip(&tar_with(
                "linked",
                &raw_entry("lib/link.dart", b'2', 0, "../../etc/passwd"),
            )),
            "link.dart",
        ),
        (
            "huge declared size",
            gzip(&tar_with("huge", &raw_entry("big.bin", b'0', 10 << 30, ""))),
            "big.bin",
        ),
        ("gzip bomb", bomb, "MiB"),
        ("trailing garbage", trailing, "follow the gzip stream"),
        (
            "pubspec over 128 KiB",
            archive(&[("pubspec.yaml", huge_pubspec.as_bytes())]),
            "pubspec.yaml",
        ),
        (
            "duplicate path",
            archive(&[
                ("pubspec.yaml", pubspec("dup", "1.0.0").as_bytes()),
                ("lib/a.dart", b"1"),
                ("./lib/a.dart", b"2"),
            ]),
            "lib/a.dart",
        ),
    ];
    for (what, bytes, needle) in cases {
        let (status, message) = refused(alice.publish(&bytes));
        assert_eq!(status, 400, "{what}: {message}");
        assert!(
            message.contains(needle),
            "{what}: the message should mention {needle:?}: {message}"
        );
        assert!(
            message
                .chars()
                .all(|c| (' '..='~').contains(&c) || c.is_alphanumeric()),
            "{what}: {message:?}"
        );
    }
    // Nothing of that reached what is served.
    for name in [
        "escape", "linked", "huge", "bomb", "trailing", "dup", "pathy", "nosdk",
    ] {
        assert!(
            matches!(alice.list(name), Err(ClientError::NotFound { .. })),
            "{name} must not exist"
        );
    }
    assert_eq!(alice.list("gitpkg").unwrap().versions(), ["1.0.0", "1.0.1"]);
}

#[test]
fn an_archive_over_the_size_limit_is_refused_at_upload_with_xml_the_client_shows() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    // Incompressible bytes (xorshift), so the archive really is over 2 MiB.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..(3usize << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let bytes = archive(&[
        ("pubspec.yaml", pubspec("large", "1.0.0").as_bytes()),
        ("noise.bin", &noise),
    ]);
    let form = alice.upload_form().unwrap();
    match alice.upload(&form, &bytes) {
        Err(ClientError::UploadFailed(text)) => assert!(text.contains("2 MiB"), "{text}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn retried_uploads_and_finalizes_answer_success_and_other_bytes_are_refused() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    let bytes = package("retried", "1.0.0");
    let form = alice.upload_form().unwrap();
    let location = alice.upload(&form, &bytes).unwrap();
    assert_eq!(
        alice.upload(&form, &bytes).unwrap(),
        location,
        "a re-posted upload"
    );
    let first = alice.finalize(&location).unwrap();
    assert_eq!(
        alice.finalize(&location).unwrap(),
        first,
        "a re-finalized upload"
    );
    assert_eq!(alice.upload(&form, &bytes).unwrap(), location);
    assert_eq!(
        alice.finalize(&location).unwrap(),
        first,
        "a re-post after success"
    );
    // A whole new publish of the same bytes is fine too (the client's own retry).
    alice.publish(&bytes).unwrap();
    // The same version with other bytes is refused; the first archive stays.
    let other = archive(&[
        ("pubspec.yaml", pubspec("retried", "1.0.0").as_bytes()),
        ("lib/other.dart", b"//"),
    ]);
    let (status, message) = refused(alice.publish(&other));
    assert_eq!(status, 400);
    assert!(message.contains("already exists"), "{message}");
    let v = alice.list("retried").unwrap();
    assert_eq!(alice.download(v.version("1.0.0").unwrap()).unwrap(), bytes);
}

#[test]
fn who_may_publish_what() {
    let r = registry();
    let s = &r.server;
    let (alice, ci, bob, eve, admin) = (
        as_member(s, "alice@acme.dev"),
        as_member(s, "ci@acme.dev"),
        as_member(s, "bob@acme.dev"),
        as_member(s, "eve@acme.dev"),
        as_member(s, "admin@acme.dev"),
    );
    // Creating a name: publisher teams and admins only.
    let (status, message) = refused(eve.publish(&package("eves", "1.0.0")));
    assert_eq!(status, 403);
    assert!(message.contains("mobile"), "{message}");
    ci.publish(&package("ci_made", "1.0.0"))
        .expect("a publisher team member creates a package");
    admin
        .publish(&package("admin_made", "1.0.0"))
        .expect("an admin creates a package");
    alice.publish(&package("alices", "1.0.0")).unwrap();
    // Later versions: uploaders and admins only.
    let (status, message) = refused(bob.publish(&package("alices", "1.1.0")));
    assert_eq!(status, 403);
    assert!(message.contains("alice@acme.dev"), "{message}");
    admin.publish(&package("alices", "1.1.0")).unwrap();
    // Alice adds bob as an uploader over HTTP.
    let add = alice
        .request(
            reqwest::Method::POST,
            &alice.url("api/packages/alices/uploaders"),
            None,
            true,
        )
        .json(&serde_json::json!({"email": "bob@acme.dev"}));
    assert_eq!(alice.send(add).unwrap().status, 200);
    let uploaders = alice
        .get_api("api/packages/alices/uploaders")
        .unwrap()
        .json();
    assert_eq!(
        uploaders["uploaders"],
        serde_json::json!(["alice@acme.dev", "bob@acme.dev"])
    );
    bob.publish(&package("alices", "1.2.0"))
        .expect("an added uploader publishes");
    // Readers are the uploaders' teams: mobile (alice, ci) and now web (bob); not eve.
    assert_eq!(ci.get_api("api/packages/alices").unwrap().status, 200);
    assert_eq!(bob.get_api("api/packages/alices").unwrap().status, 200);
    assert_eq!(eve.get_api("api/packages/alices").unwrap().status, 403);
    // A name differing only in case from an existing package is refused.
    let (status, message) = refused(alice.publish(&package("Alices", "1.0.0")));
    assert_eq!(status, 400, "{message}");
}

#[test]
fn a_name_served_from_git_is_refused_with_the_tag_to_push() {
    let r = registry();
    let admin = as_member(&r.server, "admin@acme.dev");
    let (status, message) = refused(admin.publish(&package("gitpkg", "2.0.0")));
    assert_eq!(status, 400);
    assert!(
        message.contains("v2.0.0") && message.contains(&r._git.path().display().to_string()),
        "{message}"
    );
}

#[test]
fn a_package_named_versions_does_not_shadow_the_publish_routes() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    alice.publish(&package("versions", "1.0.0")).unwrap();
    assert_eq!(alice.list("versions").unwrap().versions(), ["1.0.0"]);
    alice.upload_form().expect("versions/new still answers");
}

#[test]
fn retract_unretract_discontinue_and_latest() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    for v in ["1.0.0", "1.1.0", "2.0.0-beta.1"] {
        alice.publish(&package("evolving", v)).unwrap();
    }
    assert_eq!(alice.list("evolving").unwrap().latest(), Some("1.1.0"));
    let put = |path: &str, body: serde_json::Value| {
        let request = alice
            .request(reqwest::Method::PUT, &alice.url(path), None, true)
            .json(&body);
        alice.send(request).unwrap()
    };
    assert_eq!(
        put(
            "api/packages/evolving/versions/1.1.0/options",
            serde_json::json!({"isRetracted": true})
        )
        .status,
        200
    );
    let listing = alice.list("evolving").unwrap();
    assert_eq!(listing.latest(), Some("1.0.0"));
    let retracted = listing.version("1.1.0").unwrap();
    assert!(retracted.retracted);
    alice
        .download(retracted)
        .expect("retracted versions stay downloadable");
    assert_eq!(
        put(
            "api/packages/evolving/versions/1.1.0/options",
            serde_json::json!({"isRetracted": false})
        )
        .status,
        200
    );
    assert_eq!(alice.list("evolving").unwrap().latest(), Some("1.1.0"));
    assert_eq!(
        put(
            "api/packages/evolving/options",
            serde_json::json!({"isDiscontinued": true, "replacedBy": "fresh_pkg"})
        )
        .status,
        200
    );
    let listing = alice.list("evolving").unwrap();
    assert!(listing.is_discontinued);
    assert_eq!(listing.replaced_by.as_deref(), Some("fresh_pkg"));
    // Only uploaders and admins; git packages take these settings from registry.yaml.
    let ci = as_member(&r.server, "ci@acme.dev");
    let request = ci
        .request(
            reqwest::Method::PUT,
            &ci.url("api/packages/evolving/versions/1.0.0/options"),
            None,
            true,
        )
        .json(&serde_json::json!({"isRetracted": true}));
    assert_eq!(ci.send(request).unwrap().status, 403);
    let git = put(
        "api/packages/gitpkg/versions/1.0.0/options",
        serde_json::json!({"isRetracted": true}),
    );
    assert_eq!(
        git.status,
        400,
        "git packages are set in registry.yaml: {}",
        git.text()
    );
}

#[test]
fn git_packages_take_retraction_and_discontinuation_from_the_config() {
    let r = registry();
    let admin = as_member(&r.server, "admin@acme.dev");
    let listing = admin.list("gitpkg").unwrap();
    assert!(listing.version("1.0.1").unwrap().retracted);
    assert_eq!(listing.latest(), Some("1.0.0"));
    assert!(listing.is_discontinued);
    assert_eq!(listing.replaced_by.as_deref(), Some("fresh_pkg"));
    let request = admin
        .request(
            reqwest::Method::PUT,
            &admin.url("api/packages/gitpkg/versions/1.0.0/options"),
            None,
            true,
        )
        .json(&serde_json::json!({"isRetracted": true}));
    let answer = admin.send(request).unwrap();
    assert_eq!(answer.status, 400);
    assert!(answer.text().contains("registry.yaml"), "{}", answer.text());
}

#[test]
fn the_audit_trail_records_who_did_what() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    alice.publish(&package("audited", "1.0.0")).unwrap();
    let _ = alice.publish(&package("audited", "01.1.0"));
    let request = alice
        .request(
            reqwest::Method::PUT,
            &alice.url("api/packages/audited/versions/1.0.0/options"),
            None,
            true,
        )
        .json(&serde_json::json!({"isRetracted": true}));
    alice.send(request).unwrap();
    assert_eq!(alice.get_api("api/audit").unwrap().status, 403);
    let admin = as_member(&r.server, "admin@acme.dev");
    let trail = admin.get_api("api/audit?package=audited").unwrap().json();
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["retract", "refuse", "publish"]);
    assert!(
        trail["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["actor"] == "alice@acme.dev")
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tagpub"))
        .args([
            "-c",
            r.server.config_path.to_str().unwrap(),
            "audit",
            "--package",
            "audited",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("alice@acme.dev") && text.contains("retract") && text.contains("publish"),
        "{text}"
    );
}

#[test]
fn the_command_line_retracts_and_manages_uploaders() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    alice.publish(&package("managed", "1.0.0")).unwrap();
    let tagpub = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tagpub"))
            .args(["-c", r.server.config_path.to_str().unwrap()])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, out) = tagpub(&["package", "retract", "managed", "1.0.0"]);
    assert!(ok && out.contains("retracted"), "{out}");
    let (ok, out) = tagpub(&["package", "uploader", "add", "managed", "ci@acme.dev"]);
    assert!(ok, "{out}");
    let (_, out) = tagpub(&["package", "uploader", "list", "managed"]);
    assert_eq!(
        out.lines().take(2).collect::<Vec<_>>(),
        ["alice@acme.dev", "ci@acme.dev"]
    );
    let (ok, out) = tagpub(&["package", "retract", "gitpkg", "1.0.0"]);
    assert!(!ok && out.contains("registry.yaml"), "{out}");
    let (ok, out) = tagpub(&[
        "package",
        "discontinue",
        "managed",
        "--replaced-by",
        "class",
    ]);
    assert!(!ok && out.contains("class"), "{out}");
    // The daemon shows the change after a reload.
    r.server.state.reload_config().unwrap();
    assert!(
        alice
            .list("managed")
            .unwrap()
            .version("1.0.0")
            .unwrap()
            .retracted
    );
}

#[test]
fn a_store_failure_at_finalize_is_a_500_the_client_retries_and_no_refusal_in_the_audit_trail() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    let bytes = package("unstorable", "1.0.0");
    let form = alice.upload_form().unwrap();
    let location = alice.upload(&form, &bytes).unwrap();
    // The archive store cannot write: its directory is a regular file now, which stops
    // root too (tests may run as root, for whom permissions are no obstacle).
    let archives = r._dir.path().join("data/archives");
    let kept = r._dir.path().join("archives.kept");
    std::fs::rename(&archives, &kept).unwrap();
    std::fs::write(&archives, b"not a directory").unwrap();
    match alice.finalize(&location) {
        Err(ClientError::Status { status, body, .. }) => {
            assert_eq!(status, 500, "{body}");
            assert!(!body.contains("archives"), "no internal detail: {body}");
        }
        other => panic!("expected a 500 the client retries, got {other:?}"),
    }
    let admin = as_member(&r.server, "admin@acme.dev");
    let trail = admin.get_api("api/audit").unwrap().json();
    let refusals: Vec<_> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "refuse")
        .collect();
    assert!(refusals.is_empty(), "{trail}");
    // The client's retry succeeds once the store works again.
    std::fs::remove_file(&archives).unwrap();
    std::fs::rename(&kept, &archives).unwrap();
    alice.finalize(&location).unwrap();
    let v = alice.list("unstorable").unwrap();
    assert_eq!(alice.download(v.version("1.0.0").unwrap()).unwrap(), bytes);
}

#[test]
fn a_retried_finalize_of_a_refused_upload_gets_the_same_status_and_message() {
    let r = registry();
    let eve = as_member(&r.server, "eve@acme.dev");
    let form = eve.upload_form().unwrap();
    let location = eve.upload(&form, &package("eves_retry", "1.0.0")).unwrap();
    let first = refused(eve.finalize(&location));
    assert_eq!(first.0, 403, "{}", first.1);
    assert_eq!(
        refused(eve.finalize(&location)),
        first,
        "a replayed refusal"
    );

    let alice = as_member(&r.server, "alice@acme.dev");
    let form = alice.upload_form().unwrap();
    let location = alice.upload(&form, &package("Gitpkg", "1.0.0")).unwrap();
    let first = refused(alice.finalize(&location));
    assert_eq!(first.0, 400, "{}", first.1);
    assert_eq!(
        refused(alice.finalize(&location)),
        first,
        "a replayed refusal"
    );
}

#[test]
fn an_uploader_spelled_with_capitals_and_spaces_is_the_member() {
    let r = registry();
    let alice = as_member(&r.server, "alice@acme.dev");
    alice.publish(&package("spelled", "1.0.0")).unwrap();
    let add = alice
        .request(
            reqwest::Method::POST,
            &alice.url("api/packages/spelled/uploaders"),
            None,
            true,
        )
        .json(&serde_json::json!({"email": " BOB@Acme.dev "}));
    let answer = alice.send(add).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    let uploaders = || {
        alice
            .get_api("api/packages/spelled/uploaders")
            .unwrap()
            .json()["uploaders"]
            .clone()
    };
    assert_eq!(
        uploaders(),
        serde_json::json!(["alice@acme.dev", "bob@acme.dev"])
    );
    let bob = as_member(&r.server, "bob@acme.dev");
    bob.publish(&package("spelled", "1.1.0"))
        .expect("bob, added by another spelling, publishes");
    let remove = alice.request(
        reqwest::Method::DELETE,
        &alice.url("api/packages/spelled/uploaders/%20Bob@ACME.dev"),
        None,
        true,
    );
    let answer = alice.send(remove).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(uploaders(), serde_json::json!(["alice@acme.dev"]));
}
