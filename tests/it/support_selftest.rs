//! Tests of the integration-test support itself: the git fixtures, the client's pure
//! checks (versions, names, URLs, listings, archives) and its HTTP behaviour against a
//! canned responder. These pin the oracle before any tagpub test relies on it.

use crate::support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::json;
use sha2::{Digest, Sha256};
use support::git::{EPOCH, TICK_SECONDS};
use support::hosted_url::{encode_component, normalize_hosted_url};
use support::tarball::{Entry, gzip, tar_bytes, tar_gz};
use support::version::{PubVersion, is_valid_package_name, sort_versions};
use support::{ClientError, GitRepo, PubClient, extract, pubspec};

// ---------------------------------------------------------------------------------------
// git fixtures

#[test]
fn same_steps_give_same_commit_ids_and_fixed_dates() {
    let build = || {
        let repo = GitRepo::init();
        repo.release("foo", "1.0.0", "v1.0.0");
        repo.write("README.md", "# foo\n");
        repo.commit("docs");
        repo
    };
    let (a, b) = (build(), build());
    assert_eq!(a.head(), b.head());
    assert_ne!(a.path(), b.path());
    let dates = a.run(["log", "--format=%at %ct %an <%ae> %cn"]);
    let second = EPOCH + TICK_SECONDS;
    assert_eq!(
        dates,
        format!(
            "{second} {second} Tess Tagger <tess@example.test> Cody Committer\n\
             {EPOCH} {EPOCH} Tess Tagger <tess@example.test> Cody Committer"
        )
    );
    assert_eq!(a.run(["branch", "--show-current"]), "main");
}

#[test]
fn git_sees_no_config_but_its_own() {
    let repo = GitRepo::init();
    let origins = repo.run(["config", "--list", "--show-origin"]);
    for line in origins.lines() {
        assert!(
            line.starts_with("command line:") || line.starts_with("file:.git/config"),
            "config leaked in: {line}"
        );
    }
}

#[test]
fn release_writes_pubspec_and_library_and_tags() {
    let repo = GitRepo::init();
    let commit = repo.release("foo", "1.2.3", "v1.2.3");
    assert_eq!(repo.rev_parse("v1.2.3"), commit);
    assert_eq!(
        repo.run(["show", "v1.2.3:pubspec.yaml"]),
        pubspec("foo", "1.2.3").trim_end()
    );
    assert!(repo.run(["show", "v1.2.3:lib/foo.dart"]).contains("1.2.3"));
    let yaml: serde_json::Value = serde_saphyr::from_str(&pubspec("foo", "1.2.3")).unwrap();
    assert_eq!(yaml["environment"]["sdk"], "^3.0.0");

    let mono = repo.release_in("packages/bar", "bar", "0.1.0", "bar-v0.1.0");
    assert_eq!(repo.rev_parse("bar-v0.1.0"), mono);
    assert!(
        repo.run(["show", "bar-v0.1.0:packages/bar/pubspec.yaml"])
            .contains("name: bar")
    );
}

#[test]
fn annotated_tag_is_a_tag_object_pointing_at_the_commit() {
    let repo = GitRepo::init();
    let commit = repo.release("foo", "1.0.0", "v1.0.0");
    let tag = repo.tag_annotated("v1.0.0-annotated", "Release 1.0.0");
    assert_ne!(tag, commit);
    assert_eq!(repo.run(["cat-file", "-t", &tag]), "tag");
    assert_eq!(repo.rev_parse("v1.0.0-annotated^{commit}"), commit);
    assert_eq!(repo.tags(), ["v1.0.0", "v1.0.0-annotated"]);
}

#[test]
fn modes_symlinks_removal_and_submodules_are_committed() {
    let sub = GitRepo::init();
    sub.write("README.md", "sub\n");
    let sub_head = sub.commit("sub");

    let repo = GitRepo::init();
    repo.write("a/b/plain.txt", "x")
        .write_exec("tool/run.sh", "#!/bin/sh\n")
        .symlink("link", "a/b/plain.txt")
        .write("gone/file.txt", "y");
    repo.commit("files");
    repo.remove("gone").add_submodule(&sub, "sub");
    repo.commit("submodule");
    let staged = repo.run(["ls-files", "--stage"]);
    let mode_of = |path: &str| {
        let line = staged.lines().find(|l| l.ends_with(path)).expect(path);
        line.split_whitespace().next().unwrap().to_owned()
    };
    assert_eq!(mode_of("a/b/plain.txt"), "100644");
    assert_eq!(mode_of("tool/run.sh"), "100755");
    assert_eq!(mode_of("\tlink"), "120000");
    assert_eq!(mode_of("\tsub"), "160000");
    assert!(!staged.contains("gone/"));
    assert!(staged.contains(&sub_head));
}

