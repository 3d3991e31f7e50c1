//! Uploaded `.tar.gz` archives: the checks never panic, stay within their limits, and
//! whatever they accept has the properties the rest of tagpub relies on (relative,
//! unique, case-distinct paths; a UTF-8 root pubspec within its size limit).
//!
//! Input: one mode byte, then the data. Bit 0 set: the data is a tar stream, gzipped
//! here, so that the fuzzer explores tar structure rather than deflate. Bit 1 set: tight
//! limits, so that the size and count limits are reached with small inputs.
#![no_main]

use flate2::{Compression, write::GzEncoder};
use libfuzzer_sys::fuzz_target;
use std::collections::HashSet;
use std::io::Write;
use tagpub::package::{pubspec, upload};

fn gzip(tar: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(tar).expect("gzip into memory");
    encoder.finish().expect("gzip into memory")
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let bytes = if mode & 1 == 1 {
        gzip(rest)
    } else {
        rest.to_vec()
    };
    let limits = if mode & 2 == 2 {
        upload::Limits {
            max_compressed: 2048,
            max_uncompressed: 8192,
            max_files: 6,
            max_pubspec: 300,
        }
    } else {
        upload::Limits::default()
    };
    let checked = match upload::check_archive(&bytes, &limits) {
        Ok(checked) => checked,
        Err(error) => {
            // Every refusal is shown to the uploader: it must format.
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    assert!(bytes.len() as u64 <= limits.max_compressed);
    assert!(checked.uncompressed_size <= limits.max_uncompressed);
    assert!(checked.pubspec_yaml.len() <= limits.max_pubspec);
    assert!(std::str::from_utf8(&checked.pubspec_yaml).is_ok());
    assert_eq!(checked.files, checked.paths.len());
    assert!(checked.paths.len() <= limits.max_files);
    assert!(checked.paths.iter().any(|p| p == "pubspec.yaml"));
    let mut folded = HashSet::new();
    for path in &checked.paths {
        assert!(!path.is_empty() && !path.starts_with('/'), "{path:?}");
        assert!(!path.contains('\\') && !path.contains('\0'), "{path:?}");
        assert!(
            path.split('/').all(|part| !matches!(part, "" | "." | "..")),
            "{path:?} is not normalised"
        );
        assert!(folded.insert(path.to_lowercase()), "{path:?} twice");
    }
    // No file is also another file's directory.
    for path in &checked.paths {
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            assert!(!folded.contains(&parent.to_lowercase()), "{parent:?} clash");
            dir = parent;
        }
    }
    // Finalize parses the pubspec next; that must not panic either.
    let _ = pubspec::parse(&checked.pubspec_yaml);
});
