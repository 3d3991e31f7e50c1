//! Checks an uploaded package archive before anything is stored: size limits,
//! gzip and tar well-formedness, entry kinds and paths, and a root `pubspec.yaml`
//! (docs/protocol.md §4, §5.5).
//!
//! `dart pub publish` validates on the client, but `--skip-validation` and
//! `--from-archive` skip that (§5.7), so nothing the client checked is trusted
//! here. The check is pure: it reads `bytes` and never writes anywhere, so a refused
//! upload cannot harm what is stored, and an accepted one is stored byte for byte.
//!
//! Memory stays bounded whatever the upload claims: decompression stops one byte
//! past [`Limits::max_uncompressed`], declared entry sizes are checked against the
//! limit before anything is read, and besides the paths (at most
//! [`Limits::max_files`] of them) only `pubspec.yaml` and one tar metadata record
//! (at most 2 KiB) at a time are held in memory.

mod entries;
mod paths;

use std::fmt;
use std::io::{self, Read};

use flate2::bufread::GzDecoder;

/// Every gzip member starts with these two bytes (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// What an upload may weigh. The defaults are pub.dev's (§4, §5.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the `.tar.gz` as uploaded.
    pub max_compressed: u64,
    /// Bytes of the decompressed tar stream, headers and padding included.
    pub max_uncompressed: u64,
    /// Distinct paths, files and directories alike, counting directories that
    /// file paths imply even without an entry of their own.
    pub max_files: usize,
    /// Bytes of `pubspec.yaml`.
    pub max_pubspec: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_compressed: 100 * MIB,
            max_uncompressed: 256 * MIB,
            max_files: 65_536,
            max_pubspec: 128 * 1024,
        }
    }
}

/// What a successful check learnt about the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The root `pubspec.yaml`, exactly as archived and known to be UTF-8; parse
    /// it with `package::pubspec::parse`.
    pub pubspec_yaml: Vec<u8>,
    /// How many regular files the archive holds.
    pub files: usize,
    /// Bytes of the decompressed tar stream.
    pub uncompressed_size: u64,
    /// The regular files' paths in archive order, normalised the way pub
    /// extracts them (`./lib/a.dart` becomes `lib/a.dart`).
    pub paths: Vec<String>,
}