#[test]
fn bare_clone_follows_pushed_new_moved_and_deleted_tags() {
    let repo = GitRepo::init();
    let first = repo.release("foo", "1.0.0", "v1.0.0");
    repo.release("foo", "1.1.0", "v1.1.0");
    let bare = repo.bare_clone();
    assert_eq!(bare.tags(), ["v1.0.0", "v1.1.0"]);
    assert_eq!(bare.run(["rev-parse", "--is-bare-repository"]), "true");

    let second = repo.release("foo", "2.0.0", "v2.0.0");
    repo.move_tag("v1.0.0", &second)
        .delete_tag("v1.1.0")
        .tag_at("old", &first);
    repo.push_tags_to(&bare);
    assert_eq!(bare.tags(), ["old", "v1.0.0", "v2.0.0"]);
    assert_eq!(bare.rev_parse("v1.0.0"), second);
    assert_eq!(bare.rev_parse("old"), first);

    repo.write("x", "x");
    let head = repo.commit("more");
    repo.push_to(&bare);
    assert_eq!(bare.rev_parse("refs/heads/main"), head);
    assert!(
        repo.try_run(["rev-parse", "--verify", "nope"])
            .status
            .code()
            != Some(0)
    );
}

// ---------------------------------------------------------------------------------------
// versions and names (docs/protocol.md §7)

#[test]
fn pub_version_ordering_includes_build_metadata() {
    let mut versions: Vec<String> = [
        "2.0.0",
        "1.0.0+2",
        "1.0.0",
        "1.0.0-beta.11",
        "1.0.0-alpha",
        "1.0.0-beta.2",
        "1.0.0+1",
        "1.0.0-alpha.1",
        "1.0.0-beta",
        "0.9.10",
        "0.9.9",
        "1.0.0-rc.1",
        "1.0.0+1.a",
        "10.0.0",
        "1.0.0-Zeta",
        "1.0.0-1",
    ]
    .map(String::from)
    .to_vec();
    sort_versions(&mut versions);
    let want = [
        "0.9.9",
        "0.9.10",
        "1.0.0-1",
        "1.0.0-Zeta",
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.0+1",
        "1.0.0+1.a",
        "1.0.0+2",
        "2.0.0",
        "10.0.0",
    ];
    assert_eq!(versions, want);
}

#[test]
fn pub_version_parsing_follows_the_client_regex() {
    for ok in ["0.0.0", "1.2.3-a-b.c+d-e.01", "01.2.3", "1.0.0-0x1f"] {
        assert!(PubVersion::parse(ok).is_some(), "{ok}");
    }
    let bad = [
        "v1.0.0",
        "1.0",
        "1.0.0.0",
        "1.0.0-",
        "1.0.0+",
        "1.0.0-a..b",
        "1.0.0-a_b",
        " 1.0.0",
        "1.0.0 ",
        "9223372036854775808.0.0",
        "1.0.0+a+b",
        "",
    ];
    for text in bad {
        assert!(PubVersion::parse(text).is_none(), "{text}");
    }
    let p = |t| PubVersion::parse(t).unwrap();
    assert_eq!(p("01.2.3"), p("1.2.3"));
    assert_eq!(p("1.0.0-01"), p("1.0.0-1"));
    assert_eq!(
        p("1.0.0-0x1f"),
        p("1.0.0-31"),
        "Dart int.tryParse reads hex"
    );
    assert_ne!(p("1.0.0"), p("1.0.0+0"));
    assert_eq!(p("01.2.3-beta.01").canonical(), "1.2.3-beta.1");
    assert_eq!(
        p("01.2.3-beta.01").text,
        "01.2.3-beta.01",
        "kept as written"
    );
    assert!(p("1.0.0-rc").is_prerelease() && !p("1.0.0+rc").is_prerelease());
}

