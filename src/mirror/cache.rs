//! Where mirrored listings and advisories are kept: in memory, rendered and gzip-ready,
//! within a byte budget (`quick_cache`'s eviction, as for archives in `store::hot`: what
//! is asked for again stays), and on disk under
//! `data_dir/mirror/`, one JSON file per package, so that a restart or `tagpub mirror
//! import` serves them without the upstream.
//!
//! Files rather than a table in the catalog database: this is a cache the upstream can
//! refill, written on every refresh, and the daemon rebuilds what it serves whenever the
//! database changes (app/live.rs), which a refresh every `listing_ttl` per package
//! would trigger for nothing. Files are written whole (temporary file, then rename), so
//! a reader sees the old copy or the new one.

use super::listing::Mirrored;
use bytes::Bytes;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Memory for cached listings; past it, the least wanted are dropped (and read from disk
/// again when asked for). Advisories get an eighth of it. 6 MiB holds the listings of a
/// few thousand packages, more than the dependencies of most companies' apps together,
/// and keeps 10,000 cached packages under 20 MiB of resident memory (bench/mirror.py).
const MEMORY_BUDGET: u64 = 6 << 20;
/// The caches split their budget evenly between this many shards, and keep no document
/// larger than a shard's share.
const SHARDS: usize = 4;
/// A guess at the number of listings the budget holds (a few KiB each, gzipped), to size
/// the table.
const EXPECTED_LISTINGS: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Listing,
    Advisories,
}

impl Kind {
    fn dir(self) -> &'static str {
        match self {
            Kind::Listing => "listings",
            Kind::Advisories => "advisories",
        }
    }
}

/// One archive of a cached listing: what an archive request needs.
#[derive(Debug)]
pub struct ArchiveRef {
    pub version: Box<str>,
    pub sha256: Box<str>,
    /// Where the upstream serves it.
    pub url: Box<str>,
}

/// A listing or advisories answer, ready to send.
#[derive(Debug)]
pub struct Document {
    /// When the upstream gave it (seconds since the epoch).
    pub fetched: i64,
    /// The `base_url` its archive URLs were rendered with.
    pub base: Box<str>,
    /// The JSON body, gzip-encoded.
    pub gzip: Bytes,
    /// Empty for advisories.
    pub archives: Box<[ArchiveRef]>,
}

impl Document {
    pub fn archive(&self, version: &str) -> Option<&ArchiveRef> {
        self.archives.iter().find(|a| &*a.version == version)
    }

    fn weight(&self) -> u64 {
        let archives: usize = self
            .archives
            .iter()
            .map(|a| a.version.len() + a.sha256.len() + a.url.len() + 3 * 16)
            .sum();
        (self.gzip.len() + archives + self.base.len() + 96) as u64
    }
}

/// What the cache knows about one name.
#[derive(Debug, Clone)]
pub enum Entry {
    Found(Arc<Document>),
    /// The upstream answered 404 at `fetched`; not asked again while that is fresh.
    Missing {
        fetched: i64,
    },
}

impl Entry {
    pub fn fetched(&self) -> i64 {
        match self {
            Entry::Found(d) => d.fetched,
            Entry::Missing { fetched } => *fetched,
        }
    }
}

/// Weighs an entry by the memory it holds.
#[derive(Clone)]
struct Weight;

impl quick_cache::Weighter<String, Entry> for Weight {
    fn weight(&self, name: &String, entry: &Entry) -> u64 {
        name.len() as u64
            + match entry {
                Entry::Found(d) => d.weight(),
                Entry::Missing { .. } => 16,
            }
    }
}

type Memory = quick_cache::sync::Cache<String, Entry, Weight>;

fn memory(budget: u64, items: usize) -> Memory {
    let options = quick_cache::OptionsBuilder::new()
        .estimated_items_capacity(items)
        .weight_capacity(budget)
        .shards(SHARDS)
        .build()
        .expect("both capacities are set");
    Memory::with_options(options, Weight, Default::default(), Default::default())
}

pub struct Cache {
    dir: PathBuf,
    listings: Memory,
    advisories: Memory,
}

impl Cache {
    /// A cache whose files live in `dir` (created when first written).
    pub fn new(dir: &Path) -> Cache {
        Cache {
            dir: dir.to_path_buf(),
            listings: memory(MEMORY_BUDGET, EXPECTED_LISTINGS),
            advisories: memory(MEMORY_BUDGET / 8, EXPECTED_LISTINGS / 8),
        }
    }

    fn memory(&self, kind: Kind) -> &Memory {
        match kind {
            Kind::Listing => &self.listings,
            Kind::Advisories => &self.advisories,
        }
    }

    pub fn get(&self, kind: Kind, name: &str) -> Option<Entry> {
        self.memory(kind).get(name)
    }

    /// Keeps `entry` in memory; one larger than a shard's share of the budget is not
    /// kept, and read from disk each time.
    pub fn put(&self, kind: Kind, name: &str, entry: Entry) {
        self.memory(kind).insert(name.to_string(), entry);
    }

    /// Whether the mirror itself checked archive `sha256` against an upstream listing (or
    /// a bundle) and stored it. The blob store is shared with our own archives, so its
    /// having a sha256 proves nothing: an upstream listing the sha256 of one of our
    /// private archives (read off a leaked lockfile) must not get those bytes served
    /// under its name.
    pub fn is_verified(&self, sha256: &str) -> bool {
        self.verified_path(sha256).is_file()
    }

