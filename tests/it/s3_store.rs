//! Archives on an S3-compatible object store (docs/operations.md, "Archives on S3"),
//! against a real server (`support::s3`): bytes round-trip and land where documented, a
//! put is idempotent, bytes altered in the bucket are refused and never cached, a replica
//! serves what it cached with S3 gone, failures name the bucket, the endpoint and what to
//! check (never the secret), a hanging S3 is given up on within the timeout, and a data
//! dir's archives are copied verified and resumably.

use crate::support::s3::{ACCESS_KEY, BUCKET, S3Server, SECRET_KEY, SHORT_TIMEOUT, Silent};
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};
use std::path::Path;
use std::time::Instant;
use tagpub::store::{Blobs, Error, FileBlobs, S3Blobs, S3Error, S3Location, copy_blobs};

fn location(endpoint: &str, prefix: &str) -> S3Location {
    S3Location {
        bucket: BUCKET.into(),
        endpoint: endpoint.into(),
        region: "us-east-1".into(),
        access_key: ACCESS_KEY.into(),
        secret_key: SECRET_KEY.into(),
        prefix: prefix.into(),
    }
}

/// A replica's view of the bucket: its own, empty cache.
fn replica(s3: &S3Server, prefix: &str, cache: &Path) -> S3Blobs {
    S3Blobs::open_with_timeout(&location(&s3.endpoint, prefix), cache, SHORT_TIMEOUT * 5)
        .expect("open the S3 store")
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Archive-like bytes: incompressible, larger than one network read.
fn archive(seed: u8, len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len);
    let mut block = Sha256::digest([seed]);
    while out.len() < len {
        out.extend_from_slice(&block);
        block = Sha256::digest(block);
    }
    out.truncate(len);
    out
}

fn cached_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for fan in std::fs::read_dir(dir).unwrap().flatten() {
        for file in std::fs::read_dir(fan.path()).unwrap().flatten() {
            found.push(file.file_name().to_string_lossy().into_owned());
        }
    }
    found.sort();
    found
}

#[test]
fn an_archive_round_trips_through_the_bucket_under_its_documented_key() {
    let Some(s3) = S3Server::start() else { return };
    let caches = tempfile::tempdir().unwrap();
    let a = replica(&s3, "prod/", &caches.path().join("a"));
    a.check().expect("the bucket is reachable");
    let bytes = archive(1, 300_000);
    let sha256 = a.put(&bytes).expect("put");
    assert_eq!(sha256, sha(&bytes));
    let key = format!("prod/archives/{sha256}.tar.gz");
    assert_eq!(a.key_of(&sha256), key);
    assert_eq!(
        std::fs::read(s3.object_file(&key)).unwrap(),
        bytes,
        "the object holds the archive byte for byte once put returned"
    );
    // Idempotent: the same bytes, the same key, nothing else in the bucket.
    assert_eq!(a.put(&bytes).unwrap(), sha256);
    let objects: Vec<_> = std::fs::read_dir(s3.object_file("prod/archives"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(objects.len(), 1, "{objects:?}");

    // Another replica, with nothing cached, reads it from the bucket.
    let b = replica(&s3, "prod", &caches.path().join("b"));
    assert!(b.contains(&sha256));
    assert_eq!(b.get(&sha256).unwrap().unwrap(), bytes);
    assert_eq!(
        cached_files(&caches.path().join("b")),
        [format!("{sha256}.tar.gz")]
    );
    // What is not there is absent, not an error; names that are not sha256 are absent.
    let missing = sha(b"never stored");
    assert_eq!(b.get(&missing).unwrap(), None);
    assert!(!b.contains(&missing));
    assert_eq!(b.get("../../etc/passwd").unwrap(), None);
    // Another prefix is another registry.
    let other = replica(&s3, "staging", &caches.path().join("c"));
    assert_eq!(other.get(&sha256).unwrap(), None);
}

#[test]
fn bytes_altered_in_the_bucket_are_refused_and_not_cached() {
    let Some(s3) = S3Server::start() else { return };
    let caches = tempfile::tempdir().unwrap();
    let a = replica(&s3, "", &caches.path().join("a"));
    let bytes = archive(2, 50_000);
    let sha256 = a.put(&bytes).unwrap();
    let key = a.key_of(&sha256);

    // Someone with write access to the bucket replaces the object through the S3 API.
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&s3.endpoint)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .with_allow_http(true)
        .build()
        .unwrap();
    let mut altered = bytes.clone();
    altered[1000] ^= 1;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(raw.put(&key.as_str().into(), altered.clone().into()))
        .unwrap();
    assert_eq!(std::fs::read(s3.object_file(&key)).unwrap(), altered);

    let b_cache = caches.path().join("b");
    let b = replica(&s3, "", &b_cache);
    let refused = b.get(&sha256).expect_err("altered bytes are never served");
    let text = tagpub::report::chain(&refused);
    assert!(
        matches!(&refused, Error::S3(e) if matches!(**e, S3Error::Corrupt { .. })),
        "{text}"
    );
    assert!(
        text.contains(&key) && text.contains(BUCKET) && text.contains(&sha(&altered)),
        "{text}"
    );
    assert!(cached_files(&b_cache).is_empty(), "nothing was cached");
    assert!(
        b.get(&sha256).is_err(),
        "refused again, not served from a cache"
    );

    // Building or receiving the archive again puts the right bytes back.
    a.put(&bytes).unwrap();
    assert_eq!(b.get(&sha256).unwrap().unwrap(), bytes);
}

#[test]
fn a_damaged_cache_file_is_dropped_and_fetched_again() {
    let Some(s3) = S3Server::start() else { return };
    let caches = tempfile::tempdir().unwrap();
    let cache = caches.path().join("a");
    let a = replica(&s3, "", &cache);
    let bytes = archive(3, 20_000);
    let sha256 = a.put(&bytes).unwrap();
    let file = cache.join(&sha256[..2]).join(format!("{sha256}.tar.gz"));
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "put keeps a copy");
    std::fs::write(&file, &bytes[..1000]).unwrap();
    assert_eq!(a.get(&sha256).unwrap().unwrap(), bytes);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes,
        "the copy was replaced"
    );
}

