//! A short-lived cache of token lookups, so that an authenticated read is a hash and a
//! map lookup instead of a database query.
//!
//! Entries live one second: a token revoked over HTTP is dropped from the cache at once
//! (the handler clears it); one revoked with `tagpub token revoke` on the same data dir,
//! from another process, stops working within that second.

use crate::store::TokenRecord;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const TTL: Duration = Duration::from_secs(1);
/// Unknown tokens are cached too (a client retrying a bad token must not reach the
/// database each time); the cache is emptied when it reaches this size.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct TokenCache {
    entries: Mutex<HashMap<String, (Option<TokenRecord>, Instant)>>,
}

impl TokenCache {
    /// The cached lookup of `hash`: `Some(None)` for a token known not to exist.
    pub fn get(&self, hash: &str) -> Option<Option<TokenRecord>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(record, _)| record.clone())
    }

    pub fn put(&self, hash: &str, record: Option<TokenRecord>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(hash.to_string(), (record, Instant::now()));
    }

    /// Forgets everything, after a revocation.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}
