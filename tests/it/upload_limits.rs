//! What a publish may leave on the server and hold in its memory: refused and abandoned
//! uploads leave no files, a member stages only a few uploads at once, and an upload
//! body is read within bounds (a huge form field is refused before it is read).

use crate::support;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use support::server::{TestServer, start};
use support::tarball::package_archive;
use support::wait::wait_for;
use support::{ClientError, PubClient};
use tagpub::auth::token;

const CONFIG: &str = r#"
access:
  anonymous_read: false
members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: eve@acme.dev}
teams:
  - {name: mobile, members: [alice@acme.dev]}
uploads:
  publishers: [mobile]
  max_archive_mib: 2
repositories: []
"#;

fn server(dir: &Path) -> TestServer {
    start(dir, "", CONFIG)
}

fn secret(server: &TestServer, member: &str) -> String {
    let issued = token::issue(
        &server.state.store,
        member,
        "test",
        None,
        tagpub::clock::now(),
    )
    .expect("issue a token");
    issued.secret.expose().to_string()
}

fn as_member(server: &TestServer, member: &str) -> PubClient {
    server.client().with_token(&secret(server, member))
}

/// Every file under `dir` (none if it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push(path);
        }
    }
    found.sort();
    found
}

fn staged(dir: &Path) -> Vec<PathBuf> {
    files(&dir.join("data/uploads"))
}

fn blobs(dir: &Path) -> Vec<PathBuf> {
    files(&dir.join("data/archives"))
}

fn refusal(result: Result<String, ClientError>) -> (u16, String) {
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
fn refused_finalizes_leave_no_staged_files_and_no_blobs() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let eve = as_member(&s, "eve@acme.dev");
    let alice = as_member(&s, "alice@acme.dev");
    let blobs_before = blobs(dir.path());
    // Eve may not create packages: five tries of 1 MiB-ish archives.
    for i in 0..5 {
        let (status, message) =
            refusal(eve.publish(&package_archive("eves_pkg", "1.0.0", &i.to_string())));
        assert_eq!(status, 403, "{message}");
    }
    // Alice may, but her archive is not valid.
    let (status, _) = refusal(alice.publish(b"not a tar.gz"));
    assert_eq!(status, 400);
    assert_eq!(staged(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(
        blobs(dir.path()),
        blobs_before,
        "no blob for a refused archive"
    );

    // A retried finalize of a refused upload gets the same answer, without its file.
    let form = eve.upload_form().unwrap();
    let location = eve
        .upload(&form, &package_archive("eves_pkg", "1.0.0", "again"))
        .unwrap();
    let first = refusal(eve.finalize(&location));
    assert_eq!(staged(dir.path()), Vec::<PathBuf>::new());
    assert_eq!(refusal(eve.finalize(&location)), first);
}

#[test]
fn the_same_version_with_other_bytes_leaves_no_blob() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let alice = as_member(&s, "alice@acme.dev");
    alice
        .publish(&package_archive("stable", "1.0.0", "first"))
        .unwrap();
    let blobs_after_first = blobs(dir.path());
    assert_eq!(blobs_after_first.len(), 1);
    let (status, message) = refusal(alice.publish(&package_archive("stable", "1.0.0", "other")));
    assert_eq!(status, 400);
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(blobs(dir.path()), blobs_after_first);
    assert_eq!(staged(dir.path()), Vec::<PathBuf>::new());
    // The same bytes again are still a success (a client's retry).
    alice
        .publish(&package_archive("stable", "1.0.0", "first"))
        .unwrap();
    assert_eq!(blobs(dir.path()), blobs_after_first);
}

#[test]
fn an_abandoned_upload_expires_and_its_file_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let alice_secret = secret(&s, "alice@acme.dev");
    let alice = s.client().with_token(&alice_secret);
    let form = alice.upload_form().unwrap();
    let location = alice
        .upload(&form, &package_archive("abandoned", "1.0.0", ""))
        .unwrap();
    let [file] = &staged(dir.path())[..] else {
        panic!("one staged file: {:?}", staged(dir.path()));
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a staged archive is private");
    }
    // Abandoned two hours ago, as far as the file tells; then the daemon restarts.
    let query = location.split_once('?').unwrap().1.to_string();
    s.stop();
    std::fs::File::options()
        .write(true)
        .open(file)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(2 * 60 * 60))
        .unwrap();
    let s = server(dir.path());
    wait_for("the sweep of the abandoned upload", || {
        staged(dir.path()).is_empty()
    });
    let alice = s.client().with_token(&alice_secret);
    let finalize = s
        .client()
        .url(&format!("api/packages/versions/finalize?{query}"));
    let (status, message) = refusal(alice.finalize(&finalize));
    assert_eq!(status, 400);
    assert!(message.contains("expired"), "{message}");

    // An upload started more than an hour ago expires by its start time.
    let form = alice.upload_form().unwrap();
    let location = alice
        .upload(&form, &package_archive("abandoned", "1.0.0", "late"))
        .unwrap();
    let later = tagpub::clock::now() + 2 * 60 * 60;
    tagpub::publish::sweep(&s.state.store, &dir.path().join("data"), later).unwrap();
    assert_eq!(staged(dir.path()), Vec::<PathBuf>::new());
    let (status, message) = refusal(alice.finalize(&location));
    assert_eq!(status, 400);
    assert!(message.contains("expired"), "{message}");
}