#[test]
fn a_replica_serves_what_it_cached_while_s3_is_down_and_says_so_for_the_rest() {
    let Some(mut s3) = S3Server::start() else {
        return;
    };
    let caches = tempfile::tempdir().unwrap();
    let writer = replica(&s3, "", &caches.path().join("w"));
    let (first, second) = (archive(4, 40_000), archive(5, 40_000));
    let (first_sha, second_sha) = (writer.put(&first).unwrap(), writer.put(&second).unwrap());
    let reader = replica(&s3, "", &caches.path().join("r"));
    assert_eq!(reader.get(&first_sha).unwrap().unwrap(), first);
    let endpoint = s3.endpoint.clone();
    s3.stop();

    assert_eq!(
        reader.get(&first_sha).unwrap().unwrap(),
        first,
        "served from the local copy"
    );
    assert!(reader.contains(&first_sha));
    let started = Instant::now();
    let failed = reader.get(&second_sha).expect_err("S3 is down");
    let text = tagpub::report::chain(&failed);
    assert!(
        text.contains(BUCKET) && text.contains(&endpoint) && text.contains("reachable"),
        "{text}"
    );
    assert!(
        started.elapsed() < SHORT_TIMEOUT * 5,
        "gave up after {:?}",
        started.elapsed()
    );
    assert!(
        !reader.contains(&second_sha),
        "unknown while S3 cannot be asked"
    );
    let put = writer.put(b"a new archive").expect_err("S3 is down");
    assert!(tagpub::report::chain(&put).contains(&endpoint));
}

#[test]
fn a_hanging_s3_is_given_up_on_within_the_timeout() {
    let silent = Silent::start();
    let cache = tempfile::tempdir().unwrap();
    let blobs =
        S3Blobs::open_with_timeout(&location(&silent.endpoint, ""), cache.path(), SHORT_TIMEOUT)
            .unwrap();
    let started = Instant::now();
    let failed = blobs.get(&sha(b"anything")).expect_err("no answer");
    let took = started.elapsed();
    let text = tagpub::report::chain(&failed);
    assert!(
        took < SHORT_TIMEOUT * 2,
        "a call must end within its timeout; took {took:?}"
    );
    assert!(
        text.contains(&silent.endpoint) && text.contains("did not answer within 2 s"),
        "{text}"
    );
    let started = Instant::now();
    assert!(blobs.put(b"bytes").is_err());
    assert!(started.elapsed() < SHORT_TIMEOUT * 2);
}

