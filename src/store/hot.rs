//! Archives kept in memory while they are in demand, so a popular download is a copy of
//! reference-counted bytes rather than a file read per request. Archives never change
//! (they are named by their sha256), so the cache needs no invalidation.
//!
//! Eviction is `quick_cache`'s (CLOCK-PRO, close to S3-FIFO): archives read again stay,
//! while a crawl that reads every archive once passes through without pushing them out.

use bytes::Bytes;
use quick_cache::sync::Cache;

/// At most this many bytes of archives are kept.
const BUDGET: u64 = 64 << 20;
/// Archives larger than this are always read from the store.
const LARGEST: usize = 8 << 20;
/// The cache splits its budget evenly between this many shards, and keeps no archive
/// larger than about a shard's share: four keep that share well above [`LARGEST`].
const SHARDS: usize = 4;
/// A guess at the number of archives the budget holds (a typical package is well under
/// 100 KiB), used to size the cache's table.
const EXPECTED_ARCHIVES: usize = 1024;

/// Recently and often served archives, by sha256, within [`BUDGET`] bytes.
pub struct HotArchives {
    cache: Cache<String, Bytes, BySize>,
}

/// Weighs an archive by its length.
#[derive(Clone)]
struct BySize;

impl quick_cache::Weighter<String, Bytes> for BySize {
    fn weight(&self, _sha256: &String, bytes: &Bytes) -> u64 {
        // Zero would pin an entry: an empty archive still counts.
        (bytes.len() as u64).max(1)
    }
}

impl Default for HotArchives {
    fn default() -> HotArchives {
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(EXPECTED_ARCHIVES)
            .weight_capacity(BUDGET)
            .shards(SHARDS)
            .build()
            .expect("both capacities are set");
        HotArchives {
            cache: Cache::with_options(options, BySize, Default::default(), Default::default()),
        }
    }
}

impl std::fmt::Debug for HotArchives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotArchives")
            .field("archives", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

impl HotArchives {
    pub fn get(&self, sha256: &str) -> Option<Bytes> {
        self.cache.get(sha256)
    }

    /// Keeps `bytes` (the archive named `sha256`) unless it is larger than [`LARGEST`].
    pub fn put(&self, sha256: &str, bytes: Bytes) {
        if bytes.len() > LARGEST {
            return;
        }
        self.cache.insert(sha256.to_string(), bytes);
    }

    /// Bytes held now.
    pub fn size(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_archives_within_the_budget() {
        let hot = HotArchives::default();
        let chunk = Bytes::from(vec![0u8; 4 << 20]);
        for i in 0..40 {
            hot.put(&format!("{i}"), chunk.clone());
            assert!(hot.size() <= BUDGET, "{} bytes held", hot.size());
        }
        assert!(hot.get("39").is_some(), "the newest is kept");
        hot.put("huge", Bytes::from(vec![0u8; LARGEST + 1]));
        assert!(hot.get("huge").is_none());
        hot.put("largest", Bytes::from(vec![0u8; LARGEST]));
        assert!(
            hot.get("largest").is_some(),
            "an archive of LARGEST bytes fits"
        );
    }

    /// Eviction by insertion order dropped the most downloaded archive as soon as enough
    /// others had been served once.
    #[test]
    fn an_archive_in_demand_outlives_archives_read_once() {
        let hot = HotArchives::default();
        let once = Bytes::from(vec![0u8; 1 << 20]);
        // The cache is full of archives read once before the popular one appears.
        for i in 0..100 {
            hot.put(&format!("before-{i}"), once.clone());
        }
        hot.put("popular", Bytes::from(vec![1u8; 1 << 20]));
        for i in 0..500 {
            // Clients resolving the popular package fetch it between the others.
            assert!(hot.get("popular").is_some(), "dropped after {i} others");
            hot.put(&format!("once-{i}"), once.clone());
            assert!(hot.size() <= BUDGET, "{} bytes held", hot.size());
        }
    }
}