#[test]
fn a_member_stages_at_most_three_uploads_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let alice = as_member(&s, "alice@acme.dev");
    let mut locations = Vec::new();
    for i in 0..3 {
        let form = alice.upload_form().unwrap();
        let bytes = package_archive("capped", &format!("1.0.{i}"), "");
        locations.push((form.clone(), alice.upload(&form, &bytes).unwrap()));
    }
    let fourth = alice.upload_form().unwrap();
    let bytes = package_archive("capped", "1.0.3", "");
    match alice.upload(&fourth, &bytes) {
        Err(ClientError::UploadFailed(text)) => {
            assert!(
                text.contains("(3)") && text.contains("finish them, or wait"),
                "{text}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Re-posting one of the three is no new upload.
    let (form, location) = &locations[0];
    let again = alice.upload(form, &package_archive("capped", "1.0.0", ""));
    assert_eq!(again.unwrap(), *location);
    // Another member is not held back by alice's uploads.
    let admin = as_member(&s, "admin@acme.dev");
    admin
        .publish(&package_archive("admins", "1.0.0", ""))
        .unwrap();
    // Finishing one makes room.
    alice.finalize(location).unwrap();
    let fifth = alice.upload(&fourth, &bytes).unwrap();
    alice.finalize(&fifth).unwrap();
}

/// One raw HTTP/1.1 request to the upload URL, written in two halves: `head` then
/// `start` of the body, and never the rest. Returns the status line and body of the
/// answer, which must come without the rest of the body.
fn upload_without_the_rest(s: &TestServer, token: &str, headers: &str, start: &[u8]) -> String {
    let mut conn = std::net::TcpStream::connect(s.addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let head = format!(
        "POST /api/packages/versions/upload HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {token}\r\n\
         content-type: multipart/form-data; boundary=b0undary\r\n{headers}\r\n",
        s.addr
    );
    conn.write_all(head.as_bytes()).unwrap();
    // The server may answer (and stop reading) before all of this is written.
    let _ = conn.write_all(start);
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) => panic!("no answer before the rest of the body: {e}"),
        }
        let text = String::from_utf8_lossy(&answer);
        if text.contains("</Error>") {
            break;
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn a_huge_form_field_is_refused_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = server(dir.path());
    let alice = secret(&s, "alice@acme.dev");
    let field_start = b"--b0undary\r\ncontent-disposition: form-data; name=\"upload_id\"\r\n\r\n";
    let mut start = field_start.to_vec();
    start.extend(std::iter::repeat_n(b'a', 256 << 10));

    // Chunked, so nothing announces the size: the field's own bound refuses it.
    let mut chunked = format!("{:x}\r\n", start.len()).into_bytes();
    chunked.extend_from_slice(&start);
    chunked.extend_from_slice(b"\r\n");
    let answer = upload_without_the_rest(&s, &alice, "transfer-encoding: chunked\r\n", &chunked);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(
        answer.contains("<Code>EntityTooLarge</Code>")
            && answer.contains("`upload_id` is longer than 4096 bytes"),
        "{answer}"
    );

    // A body announced larger than an archive may be is refused before it is read.
    let announced = format!("content-length: {}\r\n", 300u64 << 20);
    let answer = upload_without_the_rest(&s, &alice, &announced, &start);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("limit of 2 MiB"), "{answer}");

    // The daemon still serves, and a normal publish works.
    let client = s.client().with_token(&alice);
    client
        .publish(&package_archive("after_huge", "1.0.0", ""))
        .unwrap();
}
