//! Recently served archives kept in memory, so a popular download is a copy of
//! reference-counted bytes rather than a file read per request. Archives never change
//! (they are named by their sha256), so the cache needs no invalidation.

use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// At most this many bytes of archives are kept; the oldest go first.
const BUDGET: usize = 64 << 20;
/// Archives larger than this are always read from the store.
const LARGEST: usize = 8 << 20;

#[derive(Debug, Default)]
pub struct HotArchives {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    bytes: HashMap<String, Bytes>,
    order: VecDeque<String>,
    size: usize,
}

impl HotArchives {
    pub fn get(&self, sha256: &str) -> Option<Bytes> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.bytes.get(sha256).cloned()
    }

    pub fn put(&self, sha256: &str, bytes: Bytes) {
        if bytes.len() > LARGEST {
            return;
        }
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.bytes.contains_key(sha256) {
            return;
        }
        inner.size += bytes.len();
        inner.bytes.insert(sha256.to_string(), bytes);
        inner.order.push_back(sha256.to_string());
        while inner.size > BUDGET {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(b) = inner.bytes.remove(&oldest) {
                inner.size -= b.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_recent_archives_within_the_budget() {
        let hot = HotArchives::default();
        let chunk = Bytes::from(vec![0u8; 4 << 20]);
        for i in 0..20 {
            hot.put(&format!("{i}"), chunk.clone());
        }
        assert!(hot.get("0").is_none(), "the oldest were dropped");
        assert!(hot.get("19").is_some());
        let inner = hot.inner.lock().unwrap();
        assert!(inner.size <= BUDGET);
        drop(inner);
        hot.put("huge", Bytes::from(vec![0u8; LARGEST + 1]));
        assert!(hot.get("huge").is_none());
    }
}