#[test]
fn wrong_credentials_and_a_missing_bucket_say_what_to_check_and_never_the_secret() {
    let Some(s3) = S3Server::start() else { return };
    let cache = tempfile::tempdir().unwrap();
    let wrong_secret = "not-the-secret-5f4dcc3b5aa765d61d83";
    let mut wrong = location(&s3.endpoint, "");
    wrong.secret_key = wrong_secret.into();
    assert!(!format!("{wrong:?}").contains(wrong_secret));
    let blobs = S3Blobs::open(&wrong, cache.path()).unwrap();
    let failures = [
        blobs.check().unwrap_err(),
        blobs.put(b"an archive").unwrap_err(),
        blobs.get(&sha(b"an archive")).unwrap_err(),
    ];
    for failed in failures {
        let text = tagpub::report::chain(&failed);
        assert!(
            text.contains(BUCKET) && text.contains(&s3.endpoint) && text.contains("secret key"),
            "{text}"
        );
        assert!(
            !text.contains(wrong_secret) && !text.contains(SECRET_KEY),
            "{text}"
        );
    }

    let mut absent = location(&s3.endpoint, "");
    absent.bucket = "no-such-bucket".into();
    let blobs = S3Blobs::open(&absent, cache.path()).unwrap();
    let text = tagpub::report::chain(&blobs.check().unwrap_err());
    assert!(
        text.contains("no-such-bucket") && text.contains("bucket exists"),
        "{text}"
    );

    let mut bad = location("s3.example.com", "");
    let refused = S3Blobs::open(&bad, cache.path()).err().expect("not a URL");
    assert!(refused.to_string().contains("https://"), "{refused}");
    bad.endpoint = s3.endpoint.clone();
    bad.prefix = "a//b".into();
    assert!(S3Blobs::open(&bad, cache.path()).is_err());
}

#[test]
fn a_data_dirs_archives_are_copied_verified_and_resumably() {
    let Some(s3) = S3Server::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let from = FileBlobs::open(&dir.path().join("archives")).unwrap();
    let archives: Vec<Vec<u8>> = (10..15).map(|seed| archive(seed, 10_000)).collect();
    let shas: Vec<String> = archives.iter().map(|a| from.put(a).unwrap()).collect();
    let to = replica(&s3, "prod", &dir.path().join("cache"));
    // An earlier run was interrupted after two archives.
    to.put(&archives[0]).unwrap();
    to.put(&archives[3]).unwrap();

    let mut seen = Vec::new();
    let done = copy_blobs(&from, &to, |c| seen.push(c.copied + c.present)).unwrap();
    assert_eq!((done.total, done.copied, done.present), (5, 3, 2));
    assert_eq!(done.bytes, 30_000);
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    for (bytes, sha256) in archives.iter().zip(&shas) {
        let key = format!("prod/archives/{sha256}.tar.gz");
        assert_eq!(&std::fs::read(s3.object_file(&key)).unwrap(), bytes);
    }
    let again = copy_blobs(&from, &to, |_| {}).unwrap();
    assert_eq!((again.copied, again.present), (0, 5));

    // A damaged archive in the data dir is refused, not copied.
    let damaged = from.put(&archive(20, 10_000)).unwrap();
    let file = dir
        .path()
        .join("archives")
        .join(&damaged[..2])
        .join(format!("{damaged}.tar.gz"));
    std::fs::write(&file, b"damaged").unwrap();
    let refused = copy_blobs(&from, &to, |_| {}).unwrap_err();
    assert!(refused.to_string().contains(&damaged), "{refused}");
    let fresh = replica(&s3, "prod", &dir.path().join("fresh"));
    assert!(!fresh.contains(&damaged));
}
