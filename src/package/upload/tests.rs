use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{Builder, EntryType, Header};

use super::*;

const PUBSPEC: &[u8] = b"name: foo\nversion: 1.0.0\n";

/// A tar stream under construction. `raw` writes names straight into the
/// header, bypassing the checks `tar::Builder` makes, as a hostile client would.
struct Tar(Builder<Vec<u8>>);

impl Tar {
    fn new() -> Self {
        Tar(Builder::new(Vec::new()))
    }

    /// The archive every test starts from: what `dart pub publish` would upload.
    fn package() -> Self {
        Tar::new()
            .dir("lib/")
            .file("lib/foo.dart", b"void main() {}\n")
            .file("pubspec.yaml", PUBSPEC)
    }

    fn file(mut self, path: &str, content: &[u8]) -> Self {
        let mut header = Header::new_gnu();
        header.set_mode(0o644);
        header.set_size(content.len() as u64);
        self.0.append_data(&mut header, path, content).unwrap();
        self
    }

    fn dir(mut self, path: &str) -> Self {
        let mut header = Header::new_gnu();
        header.set_entry_type(EntryType::Directory);
        header.set_mode(0o755);
        header.set_size(0);
        self.0.append_data(&mut header, path, &[][..]).unwrap();
        self
    }

    fn raw(self, name: &[u8], kind: EntryType, content: &[u8]) -> Self {
        let header = header(name, kind, content.len() as u64);
        self.header(&header, content)
    }

    fn header(mut self, header: &Header, content: &[u8]) -> Self {
        self.0.append(header, content).unwrap();
        self
    }

    fn pax(mut self, records: &[(&str, &[u8])]) -> Self {
        self.0
            .append_pax_extensions(records.iter().map(|&(k, v)| (k, v)))
            .unwrap();
        self
    }

    /// With the two zero blocks that end a tar archive.
    fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }

    /// Without them: a stream that simply stops.
    fn unfinished(self) -> Vec<u8> {
        self.0.get_ref().clone()
    }
}

fn header(name: &[u8], kind: EntryType, size: u64) -> Header {
    let mut header = Header::new_gnu();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_mode(0o644);
    header.set_size(size);
    header.set_cksum();
    header
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn check(tar: &[u8]) -> Result<Checked, Error> {
    check_archive(&gz(tar), &Limits::default())
}

fn check_with(tar: &[u8], limits: Limits) -> Result<Checked, Error> {
    check_archive(&gz(tar), &limits)
}

/// Asserts the check fails with the pattern, and hands back the error.
macro_rules! refused {
    ($result:expr, $pattern:pat) => {{
        match $result {
            Err(error @ $pattern) => error,
            other => panic!("expected {}, got {other:?}", stringify!($pattern)),
        }
    }};
}

#[test]
fn defaults_are_pub_devs() {
    let limits = Limits::default();
    assert_eq!(limits.max_compressed, 100 * 1024 * 1024);
    assert_eq!(limits.max_uncompressed, 256 * 1024 * 1024);
    assert_eq!(limits.max_files, 65_536);
    assert_eq!(limits.max_pubspec, 128 * 1024);
}

#[test]
fn good_archive_passes_and_returns_the_pubspec() {
    let tar = Tar::package().finish();
    let checked = check(&tar).unwrap();
    assert_eq!(checked.pubspec_yaml, PUBSPEC);
    assert_eq!(checked.files, 2);
    assert_eq!(checked.paths, ["lib/foo.dart", "pubspec.yaml"]);
    assert_eq!(checked.uncompressed_size, tar.len() as u64);
}

#[test]
fn dot_slash_names_and_a_root_entry_are_the_paths_pub_extracts() {
    // What `tar czf x.tar.gz .` in the package directory writes.
    let tar = Tar::new()
        .raw(b"./", EntryType::Directory, b"")
        .raw(b"./lib/", EntryType::Directory, b"")
        .raw(b"./lib//a.dart", EntryType::Regular, b"")
        .raw(b"./pubspec.yaml", EntryType::Regular, PUBSPEC)
        .finish();
    let checked = check(&tar).unwrap();
    assert_eq!(checked.paths, ["lib/a.dart", "pubspec.yaml"]);
    assert_eq!(checked.pubspec_yaml, PUBSPEC);
}

#[test]
fn stream_ending_between_entries_and_zero_padding_are_accepted() {
    check(&Tar::package().unfinished()).unwrap();
    let mut padded = Tar::package().finish();
    padded.resize(10 * 1024, 0);
    check(&padded).unwrap();
}

#[test]
fn long_names_unicode_names_and_pax_paths_are_read() {
    let long = format!("lib/{}.dart", "a".repeat(300));
    let tar = Tar::package()
        .file(&long, b"")
        .file("lib/ünïcödé.dart", b"")
        .pax(&[("path", b"lib/from_pax.dart"), ("mtime", b"1.5")])
        .raw(b"lib/short", EntryType::Regular, b"")
        .finish();
    let paths = check(&tar).unwrap().paths;
    assert_eq!(
        paths[2..],
        [long.as_str(), "lib/ünïcödé.dart", "lib/from_pax.dart"]
    );
}

#[test]
fn legacy_nul_type_with_trailing_slash_is_a_directory() {
    let mut dir = header(b"test/", EntryType::Regular, 0);
    dir.as_old_mut().linkflag = [0];
    dir.set_cksum();
    let tar = Tar::package()
        .header(&dir, b"")
        .file("test/a_test.dart", b"")
        .finish();
    assert_eq!(check(&tar).unwrap().files, 3);

    let tar = Tar::package()
        .raw(b"test/", EntryType::Regular, b"")
        .finish();
    refused!(check(&tar), Error::UnsupportedEntry { .. });
}

#[test]
fn pax_global_header_without_paths_is_ignored() {
    // `git archive` writes the commit id this way.
    let mut global = header(b"pax_global_header", EntryType::XGlobalHeader, 0);
    let record = b"52 comment=0123456789012345678901234567890123456789\n";
    global.set_size(record.len() as u64);
    global.set_cksum();
    let tar = Tar::new()
        .header(&global, record)
        .file("pubspec.yaml", PUBSPEC);
    check(&tar.finish()).unwrap();

    let record = b"21 path=pubspec.yaml\n";
    global.set_size(record.len() as u64);
    global.set_cksum();
    let tar = Tar::new()
        .header(&global, record)
        .file("pubspec.yaml", PUBSPEC);
    refused!(check(&tar.finish()), Error::TarStructure { .. });
}

// Sizes and gzip. Tar entries and paths have their own files.

mod entries;
mod paths;

#[test]
fn compressed_size_over_the_limit_is_refused_with_both_sizes() {
    let bytes = gz(&Tar::package().finish());
    let limits = Limits {
        max_compressed: 100,
        ..Limits::default()
    };
    let error = refused!(
        check_archive(&bytes, &limits),
        Error::CompressedTooLarge { .. }
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("is {} bytes", bytes.len())),
        "{message}"
    );
    assert!(message.contains("100 bytes limit"), "{message}");
}

