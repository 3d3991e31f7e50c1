//! What the pages show from inside a version's archive: its README and CHANGELOG
//! rendered to safe HTML, its `pubspec.yaml` as written, and the list of its files (so
//! that README links resolve to them). Archives never change, so this is done once per
//! version and kept in a [`DocsCache`]; single files are read on demand for the route
//! that serves them.

use super::markdown::{self, Links};
use super::package::page_path;
use super::{Error as PageError, Visitor, Web};
use crate::app::AppState;
use crate::auth::{self, Decision};
use crate::config::Config;
use crate::store::StoredVersion;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io::Read;
use std::sync::{Arc, Mutex};

/// The most of a README or CHANGELOG that is rendered; longer ones are cut there.
const MAX_DOCUMENT: u64 = 1 << 20;
/// Bytes of rendered documents kept in memory; the oldest go first.
const CACHE_BUDGET: usize = 32 << 20;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the archive cannot be read as a gzip-compressed tar")]
    Archive(#[source] std::io::Error),
}

/// One rendered document of the archive.
#[derive(Debug, Clone)]
pub struct Document {
    /// Its path in the archive (`README.md`).
    pub path: String,
    /// Sanitized HTML.
    pub html: String,
    /// Whether it was longer than what was rendered.
    pub truncated: bool,
}

/// What the pages show of one version's archive.
#[derive(Debug, Clone, Default)]
pub struct Docs {
    pub readme: Option<Document>,
    pub changelog: Option<Document>,
    /// The archive's `pubspec.yaml`, as written.
    pub pubspec: String,
    /// Every regular file's path.
    pub files: BTreeSet<String>,
}

impl Docs {
    fn weight(&self) -> usize {
        let doc = |d: &Option<Document>| d.as_ref().map_or(0, |d| d.html.len());
        doc(&self.readme)
            + doc(&self.changelog)
            + self.pubspec.len()
            + self.files.iter().map(String::len).sum::<usize>()
    }
}

/// Entries of a tar.gz, with paths as pub writes them (no leading `./`).
fn entries(archive: &[u8]) -> Result<tar::Archive<flate2::read::GzDecoder<&[u8]>>, Error> {
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(archive)))
}

fn entry_path(entry: &tar::Entry<'_, impl Read>) -> Option<String> {
    if entry.header().entry_type() != tar::EntryType::Regular {
        return None;
    }
    let path = entry.path().ok()?;
    let text = path.to_str()?;
    Some(text.trim_start_matches("./").to_string())
}

fn is_markdown(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".md") || lower.ends_with(".markdown")
}

/// Which root document `path` is, by pub.dev's names (any case).
fn document_kind(path: &str) -> Option<&'static str> {
    let lower = path.to_ascii_lowercase();
    let stem = lower
        .strip_suffix(".md")
        .or_else(|| lower.strip_suffix(".markdown"))
        .or_else(|| lower.strip_suffix(".txt"))
        .unwrap_or(&lower);
    match stem {
        "readme" => Some("readme"),
        "changelog" => Some("changelog"),
        _ => None,
    }
}

/// Reads the archive and renders its documents; links to its files point below
/// `files_url` (ending in `/`).
pub fn extract(archive: &[u8], files_url: &str) -> Result<Docs, Error> {
    let mut docs = Docs::default();
    let mut texts: HashMap<&'static str, (String, String, bool)> = HashMap::new();
    let mut tar = entries(archive)?;
    for entry in tar.entries().map_err(Error::Archive)? {
        let entry = entry.map_err(Error::Archive)?;
        let Some(path) = entry_path(&entry) else {
            continue;
        };
        let kind = document_kind(&path);
        // The first README (or CHANGELOG) found, unless a markdown one comes later.
        let wanted = match kind {
            Some(k) => texts
                .get(k)
                .is_none_or(|(seen, _, _)| !is_markdown(seen) && is_markdown(&path)),
            None => path == "pubspec.yaml",
        };
        if wanted {
            let size = entry.header().size().unwrap_or(0);
            let mut bytes = Vec::new();
            entry
                .take(MAX_DOCUMENT)
                .read_to_end(&mut bytes)
                .map_err(Error::Archive)?;
            let text = String::from_utf8_lossy(&bytes).into_owned();
            match kind {
                Some(k) => {
                    texts.insert(k, (path.clone(), text, size > MAX_DOCUMENT));
                }
                None => docs.pubspec = text,
            }
        }
        docs.files.insert(path);
    }
    let mut render = |kind: &str| {
        texts.remove(kind).map(|(path, text, truncated)| {
            let links = Links {
                files: &docs.files,
                dir: "",
                files_url,
                id_prefix: if kind == "readme" {
                    "readme-"
                } else {
                    "changelog-"
                },
            };
            let html = if is_markdown(&path) {
                markdown::render(&text, &links)
            } else {
                format!("<pre>{}</pre>", ammonia::clean_text(&text))
            };
            Document {
                path,
                html,
                truncated,
            }
        })
    };
    let readme = render("readme");
    let changelog = render("changelog");
    docs.readme = readme;
    docs.changelog = changelog;
    Ok(docs)
}

/// What [`read_file`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum File {
    Found(Vec<u8>),
    /// The file is larger than the caller reads.
    TooLarge,
    Missing,
}

