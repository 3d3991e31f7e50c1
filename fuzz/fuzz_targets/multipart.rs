//! The body of the upload step (`dart pub publish`'s multipart POST), through the
//! bounded form reader the server uses: it never panics, never hands back more than
//! its limits allow, and what it decides does not depend on how the body was split
//! into chunks on the way in.
//!
//! Input: a byte choosing the limits, a byte choosing the chunk size, the
//! `Content-Type` up to the first newline, then the body.
#![no_main]

use bytes::Bytes;
use futures_util::FutureExt;
use libfuzzer_sys::fuzz_target;
use std::convert::Infallible;
use tagpub::publish::Refusal;
use tagpub::publish::form::{self, FormError, FormLimits, UploadForm};

fn read(
    body: &[u8],
    chunk: usize,
    content_type: &str,
    limits: FormLimits,
) -> Result<UploadForm, FormError> {
    let chunks: Vec<Result<Bytes, Infallible>> = body
        .chunks(chunk.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut stream = futures_util::stream::iter(chunks);
    form::read_upload_form(&mut stream, Some(content_type), limits)
        .now_or_never()
        .expect("a body in memory never makes the reader wait")
}

fuzz_target!(|data: &[u8]| {
    let [limit, chunk, rest @ ..] = data else {
        return;
    };
    let limits = match limit % 3 {
        0 => FormLimits::for_archive(100 << 20),
        1 => FormLimits::for_archive(64),
        _ => FormLimits {
            archive: u64::from(*limit),
            text: u64::from(*limit / 8),
        },
    };
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let content_type = String::from_utf8_lossy(&rest[..end]);
    let body = rest.get(end + 1..).unwrap_or_default();
    let whole =
        form::read_upload_form_from(Bytes::copy_from_slice(body), Some(&content_type), limits);
    match &whole {
        Ok(form) => {
            assert!(form.archive.len() as u64 <= limits.archive);
            assert!(form.upload_id.len() as u64 <= limits.text);
            assert!(form.archive.len() + form.upload_id.len() <= body.len());
        }
        Err(e) => {
            let (kind, code) = e.kind_and_code();
            assert!(matches!(kind, Refusal::Invalid | Refusal::TooLarge) && !code.is_empty());
            assert!(!e.to_string().is_empty());
        }
    }
    // Trailing bytes past a stream limit may go unread when the form ends first, so
    // only bodies within the limit must be decided alike whatever the chunking.
    if body.len() as u64 <= limits.body() {
        let chunked = read(body, usize::from(*chunk), &content_type, limits);
        match (&whole, &chunked) {
            (Ok(a), Ok(b)) => assert_eq!(a, b),
            (Err(a), Err(b)) => assert_eq!(
                a.kind_and_code(),
                b.kind_and_code(),
                "whole: {a:?}, in chunks of {chunk}: {b:?}"
            ),
            (a, b) => panic!("whole: {a:?}, in chunks of {chunk}: {b:?}"),
        }
    }
});
