//! A stand-in for pub.dev on `127.0.0.1:0`, shaped like it: listings whose
//! `archive_url` is `api/archives/NAME-VERSION.tar.gz`, which redirects (303) to a
//! second server on another port that holds the bytes; advisories. It counts every
//! request and the `Authorization` headers it saw, can hold listings and archive bytes
//! until released, can serve other bytes than it lists, list an archive on another
//! host, answer a listing with any body (huge, endless, not JSON), and can be stopped.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

#[derive(Clone)]
struct Version {
    version: String,
    deps: Vec<(String, String)>,
    archive: Vec<u8>,
    /// Bytes the storage serves instead of `archive` (a tampered upstream).
    served: Option<Vec<u8>>,
    retracted: bool,
    /// List without `archive_sha256`.
    unhashed: bool,
    /// List this `archive_sha256` instead of the archive's.
    listed_sha: Option<String>,
    /// List this `archive_url` instead of the upstream's own.
    listed_url: Option<String>,
}

/// A listing answered with something else than a listing.
#[derive(Clone)]
enum Raw {
    /// These bytes, with their `Content-Length`.
    Body(Vec<u8>),
    /// `mib` chunks of 1 MiB, without a `Content-Length`.
    Endless { mib: usize },
}

#[derive(Default, Clone)]
struct Package {
    versions: Vec<Version>,
    discontinued: bool,
    replaced_by: Option<String>,
    advisories: Option<Value>,
}

#[derive(Default)]
struct Shared {
    api: String,
    storage: String,
    packages: Mutex<BTreeMap<String, Package>>,
    hits: Mutex<BTreeMap<String, usize>>,
    authorizations: Mutex<Vec<(String, String)>>,
    hold: Mutex<Option<Arc<Semaphore>>>,
    refuse: Mutex<bool>,
    raw: Mutex<BTreeMap<String, Raw>>,
}

pub struct Upstream {
    /// `http://127.0.0.1:PORT/`, the upstream's hosted-url.
    pub url: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The pubspec of a stand-in package, as YAML (in the archive) and as JSON (listed).
fn pubspec(name: &str, version: &str, deps: &[(String, String)]) -> (String, Value) {
    let mut yaml = format!(
        "name: {name}\nversion: {version}\ndescription: {name} from the upstream.\nenvironment:\n  sdk: ^3.0.0\n"
    );
    let mut dependencies = serde_json::Map::new();
    if !deps.is_empty() {
        yaml.push_str("dependencies:\n");
        for (d, c) in deps {
            yaml.push_str(&format!("  {d}: {c}\n"));
            dependencies.insert(d.clone(), json!(c));
        }
    }
    let mut json = json!({"name": name, "version": version, "description": format!("{name} from the upstream."),
                          "environment": {"sdk": "^3.0.0"}});
    if !deps.is_empty() {
        json["dependencies"] = Value::Object(dependencies);
    }
    (yaml, json)
}

fn archive(name: &str, version: &str, deps: &[(String, String)], salt: &str) -> Vec<u8> {
    use flate2::{Compression, write::GzEncoder};
    let (yaml, _) = pubspec(name, version, deps);
    let code = format!("// {name} {version} {salt}\n");
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, content) in [
        ("pubspec.yaml", yaml.as_bytes()),
        ("lib/main.dart", code.as_bytes()),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, content).unwrap();
    }
    tar.into_inner().and_then(|gz| gz.finish()).unwrap()
}