/// The bytes of the regular file at `path` in the archive, if it holds at most `max`.
pub fn read_file(archive: &[u8], path: &str, max: u64) -> Result<File, Error> {
    let mut tar = entries(archive)?;
    for entry in tar.entries().map_err(Error::Archive)? {
        let entry = entry.map_err(Error::Archive)?;
        if entry_path(&entry).as_deref() != Some(path) {
            continue;
        }
        if entry.header().size().unwrap_or(u64::MAX) > max {
            return Ok(File::TooLarge);
        }
        let mut bytes = Vec::new();
        entry
            .take(max)
            .read_to_end(&mut bytes)
            .map_err(Error::Archive)?;
        return Ok(File::Found(bytes));
    }
    Ok(File::Missing)
}

/// The `Content-Type` a file of an archive is served with, and whether a browser may
/// show it (the others are downloads). Nothing is served as HTML: a package's files
/// must not run as pages of the registry.
pub fn content_type(path: &str) -> (&'static str, bool) {
    let ext = path
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "png" => ("image/png", true),
        "jpg" | "jpeg" => ("image/jpeg", true),
        "gif" => ("image/gif", true),
        "webp" => ("image/webp", true),
        "svg" => ("image/svg+xml", true),
        "md" | "markdown" | "txt" | "dart" | "yaml" | "yml" | "json" | "lock" | "toml" | "sh"
        | "c" | "h" | "cc" | "cpp" | "kt" | "swift" | "java" | "gradle" | "xml" | "arb" | "csv"
        | "html" | "htm" | "css" | "js" => ("text/plain; charset=utf-8", true),
        _ if !path.contains('.') || path.ends_with("LICENSE") => {
            ("text/plain; charset=utf-8", true)
        }
        _ => ("application/octet-stream", false),
    }
}

/// Rendered documents by archive (sha256 and where links point), most recent last.
#[derive(Debug, Default)]
pub struct DocsCache {
    inner: Mutex<CacheInner>,
}

#[derive(Debug, Default)]
struct CacheInner {
    docs: HashMap<String, Arc<Docs>>,
    order: VecDeque<String>,
    size: usize,
}

impl DocsCache {
    pub fn get(&self, key: &str) -> Option<Arc<Docs>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.docs.get(key).cloned()
    }

    /// Keeps `docs` under `key`, dropping the oldest entries beyond the budget.
    pub fn put(&self, key: &str, docs: Docs) -> Arc<Docs> {
        let docs = Arc::new(docs);
        let weight = docs.weight();
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(existing) = inner.docs.get(key) {
            return existing.clone();
        }
        inner.size += weight;
        inner.docs.insert(key.to_string(), docs.clone());
        inner.order.push_back(key.to_string());
        while inner.size > CACHE_BUDGET && inner.order.len() > 1 {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(d) = inner.docs.remove(&oldest) {
                inner.size -= d.weight();
            }
        }
        docs
    }
}

/// The rendered documents of a version, from the cache or rendered now.
pub fn docs_of(
    state: &AppState,
    web: &Web,
    config: &Config,
    version: &StoredVersion,
) -> Result<Arc<Docs>, PageError> {
    let files_url = format!(
        "{}/files/",
        page_path(
            config.base_url.path(),
            &version.package,
            Some(&version.version)
        )
    );
    let key = format!("{}|{files_url}", version.sha256);
    if let Some(docs) = web.docs.get(&key) {
        return Ok(docs);
    }
    let bytes = state
        .store
        .blobs
        .get(&version.sha256)
        .map_err(PageError::store("read an archive"))?
        .ok_or_else(|| PageError::MissingArchive {
            package: version.package.clone(),
            version: version.version.clone(),
        })?;
    let docs = extract(&bytes, &files_url).map_err(|source| PageError::Docs {
        package: version.package.clone(),
        version: version.version.clone(),
        source,
    })?;
    Ok(web.docs.put(&key, docs))
}

/// The bytes of the file at `path` in the archive of `name` `version`, for a visitor
/// who may read the package (the archive's own check). At most `max` bytes.
pub fn archive_file(
    state: &AppState,
    visitor: &Visitor,
    name: &str,
    version: &str,
    path: &str,
    max: u64,
) -> Result<Vec<u8>, PageError> {
    let config = state.config.load();
    let index = state.index.load();
    let view = index.package(name);
    let not_found = || {
        PageError::NotFound(format!(
            "package `{name}` has no file {path} in version {version}"
        ))
    };
    match auth::check_read(&config, &visitor.caller, name, view.map(|p| &p.readers)) {
        Decision::Allow => {}
        Decision::NotFound => return Err(not_found()),
        Decision::Unauthenticated { .. } => {
            return Err(PageError::SignIn(format!(
                "Sign in to see package `{name}`."
            )));
        }
        Decision::Forbidden { message } => return Err(PageError::Forbidden(message)),
    }
    let sha256 = view
        .and_then(|p| p.version(version))
        .map(|v| v.sha256())
        .ok_or_else(not_found)?;
    let bytes = state
        .store
        .blobs
        .get(&sha256)
        .map_err(PageError::store("read an archive"))?
        .ok_or_else(|| PageError::MissingArchive {
            package: name.to_string(),
            version: version.to_string(),
        })?;
    match read_file(&bytes, path, max).map_err(|source| PageError::Docs {
        package: name.to_string(),
        version: version.to_string(),
        source,
    })? {
        File::Found(bytes) => Ok(bytes),
        File::TooLarge => Err(PageError::NotFound(format!(
            "{path} in {name} {version} is larger than a browser is served; download the archive"
        ))),
        File::Missing => Err(not_found()),
    }
}

#[cfg(test)]
mod tests;