#[test]
fn package_names_follow_the_listing_rule() {
    for ok in ["foo", "_foo", "Foo_2", "a.b_c", "async", "dynamic"] {
        assert!(is_valid_package_name(ok), "{ok}");
    }
    for bad in [
        "", "2foo", "foo-bar", "a..b", "a.", "class", "CLASS", "null", "é",
    ] {
        assert!(!is_valid_package_name(bad), "{bad}");
    }
}

// ---------------------------------------------------------------------------------------
// hosted-url handling (§1.1, §2.3)

#[test]
fn hosted_urls_normalise_like_the_client() {
    let cases = [
        ("https://host", "https://host"),
        ("https://host/", "https://host"),
        ("https://HOST:443/some/prefix", "https://host/some/prefix/"),
        ("https://host/some/prefix/", "https://host/some/prefix/"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://h/a/./b/../c", "http://h/a/c/"),
        ("http://h//", "http://h//"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_hosted_url(input).as_deref(), Ok(want), "{input}");
    }
    for bad in [
        "ftp://h/",
        "http://u:p@h/",
        "http://h/?q",
        "http://h/#f",
        "host/path",
    ] {
        assert!(normalize_hosted_url(bad).is_err(), "{bad}");
    }
}

#[test]
fn api_urls_resolve_against_the_hosted_url() {
    assert_eq!(
        PubClient::new("https://host").listing_url("foo"),
        "https://host/api/packages/foo"
    );
    assert_eq!(
        PubClient::new("https://host/some/prefix").listing_url("foo"),
        "https://host/some/prefix/api/packages/foo"
    );
    assert_eq!(
        PubClient::new("http://h//").listing_url("foo"),
        "http://h//api/packages/foo"
    );
    assert_eq!(
        PubClient::new("http://h/p/").listing_url("a/b c"),
        "http://h/p/api/packages/a%2Fb%20c"
    );
    assert_eq!(encode_component("a-_.!~*'()é:/"), "a-_.!~*'()%C3%A9%3A%2F");
}

#[test]
fn token_goes_only_to_urls_under_the_hosted_url() {
    let client = PubClient::new("https://Host/prefix").with_token("t0k");
    assert!(client.sends_token_to("https://host/prefix/api/archives/a.tar.gz"));
    assert!(
        client.sends_token_to("HTTPS://HOST/PREFIX/x"),
        "case-insensitive"
    );
    assert!(
        client.sends_token_to("https://host:443/prefix/x"),
        "default port dropped"
    );
    assert!(!client.sends_token_to("https://host/prefix2/x"));
    assert!(!client.sends_token_to("https://host/blob/x"));
    assert!(!client.sends_token_to("http://host/prefix/x"));
    assert!(!client.sends_token_to("https://host:8443/prefix/x"));
    assert!(!PubClient::new("https://host/prefix").sends_token_to("https://host/prefix/x"));
}

// ---------------------------------------------------------------------------------------
// listing validation (§1.3)

fn entry(version: &str) -> serde_json::Value {
    json!({
        "version": version,
        "archive_url": format!("https://r.example/api/archives/foo-{version}.tar.gz"),
        "archive_sha256": "ab".repeat(32),
        "pubspec": {"name": "foo", "version": version, "environment": {"sdk": "^3.0.0"}},
    })
}

fn parse_listing(body: serde_json::Value) -> Result<support::Listing, ClientError> {
    support::listing::parse("foo", body, Default::default())
}

fn badly_formatted(body: serde_json::Value) -> String {
    match parse_listing(body) {
        Err(ClientError::BadlyFormatted(reason)) => reason,
        other => panic!("expected BadlyFormatted, got {other:?}"),
    }
}

#[test]
fn well_formed_listing_is_read_like_the_client() {
    let mut retracted = entry("1.0.0-beta");
    retracted["retracted"] = json!(true);
    let body = json!({
        "name": "foo",
        "latest": entry("1.0.0"),
        "isDiscontinued": true,
        "replacedBy": "bar",
        "versions": [entry("1.0.0"), retracted, entry("0.9.0")],
    });
    let listing = parse_listing(body).unwrap();
    assert_eq!(listing.versions(), ["0.9.0", "1.0.0-beta", "1.0.0"]);
    assert!(listing.version("1.0.0-beta").unwrap().retracted);
    assert!(!listing.version("1.0.0").unwrap().retracted);
    assert!(listing.is_discontinued);
    assert_eq!(listing.replaced_by.as_deref(), Some("bar"));
    assert_eq!(listing.latest(), Some("1.0.0"));
    support::check_listing_shoulds(&listing);

    // The client's own fake server omits `latest` and entry versions (§1.3 minimal).
    let minimal = json!({"versions": [{
        "archive_url": "http://127.0.0.1:1/a.tar.gz",
        "pubspec": {"name": "foo", "version": "1.2.3"},
    }]});
    let listing = parse_listing(minimal).unwrap();
    assert_eq!(listing.versions[0].archive_sha256, None);
    let violations = support::listing_should_violations(&listing);
    assert_eq!(violations.len(), 5, "{violations:#?}");
}

#[test]
fn listing_violations_reject_the_whole_package() {
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut body = json!({"name": "foo", "versions": [entry("1.0.0"), entry("1.1.0")]});
        f(&mut body["versions"][1]);
        badly_formatted(body)
    };
    assert!(badly_formatted(json!([])).contains("must be a mapping"));
    assert!(badly_formatted(json!({"versions": {}})).contains("must be a list"));
    assert!(badly_formatted(json!({"versions": [1]})).contains("must be a map"));
    assert!(with(&|e| e["pubspec"] = json!("x")).contains("pubspec must be a map"));
    assert!(with(&|e| e["pubspec"]["name"] = json!("Foo")).contains("doesn't match"));
    assert!(with(&|e| e["pubspec"]["name"] = json!(null)).contains("must be a string"));
    assert!(with(&|e| e["pubspec"]["version"] = json!(1.0)).contains("version"));
    assert!(with(&|e| e["pubspec"]["version"] = json!("v1.0.0")).contains("version"));
    assert!(with(&|e| e["archive_url"] = json!(null)).contains("archive_url"));
    assert!(with(&|e| e["archive_url"] = json!("/api/archives/x")).contains("archive_url"));
    assert!(with(&|e| e["archive_url"] = json!("//h/x")).contains("archive_url"));
    assert!(with(&|e| e["archive_sha256"] = json!("")).contains("archive_sha256"));
    assert!(with(&|e| e["archive_sha256"] = json!("g".repeat(64))).contains("archive_sha256"));
    assert!(with(&|e| e["retracted"] = json!("false")).contains("retracted"));
    let top = |key: &str, value| {
        let mut body = json!({"versions": [entry("1.0.0")]});
        body[key] = value;
        parse_listing(body)
    };
    assert!(matches!(
        top("isDiscontinued", json!(1)),
        Err(ClientError::BadlyFormatted(_))
    ));
    assert!(matches!(
        top("replacedBy", json!(false)),
        Err(ClientError::BadlyFormatted(_))
    ));
    assert!(top("advisoriesUpdated", json!("2024-03-21T10:15:30.000Z")).is_ok());
    for bad in [json!("soon"), json!(20240321), json!("2024-03-21T<b>")] {
        assert!(matches!(
            top("advisoriesUpdated", bad),
            Err(ClientError::BadlyFormatted(_))
        ));
    }
    // Tolerated by the client: upper-case hex, null optionals, an absent pubspec version.
    let mut ok = entry("1.0.0");
    ok["archive_sha256"] = json!("AB".repeat(32));
    ok["retracted"] = json!(null);
    ok["pubspec"].as_object_mut().unwrap().remove("version");
    let listing = parse_listing(json!({"versions": [ok], "isDiscontinued": null})).unwrap();
    assert_eq!(listing.versions(), ["0.0.0"]);
}

