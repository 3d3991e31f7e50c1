//! Version texts from tags and uploads: parsing never panics, `Display` gives the text
//! back, the canonical form parses to an equal version, and both orders are total
//! (antisymmetric, transitive, consistent with `==` and `Hash`).
//!
//! Input: up to three version texts separated by newlines (the third takes the rest).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use tagpub::package::version::{self, Version};

fn hash(v: &Version) -> u64 {
    let mut h = DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

fn check_one(text: &str) -> Option<Version> {
    let v = Version::parse(text).ok()?;
    assert_eq!(v.to_string(), text, "Display gives the parsed text back");
    assert_eq!(v.as_str(), text);
    let canonical = v.canonical();
    let c = Version::parse_canonical(&canonical)
        .unwrap_or_else(|e| panic!("canonical form {canonical:?} of {text:?} refused: {e}"));
    assert_eq!(c, v, "{canonical:?} and {text:?} differ");
    assert_eq!(c.canonical(), canonical, "canonical() is idempotent");
    assert_eq!(hash(&c), hash(&v));
    assert_eq!(v.is_canonical(), canonical == text);
    assert_eq!(Version::parse_canonical(text).is_ok(), v.is_canonical());
    assert_eq!(text.parse::<Version>().ok().as_ref(), Some(&v));
    assert_eq!(v.cmp(&v), Ordering::Equal);
    assert_eq!(v.cmp_priority(&v), Ordering::Equal);
    assert_eq!(
        (v.major(), v.minor(), v.patch()),
        (c.major(), c.minor(), c.patch())
    );
    Some(v)
}

fn check_pair(a: &Version, b: &Version) {
    for cmp in [Version::cmp, Version::cmp_priority] {
        assert_eq!(cmp(a, b), cmp(b, a).reverse(), "antisymmetry: {a} vs {b}");
    }
    assert_eq!(a == b, a.cmp(b) == Ordering::Equal);
    assert_eq!(a.partial_cmp(b), Some(a.cmp(b)));
    if a == b {
        assert_eq!(hash(a), hash(b), "{a} == {b} but their hashes differ");
        assert_eq!(a.cmp_priority(b), Ordering::Equal);
        assert_eq!(a.canonical(), b.canonical());
    }
    // Priority only moves pre-releases below releases.
    if a.is_prerelease() == b.is_prerelease() {
        assert_eq!(a.cmp_priority(b), a.cmp(b));
    }
}

fn check_triple(a: &Version, b: &Version, c: &Version) {
    for cmp in [Version::cmp, Version::cmp_priority] {
        let (ab, bc, ac) = (cmp(a, b), cmp(b, c), cmp(a, c));
        if ab != Ordering::Greater && bc != Ordering::Greater {
            assert_ne!(ac, Ordering::Greater, "transitivity: {a} <= {b} <= {c}");
        }
        if ab == Ordering::Equal && bc == Ordering::Equal {
            assert_eq!(ac, Ordering::Equal);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let versions: Vec<Version> = text.splitn(3, '\n').filter_map(check_one).collect();
    for a in &versions {
        for b in &versions {
            check_pair(a, b);
            for c in &versions {
                check_triple(a, b, c);
            }
        }
    }
    // `latest`: the first version retracted, the rest live.
    let flagged = versions.iter().enumerate().map(|(i, v)| (v, i == 0));
    match version::latest(flagged) {
        None => assert!(versions.is_empty()),
        Some(latest) => {
            let live: Vec<&Version> = versions.iter().skip(1).collect();
            let pool: Vec<&Version> = if live.is_empty() {
                versions.iter().collect()
            } else {
                live
            };
            assert!(pool.iter().any(|v| std::ptr::eq(*v, latest)));
            for v in pool {
                assert_ne!(v.cmp_priority(latest), Ordering::Greater);
            }
        }
    }
});
