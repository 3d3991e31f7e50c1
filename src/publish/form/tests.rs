use super::*;

const BOUNDARY: &str = "dart-http-boundary-abc";

fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// A body shaped like package:http's: text parts, then the file.
fn body(fields: &[(&str, &[u8])], file: Option<&[u8]>) -> Bytes {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(file) = file {
        out.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\ncontent-type: application/octet-stream\r\n\
                 content-disposition: form-data; name=\"file\"; filename=\"package.tar.gz\"\r\n\r\n"
            )
            .as_bytes(),
        );
        out.extend_from_slice(file);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    out.into()
}

fn read(body: Bytes) -> Result<UploadForm, FormError> {
    read_upload_form_from(
        body,
        Some(&content_type()),
        FormLimits::for_archive(1 << 20),
    )
}

#[test]
fn a_form_like_the_clients_is_read() {
    let form = read(body(
        &[("upload_id", b"0123abcd"), ("other", b"ignored")],
        Some(b"\x1f\x8barchive"),
    ))
    .unwrap();
    assert_eq!(form.upload_id, "0123abcd");
    assert_eq!(form.archive, b"\x1f\x8barchive");
}

#[test]
fn a_huge_text_field_is_refused_by_its_own_bound() {
    let huge = vec![b'a'; 64 << 10];
    let e = read(body(&[("upload_id", &huge)], Some(b"x"))).unwrap_err();
    assert!(
        matches!(&e, FormError::FieldTooLarge { name, limit: 4096 } if name == "upload_id"),
        "{e:?}"
    );
    assert_eq!(e.kind_and_code(), (Refusal::TooLarge, "EntityTooLarge"));
    let e = read(body(&[("unknown", &huge)], Some(b"x"))).unwrap_err();
    assert!(matches!(e, FormError::FieldTooLarge { .. }), "{e:?}");
}

#[test]
fn the_archive_and_the_whole_body_are_bounded() {
    let big = vec![0u8; (1 << 20) + 1];
    let e = read(body(&[("upload_id", b"id")], Some(&big))).unwrap_err();
    assert!(matches!(e, FormError::ArchiveTooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("1 MiB"), "{e}");
    // Many small fields, each within its bound, add up to too much.
    let small = vec![b'a'; 4000];
    let many: Vec<(&str, &[u8])> = (0..300).map(|_| ("x", &small[..])).collect();
    let e = read(body(&many, Some(b"x"))).unwrap_err();
    assert!(matches!(e, FormError::BodyTooLarge { .. }), "{e:?}");
}

#[test]
fn malformed_forms_are_refused_with_a_reason() {
    let e = read_upload_form_from(
        body(&[], None),
        Some("text/plain"),
        FormLimits::for_archive(9),
    )
    .unwrap_err();
    assert!(matches!(e, FormError::NotMultipart), "{e:?}");
    let e = read(body(&[("upload_id", b"a")], None)).unwrap_err();
    assert!(matches!(e, FormError::MissingFields), "{e:?}");
    let e = read(body(
        &[("upload_id", b"a"), ("upload_id", b"b")],
        Some(b"x"),
    ))
    .unwrap_err();
    assert!(matches!(e, FormError::Duplicate { .. }), "{e:?}");
    let e = read(body(&[("upload_id", b"\xff\xfe")], Some(b"x"))).unwrap_err();
    assert!(matches!(e, FormError::NotText), "{e:?}");
    let whole = body(&[("upload_id", b"a")], Some(b"archive"));
    let cut = whole.slice(..whole.len() - 20);
    let e = read(cut).unwrap_err();
    assert!(matches!(e, FormError::CutOff(_)), "{e:?}");
    for junk in [
        &b""[..],
        b"--",
        b"\r\n\r\n",
        b"--dart-http-boundary-abc\r\n\r\n",
    ] {
        assert!(read(Bytes::copy_from_slice(junk)).is_err());
    }
}