// ---------------------------------------------------------------------------------------
// archive extraction (§4, checklist 17–20)

const PUBSPEC: Entry = Entry("pubspec.yaml", b'0', 0o644, b"name: foo\nversion: 1.0.0\n");

fn extract_error(entries: &[Entry]) -> ClientError {
    extract(&gzip(&tar_bytes(entries))).expect_err("extraction should fail")
}

#[test]
fn well_formed_archive_extracts() {
    let bytes = gzip(&tar_bytes(&[
        PUBSPEC,
        Entry("lib/", b'5', 0o755, b""),
        Entry("lib/foo.dart", b'0', 0o644, b"// foo"),
        Entry("bin/", 0, 0o755, b""), // legacy NUL type with a trailing '/' is a directory
        Entry("bin/run.sh", b'0', 0o755, b"#!/bin/sh"),
        Entry("empty/", b'5', 0o755, b""),
    ]));
    let x = extract(&bytes).unwrap();
    assert_eq!(
        x.paths(),
        [
            "bin/",
            "bin/run.sh",
            "empty/",
            "lib/",
            "lib/foo.dart",
            "pubspec.yaml"
        ]
    );
    assert_eq!(x.pubspec(), json!({"name": "foo", "version": "1.0.0"}));
    assert!(x.is_executable("bin/run.sh") && !x.is_executable("lib/foo.dart"));
    assert_eq!(x.text("lib/foo.dart"), Some("// foo"));
    assert_eq!(x.entry_names[1], "lib/");
}

