//! The PostgreSQL store against a real server: `TAGPUB_TEST_DATABASE_URL` names one
//! (a role that may create databases); each test gets a fresh database. Without it the
//! tests say so and pass, unless `TAGPUB_REQUIRE_POSTGRES=1` (CI) makes that a failure.

use super::Postgres;
use crate::store::{Added, Catalog, Publishing, Source, Staged, Store, StoredVersion, TokenRecord};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// A database of its own, dropped at the end.
struct TestDb {
    admin: String,
    name: String,
    pub url: String,
}

impl TestDb {
    fn new(test: &str) -> Option<TestDb> {
        let Ok(admin) = std::env::var("TAGPUB_TEST_DATABASE_URL") else {
            assert!(
                std::env::var("TAGPUB_REQUIRE_POSTGRES").as_deref() != Ok("1"),
                "TAGPUB_REQUIRE_POSTGRES=1 but TAGPUB_TEST_DATABASE_URL is not set"
            );
            eprintln!(
                "SKIPPED {test}: no PostgreSQL (set TAGPUB_TEST_DATABASE_URL to a postgres:// URL of a role that may create databases)"
            );
            return None;
        };
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).unwrap();
        let name = format!("tagpub_unit_{}", hex::encode(random));
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("cannot reach TAGPUB_TEST_DATABASE_URL: {e}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&format!("/{name}"));
        Some(TestDb {
            admin,
            name,
            url: url.to_string(),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn from(repo: &str, package: &str, version: &str) -> StoredVersion {
    StoredVersion {
        package: package.into(),
        version: version.into(),
        sha256: format!("{repo}{version}"),
        pubspec_json: "{}".into(),
        archive_size: 1,
        published: 10,
        source: Source::Git {
            repo: repo.into(),
            tag: format!("v{version}"),
            commit: "c".into(),
        },
    }
}

#[test]
fn replicas_starting_together_apply_each_migration_once() {
    let Some(db) = TestDb::new("replicas_starting_together_apply_each_migration_once") else {
        return;
    };
    let barrier = Arc::new(Barrier::new(4));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (url, barrier) = (db.url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                Postgres::open(&url).map(|_| ())
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap().unwrap();
    }
    let pg = Postgres::open(&db.url).unwrap();
    let versions: Vec<i32> = pg
        .conn()
        .unwrap()
        .query("SELECT version FROM tagpub_schema ORDER BY version", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    // A schema from a newer tagpub is refused, not used.
    pg.conn()
        .unwrap()
        .execute("INSERT INTO tagpub_schema VALUES (99, 0)", &[])
        .unwrap();
    let e = Postgres::open(&db.url)
        .err()
        .expect("a newer schema is refused");
    assert!(e.to_string().contains("schema version 99"), "{e}");
}

#[test]
fn the_database_refuses_a_second_source_even_to_a_plain_insert() {
    let Some(db) = TestDb::new("the_database_refuses_a_second_source_even_to_a_plain_insert")
    else {
        return;
    };
    let pg = Postgres::open(&db.url).unwrap();
    assert_eq!(
        pg.add_version(&from("a", "shared_pkg", "1.0.0"), None)
            .unwrap(),
        Added::New
    );
    assert!(matches!(
        pg.add_version(&from("b", "shared_pkg", "2.0.0"), None).unwrap(),
        Added::OtherSource(Source::Git { repo, .. }) if repo == "a"
    ));
    assert!(matches!(
        pg.add_version(&from("b", "Shared_Pkg", "2.0.0"), None).unwrap(),
        Added::OtherSource(Source::Git { repo, .. }) if repo == "a"
    ));
    assert_eq!(
        pg.add_version(&from("a", "Shared_Pkg", "1.5.0"), None)
            .unwrap(),
        Added::New
    );
    assert!(matches!(
        pg.add_version(&from("a", "shared_pkg", "1.0.0"), None).unwrap(),
        Added::AlreadyExists(v) if v.sha256 == "a1.0.0"
    ));
    let mut conn = pg.conn().unwrap();
    let raw = conn.execute(
        "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit)
         VALUES ('shared_pkg', '3.0.0', 'x', '{}', 1, 1, 'b', 'v3.0.0', 'c')",
        &[],
    );
    assert!(raw.is_err(), "a second source was inserted");
    let upload = conn.execute(
        "INSERT INTO versions (package, version, sha256, pubspec_json, archive_size, published, source_repo, source_tag, source_commit, uploader)
         VALUES ('SHARED_PKG', '4.0.0', 'x', '{}', 1, 1, '', '', '', 'm@x')",
        &[],
    );
    assert!(upload.is_err(), "an upload joined a git package");
    let versions: Vec<String> = pg
        .versions_of("shared_pkg")
        .unwrap()
        .into_iter()
        .map(|v| v.version)
        .collect();
    assert_eq!(versions, ["1.0.0"]);
}

/// Two replicas (two pools) racing for a new name: one wins, the other is told.
#[test]
fn writers_on_two_replicas_racing_for_a_name_leave_one_owner() {
    let Some(db) = TestDb::new("writers_on_two_replicas_racing_for_a_name_leave_one_owner") else {
        return;
    };
    let replicas = [
        Postgres::open(&db.url).unwrap(),
        Postgres::open(&db.url).unwrap(),
    ];
    for round in 0..20 {
        let package = format!("pkg_{round}");
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = replicas
            .iter()
            .zip(["a", "b"])
            .map(|(pg, repo)| {
                let (pg, barrier, package) = (pg.clone(), barrier.clone(), package.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    pg.add_version(&from(repo, &package, &format!("1.0.{}", repo.len())), None)
                        .unwrap()
                })
            })
            .collect();
        let outcomes: Vec<Added> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let new = outcomes.iter().filter(|o| **o == Added::New).count();
        let refused = outcomes
            .iter()
            .filter(|o| matches!(o, Added::OtherSource(_)))
            .count();
        assert_eq!((new, refused), (1, 1), "{outcomes:?}");
    }
}

#[test]
fn uploads_stage_their_archive_in_the_database_within_the_cap() {
    let Some(db) = TestDb::new("uploads_stage_their_archive_in_the_database_within_the_cap") else {
        return;
    };
    let one = Postgres::open(&db.url).unwrap();
    let other = Postgres::open(&db.url).unwrap();
    for id in ["u1", "u2", "u3"] {
        one.create_upload(id, "m@x", 100).unwrap();
    }
    assert_eq!(
        one.stage_upload("u1", ("s1", 3), 0, 2).unwrap(),
        Staged::Yes
    );
    assert_eq!(
        one.stage_upload("u2", ("s2", 3), 0, 2).unwrap(),
        Staged::Yes
    );
    assert_eq!(
        other.stage_upload("u3", ("s3", 3), 0, 2).unwrap(),
        Staged::TooMany(2)
    );
    // Bytes staged through one replica are read through another.
    one.staged_archives().unwrap().put("u1", b"abc").unwrap();
    assert_eq!(
        other
            .staged_archives()
            .unwrap()
            .get("u1")
            .unwrap()
            .as_deref(),
        Some(&b"abc"[..])
    );
    assert_eq!(
        other.upload("u1").unwrap().unwrap().archive,
        Some(("s1".into(), 3))
    );
    // Expiring refuses the upload and drops its bytes in one go.
    let expired = other.expire_uploads(200, ("invalid", "expired")).unwrap();
    assert_eq!(expired, ["u1", "u2", "u3"]);
    assert_eq!(one.staged_archives().unwrap().get("u1").unwrap(), None);
}

fn token(id: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        member: "a@b.c".into(),
        name: String::new(),
        hash: format!("hash-{id}"),
        created: 1,
        last_used: None,
        expires: None,
        revoked: None,
    }
}

/// What one replica commits moves the other's change counter within a second, without
/// the counter ever querying the database.
#[test]
fn a_commit_on_one_replica_is_heard_by_the_other_within_a_second() {
    let Some(db) = TestDb::new("a_commit_on_one_replica_is_heard_by_the_other_within_a_second")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open_postgres(&db.url, &dir.path().join("a"), false).unwrap();
    let b = Store::open_postgres(&db.url, &dir.path().join("b"), false).unwrap();
    a.tokens.insert_token(&token("tk_1")).unwrap();
    // The listener connects in the background; its first connection counts as a change.
    let settled = |store: &Store| {
        let mut last = store.changes.counter().unwrap();
        loop {
            std::thread::sleep(Duration::from_millis(300));
            let now = store.changes.counter().unwrap();
            if now == last && now > 0 {
                return now;
            }
            last = now;
        }
    };
    let before = settled(&b);
    b.tokens.token_by_id("tk_1").unwrap().unwrap();
    assert_eq!(b.changes.counter().unwrap(), before, "a read is no change");
    let revoked_at = Instant::now();
    assert!(a.tokens.revoke_token("tk_1", 5).unwrap());
    while b.changes.counter().unwrap() == before {
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "the revocation was not heard within a second"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        b.tokens.token_by_id("tk_1").unwrap().unwrap().revoked,
        Some(5)
    );
}

/// Token writes move the commit counter only; a retraction moves the catalog's too,
/// so a replica rebuilds its index for the second only (app/live.rs).
#[test]
fn only_a_catalog_write_moves_the_catalog_counter_of_another_replica() {
    let Some(db) = TestDb::new("only_a_catalog_write_moves_the_catalog_counter_of_another_replica")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open_postgres(&db.url, &dir.path().join("a"), false).unwrap();
    let b = Store::open_postgres(&db.url, &dir.path().join("b"), false).unwrap();
    a.publishing.create_package("pkg", "a@b.c", &[], 1).unwrap();
    // Settled: the listener connected and heard the creation.
    let settled = || loop {
        let first = (b.changes.counter().unwrap(), b.changes.catalog().unwrap());
        std::thread::sleep(Duration::from_millis(1500));
        if first == (b.changes.counter().unwrap(), b.changes.catalog().unwrap()) && first.0 > 0 {
            return first;
        }
    };
    let (counter, catalog) = settled();
    a.tokens.insert_token(&token("tk_1")).unwrap();
    a.tokens.touch_tokens(&[("tk_1".to_string(), 7)]).unwrap();
    let heard = Instant::now();
    while b.changes.counter().unwrap() < counter + 2 {
        assert!(
            heard.elapsed() < Duration::from_secs(2),
            "token writes not heard"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        b.changes.catalog().unwrap(),
        catalog,
        "token writes are no catalog change"
    );
    assert!(a.publishing.set_retracted("pkg", "1.0.0", true).unwrap());
    let heard = Instant::now();
    while b.changes.catalog().unwrap() == catalog {
        assert!(
            heard.elapsed() < Duration::from_secs(2),
            "the retraction was not heard as a catalog change"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn one_replica_leads_and_another_takes_over_when_it_goes() {
    let Some(db) = TestDb::new("one_replica_leads_and_another_takes_over_when_it_goes") else {
        return;
    };
    drop(Postgres::open(&db.url).unwrap());
    let a = super::Leadership::compete(&db.url);
    let b = super::Leadership::compete(&db.url);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(a.is_leader() || b.is_leader()) {
        assert!(Instant::now() < deadline, "nobody became the leader");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(a.is_leader() != b.is_leader(), "exactly one leads");
    let (leader, follower) = if a.is_leader() { (a, b) } else { (b, a) };
    assert_eq!((leader.role(), follower.role()), ("leader", "follower"));
    // The leader's process goes: its session, and the lock, with it.
    drop(leader);
    let gone = Instant::now();
    while !follower.is_leader() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "the follower did not take over"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_leader_whose_connection_is_cut_steps_down_and_another_leads() {
    let Some(db) = TestDb::new("a_leader_whose_connection_is_cut_steps_down_and_another_leads")
    else {
        return;
    };
    let admin = Postgres::open(&db.url).unwrap();
    let a = super::Leadership::compete(&db.url);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !a.is_leader() {
        assert!(Instant::now() < deadline, "a did not lead");
        std::thread::sleep(Duration::from_millis(50));
    }
    let b = super::Leadership::compete(&db.url);
    std::thread::sleep(Duration::from_secs(2));
    assert!(!b.is_leader());
    // An operator (or a network failure) ends the leader's session.
    let cut = Instant::now();
    admin
        .conn()
        .unwrap()
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = ($1 & 4294967295)::oid AND granted",
            &[&super::LEADER_LOCK],
        )
        .unwrap();
    while a.is_leader() {
        assert!(
            cut.elapsed() < Duration::from_secs(3),
            "a did not step down"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // Then one of them leads again (whichever takes the lock first), never both.
    while !(a.is_leader() || b.is_leader()) {
        assert!(cut.elapsed() < Duration::from_secs(5), "nobody took over");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(2));
    assert!(a.is_leader() != b.is_leader(), "exactly one leads");
}

#[test]
fn a_publication_is_written_whole_or_not_at_all() {
    let Some(db) = TestDb::new("a_publication_is_written_whole_or_not_at_all") else {
        return;
    };
    let pg = Postgres::open(&db.url).unwrap();
    pg.add_version(&from("a", "taken", "1.0.0"), None).unwrap();
    for id in ["u1", "u2"] {
        pg.create_upload(id, "m@x", 1).unwrap();
        pg.staged_archives().unwrap().put(id, b"bytes").unwrap();
    }
    let publish = |id: &str, package: &str| {
        let mut version = from("", package, "2.0.0");
        version.source = Source::Upload {
            uploader: "m@x".into(),
        };
        let audit = crate::store::AuditEntry {
            at: 1,
            actor: "m@x".into(),
            action: "publish".into(),
            package: package.into(),
            version: Some("2.0.0".into()),
            detail: String::new(),
        };
        let answer = crate::store::UploadOutcome::Published {
            message: "ok".into(),
        };
        pg.publish_upload(&crate::store::Publication {
            upload_id: id,
            version: &version,
            creator: "m@x",
            teams: &[],
            audit: &audit,
            answer: &answer,
        })
        .unwrap()
    };
    // Refused by the one-source rule: neither the package nor its audit entry nor the
    // answer is written.
    assert!(matches!(publish("u1", "taken"), Added::OtherSource(_)));
    assert_eq!(pg.package("taken").unwrap(), None);
    assert_eq!(pg.audit_log(None, 10).unwrap(), []);
    assert_eq!(pg.upload("u1").unwrap().unwrap().outcome, None);
    assert!(pg.staged_archives().unwrap().get("u1").unwrap().is_some());
    // Published: all of it, and the staged bytes are gone.
    assert_eq!(publish("u2", "fresh"), Added::New);
    assert_eq!(pg.package("fresh").unwrap().unwrap().uploaders, ["m@x"]);
    assert_eq!(pg.versions_of("fresh").unwrap().len(), 1);
    assert_eq!(pg.audit_log(None, 10).unwrap().len(), 1);
    assert!(pg.upload("u2").unwrap().unwrap().outcome.is_some());
    assert_eq!(pg.staged_archives().unwrap().get("u2").unwrap(), None);
}

#[test]
fn finding_a_names_owner_can_use_an_index_of_versions() {
    let Some(db) = TestDb::new("finding_a_names_owner_can_use_an_index_of_versions") else {
        return;
    };
    let pg = Postgres::open(&db.url).unwrap();
    pg.add_version(&from("a", "shared_pkg", "1.0.0"), None)
        .unwrap();
    let mut conn = pg.conn().unwrap();
    // On a table this small a scan is cheapest; forbid it to see what else there is.
    conn.batch_execute("SET enable_seqscan = off").unwrap();
    let plan: Vec<String> = conn
        .query(
            &format!(
                "EXPLAIN SELECT versions.package FROM versions {} WHERE s.name = lower($1)
                 ORDER BY versions.published, versions.seq LIMIT 1",
                super::catalog::SERVED
            ),
            &[&"SHARED_pkg"],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("versions_package_lower")),
        "{plan:#?}"
    );
    assert!(matches!(
        pg.owner("SHARED_pkg").unwrap(),
        Some(Source::Git { repo, .. }) if repo == "a"
    ));
}