/// Why an upload is refused. Each message names the rule, the offending path or
/// size, and how to fix it, because it is shown to whoever ran `dart pub publish`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "the archive is {}, over the registry's {} limit; make the package smaller, e.g. exclude build output, large assets or test data with a .pubignore file",
        Size(*.size), Size(*.limit)
    )]
    CompressedTooLarge { size: u64, limit: u64 },
    #[error(
        "the upload is not a gzip file ({reason}); upload the .tar.gz archive that `dart pub publish` creates"
    )]
    NotGzip { reason: &'static str },
    #[error(
        "the gzip data is damaged ({source}); the archive was probably cut short or altered, so create it again and re-upload it"
    )]
    CorruptGzip {
        #[source]
        source: io::Error,
    },
    #[error(
        "a second gzip member starts at byte {offset}; pub reads only the first, so compress the tar file as a single gzip stream (as `dart pub publish` and `gzip` do)"
    )]
    MultipleGzipMembers { offset: u64 },
    #[error(
        "{count} bytes of unexpected data follow the gzip stream at byte {offset}; upload the archive exactly as it was written, without anything appended"
    )]
    TrailingBytes { offset: u64, count: u64 },
    #[error(
        "the archive unpacks to more than {}, the registry's limit; make the package smaller, e.g. exclude build output, large assets or test data with a .pubignore file",
        Size(*.limit)
    )]
    UncompressedTooLarge { limit: u64 },
    #[error(
        "tar entry {path:?} declares {}, which does not fit in the registry's {} limit for the unpacked archive; remove the file or exclude it with a .pubignore file",
        Size(*.declared), Size(*.limit)
    )]
    DeclaredSizeTooLarge {
        path: String,
        declared: u64,
        limit: u64,
    },
    #[error(
        "the tar data is malformed near byte {offset} of the unpacked archive ({source}); create the archive again with `dart pub publish` or a standard tar tool"
    )]
    TarRead {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "the tar data is malformed near byte {offset} of the unpacked archive: {problem}; create the archive again with `dart pub publish` or a standard tar tool"
    )]
    TarStructure { offset: u64, problem: &'static str },
    #[error(
        "non-zero data follows the end of the tar archive at byte {offset} of the unpacked archive; remove it: a package archive ends with the tar end-of-archive blocks"
    )]
    TrailingTarData { offset: u64 },
    #[error(
        "a {record} of {size} bytes precedes the entry at byte {offset}, over the {limit} bytes dart pub reads; shorten the path"
    )]
    MetadataTooLarge {
        record: &'static str,
        offset: u64,
        size: u64,
        limit: u64,
    },
    #[error(
        "{path:?} is a {kind}; a package archive holds only regular files and directories, so {fix}"
    )]
    UnsupportedEntry {
        path: String,
        kind: String,
        fix: &'static str,
    },
    #[error(
        "a file name in the archive is not UTF-8 ({path:?} with invalid bytes replaced); pub reads names as UTF-8, so rename the file"
    )]
    PathNotUtf8 { path: String },
    #[error("{path:?} contains {character}; rename the file")]
    ForbiddenCharacter {
        path: String,
        character: &'static str,
    },
    #[error(
        "{path:?} is an absolute path; archive paths must be relative to the package root, like lib/main.dart"
    )]
    AbsolutePath { path: String },
    #[error(
        "{path:?} has a `..` component, which could write outside the package; use a plain path relative to the package root, like lib/main.dart"
    )]
    EscapingPath { path: String },
    #[error(
        "the archive has a file entry named {path:?}, which names no file; give it a path relative to the package root, like lib/main.dart"
    )]
    EmptyPath { path: String },
    #[error(
        "{path:?} appears twice in the archive (`./x`, `x/` and `x` are the same path); keep one entry per path"
    )]
    DuplicatePath { path: String },
    #[error("{path:?} is both a file and a directory in the archive; rename one of them")]
    FileDirectoryClash { path: String },
    #[error(
        "{first:?} and {second:?} differ only in letter case, so they clash on case-insensitive file systems (Windows, macOS); rename one of them"
    )]
    CaseCollision { first: String, second: String },
    #[error(
        "the archive has more than {limit} files and directories, the registry's limit; exclude what the package does not need with a .pubignore file"
    )]
    TooManyFiles { limit: usize },
    #[error(
        "the archive has no pubspec.yaml at its root; pack the package directory's contents, not the directory itself (as `dart pub publish` does)"
    )]
    MissingPubspec,
    #[error(
        "pubspec.yaml is {}, over the registry's {} limit; move long text such as the description's details to README.md",
        Size(*.size), Size(*.limit)
    )]
    PubspecTooLarge { size: u64, limit: u64 },
    #[error(
        "pubspec.yaml is not UTF-8 (invalid byte at offset {offset}); pub reads it as UTF-8, so save it in that encoding"
    )]
    PubspecNotUtf8 {
        offset: usize,
        #[source]
        source: std::str::Utf8Error,
    },
}

/// Checks an uploaded `.tar.gz` against `limits` and the rules of this module,
/// returning its root `pubspec.yaml`. Refuses anything `dart pub` might extract
/// differently from what was checked: see [`Error`] for every rule.
pub fn check_archive(bytes: &[u8], limits: &Limits) -> Result<Checked, Error> {
    let size = bytes.len() as u64;
    if size > limits.max_compressed {
        return Err(Error::CompressedTooLarge {
            size,
            limit: limits.max_compressed,
        });
    }
    if bytes.is_empty() {
        return Err(Error::NotGzip {
            reason: "it is empty",
        });
    }
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Err(Error::NotGzip {
            reason: "it does not start with the gzip signature 1f 8b",
        });
    }

    let mut inflated = Inflated::new(bytes, limits.max_uncompressed);
    let walked = entries::walk(&mut tar::Archive::new(&mut inflated), limits);
    let walked = walked.map_err(|error| inflated.explain(error))?;
    inflated.expect_zeros()?;
    let uncompressed_size = inflated.read;
    inflated.expect_single_member(size)?;

    let pubspec_yaml = walked.pubspec.ok_or(Error::MissingPubspec)?;
    Ok(Checked {
        pubspec_yaml,
        files: walked.paths.len(),
        uncompressed_size,
        paths: walked.paths,
    })
}