#[test]
fn duplicate_paths_after_normalisation_fail() {
    let file = |name| Entry(name, b'0', 0o644, b"x");
    let dir = |name| Entry(name, b'5', 0o755, b"");
    for pair in [
        [file("lib/a.dart"), file("./lib/a.dart")],
        [file("lib/a.dart"), file("lib//x/../a.dart")],
        [dir("lib/"), dir("./lib")],
        [dir("lib/"), file("lib")],
    ] {
        let [a, b] = pair;
        let err = extract_error(&[PUBSPEC, a, b]);
        assert!(
            err.to_string()
                .contains("Tar file contained duplicate path"),
            "{err}"
        );
    }
}

#[test]
fn escaping_paths_fail() {
    for name in ["../x", "lib/../../x", "/etc/passwd"] {
        let err = extract_error(&[PUBSPEC, Entry(name, b'0', 0o644, b"x")]);
        assert!(
            err.to_string().contains("Invalid tar entry"),
            "{name}: {err}"
        );
    }
    // `.` is the root itself: fine as a directory, not as a file.
    assert!(extract(&gzip(&tar_bytes(&[Entry("./", b'5', 0o755, b""), PUBSPEC]))).is_ok());
    let err = extract_error(&[PUBSPEC, Entry(".", b'0', 0o644, b"x")]);
    assert!(err.to_string().contains("Invalid tar entry"), "{err}");
}

#[test]
fn links_odd_modes_and_missing_pubspec_are_nonconformant() {
    let cases = [
        vec![PUBSPEC, Entry("link", b'2', 0o777, b"")],
        vec![PUBSPEC, Entry("hard", b'1', 0o644, b"")],
        vec![PUBSPEC, Entry("fifo", b'6', 0o644, b"")],
        vec![PUBSPEC, Entry("lib/a.dart", b'0', 0o600, b"")],
        vec![PUBSPEC, Entry("lib/a.dart", b'0', 0o664, b"")],
        vec![PUBSPEC, Entry("lib/", b'5', 0o700, b"")],
        vec![Entry("foo-1.0.0/pubspec.yaml", b'0', 0o644, b"name: foo\n")],
    ];
    for entries in cases {
        let err = extract_error(&entries);
        assert!(matches!(err, ClientError::Nonconformant(_)), "{err}");
    }
}

#[test]
fn gzip_must_be_one_member_without_trailing_data() {
    let tar = tar_bytes(&[PUBSPEC]);
    let mut two_members = gzip(&tar);
    two_members.extend(gzip(b""));
    let mut trailing = gzip(&tar);
    trailing.extend(b"junk");
    for bytes in [two_members, trailing] {
        assert!(matches!(
            extract(&bytes),
            Err(ClientError::Nonconformant(_))
        ));
    }
    assert!(
        matches!(extract(&tar), Err(ClientError::Extract(_))),
        "not gzip"
    );
    let mut corrupt = tar.clone();
    corrupt[100] ^= 0xff; // the mode field: the header checksum no longer matches
    assert!(matches!(
        extract(&gzip(&corrupt)),
        Err(ClientError::Extract(_))
    ));
}

#[test]
fn long_names_pass_up_to_2048_bytes_of_record() {
    let archive = |name: &str| tar_gz(&[("pubspec.yaml", b"name: foo\n"), (name, b"x")]);
    let long = format!("lib/{}.dart", "a".repeat(300));
    let x = extract(&archive(&long)).unwrap();
    assert!(x.files.contains_key(&long));
    let too_long = format!("lib/{}.dart", "a".repeat(2100));
    let err = extract(&archive(&too_long)).unwrap_err();
    assert!(matches!(err, ClientError::Extract(_)), "{err}");

    let mut builder = tar::Builder::new(Vec::new());
    let big = "b".repeat(2100);
    builder
        .append_pax_extensions([("comment", big.as_bytes())])
        .unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_mode(0o644);
    header.set_size(3);
    builder
        .append_data(&mut header, "pubspec.yaml", &b"a: "[..])
        .unwrap();
    let err = extract(&gzip(&builder.into_inner().unwrap())).unwrap_err();
    assert!(err.to_string().contains("exceeds 2048"), "{err}");
}