#[test]
fn sizes_read_like_limits() {
    assert_eq!(Size(120 * MIB).to_string(), "120 MiB");
    assert_eq!(Size(10 * GIB).to_string(), "10 GiB");
    assert_eq!(Size(128 * KIB).to_string(), "128 KiB");
    assert_eq!(
        Size(100 * MIB + 1).to_string(),
        "100.0 MiB (104857601 bytes)"
    );
    assert_eq!(Size(1000).to_string(), "1000 bytes");
}

#[test]
fn not_gzip_is_refused() {
    let limits = Limits::default();
    refused!(check_archive(b"", &limits), Error::NotGzip { .. });
    refused!(check_archive(b"PK\x03\x04", &limits), Error::NotGzip { .. });
    // A plain tar, as if the client forgot to compress.
    refused!(
        check_archive(&Tar::package().finish(), &limits),
        Error::NotGzip { .. }
    );
}

#[test]
fn corrupt_gzip_is_refused() {
    let good = gz(&Tar::package().finish());
    let limits = Limits::default();

    // Deflate block type 3 is reserved: invalid from the first byte.
    let mut bad_block = good.clone();
    bad_block[10] = 0xff;
    refused!(
        check_archive(&bad_block, &limits),
        Error::CorruptGzip { .. }
    );

    let mut bad_crc = good.clone();
    let at = bad_crc.len() - 8;
    bad_crc[at] ^= 1;
    refused!(check_archive(&bad_crc, &limits), Error::CorruptGzip { .. });

    for cut in [3, 8, good.len() / 2] {
        let truncated = &good[..good.len() - cut];
        refused!(check_archive(truncated, &limits), Error::CorruptGzip { .. });
    }
}

#[test]
fn trailing_garbage_after_the_gzip_member_is_refused() {
    let mut bytes = gz(&Tar::package().finish());
    let end = bytes.len() as u64;
    bytes.extend_from_slice(b"garbage");
    let error = refused!(
        check_archive(&bytes, &Limits::default()),
        Error::TrailingBytes { .. }
    );
    assert!(matches!(error, Error::TrailingBytes { offset, count: 7 } if offset == end));
}

#[test]
fn second_gzip_member_is_refused() {
    let mut bytes = gz(&Tar::package().finish());
    let end = bytes.len() as u64;
    bytes.extend(gz(&Tar::new().file("lib/hidden.dart", b"").finish()));
    let error = refused!(
        check_archive(&bytes, &Limits::default()),
        Error::MultipleGzipMembers { .. }
    );
    assert!(matches!(error, Error::MultipleGzipMembers { offset } if offset == end));
}

#[test]
fn uncompressed_size_over_the_limit_is_refused_while_streaming() {
    let tar = Tar::package().finish();
    let limits = |max_uncompressed| Limits {
        max_uncompressed,
        ..Limits::default()
    };
    check_with(&tar, limits(tar.len() as u64)).unwrap();
    // Every declared size fits; the end-of-archive blocks do not.
    refused!(
        check_with(&tar, limits(tar.len() as u64 - 1)),
        Error::UncompressedTooLarge { .. }
    );
}

#[test]
fn gzip_bomb_is_refused_without_inflating_past_the_limit() {
    // A valid start, then 300 MiB of zeros: about 300 KiB compressed. Streamed
    // into the encoder so the test itself never holds it.
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&Tar::package().unfinished()).unwrap();
    let zeros = vec![0; 1024 * 1024];
    for _ in 0..300 {
        encoder.write_all(&zeros).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1024 * 1024, "{} bytes", bomb.len());

    let error = refused!(
        check_archive(&bomb, &Limits::default()),
        Error::UncompressedTooLarge { .. }
    );
    assert!(error.to_string().contains("more than 256 MiB"), "{error}");
}

#[test]
fn huge_declared_size_is_refused_before_reading() {
    let huge = header(b"lib/big.bin", EntryType::Regular, 10 * GIB);
    let tar = Tar::package().header(&huge, b"short body").finish();
    let error = refused!(check(&tar), Error::DeclaredSizeTooLarge { .. });
    let message = error.to_string();
    assert!(
        message.contains("\"lib/big.bin\" declares 10 GiB"),
        "{message}"
    );
    assert!(message.contains("256 MiB"), "{message}");
}
