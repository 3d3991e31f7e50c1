//! Archive download from S3 on a local-cache miss (issue "Scale-out", target: no more than
//! 2× the S3 server's own GET time). Run with `cargo bench --bench s3`.
//!
//! Starts `s3s-fs` (found as in tests/it/support/s3.rs: `$TAGPUB_S3S_FS`, `PATH`, or
//! `~/.cargo/bin`) on loopback, stores archives of several sizes, then for each size
//! alternates, 41 times:
//! - the baselines: one GET of the object with the same S3 client tagpub uses, bytes
//!   collected and nothing else; and one GET by `curl --aws-sigv4` to `/dev/null`, as
//!   curl times it (`time_total`, without starting the process);
//! - tagpub: `S3Blobs::get` with the archive just removed from the local cache, so that it
//!   is downloaded, hashed, and written to the cache (what a replica does on a miss).
//!
//! Prints the medians and the ratios of tagpub's to each baseline, per size.
//!
//! On loopback, s3s-fs now and then holds the end of a response for 40 ms on a kept-alive
//! connection (the delayed-ACK stall of a server that leaves Nagle on); it hits either of
//! the two object_store clients, depending on which runs first in a round, never curl's
//! fresh connections. A size whose median is about 40 ms in one column only is that stall.

use object_store::ObjectStoreExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tagpub::store::{Blobs, S3Blobs, S3Location};

const BUCKET: &str = "bench";
const ACCESS: &str = "bench-access";
const SECRET: &str = "bench-secret-0123456789";
const ROUNDS: usize = 41;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("TAGPUB_S3S_FS") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("s3s-fs"));
    let cargo = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/s3s-fs"));
    on_path.chain(cargo).find(|p| p.is_file()).expect(
        "s3s-fs is not installed: cargo install s3s-fs --version 0.14.1 --locked --features binary",
    )
}

fn start(root: &Path) -> (Server, String) {
    std::fs::create_dir_all(root.join(BUCKET)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(binary())
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", ACCESS, "--secret-key", SECRET])
        .arg(root)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start s3s-fs");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s3s-fs did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, format!("http://127.0.0.1:{port}"))
}

fn archive(len: usize) -> Vec<u8> {
    // Incompressible, like a .tar.gz.
    let mut out = Vec::with_capacity(len);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, endpoint) = start(&dir.path().join("s3"));
    let location = S3Location {
        bucket: BUCKET.into(),
        endpoint: endpoint.clone(),
        region: "us-east-1".into(),
        access_key: ACCESS.into(),
        secret_key: SECRET.into(),
        prefix: String::new(),
    };
    let cache = dir.path().join("cache");
    let blobs = S3Blobs::open(&location, &cache).unwrap();
    let raw = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_endpoint(&endpoint)
        .with_region("us-east-1")
        .with_access_key_id(ACCESS)
        .with_secret_access_key(SECRET)
        .with_allow_http(true)
        .build()
        .unwrap();
    // Like S3Blobs' own runtime, so that both GETs run on the same kind of runtime.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    println!("archive download on a cache miss vs. a plain GET, {ROUNDS} rounds, loopback s3s-fs");
    println!(
        "{:>10} {:>12} {:>12} {:>14} {:>11} {:>11}",
        "size", "plain GET", "curl GET", "S3Blobs::get", "vs plain", "vs curl"
    );
    for size in [16 << 10, 256 << 10, 2 << 20, 16 << 20] {
        let bytes = archive(size);
        let sha256 = blobs.put(&bytes).unwrap();
        let key = object_store::path::Path::from(blobs.key_of(&sha256));
        let cached = cache.join(&sha256[..2]).join(format!("{sha256}.tar.gz"));
        let (mut plain, mut ours, mut curl) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS + 2 {
            let started = Instant::now();
            let got = runtime
                .block_on(async { raw.get(&key).await?.bytes().await })
                .unwrap();
            let took = started.elapsed();
            assert_eq!(got.len(), size);

            let started = Instant::now();
            let out = Command::new("curl")
                .args(["-sf", "-o", "/dev/null", "-w", "%{time_total}"])
                .args(["--aws-sigv4", "aws:amz:us-east-1:s3"])
                .args(["-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD"])
                .args(["--user", &format!("{ACCESS}:{SECRET}")])
                .arg(format!("{endpoint}/{BUCKET}/{key}"))
                .output()
                .expect("curl runs");
            let curl_wall = started.elapsed();
            assert!(out.status.success(), "curl GET failed");
            let curl_took = Duration::from_secs_f64(
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap(),
            );
            assert!(curl_took <= curl_wall);

            std::fs::remove_file(&cached).unwrap();
            let started = Instant::now();
            let read = blobs.get(&sha256).unwrap().unwrap();
            let ours_took = started.elapsed();
            assert_eq!(read.len(), size);
            // The first two rounds warm up connections and the page cache.
            if round >= 2 {
                plain.push(took);
                ours.push(ours_took);
                curl.push(curl_took);
            }
        }
        let (p, c, o) = (median(plain), median(curl), median(ours));
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:>10} {:>10.2}ms {:>10.2}ms {:>12.2}ms {:>10.2}x {:>10.2}x",
            format!("{} KiB", size >> 10),
            ms(p),
            ms(c),
            ms(o),
            ms(o) / ms(p),
            ms(o) / ms(c)
        );
    }
}