// ---------------------------------------------------------------------------------------
// HTTP behaviour, against a canned responder on 127.0.0.1:0 (not a model of tagpub: it
// only answers what each test scripts, so the client's side can be checked).

/// A request as received: method, path, lower-cased header names, body.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

type Route = Box<dyn Fn(&str, &str) -> Vec<u8> + Send>;

/// Serves `route(base_url, path)` for every request, one connection per request, and
/// records what it received. The thread ends when the test binary does.
fn responder(
    route: impl Fn(&str, &str) -> Vec<u8> + Send + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (thread_base, thread_seen) = (base.clone(), seen.clone());
    let route: Route = Box::new(route);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let request = read_request(&mut BufReader::new(stream.try_clone().unwrap()));
            let answer = route(&thread_base, &request.path);
            thread_seen.lock().unwrap().push(request);
            let _ = stream.write_all(&answer);
        }
    });
    (base, seen)
}

fn read_request(reader: &mut impl BufRead) -> Seen {
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let mut words = line.split_whitespace().map(str::to_owned);
    let (method, path) = (words.next().unwrap(), words.next().unwrap());
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        let Some((name, value)) = header.trim_end().split_once(':') else {
            break;
        };
        headers.insert(name.to_ascii_lowercase(), value.trim().to_owned());
    }
    let length = headers
        .get("content-length")
        .map_or(0, |l| l.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    Seen {
        method,
        path,
        headers,
        body,
    }
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

const JSON_UTF8: (&str, &str) = ("Content-Type", "application/json; charset=\"utf-8\"");

fn listing_body(name: &str, base: &str, archive_path: &str, sha: &str) -> Vec<u8> {
    json!({
        "name": name,
        "latest": {"version": "1.0.0"},
        "versions": [{
            "version": "1.0.0",
            "archive_url": format!("{base}{archive_path}"),
            "archive_sha256": sha,
            "pubspec": {"name": name, "version": "1.0.0", "description": "Ünïcödé",
                        "environment": {"sdk": "^3.0.0"}},
        }],
    })
    .to_string()
    .into_bytes()
}

#[test]
fn list_and_download_send_client_headers_and_decode_gzip() {
    let archive = gzip(&tar_bytes(&[PUBSPEC]));
    let sha = hex::encode(Sha256::digest(&archive));
    let (base, seen) = responder(move |base, path| match path {
        "/prefix/api/packages/foo" => response(
            "200 OK",
            &[JSON_UTF8, ("Content-Encoding", "gzip")],
            &gzip(&listing_body("foo", base, "/prefix/redirect", &sha)),
        ),
        "/prefix/redirect" => response("303 See Other", &[("Location", "/prefix/a.tar.gz")], b""),
        "/prefix/a.tar.gz" => response("200 OK", &[], &archive),
        _ => response("404 Not Found", &[], b""),
    });
    let client = PubClient::new(&format!("{base}/prefix")).with_token("s3cr3t");
    let listing = client.list("foo").unwrap();
    assert_eq!(
        listing.version("1.0.0").unwrap().pubspec["description"],
        "Ünïcödé"
    );
    assert_eq!(listing.header("content-encoding"), Some("gzip"));
    let download = client
        .download_response(listing.version("1.0.0").unwrap())
        .unwrap();
    assert!(download.url.ends_with("/prefix/a.tar.gz"));
    assert_eq!(extract(&download.bytes).unwrap().paths(), ["pubspec.yaml"]);

    let seen = seen.lock().unwrap();
    let paths: Vec<&str> = seen.iter().map(|s| s.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/prefix/api/packages/foo",
            "/prefix/redirect",
            "/prefix/a.tar.gz"
        ]
    );
    for request in seen.iter() {
        let h = &request.headers;
        assert_eq!(h["user-agent"], "Dart pub 3.11.0");
        assert_eq!(h["accept-encoding"], "gzip");
        assert_eq!(h["authorization"], "Bearer s3cr3t");
    }
    assert_eq!(seen[0].headers["accept"], "application/vnd.pub.v2+json");
    assert_ne!(seen[2].headers["accept"], "application/vnd.pub.v2+json");
}

