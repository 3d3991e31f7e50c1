//! Archives the tests build: packages shaped like the ones `dart pub publish` uploads,
//! and raw tar records for the ones it never makes (to test refusals and the client's
//! extraction). Served archives are built by tagpub; this builds only what a client
//! would send.

use super::git::pubspec;
use flate2::{Compression, write::GzEncoder};
use std::io::Write;

/// A `.tar.gz` shaped like the one `dart pub publish` makes: regular files, mode 0644,
/// one fixed modification time.
pub fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(1_700_000_000);
        header.set_entry_type(tar::EntryType::Regular);
        builder
            .append_data(&mut header, path, *content)
            .expect("append to an in-memory tar");
    }
    builder
        .into_inner()
        .and_then(|gz| gz.finish())
        .expect("finish an in-memory tar.gz")
}

/// A small valid package: `pubspec.yaml`, `lib/main.dart` saying `// <name> <version>`
/// (and `salt`, which changes the bytes, not the version), `LICENSE`.
pub fn package_archive(name: &str, version: &str, salt: &str) -> Vec<u8> {
    let main = if salt.is_empty() {
        format!("// {name} {version}\n")
    } else {
        format!("// {name} {version} {salt}\n")
    };
    tar_gz(&[
        ("pubspec.yaml", pubspec(name, version).as_bytes()),
        ("lib/main.dart", main.as_bytes()),
        ("LICENSE", b"MIT"),
    ])
}

/// `bytes` gzipped, one member.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).expect("gzip in memory");
    encoder.finish().expect("gzip in memory")
}

/// A raw ustar header written byte by byte, for entries the `tar` crate refuses to
/// write (sizes it cannot hold, links out of the package); the data follows it.
pub fn raw_entry(name: &str, kind: u8, size: u64, link: &str) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    let size = format!("{size:011o}");
    // Eleven octal digits and a NUL, or twelve digits for sizes of 8 GiB and more.
    h[124..124 + size.len()].copy_from_slice(size.as_bytes());
    h[136..147].copy_from_slice(b"14540000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h.to_vec()
}

/// One tar entry for [`tar_bytes`]: raw name (written verbatim), type flag, mode, data.
pub struct Entry<'a>(pub &'a str, pub u8, pub u32, pub &'a [u8]);

/// An uncompressed tar of `entries` as given: names and type flags verbatim, so that
/// odd ones (`./x`, a NUL type, links) reach the reader unchanged.
pub fn tar_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for Entry(name, flag, mode, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.as_mut_bytes()[156] = *flag; // verbatim: EntryType writes NUL as b'0'
        header.set_mode(*mode);
        header.set_size(data.len() as u64);
        if *flag == b'2' {
            header
                .set_link_name("pubspec.yaml")
                .expect("a short link name");
        }
        header.set_cksum();
        builder
            .append(&header, *data)
            .expect("append to an in-memory tar");
    }
    builder.into_inner().expect("finish an in-memory tar")
}