pub fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Upstream {
    pub fn start() -> Upstream {
        let bind = || {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.set_nonblocking(true).unwrap();
            l
        };
        let (api, storage) = (bind(), bind());
        let shared = Arc::new(Shared {
            api: format!("http://{}/", api.local_addr().unwrap()),
            storage: format!("http://{}/", storage.local_addr().unwrap()),
            ..Shared::default()
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let api_routes = axum::Router::new()
            .route("/api/packages/{name}", get(listing))
            .route("/api/packages/{name}/advisories", get(advisories))
            .route("/api/archives/{file}", get(redirect))
            .with_state(shared.clone());
        let storage_routes = axum::Router::new()
            .route("/storage/{file}", get(bytes))
            .with_state(shared.clone());
        let mut stops = Vec::new();
        for (listener, routes) in [(api, api_routes), (storage, storage_routes)] {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            stops.push(tx);
            runtime.spawn(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, routes)
                    .with_graceful_shutdown(async move {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        }
        Upstream {
            url: shared.api.clone(),
            shared,
            runtime: Some(runtime),
            stops,
        }
    }

    /// Publishes `name` `version` depending on `deps` (name, constraint); returns the
    /// archive's sha256.
    pub fn publish(&self, name: &str, version: &str, deps: &[(&str, &str)]) -> String {
        let deps: Vec<(String, String)> = deps
            .iter()
            .map(|(d, c)| (d.to_string(), c.to_string()))
            .collect();
        let bytes = archive(name, version, &deps, "upstream");
        let sha = sha256(&bytes);
        let mut packages = lock(&self.shared.packages);
        packages
            .entry(name.into())
            .or_default()
            .versions
            .push(Version {
                version: version.into(),
                deps,
                archive: bytes,
                served: None,
                retracted: false,
                unhashed: false,
                listed_sha: None,
                listed_url: None,
            });
        sha
    }

    fn change(&self, name: &str, version: &str, f: impl FnOnce(&mut Version)) {
        let mut packages = lock(&self.shared.packages);
        let v = packages
            .get_mut(name)
            .and_then(|p| p.versions.iter_mut().find(|v| v.version == version))
            .expect("publish it first");
        f(v);
    }

    /// From now on the storage serves other bytes than the listing's sha256 promises.
    pub fn tamper(&self, name: &str, version: &str) {
        let other = archive(name, version, &[], "tampered");
        self.change(name, version, |v| v.served = Some(other));
    }

    pub fn retract(&self, name: &str, version: &str) {
        self.change(name, version, |v| v.retracted = true);
    }

    pub fn unhash(&self, name: &str, version: &str) {
        self.change(name, version, |v| v.unhashed = true);
    }

    /// Lists `sha256` for the archive, which it does not hash to.
    pub fn list_sha(&self, name: &str, version: &str, sha256: &str) {
        self.change(name, version, |v| v.listed_sha = Some(sha256.to_string()));
    }

    /// Lists `url` as the archive's `archive_url`.
    pub fn list_url(&self, name: &str, version: &str, url: &str) {
        self.change(name, version, |v| v.listed_url = Some(url.to_string()));
    }

    /// The storage host's own URL (`http://127.0.0.1:PORT/`): another origin.
    pub fn storage_url(&self) -> &str {
        &self.shared.storage
    }

    /// Answers the listing of `name` with `body` (200, JSON content type).
    pub fn answer_listing_with(&self, name: &str, body: Vec<u8>) {
        lock(&self.shared.raw).insert(name.into(), Raw::Body(body));
    }

    /// Answers the listing of `name` with `mib` MiB of JSON whitespace, streamed
    /// without a `Content-Length`.
    pub fn answer_listing_endlessly(&self, name: &str, mib: usize) {
        lock(&self.shared.raw).insert(name.into(), Raw::Endless { mib });
    }

    /// From now on every request is answered 401, as by an upstream that wants a token.
    pub fn refuse_all(&self) {
        *lock(&self.shared.refuse) = true;
    }

    pub fn discontinue(&self, name: &str, replaced_by: Option<&str>) {
        let mut packages = lock(&self.shared.packages);
        let p = packages.get_mut(name).expect("publish it first");
        p.discontinued = true;
        p.replaced_by = replaced_by.map(str::to_string);
    }

    pub fn set_advisories(&self, name: &str, advisories: Value) {
        lock(&self.shared.packages)
            .get_mut(name)
            .expect("publish it first")
            .advisories = Some(advisories);
    }

    /// The archive bytes as published.
    pub fn archive_of(&self, name: &str, version: &str) -> Vec<u8> {
        let packages = lock(&self.shared.packages);
        packages[name]
            .versions
            .iter()
            .find(|v| v.version == version)
            .expect("published")
            .archive
            .clone()
    }

    /// Requests so far for `path` (`api/packages/http`, `api/archives/http-1.0.0.tar.gz`,
    /// `storage/http-1.0.0.tar.gz`).
    pub fn count(&self, path: &str) -> usize {
        lock(&self.shared.hits).get(path).copied().unwrap_or(0)
    }

    /// Every request for a path starting with `prefix`.
    pub fn count_prefix(&self, prefix: &str) -> usize {
        lock(&self.shared.hits)
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    }

    /// `(path, Authorization value)` of every request that carried one.
    pub fn authorizations(&self) -> Vec<(String, String)> {
        lock(&self.shared.authorizations).clone()
    }

    /// Listings and archive bytes wait until [`Upstream::release`].
    pub fn hold(&self) {
        *lock(&self.shared.hold) = Some(Arc::new(Semaphore::new(0)));
    }

    pub fn release(&self) {
        if let Some(gate) = lock(&self.shared.hold).take() {
            gate.add_permits(Semaphore::MAX_PERMITS);
        }
    }

    /// Stops both servers; their ports refuse connections afterwards.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.release();
        for tx in self.stops.drain(..) {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn seen(shared: &Shared, path: String, headers: &HeaderMap) {
    if let Some(a) = headers.get(header::AUTHORIZATION) {
        lock(&shared.authorizations).push((path.clone(), a.to_str().unwrap_or("").into()));
    }
    *lock(&shared.hits).entry(path).or_default() += 1;
}

fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=\"utf-8\"")],
        body.to_string(),
    )
        .into_response()
}

async fn listing(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen(&shared, format!("api/packages/{name}"), &headers);
    if *lock(&shared.refuse) {
        let challenge = [(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"pub\", message=\"no\"",
        )];
        return (StatusCode::UNAUTHORIZED, challenge).into_response();
    }
    wait_for_release(&shared).await;
    let raw = lock(&shared.raw).get(&name).cloned();
    match raw {
        Some(Raw::Body(body)) => {
            return ([(header::CONTENT_TYPE, "application/json")], body).into_response();
        }
        Some(Raw::Endless { mib }) => {
            let chunk = bytes::Bytes::from(vec![b' '; 1 << 20]);
            let chunks = futures_util::stream::iter(
                (0..mib).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
            );
            return (
                [(header::CONTENT_TYPE, "application/json")],
                axum::body::Body::from_stream(chunks),
            )
                .into_response();
        }
        None => {}
    }
    let Some(p) = lock(&shared.packages).get(&name).cloned() else {
        return json_answer(
            StatusCode::NOT_FOUND,
            json!({"error": {"code": "NotFound", "message": format!("package \"{name}\" not found")}}),
        );
    };
    let versions: Vec<Value> = p
        .versions
        .iter()
        .map(|v| {
            let mut e = json!({
                "version": v.version,
                "pubspec": pubspec(&name, &v.version, &v.deps).1,
                "archive_url": v.listed_url.clone().unwrap_or_else(|| format!("{}api/archives/{name}-{}.tar.gz", shared.api, v.version)),
                "published": "2024-01-01T00:00:00.000Z",
            });
            if !v.unhashed {
                let listed = v.listed_sha.clone().unwrap_or_else(|| sha256(&v.archive));
                e["archive_sha256"] = json!(listed);
            }
            if v.retracted {
                e["retracted"] = json!(true);
            }
            e
        })
        .collect();
    let mut body = json!({"name": name, "latest": versions.last(), "versions": versions});
    if p.discontinued {
        body["isDiscontinued"] = json!(true);
    }
    if let Some(r) = p.replaced_by {
        body["replacedBy"] = json!(r);
    }
    if p.advisories.is_some() {
        body["advisoriesUpdated"] = json!("2024-05-03T14:38:46.123Z");
    }
    json_answer(StatusCode::OK, body)
}

async fn advisories(
    State(shared): State<Arc<Shared>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen(&shared, format!("api/packages/{name}/advisories"), &headers);
    match lock(&shared.packages)
        .get(&name)
        .and_then(|p| p.advisories.clone())
    {
        Some(a) => json_answer(
            StatusCode::OK,
            json!({"advisories": a, "advisoriesUpdated": "2024-05-03T14:38:46.123Z"}),
        ),
        None => json_answer(StatusCode::NOT_FOUND, json!({"error": {"message": "none"}})),
    }
}

async fn wait_for_release(shared: &Shared) {
    let gate = lock(&shared.hold).clone();
    if let Some(gate) = gate {
        let _ = gate.acquire().await;
    }
}

/// pub.dev answers archive URLs with a redirect to its storage.
async fn redirect(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen(&shared, format!("api/archives/{file}"), &headers);
    let target = format!("{}storage/{file}", shared.storage);
    (StatusCode::SEE_OTHER, [(header::LOCATION, target)]).into_response()
}

async fn bytes(
    State(shared): State<Arc<Shared>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Response {
    seen(&shared, format!("storage/{file}"), &headers);
    wait_for_release(&shared).await;
    let found = file
        .strip_suffix(".tar.gz")
        .and_then(|f| f.split_once('-'))
        .and_then(|(name, version)| {
            let packages = lock(&shared.packages);
            let v = packages
                .get(name)?
                .versions
                .iter()
                .find(|v| v.version == version)?
                .clone();
            Some(v.served.unwrap_or(v.archive))
        });
    match found {
        Some(bytes) => {
            ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response()
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
