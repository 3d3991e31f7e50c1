//! `tagpub sync` over several repositories at once (`--jobs`) decides exactly what a run
//! over one repository after another decides (release/order.rs): the same owner of a
//! name two repositories hold, the same versions, the same archive bytes, the same
//! output; and a store failing in one repository still stops it, naming that one.

use crate::support;

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use support::GitRepo;
use support::command::tagpub;
use support::config::write_config;
use support::git::releases_stream;

/// Five repositories, in this order in registry.yaml:
/// 0. `big_pkg`, 300 tags (slow to plan), and later `late_pkg` under `late/`;
/// 1. `shared_pkg`, 100 tags (slow to store: the name has no owner for a while);
/// 2. `other_pkg`;
/// 3. `shared_pkg` 2.0.0 too: refused, repository 1 comes first;
/// 4. `fourth_pkg`, and later `late_pkg` under `late/` as well.
struct Five {
    repos: Vec<GitRepo>,
}

impl Five {
    fn new() -> Five {
        let big = GitRepo::init();
        big.fast_import(&releases_stream("big_pkg", 300, 2, 40));
        big.run(["reset", "--hard", "main"]);
        let first = GitRepo::init();
        first.fast_import(&releases_stream("shared_pkg", 100, 2, 40));
        let other = GitRepo::init();
        other.release("other_pkg", "1.0.0", "v1.0.0");
        let second = GitRepo::init();
        second.release("shared_pkg", "2.0.0", "v2.0.0");
        let fourth = GitRepo::init();
        fourth.release("fourth_pkg", "1.0.0", "v1.0.0");
        Five {
            repos: vec![big, first, other, second, fourth],
        }
    }

    /// `late_pkg` appears in repositories 0 and 4 at once, when both were read before
    /// without it: a pass deciding from what repository 0 held on the previous run
    /// would let repository 4 take it.
    fn add_late_pkg(&self) {
        self.repos[0].release_in("late", "late_pkg", "1.0.0", "late-v1.0.0");
        self.repos[4].release_in("late", "late_pkg", "1.1.0", "late-v1.1.0");
    }

    /// A config of its own (and so a data dir of its own) under `dir`.
    fn config(&self, dir: &Path) -> PathBuf {
        let late = "    packages:\n      - {path: .}\n      - {path: late, tag_pattern: \"late-v{{version}}\"}\n";
        let list: String = self
            .repos
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let packages = if i == 0 || i == 4 { late } else { "" };
                format!("  - url: {}\n{packages}", r.path().display())
            })
            .collect();
        write_config(dir, &format!("repositories:\n{list}"))
    }
}

