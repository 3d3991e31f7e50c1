use std::io::Read;

use flate2::read::{GzDecoder, MultiGzDecoder};

use super::*;

const MTIME: u64 = 1_700_000_000;

fn file(path: &str, content: &str) -> ArchiveFile {
    ArchiveFile {
        path: path.into(),
        executable: false,
        content: content.into(),
    }
}

fn sample() -> Vec<ArchiveFile> {
    vec![
        file("pubspec.yaml", "name: foo\nversion: 1.0.0\n"),
        file("lib/foo.dart", "void main() {}\n"),
        file("lib/src/a.dart", "// a\n"),
        ArchiveFile {
            executable: true,
            ..file("tool/run.sh", "#!/bin/sh\n")
        },
        file("lib-extra.txt", "sorts between lib/ and lib/foo.dart\n"),
    ]
}

/// (name, entry type, mode, uid, gid, user, group, mtime, content) per entry.
type Listed = (
    String,
    tar::EntryType,
    u32,
    u64,
    u64,
    String,
    String,
    u64,
    Vec<u8>,
);

fn list(gz: &[u8]) -> Vec<Listed> {
    let mut archive = tar::Archive::new(GzDecoder::new(gz));
    let mut out = Vec::new();
    for entry in archive.entries().expect("readable tar") {
        let mut entry = entry.expect("readable entry");
        let h = entry.header().clone();
        let name = String::from_utf8(entry.path_bytes().into_owned()).expect("utf-8 name");
        let mut content = Vec::new();
        entry.read_to_end(&mut content).expect("readable content");
        out.push((
            name,
            h.entry_type(),
            h.mode().expect("mode"),
            h.uid().expect("uid"),
            h.gid().expect("gid"),
            h.username().expect("utf-8").expect("user").to_owned(),
            h.groupname().expect("utf-8").expect("group").to_owned(),
            h.mtime().expect("mtime"),
            content,
        ));
    }
    out
}

#[test]
fn same_input_in_any_order_gives_identical_bytes() {
    let a = build(sample(), MTIME).expect("builds");
    let mut reversed = sample();
    reversed.reverse();
    assert_eq!(a, build(reversed, MTIME).expect("builds"));
    assert_ne!(
        a,
        build(sample(), MTIME + 1).expect("builds"),
        "mtime is in the bytes"
    );
}

#[test]
fn is_a_single_gzip_member_with_a_fixed_header() {
    let gz = build(sample(), MTIME).expect("builds");
    let (mut first, mut all) = (Vec::new(), Vec::new());
    GzDecoder::new(&gz[..])
        .read_to_end(&mut first)
        .expect("gunzip");
    MultiGzDecoder::new(&gz[..])
        .read_to_end(&mut all)
        .expect("gunzip all");
    assert_eq!(
        first, all,
        "a second member would only show up in MultiGzDecoder"
    );
    assert_eq!(gz[3], 0, "no FNAME, FEXTRA or FCOMMENT flag");
    assert_eq!(&gz[4..8], &[0, 0, 0, 0], "gzip mtime is 0");
    assert_eq!(gz[9], GZIP_OS_UNKNOWN);
}

#[test]
fn lists_sorted_entries_with_directories_first_and_pub_metadata() {
    let listed = list(&build(sample(), MTIME).expect("builds"));
    let names: Vec<_> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "lib-extra.txt",
            "lib/",
            "lib/foo.dart",
            "lib/src/",
            "lib/src/a.dart",
            "pubspec.yaml",
            "tool/",
            "tool/run.sh"
        ]
    );
    for (name, kind, mode, uid, gid, user, group, mtime, _) in &listed {
        let (want_kind, want_mode) = match name.as_str() {
            n if n.ends_with('/') => (tar::EntryType::Directory, 0o755),
            "tool/run.sh" => (tar::EntryType::Regular, 0o755),
            _ => (tar::EntryType::Regular, 0o644),
        };
        assert_eq!((*kind, *mode), (want_kind, want_mode), "{name}");
        assert_eq!(
            (*uid, *gid, user.as_str(), group.as_str()),
            (0, 0, "pub", "pub")
        );
        assert_eq!(*mtime, MTIME, "{name}");
    }
    let pubspec = listed
        .iter()
        .find(|e| e.0 == "pubspec.yaml")
        .expect("at root");
    assert_eq!(pubspec.8, b"name: foo\nversion: 1.0.0\n");
}

#[test]
fn long_names_round_trip_up_to_the_client_limit() {
    let deep = format!("lib/{}/x.dart", "d".repeat(150));
    let longest = format!("lib/{}", "n".repeat(MAX_LONG_NAME_RECORD - 1 - 4));
    let mut files = sample();
    files.push(file(&deep, "deep"));
    files.push(file(&longest, "longest"));
    let listed = list(&build(files, MTIME).expect("builds"));
    let deep_dir = format!("lib/{}/", "d".repeat(150));
    for name in [&deep, &longest, &deep_dir] {
        assert!(listed.iter().any(|e| &e.0 == name), "{name} missing");
    }

    let too_long = format!("lib/{}", "n".repeat(MAX_LONG_NAME_RECORD - 4));
    let mut files = sample();
    files.push(file(&too_long, ""));
    assert!(matches!(
        build(files, MTIME),
        Err(Error::PathTooLong { len: 2048, .. })
    ));
}

#[test]
fn refuses_duplicates_clashes_bad_paths_and_no_pubspec() {
    let with = |extra: ArchiveFile| {
        let mut files = sample();
        files.push(extra);
        build(files, MTIME)
    };
    assert!(matches!(
        with(file("lib/foo.dart", "")),
        Err(Error::DuplicatePath { .. })
    ));
    assert!(matches!(
        with(file("lib/foo.dart/x", "")),
        Err(Error::FileDirectoryClash { .. })
    ));
    for bad in [
        "",
        "/etc/passwd",
        "a//b",
        "a/",
        "./a",
        "a/../b",
        "..",
        "a\0b",
    ] {
        let result = with(file(bad, ""));
        assert!(
            matches!(result, Err(Error::InvalidPath { .. })),
            "{bad:?}: {result:?}"
        );
    }
    let no_pubspec = vec![file("lib/foo.dart", "")];
    assert!(matches!(
        build(no_pubspec, MTIME),
        Err(Error::MissingPubspec)
    ));
}

/// Golden bytes: a dependency upgrade (tar, flate2, its deflate backend) or an
/// edit here that changes the archive bytes would break the lockfiles of every
/// client of every version already served (docs/protocol.md §3.3). If this fails, make the old
/// bytes come back; never update the hash.
#[test]
fn golden_archive_bytes_never_change() {
    // Its own input, so that editing `sample()` cannot move the golden hash.
    let files = vec![
        file("pubspec.yaml", "name: golden\nversion: 1.0.0\n"),
        file("lib/golden.dart", "const answer = 42;\n"),
        ArchiveFile {
            executable: true,
            ..file("bin/golden.sh", "#!/bin/sh\necho 42\n")
        },
        file(&format!("lib/{}.dart", "long".repeat(30)), "// long name\n"),
    ];
    let gz = build(files, 1_600_000_000).expect("builds");
    assert_eq!(
        sha256_hex(&gz),
        "b28df17ad62791031f33a0a1179b4680395eb09c094406bed2cc4477cca21e16"
    );
}

#[test]
fn sha256_hex_is_lowercase_hex() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
