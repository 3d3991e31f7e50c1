//! Copying every archive of a data dir into another archive store (an S3 bucket), to move
//! an installation onto shared stores (docs/operations.md, "Archives on S3").
//!
//! Each archive is hashed before it is copied and the store's answer is checked against
//! that hash. Archives the destination already holds are skipped, so an interrupted copy
//! is resumed by running it again: a put is acknowledged only once the whole object is
//! stored, so no half-copied archive is ever taken for a copied one.

use super::{Blobs, Error, FileBlobs};
use sha2::{Digest, Sha256};

/// What a copy did, so far or in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Copied {
    /// Archives in the source.
    pub total: usize,
    /// Archives uploaded by this run.
    pub copied: usize,
    /// Archives the destination already held (from an earlier, interrupted run).
    pub present: usize,
    /// Bytes uploaded by this run.
    pub bytes: u64,
}

/// Copies every archive of `from` into `to`, verifying each sha256; `progress` is told
/// after each archive.
pub fn copy_blobs(
    from: &FileBlobs,
    to: &dyn Blobs,
    mut progress: impl FnMut(&Copied),
) -> Result<Copied, Error> {
    let all = from.sha256s()?;
    let mut done = Copied {
        total: all.len(),
        ..Copied::default()
    };
    for sha256 in &all {
        if to.contains(sha256) {
            done.present += 1;
        } else {
            let Some(bytes) = from.get(sha256)? else {
                return Err(Error::Blob {
                    doing: "copy",
                    path: from.path_of(sha256),
                    source: std::io::ErrorKind::NotFound.into(),
                });
            };
            if hex::encode(Sha256::digest(&bytes)) != *sha256 {
                return Err(Error::CorruptBlob {
                    sha256: sha256.clone(),
                });
            }
            let stored = to.put(&bytes)?;
            if stored != *sha256 {
                return Err(Error::CorruptBlob {
                    sha256: sha256.clone(),
                });
            }
            done.copied += 1;
            done.bytes += bytes.len() as u64;
        }
        progress(&done);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_every_archive_once_and_refuses_a_corrupt_one() {
        let dir = tempfile::tempdir().unwrap();
        let from = FileBlobs::open(&dir.path().join("from")).unwrap();
        let to = FileBlobs::open(&dir.path().join("to")).unwrap();
        let a = from.put(b"first archive").unwrap();
        let b = from.put(b"second archive").unwrap();
        // A temporary file left by an interrupted put is not an archive.
        std::fs::write(from.path_of(&a).with_file_name(".tmpXYZ"), b"junk").unwrap();

        let first = copy_blobs(&from, &to, |_| {}).unwrap();
        assert_eq!((first.total, first.copied, first.present), (2, 2, 0));
        assert_eq!(to.get(&a).unwrap().unwrap(), b"first archive");
        assert_eq!(to.get(&b).unwrap().unwrap(), b"second archive");
        let again = copy_blobs(&from, &to, |_| {}).unwrap();
        assert_eq!((again.copied, again.present, again.bytes), (0, 2, 0));

        let c = from.put(b"third archive").unwrap();
        std::fs::write(from.path_of(&c), b"altered on disk").unwrap();
        let refused = copy_blobs(&from, &to, |_| {}).unwrap_err();
        assert!(
            matches!(&refused, Error::CorruptBlob { sha256 } if *sha256 == c),
            "{refused}"
        );
        assert!(!to.contains(&c), "a corrupt archive is not copied");
    }
}