/// What a data dir serves: every version with its source and sha256, and the sha256 of
/// every archive file's bytes.
fn served(data: &Path) -> (Vec<String>, Vec<String>) {
    let db = rusqlite::Connection::open(data.join("tagpub.sqlite3")).unwrap();
    let mut stmt = db
        .prepare("SELECT package, version, source_repo, source_tag, sha256 FROM versions ORDER BY package, version")
        .unwrap();
    let versions = stmt
        .query_map([], |r| {
            Ok(format!(
                "{} {} from {} tag {}: {}",
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?
            ))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let mut archives = Vec::new();
    for fan in std::fs::read_dir(data.join("archives")).unwrap() {
        for file in std::fs::read_dir(fan.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            archives.push(format!(
                "{}: {}",
                path.file_name().unwrap().to_string_lossy(),
                hex::encode(Sha256::digest(&bytes))
            ));
        }
    }
    archives.sort();
    (versions, archives)
}

fn sync(config: &Path, jobs: &str) -> String {
    let (code, stdout, stderr) = tagpub(config, &["sync", "--jobs", jobs]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    stdout
}

#[test]
fn several_repositories_at_once_decide_as_one_after_another() {
    let five = Five::new();
    let (serial, parallel) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (serial_config, parallel_config) =
        (five.config(serial.path()), five.config(parallel.path()));
    let first = five.repos[1].path().display().to_string();
    let second = five.repos[3].path().display().to_string();
    let big = five.repos[0].path().display().to_string();
    let fourth = five.repos[4].path().display().to_string();

    let one_by_one = sync(&serial_config, "1");
    let at_once = sync(&parallel_config, "4");
    assert!(
        one_by_one.contains(&format!(
            "{second}: rejected tag v2.0.0 of shared_pkg: package shared_pkg is already served from {first}, so {second} cannot serve it too"
        )),
        "{one_by_one}"
    );
    assert!(
        one_by_one.contains(
            "synced 5 repositories (0 unreachable): 402 new version(s), 1 rejected tag(s)"
        ),
        "{one_by_one}"
    );
    // Every line the same and in the same order: each repository's lines together,
    // in registry.yaml order.
    assert_eq!(at_once, one_by_one);
    let (versions, archives) = served(&serial.path().join("data"));
    assert!(
        versions
            .iter()
            .any(|v| v.starts_with(&format!("shared_pkg 1.0.99 from {first} tag v1.0.99"))),
        "{versions:#?}"
    );
    assert_eq!(archives.len(), 402);
    assert_eq!(served(&parallel.path().join("data")), (versions, archives));

    // A name both repositories 0 and 4 gain between two runs goes to repository 0,
    // which comes first, even though its previous run recorded it without the name.
    five.add_late_pkg();
    let one_by_one = sync(&serial_config, "1");
    let at_once = sync(&parallel_config, "4");
    assert!(
        one_by_one.contains(&format!("{big}: new late_pkg 1.0.0 (tag late-v1.0.0)"))
            && one_by_one.contains(&format!(
                "{fourth}: rejected tag late-v1.1.0 of late_pkg: package late_pkg is already served from {big}"
            )),
        "{one_by_one}"
    );
    assert_eq!(at_once, one_by_one);
    let (versions, archives) = served(&serial.path().join("data"));
    assert!(
        versions
            .iter()
            .any(|v| v.starts_with(&format!("late_pkg 1.0.0 from {big} tag late-v1.0.0"))),
        "{versions:#?}"
    );
    assert_eq!(served(&parallel.path().join("data")), (versions, archives));
}

/// The sha256 of the one version `sync` stores from `repo`, synced alone.
fn sha256_of(repo: &GitRepo) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("repositories:\n  - url: {}\n", repo.path().display()),
    );
    sync(&config, "1");
    let (versions, _) = served(&dir.path().join("data"));
    assert_eq!(versions.len(), 1, "{versions:?}");
    versions[0].rsplit(": ").next().unwrap().to_string()
}

/// A store failing in two repositories among good ones: the run fails naming the first
/// of them in registry.yaml, as a serial run stops there; what was printed before is
/// the earlier repositories' lines only, and no summary.
#[test]
fn a_store_failing_in_one_repository_stops_the_run_naming_the_first() {
    let repos: Vec<GitRepo> = (0..5)
        .map(|i| {
            let r = GitRepo::init();
            r.release(&format!("pkg_{i}"), "1.0.0", "v1.0.0");
            r
        })
        .collect();
    let shas: Vec<String> = repos.iter().map(sha256_of).collect();
    let fan = |i: usize| shas[i][..2].to_string();
    let broken = [1, 3];
    for good in [0, 2, 4] {
        assert!(
            broken.iter().all(|&b| fan(b) != fan(good)),
            "the test needs archives in other directories: {shas:?}"
        );
    }
    for jobs in ["1", "4"] {
        let dir = tempfile::tempdir().unwrap();
        let list: String = repos
            .iter()
            .map(|r| format!("  - url: {}\n", r.path().display()))
            .collect();
        let config = write_config(dir.path(), &format!("repositories:\n{list}"));
        // A file where repositories 1 and 3 put their archives' directory.
        drop(tagpub::store::Store::open(&dir.path().join("data")).unwrap());
        std::fs::create_dir_all(dir.path().join("data/archives")).unwrap();
        for b in broken {
            std::fs::write(dir.path().join("data/archives").join(fan(b)), "").unwrap();
        }
        let name = |i: usize| repos[i].path().display().to_string();
        let (code, stdout, stderr) = tagpub(&config, &["sync", "--jobs", jobs]);
        assert_ne!(code, 0, "{stdout}{stderr}");
        assert!(
            stderr.contains(&format!("while syncing {}", name(1))),
            "{jobs} jobs: {stderr}"
        );
        assert!(
            !stderr.contains(&format!("while syncing {}", name(3))),
            "{jobs} jobs: {stderr}"
        );
        assert!(
            stdout.contains(&format!("{}: new pkg_0 1.0.0 (tag v1.0.0)", name(0))),
            "{jobs} jobs: {stdout}"
        );
        for later in [1, 2, 3, 4] {
            assert!(!stdout.contains(&name(later)), "{jobs} jobs: {stdout}");
        }
        assert!(!stdout.contains("synced "), "{jobs} jobs: {stdout}");
    }
}
