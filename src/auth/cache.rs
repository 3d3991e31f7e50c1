//! A cache of token lookups, so that an authenticated read is a hash and a map lookup
//! instead of a database query.
//!
//! It is only as fresh as the database: each request first reads the database's change
//! counter ([`crate::store::Changes`]) and the cache is emptied when anyone (another
//! process such as `tagpub token revoke` included) committed since. A revoked token is
//! refused on the very next request.

use crate::store::TokenRecord;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A bound on staleness should a change go unnoticed (a database file replaced under a
/// running daemon).
const TTL: Duration = Duration::from_secs(1);
/// Unknown tokens are cached too (a client retrying a bad token must not reach the
/// database each time); the cache is emptied when it reaches this size.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Default)]
pub struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<String, (Option<TokenRecord>, Instant)>,
    /// The change counter the entries are valid for.
    counter: Option<i64>,
}

impl TokenCache {
    /// Empties the cache unless `counter` (the database's change counter, `None` when
    /// it could not be read) is the one the entries were cached under.
    pub fn check_changes(&self, counter: Option<i64>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if counter.is_none() || inner.counter != counter {
            inner.entries.clear();
            inner.counter = counter;
        }
    }

    /// The cached lookup of `hash`: `Some(None)` for a token known not to exist.
    pub fn get(&self, hash: &str) -> Option<Option<TokenRecord>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .entries
            .get(hash)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(record, _)| record.clone())
    }

    pub fn put(&self, hash: &str, record: Option<TokenRecord>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner
            .entries
            .insert(hash.to_string(), (record, Instant::now()));
    }

    /// Forgets everything, after a revocation.
    pub fn clear(&self) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entries
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_the_counter_empties_the_cache() {
        let cache = TokenCache::default();
        cache.check_changes(Some(1));
        cache.put("h", None);
        cache.check_changes(Some(1));
        assert_eq!(cache.get("h"), Some(None), "nothing changed");
        cache.check_changes(Some(2));
        assert_eq!(cache.get("h"), None);
        cache.put("h", None);
        cache.check_changes(None);
        assert_eq!(cache.get("h"), None, "an unknown counter trusts nothing");
    }
}
