//! The client's optional `x-goog-hash: crc32c=` check on archive downloads (docs/protocol.md §1.4).

use reqwest::header::{HeaderMap, HeaderValue};

use super::client::ClientError;

/// The client's `x-goog-hash` check (§1.4): only a part starting with `crc32c=` counts.
pub fn check_goog_hash(headers: &HeaderMap, body: &[u8]) -> Result<(), ClientError> {
    let joined = headers
        .get_all("x-goog-hash")
        .iter()
        .map(|v: &HeaderValue| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect::<Vec<_>>()
        .join(",");
    let Some(encoded) = joined.split(',').find_map(|p| p.strip_prefix("crc32c=")) else {
        return Ok(());
    };
    let bytes = decode_base64(encoded)
        .filter(|b| b.len() == 4)
        .ok_or_else(|| ClientError::BadChecksumHeader(format!("malformed crc32c={encoded}")))?;
    let listed = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let actual = crc32c(body);
    if listed != actual {
        return Err(ClientError::BadChecksumHeader(format!(
            "crc32c={encoded} ({listed}) does not match the body ({actual})"
        )));
    }
    Ok(())
}

fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Standard padded base64; `None` on any malformation.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if text.is_empty() || !text.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut acc = 0u32;
        for &c in &chunk[..4 - pad] {
            acc = (acc << 6) | ALPHABET.iter().position(|&a| a == c)? as u32;
        }
        acc <<= 6 * pad as u32;
        out.extend_from_slice(&acc.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}
