//! Tar structure, entry types and metadata records.

use tar::EntryType;

use super::*;

#[test]
fn header_checksum_error_is_refused() {
    let mut tar = Tar::package().finish();
    tar[0] ^= 0x20;
    refused!(check(&tar), Error::TarRead { .. });
}

#[test]
fn stream_truncated_mid_entry_is_refused() {
    let big = header(b"lib/a.dart", EntryType::Regular, 4096);
    let tar = Tar::package().header(&big, b"only this").unfinished();
    refused!(check(&tar), Error::TarRead { .. });

    // Cut inside the pubspec, the one body read whole.
    let mut tar = Tar::new().file("pubspec.yaml", &[b'#'; 1000]).unfinished();
    tar.truncate(512 + 300);
    let error = refused!(check(&tar), Error::TarStructure { .. });
    assert!(error.to_string().contains("ends in the middle"), "{error}");
}

#[test]
fn non_zero_data_after_the_tar_end_is_refused() {
    let mut tar = Tar::package().finish();
    let end = tar.len() as u64;
    tar.extend_from_slice(&[0; 100]);
    tar.extend_from_slice(b"smuggled");
    let error = refused!(check(&tar), Error::TrailingTarData { .. });
    assert!(matches!(error, Error::TrailingTarData { offset } if offset == end + 100));

    // One zero block, then an entry pub would never see.
    let mut tar = Tar::package().unfinished();
    tar.extend_from_slice(&[0; 512]);
    tar.extend(Tar::new().file("lib/late.dart", b"").finish());
    refused!(check(&tar), Error::TrailingTarData { .. });
}

#[test]
fn links_devices_and_other_entry_types_are_refused() {
    let mut symlink = header(b"lib/x.dart", EntryType::Symlink, 0);
    symlink.set_link_name("../../etc/passwd").unwrap();
    symlink.set_cksum();
    let error = refused!(
        check(&Tar::package().header(&symlink, b"").finish()),
        Error::UnsupportedEntry { .. }
    );
    let message = error.to_string();
    assert!(
        message.contains("\"lib/x.dart\" is a symbolic link"),
        "{message}"
    );
    assert!(
        message.contains("replace it with the file itself"),
        "{message}"
    );

    for kind in [
        EntryType::Link,
        EntryType::Char,
        EntryType::Block,
        EntryType::Fifo,
        EntryType::Continuous,
        EntryType::GNUSparse,
    ] {
        let tar = Tar::package().raw(b"lib/odd", kind, b"").finish();
        refused!(check(&tar), Error::UnsupportedEntry { .. });
    }
    // A volume label: tar type letters pub skips silently.
    let tar = Tar::package()
        .raw(b"lib/odd", EntryType::new(b'V'), b"")
        .finish();
    let error = refused!(check(&tar), Error::UnsupportedEntry { .. });
    assert!(error.to_string().contains("unknown type 'V'"), "{error}");

    let tar = Tar::package()
        .pax(&[("GNU.sparse.major", b"1"), ("GNU.sparse.minor", b"0")])
        .raw(b"lib/sparse", EntryType::Regular, b"")
        .finish();
    let error = refused!(check(&tar), Error::UnsupportedEntry { .. });
    assert!(error.to_string().contains("GNU sparse file"), "{error}");
}

#[test]
fn metadata_records_over_2048_bytes_are_refused() {
    let long = format!("lib/{}.dart", "a".repeat(2100));
    let tar = Tar::package().file(&long, b"").finish();
    refused!(
        check(&tar),
        Error::MetadataTooLarge {
            record: "GNU long-name record",
            ..
        }
    );

    let path = "b".repeat(2100);
    let tar = Tar::package()
        .pax(&[("path", path.as_bytes())])
        .raw(b"lib/b", EntryType::Regular, b"")
        .finish();
    refused!(
        check(&tar),
        Error::MetadataTooLarge {
            record: "PAX header",
            ..
        }
    );

    // Exactly at the limit: the name and its NUL fill 2048 bytes.
    let long = format!("lib/{}", "a".repeat(2043));
    check(&Tar::package().file(&long, b"").finish()).unwrap();
}

#[test]
fn ambiguous_metadata_is_refused() {
    let long_name = |name: &[u8]| {
        let mut body = name.to_vec();
        body.push(0);
        (
            header(b"././@LongLink", EntryType::GNULongName, body.len() as u64),
            body,
        )
    };
    let (first, first_body) = long_name(b"lib/one.dart");
    let (second, second_body) = long_name(b"lib/two.dart");

    let twice = Tar::package()
        .header(&first, &first_body)
        .header(&second, &second_body)
        .raw(b"lib/x", EntryType::Regular, b"");
    refused!(check(&twice.finish()), Error::TarStructure { .. });

    let both = Tar::package()
        .header(&first, &first_body)
        .pax(&[("path", b"lib/two.dart")])
        .raw(b"lib/x", EntryType::Regular, b"");
    refused!(check(&both.finish()), Error::TarStructure { .. });

    let dangling = Tar::package().header(&first, &first_body);
    refused!(check(&dangling.finish()), Error::TarStructure { .. });

    let other_size =
        Tar::package()
            .pax(&[("size", b"4")])
            .raw(b"lib/x", EntryType::Regular, b"12345678");
    refused!(check(&other_size.finish()), Error::TarStructure { .. });
}