#[test]
fn client_failures_map_like_dart_pub() {
    let archive = gzip(&tar_bytes(&[PUBSPEC]));
    let sha = hex::encode(Sha256::digest(&archive));
    let (base, seen) = responder(move |base, path| match path {
        "/api/packages/latin1" => response(
            "200 OK",
            &[("Content-Type", "application/vnd.pub.v2+json")],
            &listing_body("latin1", base, "/x", &sha),
        ),
        "/api/packages/foo" => response(
            "200 OK",
            &[JSON_UTF8],
            &listing_body("foo", base, "/blob/a", &sha),
        ),
        "/api/packages/bar" => response(
            "200 OK",
            &[JSON_UTF8],
            &listing_body("bar", base, "/enc", &sha),
        ),
        "/api/packages/baz" => response(
            "200 OK",
            &[JSON_UTF8],
            &listing_body("baz", base, "/other", &sha),
        ),
        "/api/packages/secret" => response(
            "401 Unauthorized",
            &[(
                "WWW-Authenticate",
                "Bearer realm=\"pub\", message=\"log in\"",
            )],
            b"{}",
        ),
        "/api/packages/broken" => response("500 Internal Server Error", &[], b"oops"),
        "/blob/a" => response("200 OK", &[], &archive),
        "/enc" => response("200 OK", &[("Content-Encoding", "gzip")], &gzip(&archive)),
        "/other" => response("200 OK", &[], &gzip(b"other bytes")),
        _ => response("404 Not Found", &[], b""),
    });
    let client = PubClient::new(&base).with_token("t");
    assert!(matches!(
        client.list("latin1"),
        Err(ClientError::Nonconformant(_))
    ));
    assert!(matches!(
        client.list("nope"),
        Err(ClientError::NotFound { .. })
    ));
    match client.list("secret") {
        Err(ClientError::Auth {
            status: 401,
            www_authenticate: Some(w),
            ..
        }) => {
            assert_eq!(w, "Bearer realm=\"pub\", message=\"log in\"")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        client.list("broken"),
        Err(ClientError::Status { status: 500, .. })
    ));

    let bar = client.list("bar").unwrap();
    let err = client.download(&bar.versions[0]).unwrap_err();
    assert!(
        matches!(err, ClientError::Nonconformant(_)),
        "Content-Encoding on archive: {err}"
    );
    let baz = client.list("baz").unwrap();
    let err = client.download(&baz.versions[0]).unwrap_err();
    assert!(matches!(err, ClientError::WrongContentHash { .. }), "{err}");

    // Under the hosted-url prefix: the token goes along.
    let foo = client.list("foo").unwrap();
    client.download(&foo.versions[0]).unwrap();
    assert_eq!(
        seen.lock().unwrap().last().unwrap().headers["authorization"],
        "Bearer t"
    );
    let prefixed = PubClient::new(&format!("{base}/api/")).with_token("t");
    assert!(!prefixed.sends_token_to(&foo.versions[0].archive_url));
}

#[test]
fn x_goog_hash_crc32c_is_checked_when_present() {
    // CRC32C("123456789") = 0xE3069283, base64 "4waSgw==".
    let (base, _) = responder(|_, path| {
        let goog = match path {
            "/good" => "md5=abc, crc32c=4waSgw==",
            "/ignored" => "md5=abc, crc32c=AAAAAA==", // leading space: not a crc32c part
            "/wrong" => "crc32c=AAAAAA==",
            _ => "crc32c=AAAA",
        };
        response("200 OK", &[("x-goog-hash", goog)], b"123456789")
    });
    let client = PubClient::new(&base);
    let version = |path: &str| support::ListedVersion {
        version: "1.0.0".into(),
        pubspec: json!({}),
        archive_url: format!("{base}{path}"),
        archive_sha256: None,
        retracted: false,
        entry: json!({}),
    };
    assert_eq!(client.download(&version("/good")).unwrap(), b"123456789");
    assert!(client.download(&version("/ignored")).is_ok());
    for path in ["/wrong", "/malformed"] {
        let err = client.download(&version(path)).unwrap_err();
        assert!(
            matches!(err, ClientError::BadChecksumHeader(_)),
            "{path}: {err}"
        );
    }
}

