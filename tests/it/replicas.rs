//! Several replicas on one PostgreSQL (docs/operations.md "Several replicas"): two real
//! `tagpub serve` processes share the database (and, until an object store is
//! configured, the data dir's archives); one syncs, both serve, and either takes every
//! kind of request. Skipped, saying why, without `TAGPUB_TEST_DATABASE_URL`.

use crate::support;

use std::path::Path;
use std::time::{Duration, Instant};
use support::command::command;
use support::config::write_config_named;
use support::daemon::Daemon;
use support::postgres::{TestDatabase, database};
use support::tarball::package_archive;
use support::wait::{poll, wait_within};
use support::{BareRepo, GitRepo, PubClient};

const DB_ENV: &str = "TAGPUB_DATABASE_URL";
const SECRET_ENV: &str = "TAGPUB_TEST_REPLICA_HOOK_SECRET";
const SECRET: &str = "replica-secret-51d0";
/// The `base_url` `write_config_named` gives: what a load balancer in front of the
/// replicas would answer on. URLs the replicas hand out are sent to one replica instead.
const BALANCER: &str = "http://127.0.0.1:1/";

fn body(repo_url: &str, shared: bool) -> String {
    let store = if shared {
        format!("store:\n  database_url_env: {DB_ENV}\n")
    } else {
        String::new()
    };
    format!(
        "access:\n  anonymous_read: false\n\
         metrics:\n  public: true\n\
         members:\n  - {{email: admin@acme.dev, admin: true}}\n  - {{email: alice@acme.dev}}\n\
         uploads:\n  publishers: []\n\
         repositories:\n  - url: {repo_url}\n    webhook_secret_env: {SECRET_ENV}\n    poll_interval: 1h\n\
         {store}"
    )
}

/// An author's clone with `widgets` 1.0.0 and its bare remote, which the registry reads
/// through `file://` (fetched, not watched: only a notification or the hourly poll
/// makes it look).
fn repository() -> (GitRepo, BareRepo) {
    let work = GitRepo::init();
    work.release("widgets", "1.0.0", "v1.0.0");
    let bare = work.bare_clone();
    let remote = bare
        .path()
        .to_str()
        .expect("temp paths are UTF-8")
        .to_string();
    work.run(["remote", "add", "origin", &remote]);
    (work, bare)
}

fn replica(config: &Path, db: &TestDatabase) -> Daemon {
    Daemon::start(
        config,
        &["--listen", "127.0.0.1:0"],
        &[(DB_ENV, db.url.as_str()), (SECRET_ENV, SECRET)],
    )
}

/// `tagpub token issue --member <member>` on the shared store; returns the secret.
fn issue(config: &Path, db: &TestDatabase, member: &str) -> String {
    let out = command(config, &["token", "issue", "--member", member])
        .env(DB_ENV, &db.url)
        .output()
        .expect("run tagpub");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().last().unwrap().trim().to_string()
}

fn metrics_role(d: &Daemon) -> Option<u8> {
    let text = d.client().get("metrics").ok()?.text();
    text.lines()
        .find_map(|l| l.strip_prefix("tagpub_leader "))
        .and_then(|v| v.trim().parse().ok())
}

/// `POST hooks/git` for the repository, as the shipped post-receive hook sends it.
fn notify(d: &Daemon, repo_key: &str) {
    let response = reqwest::blocking::Client::new()
        .post(format!("{}hooks/git", d.base_url))
        .bearer_auth(SECRET)
        .json(&serde_json::json!({"repository": repo_key, "refs": []}))
        .send()
        .expect("notify");
    assert_eq!(response.status().as_u16(), 202, "{:?}", response.text());
}

/// The sha256 of every version of `widgets`, as listed, checked against the bytes.
fn served(client: &PubClient, base_url: &str) -> Vec<(String, String)> {
    let listing = client.list("widgets").expect("list widgets");
    let mut out: Vec<(String, String)> = listing
        .versions
        .iter()
        .map(|v| {
            let mut v = v.clone();
            v.archive_url = v.archive_url.replace(BALANCER, base_url);
            let bytes = client.download(&v).expect("download");
            let sha = v.archive_sha256.clone().expect("archive_sha256 is listed");
            assert_eq!(
                sha,
                hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes))
            );
            (v.version.clone(), sha)
        })
        .collect();
    out.sort();
    out
}

fn wait_listed(client: &PubClient, version: &str, what: &str) {
    let found = poll(Duration::from_secs(20), || {
        client
            .list("widgets")
            .ok()?
            .versions()
            .iter()
            .any(|v| v == version)
            .then_some(())
    });
    assert!(found.is_some(), "{what}");
}

