//! Plain (not gzip-encoded) forms of listings, for clients that do not send
//! `Accept-Encoding: gzip` (curl, scripts): decoded once and kept while in demand, within
//! a byte budget, so that such a client costs a copy of reference-counted bytes rather
//! than a gunzip per request (docs/architecture.md, "The index").
//!
//! Entries are keyed by package name and hold the gzip body they were decoded from: an
//! entry whose gzip body is not the one now served (a new index generation rendered
//! the listing again) is decoded anew. Eviction is `quick_cache`'s, as for archives in
//! `store::hot`.

use super::Body;
use bytes::Bytes;
use quick_cache::sync::Cache;

/// At most this many bytes of plain bodies are kept: a listing of 20 versions is about
/// 12 KB plain, so this keeps about 2,500 of them.
const BUDGET: u64 = 32 << 20;
/// Plain bodies larger than this are decoded per request.
const LARGEST: usize = 4 << 20;
const EXPECTED_BODIES: usize = 2048;
const SHARDS: usize = 4;

/// The plain forms of recently requested bodies, by name.
pub struct PlainBodies {
    cache: Cache<String, (Bytes, Bytes), ByPlainSize>,
}

/// Weighs an entry by its plain bytes: the gzip bytes it holds are the index's.
#[derive(Clone)]
struct ByPlainSize;

impl quick_cache::Weighter<String, (Bytes, Bytes)> for ByPlainSize {
    fn weight(&self, _name: &String, (_, plain): &(Bytes, Bytes)) -> u64 {
        (plain.len() as u64).max(1)
    }
}

impl Default for PlainBodies {
    fn default() -> PlainBodies {
        let options = quick_cache::OptionsBuilder::new()
            .estimated_items_capacity(EXPECTED_BODIES)
            .weight_capacity(BUDGET)
            .shards(SHARDS)
            .build()
            .expect("both capacities are set");
        PlainBodies {
            cache: Cache::with_options(
                options,
                ByPlainSize,
                Default::default(),
                Default::default(),
            ),
        }
    }
}

impl std::fmt::Debug for PlainBodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainBodies")
            .field("bodies", &self.cache.len())
            .field("bytes", &self.cache.weight())
            .finish()
    }
}

impl PlainBodies {
    /// The plain form of `body`, the body now served under `name`.
    pub fn get(&self, name: &str, body: &Body) -> Bytes {
        if let Some((gzip, plain)) = self.cache.get(name)
            && same_bytes(&gzip, &body.gzip)
        {
            return plain;
        }
        let plain = Bytes::from(body.plain());
        if plain.len() <= LARGEST {
            self.cache
                .insert(name.to_string(), (body.gzip.clone(), plain.clone()));
        }
        plain
    }
}

/// Whether both are views of the same allocation: the entry holds its gzip bytes, so
/// their memory cannot be reused by another body while the entry lives.
fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    a.as_ptr() == b.as_ptr() && a.len() == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(text: &str) -> Body {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(text.as_bytes()).unwrap();
        Body {
            gzip: enc.finish().unwrap().into(),
        }
    }

    #[test]
    fn a_new_body_under_the_same_name_is_decoded_anew() {
        let plain = PlainBodies::default();
        let first = gzip(r#"{"name":"a","versions":[1]}"#);
        assert_eq!(
            plain.get("a", &first),
            &br#"{"name":"a","versions":[1]}"#[..]
        );
        assert_eq!(
            plain.get("a", &first),
            &br#"{"name":"a","versions":[1]}"#[..]
        );
        // Same length, other bytes: what a re-render after a config change could be.
        let second = gzip(r#"{"name":"a","versions":[2]}"#);
        assert_eq!(
            plain.get("a", &second),
            &br#"{"name":"a","versions":[2]}"#[..]
        );
        assert_eq!(
            plain.get("a", &first),
            &br#"{"name":"a","versions":[1]}"#[..]
        );
    }
}
