//! Freshness benchmarks (issue "Freshness"): run with `cargo bench --bench freshness`.
//!
//! 1. Tag pushed to a watched local bare repository → version in the listing (median,
//!    p95 over 25 pushes).
//! 2. Signed webhook for a mirrored (`file://`) repository → version in the listing
//!    (median over 25 pushes).
//! 3. A repository with 1,000 tags and nothing new: CPU time of one poll (median of 15),
//!    read in place and through a `file://` mirror.
//!
//! Everything runs on loopback, against data generated here.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};
use tagpub::app::AppState;
use tagpub::config::Config;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.test")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.test")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn release(work: &Path, name: &str, version: &str) {
    std::fs::write(
        work.join("pubspec.yaml"),
        format!(
            "name: {name}\nversion: {version}\ndescription: bench\nenvironment:\n  sdk: ^3.0.0\n"
        ),
    )
    .unwrap();
    std::fs::create_dir_all(work.join("lib")).unwrap();
    std::fs::write(
        work.join(format!("lib/{name}.dart")),
        format!("const v = '{version}';\n"),
    )
    .unwrap();
    git(work, &["add", "-A"]);
    git(work, &["commit", "-q", "-m", version]);
    git(work, &["tag", &format!("v{version}")]);
}

struct Server {
    base: String,
    // Owns the server's tasks: dropping it stops the server.
    _runtime: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

fn serve(dir: &Path, repos: &str) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}/");
    let path = dir.join("registry.yaml");
    std::fs::write(
        &path,
        format!("base_url: {base}\nlisten: {addr}\ndata_dir: data\naccess:\n  anonymous_read: true\n{repos}"),
    )
    .unwrap();
    let state = AppState::open(Config::load(&path).unwrap()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let s = state.clone();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tagpub::server::serve(s, listener, async move {
            let _ = rx.await;
        })
        .await
    });
    Server {
        base,
        _runtime: runtime,
        stop: Some(tx),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

fn listed(client: &reqwest::blocking::Client, base: &str, name: &str, version: &str) -> bool {
    client
        .get(format!("{base}api/packages/{name}"))
        .send()
        .ok()
        .and_then(|r| r.text().ok())
        .is_some_and(|t| t.contains(&format!("\"version\":\"{version}\"")))
}

fn wait_listed(client: &reqwest::blocking::Client, base: &str, name: &str, version: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !listed(client, base, name, version) {
        assert!(Instant::now() < deadline, "{name} {version} never appeared");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn percentile(samples: &mut [f64], p: f64) -> f64 {
    samples.sort_by(|a, b| a.total_cmp(b));
    let i = ((samples.len() - 1) as f64 * p).round() as usize;
    samples[i]
}

/// CPU time (user + system) of this process, from /proc/self/stat, in milliseconds.
fn cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks * 10.0 // USER_HZ is 100 on Linux
}

const PUSHES: usize = 25;

fn bench_watched_push() -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let bare = dir.path().join("bare.git");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    release(&work, "watched", "0.0.1");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let server = serve(
        dir.path(),
        &format!(
            "repositories:\n  - url: {}\n    poll_interval: 1h\n",
            bare.display()
        ),
    );
    let client = reqwest::blocking::Client::new();
    wait_listed(&client, &server.base, "watched", "0.0.1");
    let mut samples = Vec::new();
    for i in 1..=PUSHES {
        let v = format!("0.1.{i}");
        release(&work, "watched", &v);
        let start = Instant::now();
        git(
            &work,
            &["push", "-q", bare.to_str().unwrap(), &format!("v{v}")],
        );
        wait_listed(&client, &server.base, "watched", &v);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    let median = percentile(&mut samples, 0.5);
    let p95 = percentile(&mut samples, 0.95);
    drop(server);
    (median, p95)
}

fn bench_webhook() -> f64 {
    use hmac::{Hmac, Mac};
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let bare = dir.path().join("bare.git");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    release(&work, "hooked", "0.0.1");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let url = format!("file://{}", bare.display());
    let server = serve(
        dir.path(),
        &format!(
            "repositories:\n  - url: {url}\n    webhook_secret_env: TAGPUB_BENCH_SECRET\n    poll_interval: 1h\n"
        ),
    );
    let client = reqwest::blocking::Client::new();
    wait_listed(&client, &server.base, "hooked", "0.0.1");
    let secret = std::env::var("TAGPUB_BENCH_SECRET").expect("set by .cargo/config.toml");
    let mut samples = Vec::new();
    for i in 1..=PUSHES {
        let v = format!("0.1.{i}");
        release(&work, "hooked", &v);
        git(
            &work,
            &["push", "-q", bare.to_str().unwrap(), &format!("v{v}")],
        );
        let body =
            serde_json::json!({"ref": format!("refs/tags/v{v}"), "repository": {"clone_url": url}})
                .to_string();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let start = Instant::now();
        let answer = client
            .post(format!("{}hooks/github", server.base))
            .header("X-GitHub-Event", "push")
            .header("X-Hub-Signature-256", signature)
            .body(body)
            .send()
            .unwrap();
        assert_eq!(answer.status().as_u16(), 202);
        wait_listed(&client, &server.base, "hooked", &v);
        samples.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    percentile(&mut samples, 0.5)
}

fn bench_idle_poll() -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q"]);
    release(&work, "many", "0.0.0");
    // 1,000 tags on 1,000 commits, made with fast-import: running git 2,000 times would
    // dominate the benchmark's own run time.
    let mut script = String::new();
    for i in 1..=1000 {
        let pubspec = format!(
            "name: many\nversion: 1.0.{i}\ndescription: bench\nenvironment:\n  sdk: ^3.0.0\n"
        );
        script.push_str(&format!(
            "commit refs/heads/main\ncommitter bench <b@example.test> {} +0000\ndata 3\nrel\n{}M 100644 inline pubspec.yaml\ndata {}\n{pubspec}\n",
            1_700_000_000 + i,
            // The first commit continues the branch on disk; later ones follow in-stream.
            if i == 1 { "from refs/heads/main^0\n" } else { "" },
            pubspec.len()
        ));
        script.push_str(&format!(
            "reset refs/tags/v1.0.{i}\nfrom refs/heads/main\n\n"
        ));
    }
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(&work)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let bare = dir.path().join("bare.git");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let mut results = Vec::new();
    for url in [
        bare.display().to_string(),
        format!("file://{}", bare.display()),
    ] {
        let data = tempfile::tempdir().unwrap();
        let path = data.path().join("registry.yaml");
        std::fs::write(
            &path,
            format!(
                "base_url: http://127.0.0.1:1/\ndata_dir: data\nrepositories:\n  - url: {url}\n"
            ),
        )
        .unwrap();
        let config = Config::load(&path).unwrap();
        let store = tagpub::store::Store::open(&config.data_dir).unwrap();
        let mirrors = config.data_dir.join("mirrors");
        let repo = &config.repositories[0];
        let builders = tagpub::release::Builders::for_this_machine();
        let first = tagpub::release::sync_repository(
            repo,
            &config.repositories,
            &store,
            &mirrors,
            &builders,
        )
        .unwrap();
        assert_eq!(
            first.new_versions.len(),
            1001,
            "{:?}",
            first.rejected.first()
        );
        let mut samples = Vec::new();
        for _ in 0..15 {
            let before = cpu_ms();
            let report = tagpub::release::sync_repository(
                repo,
                &config.repositories,
                &store,
                &mirrors,
                &builders,
            )
            .unwrap();
            samples.push(cpu_ms() - before);
            assert!(report.new_versions.is_empty() && report.fetch_error.is_none());
        }
        results.push(percentile(&mut samples, 0.5));
    }
    (results[0], results[1])
}

fn main() {
    // `cargo bench` passes --bench; nothing to parse.
    println!("tagpub freshness benchmarks (loopback, generated data)\n");
    let (median, p95) = bench_watched_push();
    let webhook = bench_webhook();
    let (local, mirrored) = bench_idle_poll();
    println!("| what | measured | target |");
    println!("|---|---|---|");
    println!(
        "| tag pushed to a watched local bare repo → listed, median of {PUSHES} | {median:.0} ms | < 300 ms |"
    );
    println!("| same, p95 | {p95:.0} ms | < 1000 ms |");
    println!(
        "| signed webhook, file:// mirror → listed, median of {PUSHES} | {webhook:.0} ms | < 500 ms |"
    );
    println!(
        "| idle poll, 1,000 tags, read in place: CPU, median of 15 | {local:.0} ms | < 50 ms |"
    );
    println!(
        "| idle poll, 1,000 tags, file:// mirror fetch: CPU, median of 15 | {mirrored:.0} ms | < 50 ms |"
    );
}