#[test]
fn two_replicas_one_syncer_a_pushed_tag_on_both_and_the_survivor_takes_over() {
    let Some(db) = database("replicas::two_replicas_one_syncer") else {
        return;
    };
    let (work, bare) = repository();
    let dir = tempfile::tempdir().unwrap();
    let config_a = write_config_named(dir.path(), "a.yaml", &body(&bare.url(), true));
    let config_b = write_config_named(dir.path(), "b.yaml", &body(&bare.url(), true));
    let secret = issue(&config_a, &db, "admin@acme.dev");
    let mut a = replica(&config_a, &db);
    let mut b = replica(&config_b, &db);
    let ca = a.client().with_token(&secret);
    let cb = b.client().with_token(&secret);
    wait_listed(&ca, "1.0.0", &format!("a never served 1.0.0:\n{}", a.log()));
    wait_listed(&cb, "1.0.0", &format!("b never served 1.0.0:\n{}", b.log()));

    // Exactly one leads, and says so in api/status and metrics.
    wait_within(Duration::from_secs(10), "one leader", || {
        matches!(
            (metrics_role(&a), metrics_role(&b)),
            (Some(1), Some(0)) | (Some(0), Some(1))
        )
    });
    let a_leads = metrics_role(&a) == Some(1);
    let status = ca.get_api("api/status").unwrap().json();
    assert_eq!(
        status["role"],
        if a_leads { "leader" } else { "follower" },
        "{status}"
    );

    // A push announced to the follower is served by both: the wake-up went to the
    // leader through the database.
    work.release("widgets", "1.1.0", "v1.1.0");
    work.run(["push", "origin", "main", "v1.1.0"]);
    let (leader, follower) = if a_leads {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    notify(follower, &bare.url());
    let (cl, cf) = (
        leader.client().with_token(&secret),
        follower.client().with_token(&secret),
    );
    wait_listed(
        &cf,
        "1.1.0",
        &format!("the follower never served 1.1.0:\n{}", follower.log()),
    );
    wait_listed(&cl, "1.1.0", "the leader never served 1.1.0");
    let from_leader = served(&cl, &leader.base_url);
    let from_follower = served(&cf, &follower.base_url);
    assert_eq!(from_leader, from_follower);
    assert!(
        !follower.log().contains("new version(s)"),
        "the follower synced:\n{}",
        follower.log()
    );

    // The leader dies without a word; the survivor takes over and serves the next tag,
    // announced to it alone.
    leader.kill();
    let killed = Instant::now();
    work.release("widgets", "1.2.0", "v1.2.0");
    work.run(["push", "origin", "main", "v1.2.0"]);
    wait_within(Duration::from_secs(10), "the survivor leads", || {
        metrics_role(follower) == Some(1)
    });
    notify(follower, &bare.url());
    wait_listed(
        &cf,
        "1.2.0",
        &format!("the survivor never served 1.2.0:\n{}", follower.log()),
    );
    eprintln!(
        "leader killed -> next tag served by the survivor in {:?}",
        killed.elapsed()
    );
    let survivor = served(&cf, &follower.base_url);

    // One SQLite instance of the same repository serves the very same bytes.
    let single_dir = tempfile::tempdir().unwrap();
    let config_s = write_config_named(
        single_dir.path(),
        "registry.yaml",
        &body(&bare.url(), false),
    );
    let secret_s = {
        let out = command(&config_s, &["token", "issue", "--member", "admin@acme.dev"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap()
            .trim()
            .to_string()
    };
    let single = Daemon::start(
        &config_s,
        &["--listen", "127.0.0.1:0"],
        &[(SECRET_ENV, SECRET)],
    );
    let cs = single.client().with_token(&secret_s);
    for v in ["1.0.0", "1.1.0", "1.2.0"] {
        wait_listed(&cs, v, &format!("the single instance never served {v}"));
    }
    assert_eq!(served(&cs, &single.base_url), survivor);
    assert_eq!(survivor.len(), 3, "{survivor:?}");
    assert_eq!(&survivor[..2], &from_leader[..]);
}

#[test]
fn publish_on_one_replica_read_on_the_other_and_a_revocation_counts_on_both_within_a_second() {
    let Some(db) = database("replicas::publish_and_revoke") else {
        return;
    };
    let (_work, bare) = repository();
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = body(&bare.url(), true);
    yaml = yaml.replace(
        "uploads:\n  publishers: []",
        "uploads:\n  publishers: [everyone]",
    );
    yaml.push_str("teams:\n  - name: everyone\n    members: [alice@acme.dev]\n");
    let config_a = write_config_named(dir.path(), "a.yaml", &yaml);
    let config_b = write_config_named(dir.path(), "b.yaml", &yaml);
    let admin = issue(&config_a, &db, "admin@acme.dev");
    let alice = issue(&config_a, &db, "alice@acme.dev");
    let a = replica(&config_a, &db);
    let b = replica(&config_b, &db);
    let (alice_a, alice_b) = (a.client().with_token(&alice), b.client().with_token(&alice));

    // The three requests of `dart pub publish` reach different replicas.
    let mut form = alice_a.upload_form().expect("versions/new on a");
    form.url = form.url.replace(BALANCER, &b.base_url);
    let archive = package_archive("gadget", "1.0.0", "");
    let location = alice_b.upload(&form, &archive).expect("upload on b");
    let location = location.replace(BALANCER, &a.base_url);
    let message = alice_a.finalize(&location).expect("finalize on a");
    assert!(message.contains("gadget 1.0.0"), "{message}");
    assert_eq!(
        db.query_strings("SELECT id FROM staged_archives"),
        Vec::<String>::new(),
        "finalize leaves no staged archive behind"
    );
    let read_on_b = poll(Duration::from_secs(5), || {
        let listing = alice_b.list("gadget").ok()?;
        listing.versions.first().cloned()
    })
    .expect("b lists what a published");
    let mut v = read_on_b;
    v.archive_url = v.archive_url.replace(BALANCER, &b.base_url);
    assert_eq!(alice_b.download(&v).unwrap(), archive);

    // Revoked on a (by an admin), refused by b within a second.
    assert_eq!(alice_b.get_api("api/packages/gadget").unwrap().status, 200);
    let revoked = reqwest::blocking::Client::new()
        .delete(format!("{}api/tokens?member=alice@acme.dev", a.base_url))
        .bearer_auth(&admin)
        .header("accept", "application/vnd.pub.v2+json")
        .send()
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200, "{:?}", revoked.text());
    let at = Instant::now();
    loop {
        let status = alice_b.get_api("api/packages/gadget").unwrap().status;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            at.elapsed() < Duration::from_secs(1),
            "b still accepted the revoked token after a second"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(alice_a.get_api("api/packages/gadget").unwrap().status, 401);
}

/// `tagpub migrate --to-postgres` with `TAGPUB_DATABASE_URL`: exit code and output.
fn migrate(config: &Path, db: &TestDatabase) -> (bool, String) {
    let out = command(config, &["migrate", "--to-postgres"])
        .env(DB_ENV, &db.url)
        .output()
        .expect("run tagpub");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// An installation as it ran on one machine on SQLite: `widgets` 1.0.0 and 1.1.0 synced,
/// a token issued to the admin, and what it served (version, sha256).
struct Installation {
    _work: GitRepo,
    bare: BareRepo,
    dir: tempfile::TempDir,
    secret: String,
    before: Vec<(String, String)>,
}

fn installation_on_sqlite() -> Installation {
    let (work, bare) = repository();
    work.release("widgets", "1.1.0", "v1.1.0");
    work.run(["push", "origin", "main", "v1.1.0"]);
    let dir = tempfile::tempdir().unwrap();
    let single = write_config_named(dir.path(), "single.yaml", &body(&bare.url(), false));
    let (code, text) = support::command::tagpub_text(&single, &["sync"]);
    assert_eq!(code, 0, "{text}");
    let out = command(&single, &["token", "issue", "--member", "admin@acme.dev"])
        .output()
        .unwrap();
    let secret = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let before = {
        let d = Daemon::start(
            &single,
            &["--listen", "127.0.0.1:0"],
            &[(SECRET_ENV, SECRET)],
        );
        served(&d.client().with_token(&secret), &d.base_url)
    };
    assert_eq!(before.len(), 2, "{before:?}");
    Installation {
        _work: work,
        bare,
        dir,
        secret,
        before,
    }
}

#[test]
fn an_installation_on_sqlite_moves_to_postgres_with_its_tokens_versions_and_bytes() {
    let Some(db) = database("replicas::migration") else {
        return;
    };
    let Some(other) = database("replicas::migration (second database)") else {
        return;
    };
    let Installation {
        _work,
        bare,
        dir,
        secret,
        before,
    } = installation_on_sqlite();
    let shared = write_config_named(dir.path(), "shared.yaml", &body(&bare.url(), true));

    // A corrupt archive stops the migration before anything is written.
    let archive = dir
        .path()
        .join("data/archives")
        .join(&before[0].1[..2])
        .join(format!("{}.tar.gz", before[0].1));
    let good = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, b"not the archive").unwrap();
    let (ok, text) = migrate(&shared, &db);
    assert!(!ok, "{text}");
    assert!(
        text.contains("widgets 1.0.0")
            && text.contains("corrupt")
            && text.contains("nothing was migrated"),
        "{text}"
    );
    assert_eq!(
        db.query_strings("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'"),
        Vec::<String>::new(),
        "the database was touched"
    );
    std::fs::write(&archive, &good).unwrap();

    let (ok, text) = migrate(&shared, &db);
    assert!(ok, "{text}");
    assert!(
        text.contains("2 versions")
            && text.contains("1 tokens")
            && text.contains("2 archive(s) verified"),
        "{text}"
    );
    // Again: the target holds exactly this registry, so nothing happens.
    let (ok, text) = migrate(&shared, &db);
    assert!(ok && text.contains("nothing to do"), "{text}");

    // A replica on the database serves the same versions with the same bytes, to the
    // token issued before the move.
    let replica = replica(&shared, &db);
    let client = replica.client().with_token(&secret);
    for v in ["1.0.0", "1.1.0"] {
        wait_listed(&client, v, &format!("the replica never served {v}"));
    }
    assert_eq!(served(&client, &replica.base_url), before);

    // A database holding another registry is refused, not merged into.
    let out = command(&shared, &["token", "issue", "--member", "alice@acme.dev"])
        .env(DB_ENV, &other.url)
        .output()
        .unwrap();
    assert!(out.status.success());
    let (ok, text) = migrate(&shared, &other);
    assert!(!ok, "{text}");
    assert!(
        text.contains("already holds a registry that differs"),
        "{text}"
    );
}

/// `store:` naming both the database and an S3 bucket.
fn body_with_s3(repo_url: &str, s3: &support::s3::S3Server) -> String {
    format!(
        "{}  archives:\n    s3:\n      bucket: {}\n      endpoint: {}\n      region: us-east-1\n      access_key_env: {S3_ACCESS_ENV}\n      secret_key_env: {S3_SECRET_ENV}\n      prefix: prod\n",
        body(repo_url, true),
        support::s3::BUCKET,
        s3.endpoint
    )
}

const S3_ACCESS_ENV: &str = "TAGPUB_TEST_S3_ACCESS";
const S3_SECRET_ENV: &str = "TAGPUB_TEST_S3_SECRET";

#[test]
fn an_installation_moves_to_postgres_and_s3_and_a_replica_with_an_empty_data_dir_serves_its_bytes()
{
    let Some(db) = database("replicas::migration to PostgreSQL and S3") else {
        return;
    };
    let Some(s3) = support::s3::S3Server::start() else {
        return;
    };
    let Installation {
        _work,
        bare,
        dir,
        secret,
        before,
    } = installation_on_sqlite();

    let shared = write_config_named(dir.path(), "shared.yaml", &body_with_s3(&bare.url(), &s3));
    let env = [
        (DB_ENV, db.url.as_str()),
        (S3_ACCESS_ENV, support::s3::ACCESS_KEY),
        (S3_SECRET_ENV, support::s3::SECRET_KEY),
    ];
    let run = || {
        let out = command(&shared, &["migrate", "--to-postgres"])
            .envs(env)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    // Without the secret, nothing moves and the message names the variable.
    let out = command(&shared, &["migrate", "--to-postgres"])
        .env(DB_ENV, &db.url)
        .env(S3_ACCESS_ENV, support::s3::ACCESS_KEY)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && text.contains(S3_SECRET_ENV),
        "{text}"
    );

    let (ok, text) = run();
    assert!(ok, "{text}");
    assert!(
        text.contains("2 copied") && text.contains("served from the bucket"),
        "{text}"
    );
    for (_, sha) in &before {
        assert!(
            s3.object_file(&format!("prod/archives/{sha}.tar.gz"))
                .is_file(),
            "archive {sha} is not in the bucket: {text}"
        );
    }
    // Again: nothing copied twice, nothing migrated twice.
    let (ok, text) = run();
    assert!(
        ok && text.contains("0 copied") && text.contains("nothing to do"),
        "{text}"
    );

    // A replica on another machine: the same config, an empty data dir of its own, so the
    // bytes can only come from the bucket.
    let elsewhere = tempfile::tempdir().unwrap();
    let other = write_config_named(
        elsewhere.path(),
        "registry.yaml",
        &body_with_s3(&bare.url(), &s3),
    );
    let data = elsewhere.path().join("data");
    let replica = Daemon::start(
        &other,
        &["--listen", "127.0.0.1:0"],
        &[env[0], env[1], env[2], (SECRET_ENV, SECRET)],
    );
    // The token issued on the single machine moved with the catalog.
    let client = replica.client().with_token(&secret);
    assert_eq!(served(&client, &replica.base_url), before);
    assert!(
        !data
            .join("archives")
            .read_dir()
            .is_ok_and(|mut d| d.next().is_some()),
        "the replica's own data dir holds archives"
    );
}