    /// Records that archive `sha256` was fetched (or imported) and checked.
    pub fn mark_verified(&self, sha256: &str) -> std::io::Result<()> {
        let path = self.verified_path(sha256);
        crate::store::create_private_dir(&self.dir)?;
        std::fs::create_dir_all(path.parent().expect("marker paths have a directory"))?;
        std::fs::write(path, b"")
    }

    fn verified_path(&self, sha256: &str) -> PathBuf {
        let fan = sha256.get(..2).unwrap_or("xx");
        self.dir.join("verified").join(fan).join(sha256)
    }

    /// Drops `name` from memory, so the next request reads it from disk.
    pub fn forget(&self, kind: Kind, name: &str) {
        self.memory(kind).remove(name);
    }

    fn path(&self, kind: Kind, name: &str) -> PathBuf {
        self.dir.join(kind.dir()).join(format!("{name}.json"))
    }

    /// The stored listing of `name`, if any. A file that does not parse, or that holds
    /// another name (case-insensitive file systems), counts as absent.
    pub fn read_listing(&self, name: &str) -> std::io::Result<Option<Mirrored>> {
        Ok(self
            .read(Kind::Listing, name)?
            .and_then(|bytes| serde_json::from_slice::<Mirrored>(&bytes).ok())
            .filter(|m| m.name == name))
    }

    pub fn write_listing(&self, package: &Mirrored, durable: bool) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(package).expect("a Mirrored always serializes");
        self.write(Kind::Listing, &package.name, &bytes, durable)
    }

    /// Stored advisories of `name` as `(fetched, body)`.
    pub fn read_advisories(&self, name: &str) -> std::io::Result<Option<(i64, Bytes)>> {
        let Some(bytes) = self.read(Kind::Advisories, name)? else {
            return Ok(None);
        };
        let stored: Option<StoredAdvisories> = serde_json::from_slice(&bytes).ok();
        Ok(stored
            .filter(|s| s.name == name)
            .map(|s| (s.fetched, Bytes::from(s.body))))
    }

    pub fn write_advisories(&self, name: &str, fetched: i64, body: &[u8]) -> std::io::Result<()> {
        let body = String::from_utf8(body.to_vec())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let stored = StoredAdvisories {
            name: name.to_string(),
            fetched,
            body,
        };
        let bytes = serde_json::to_vec(&stored).expect("advisories always serialize");
        self.write(Kind::Advisories, name, &bytes, false)
    }

    fn read(&self, kind: Kind, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        match std::fs::read(self.path(kind, name)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Writes a whole file: a temporary file, renamed into place. `durable` syncs it to
    /// disk first (imports, which may be all an offline registry ever gets); refreshes
    /// from the upstream skip that, since a lost refresh is fetched again.
    fn write(&self, kind: Kind, name: &str, bytes: &[u8], durable: bool) -> std::io::Result<()> {
        let path = self.path(kind, name);
        let dir = path.parent().expect("cache paths have a directory");
        crate::store::create_private_dir(&self.dir)?;
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(bytes)?;
        if durable {
            tmp.as_file().sync_all()?;
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        if durable {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct StoredAdvisories {
    name: String,
    fetched: i64,
    /// The upstream's JSON, as text.
    body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(name: &str) -> Mirrored {
        Mirrored {
            name: name.into(),
            fetched: 1,
            discontinued: false,
            replaced_by: None,
            advisories_updated: None,
            versions: Vec::new(),
        }
    }

    #[test]
    fn listings_round_trip_on_disk_and_a_file_of_another_name_is_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(&dir.path().join("mirror"));
        assert_eq!(cache.read_listing("http").unwrap(), None);
        cache.write_listing(&package("http"), true).unwrap();
        assert_eq!(cache.read_listing("http").unwrap(), Some(package("http")));
        // What a case-insensitive file system would hand back for `Http`.
        std::fs::copy(
            dir.path().join("mirror/listings/http.json"),
            dir.path().join("mirror/listings/Http.json"),
        )
        .unwrap();
        assert_eq!(cache.read_listing("Http").unwrap(), None);
        std::fs::write(dir.path().join("mirror/listings/meta.json"), b"{").unwrap();
        assert_eq!(
            cache.read_listing("meta").unwrap(),
            None,
            "unreadable is absent"
        );
    }

    #[test]
    fn verified_markers_are_per_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let sha = "ab".repeat(32);
        assert!(!cache.is_verified(&sha));
        cache.mark_verified(&sha).unwrap();
        assert!(cache.is_verified(&sha));
        assert!(!cache.is_verified(&"cd".repeat(32)));
    }

    #[test]
    fn memory_stays_within_its_budget() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let doc = |n: usize| {
            Entry::Found(Arc::new(Document {
                fetched: 0,
                base: "http://x/".into(),
                gzip: Bytes::from(vec![0u8; n]),
                archives: Box::new([]),
            }))
        };
        for i in 0..100 {
            cache.put(Kind::Listing, &format!("p{i}"), doc(256 << 10));
        }
        let memory = &cache.listings;
        assert!(memory.weight() <= MEMORY_BUDGET, "{}", memory.weight());
        assert!(memory.len() < 100 && !memory.is_empty());
        cache.put(Kind::Listing, "huge", doc(MEMORY_BUDGET as usize));
        assert!(
            cache.get(Kind::Listing, "huge").is_none(),
            "larger than the budget"
        );
        cache.put(Kind::Advisories, "p1", doc(10));
        assert!(cache.get(Kind::Advisories, "p1").is_some());
        cache.forget(Kind::Advisories, "p1");
        assert!(cache.get(Kind::Advisories, "p1").is_none());
    }
}
