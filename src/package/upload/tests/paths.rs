//! Paths as pub extracts them, and the root pubspec.

use tar::EntryType;

use super::*;

#[test]
fn escaping_paths_are_refused() {
    for name in [
        &b"../evil.dart"[..],
        b"lib/../../evil.dart",
        b"lib/../pubspec.yaml",
    ] {
        let tar = Tar::package().raw(name, EntryType::Regular, b"").finish();
        let error = refused!(check(&tar), Error::EscapingPath { .. });
        assert!(error.to_string().contains("`..`"), "{error}");
    }
    // Through a long name, where a path has no length limit to hide behind.
    let long = format!("{}/../../../../etc/x", "a/".repeat(60));
    let mut body = long.into_bytes();
    body.push(0);
    let record = header(b"././@LongLink", EntryType::GNULongName, body.len() as u64);
    let tar = Tar::package()
        .header(&record, &body)
        .raw(b"x", EntryType::Regular, b"")
        .finish();
    refused!(check(&tar), Error::EscapingPath { .. });
}

#[test]
fn absolute_paths_are_refused() {
    let tar = Tar::package()
        .raw(b"/etc/passwd", EntryType::Regular, b"")
        .finish();
    refused!(check(&tar), Error::AbsolutePath { .. });

    let tar = Tar::package()
        .pax(&[("path", b"/tmp/x")])
        .raw(b"x", EntryType::Regular, b"")
        .finish();
    refused!(check(&tar), Error::AbsolutePath { .. });
}

#[test]
fn nul_backslash_and_non_utf8_names_are_refused() {
    let tar = Tar::package()
        .raw(b"lib\\evil.dart", EntryType::Regular, b"")
        .finish();
    let error = refused!(check(&tar), Error::ForbiddenCharacter { .. });
    assert!(error.to_string().contains("backslash"), "{error}");

    let body = b"lib/a\0b.dart\0";
    let record = header(b"././@LongLink", EntryType::GNULongName, body.len() as u64);
    let tar = Tar::package()
        .header(&record, body)
        .raw(b"x", EntryType::Regular, b"")
        .finish();
    let error = refused!(check(&tar), Error::ForbiddenCharacter { .. });
    assert!(error.to_string().contains("NUL"), "{error}");

    let tar = Tar::package()
        .raw(b"lib/\xff.dart", EntryType::Regular, b"")
        .finish();
    refused!(check(&tar), Error::PathNotUtf8 { .. });
}

#[test]
fn root_is_only_a_directory_and_only_once() {
    let tar = Tar::package().raw(b"./", EntryType::Regular, b"").finish();
    refused!(check(&tar), Error::UnsupportedEntry { .. });
    let tar = Tar::package().raw(b".", EntryType::Regular, b"").finish();
    refused!(check(&tar), Error::EmptyPath { .. });
    let tar = Tar::package()
        .raw(b".", EntryType::Directory, b"")
        .raw(b"./", EntryType::Directory, b"")
        .finish();
    refused!(check(&tar), Error::DuplicatePath { .. });
}

#[test]
fn duplicate_paths_are_refused_after_normalisation() {
    let twice = Tar::package().file("lib/foo.dart", b"other").finish();
    let error = refused!(check(&twice), Error::DuplicatePath { .. });
    assert!(
        error.to_string().contains("\"lib/foo.dart\" appears twice"),
        "{error}"
    );

    let dotted = Tar::package()
        .raw(b"./lib/foo.dart", EntryType::Regular, b"")
        .finish();
    refused!(check(&dotted), Error::DuplicatePath { .. });

    let dirs = Tar::package()
        .raw(b"./lib", EntryType::Directory, b"")
        .finish();
    refused!(check(&dirs), Error::DuplicatePath { .. });

    // A second pubspec must not slip in after the first was read.
    let pubspecs = Tar::package()
        .file("./pubspec.yaml", b"name: evil\n")
        .finish();
    refused!(check(&pubspecs), Error::DuplicatePath { .. });
}

#[test]
fn a_file_and_a_directory_at_one_path_are_refused() {
    let cases = [
        Tar::package().file("lib", b""),
        Tar::package().file("lib/foo.dart/x", b""),
        Tar::package().file("test/a.dart", b"").file("test", b""),
        Tar::package().file("tool", b"").dir("tool/"),
    ];
    for tar in cases {
        refused!(check(&tar.finish()), Error::FileDirectoryClash { .. });
    }
    // A directory entry after files that implied it is fine.
    let tar = Tar::package().file("test/a.dart", b"").dir("test/");
    check(&tar.finish()).unwrap();
}

#[test]
fn case_insensitive_collisions_are_refused() {
    let tar = Tar::package()
        .file("README.md", b"")
        .file("readme.md", b"")
        .finish();
    let error = refused!(check(&tar), Error::CaseCollision { .. });
    let message = error.to_string();
    assert!(
        message.contains("\"README.md\" and \"readme.md\""),
        "{message}"
    );

    let tar = Tar::package().file("Lib/bar.dart", b"").finish();
    let error = refused!(check(&tar), Error::CaseCollision { .. });
    assert!(
        matches!(&error, Error::CaseCollision { first, second } if first == "lib" && second == "Lib")
    );
}

#[test]
fn more_paths_than_the_limit_are_refused_implied_directories_included() {
    let limits = |max_files| Limits {
        max_files,
        ..Limits::default()
    };
    // lib/, lib/foo.dart, pubspec.yaml.
    let tar = Tar::package().finish();
    check_with(&tar, limits(3)).unwrap();
    refused!(check_with(&tar, limits(2)), Error::TooManyFiles { .. });

    // pubspec.yaml, a, a/b, a/b/c.dart.
    let tar = Tar::new()
        .file("pubspec.yaml", PUBSPEC)
        .file("a/b/c.dart", b"")
        .finish();
    check_with(&tar, limits(4)).unwrap();
    refused!(check_with(&tar, limits(3)), Error::TooManyFiles { .. });
}

#[test]
fn pubspec_must_be_a_file_at_the_root() {
    let cases = [
        Tar::new().file("lib/foo.dart", b""),
        Tar::new().file("foo-1.0.0/pubspec.yaml", PUBSPEC),
        Tar::new().dir("pubspec.yaml/"),
        Tar::new(),
    ];
    for tar in cases {
        refused!(check(&tar.finish()), Error::MissingPubspec);
    }
}

#[test]
fn pubspec_over_the_limit_is_refused() {
    let at_limit = vec![b'#'; 128 * 1024];
    check(&Tar::new().file("pubspec.yaml", &at_limit).finish()).unwrap();

    let over = vec![b'#'; 128 * 1024 + 1];
    let error = refused!(
        check(&Tar::new().file("pubspec.yaml", &over).finish()),
        Error::PubspecTooLarge { .. }
    );
    assert!(error.to_string().contains("128 KiB limit"), "{error}");
}

#[test]
fn pubspec_not_utf8_is_refused() {
    let tar = Tar::new().file("pubspec.yaml", b"name: f\xffoo\n").finish();
    let error = refused!(check(&tar), Error::PubspecNotUtf8 { .. });
    assert!(matches!(error, Error::PubspecNotUtf8 { offset: 7, .. }));
}