/// The decompressed tar stream, cut off one byte past the limit.
///
/// Errors it returns reach this module through the `tar` crate as plain
/// `io::Error`s, so it remembers what really happened for [`Inflated::explain`].
struct Inflated<'a> {
    decoder: GzDecoder<&'a [u8]>,
    read: u64,
    limit: u64,
    failure: Option<Failure>,
}

enum Failure {
    TooLarge,
    Gzip(io::Error),
}

impl<'a> Inflated<'a> {
    fn new(bytes: &'a [u8], limit: u64) -> Self {
        Inflated {
            // The `bufread` decoder reads exactly one member and consumes nothing
            // past it, so what is left of the slice afterwards is trailing data.
            decoder: GzDecoder::new(bytes),
            read: 0,
            limit,
            failure: None,
        }
    }

    /// Replaces `error` by the decompression failure that caused it, if any.
    fn explain(&mut self, error: Error) -> Error {
        match self.failure.take() {
            Some(Failure::TooLarge) => Error::UncompressedTooLarge { limit: self.limit },
            Some(Failure::Gzip(source)) => Error::CorruptGzip { source },
            None => error,
        }
    }

    /// Reads what follows the tar end-of-archive block to the end of the gzip
    /// member. pub.dev refuses trailing data (§4); zeros are the padding tar tools
    /// write to fill a record.
    fn expect_zeros(&mut self) -> Result<(), Error> {
        let mut buf = [0; 8 * 1024];
        loop {
            let at = self.read;
            match self.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    if let Some(i) = buf[..n].iter().position(|&b| b != 0) {
                        return Err(Error::TrailingTarData {
                            offset: at + i as u64,
                        });
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(self.explain(Error::CorruptGzip { source })),
            }
        }
    }

    /// Refuses bytes after the gzip member. dart:io decodes only the first member
    /// of a concatenation (§4), so a second one would be stored but never read.
    fn expect_single_member(self, total: u64) -> Result<(), Error> {
        let rest = self.decoder.into_inner();
        if rest.is_empty() {
            return Ok(());
        }
        let count = rest.len() as u64;
        let offset = total - count;
        if rest.starts_with(&GZIP_MAGIC) {
            Err(Error::MultipleGzipMembers { offset })
        } else {
            Err(Error::TrailingBytes { offset, count })
        }
    }
}

impl Read for Inflated<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failure.is_some() {
            return Err(io::Error::other("the archive was already refused"));
        }
        // One byte past the limit is enough to know the stream is too large, and
        // never more is inflated: a gzip bomb costs no more than the limit.
        let room = self.limit.saturating_add(1).saturating_sub(self.read);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        match self.decoder.read(&mut buf[..want]) {
            Ok(n) => {
                self.read += n as u64;
                if self.read > self.limit {
                    self.failure = Some(Failure::TooLarge);
                    return Err(io::Error::other("over the uncompressed size limit"));
                }
                Ok(n)
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => Err(error),
            Err(error) => {
                self.failure = Some(Failure::Gzip(error));
                Err(io::Error::other("the gzip data is damaged"))
            }
        }
    }
}

/// A byte count written the way limits are ("100 MiB"), exact when it is not round.
struct Size(u64);

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0;
        for (unit, name) in [(GIB, "GiB"), (MIB, "MiB"), (KIB, "KiB")] {
            if bytes >= unit {
                if bytes.is_multiple_of(unit) {
                    return write!(f, "{} {name}", bytes / unit);
                }
                // Display only: the exact count follows.
                let approx = bytes as f64 / unit as f64;
                return write!(f, "{approx:.1} {name} ({bytes} bytes)");
            }
        }
        write!(f, "{bytes} bytes")
    }
}

#[cfg(test)]
mod tests;