#[test]
fn multipart_body_is_byte_for_byte_package_http() {
    let fields = [
        ("key".to_owned(), "v".to_owned()),
        ("na\"me\n".to_owned(), "é".to_owned()),
    ];
    let body = support::publish::multipart_body(&fields, b"ARCHIVE");
    let b = support::publish::BOUNDARY;
    let want = format!(
        "--{b}\r\ncontent-disposition: form-data; name=\"key\"\r\n\r\nv\r\n\
         --{b}\r\ncontent-disposition: form-data; name=\"na%22me%0D%0A\"\r\n\
         content-type: text/plain; charset=utf-8\r\ncontent-transfer-encoding: binary\r\n\r\n\
         é\r\n\
         --{b}\r\ncontent-type: application/octet-stream\r\n\
         content-disposition: form-data; name=\"file\"; filename=\"package.tar.gz\"\r\n\r\n\
         ARCHIVE\r\n--{b}--\r\n"
    );
    assert_eq!(String::from_utf8(body).unwrap(), want);
    assert_eq!(b.len(), "dart-http-boundary-".len() + 51);
}

#[test]
fn publish_runs_the_three_steps_like_dart_pub() {
    let (base, seen) = responder(|base, path| match path {
        "/p/api/packages/versions/new" => response(
            "200 OK",
            &[JSON_UTF8],
            json!({"url": format!("{base}/p/upload?id=1"), "fields": {"b": "2", "a": "1"}})
                .to_string()
                .as_bytes(),
        ),
        "/p/upload?id=1" => response(
            "303 See Other",
            &[("Location", &format!("{base}/p/finish"))],
            b"",
        ),
        "/p/finish" => response("200 OK", &[JSON_UTF8], br#"{"success":{"message":"done"}}"#),
        "/p/bad/api/packages/versions/new" => response(
            "200 OK",
            &[JSON_UTF8],
            json!({"url": "/relative", "fields": {}})
                .to_string()
                .as_bytes(),
        ),
        "/p/nofields/api/packages/versions/new" => {
            response("200 OK", &[JSON_UTF8], br#"{"url":"http://h/x"}"#)
        }
        "/p/rejected/api/packages/versions/new" => response(
            "400 Bad Request",
            &[JSON_UTF8],
            br#"{"error":{"code":"PackageRejected","message":"no"}}"#,
        ),
        _ => response("404 Not Found", &[], b""),
    });
    let client = PubClient::new(&format!("{base}/p")).with_token("tok");
    assert_eq!(client.publish(b"ARCHIVE").unwrap(), "done");
    {
        let seen = seen.lock().unwrap();
        let upload = &seen[1];
        assert_eq!(upload.method, "POST");
        assert_eq!(upload.headers["authorization"], "Bearer tok");
        assert_eq!(
            upload.headers["content-type"],
            format!(
                "multipart/form-data; boundary={}",
                support::publish::BOUNDARY
            )
        );
        let body = String::from_utf8(upload.body.clone()).unwrap();
        assert!(body.find("name=\"b\"").unwrap() < body.find("name=\"a\"").unwrap());
        assert!(body.contains("\r\n\r\nARCHIVE\r\n"));
        assert_eq!(seen[2].headers["accept"], "application/vnd.pub.v2+json");
    }
    let step1 = |prefix: &str| PubClient::new(&format!("{base}/p/{prefix}")).upload_form();
    assert!(matches!(step1("bad"), Err(ClientError::ClientCrash(_))));
    assert!(matches!(
        step1("nofields"),
        Err(ClientError::InvalidServerResponse(_))
    ));
    match step1("rejected") {
        Err(ClientError::ServerMessage {
            status: 400,
            message,
        }) => assert_eq!(message, "no"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// independence

/// The client's side is written from the protocol, never from tagpub's code: a test that
/// checked tagpub against tagpub's own reading of the protocol would prove nothing. Only
/// `support/server.rs`, which starts tagpub in-process, and `support/web_registry.rs`,
/// which sets up the web UI's registry (its tokens) on the server's side, may use its
/// library.
#[test]
fn the_client_side_imports_nothing_from_tagpub() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/support");
    let mut read = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if ["server.rs", "web_registry.rs"]
            .map(std::ffi::OsStr::new)
            .contains(&path.file_name().unwrap_or_default())
        {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains("tagpub::") && !text.contains("use tagpub"),
            "{} uses tagpub's library",
            path.display()
        );
        read += 1;
    }
    assert!(read >= 10, "read {read} files of {}", dir.display());
}
