//! JSON made fit for an `insta` snapshot: what differs from run to run (the server's
//! address, the time of an upload) is replaced by a placeholder, the rest is kept
//! byte for byte, so a snapshot pins the wire format and every `archive_sha256`.

use serde_json::Value;

/// `value` with `base_url` at the start of any string replaced by `[base_url]/`, and
/// every `published` time by `[published]`.
pub fn redacted(value: &Value, base_url: &str) -> Value {
    match value {
        Value::String(s) => match s.strip_prefix(base_url) {
            Some(rest) => Value::String(format!("[base_url]/{rest}")),
            None => value.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|v| redacted(v, base_url)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let v = if key == "published" && v.is_string() {
                        Value::String("[published]".into())
                    } else {
                        redacted(v, base_url)
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        _ => value.clone(),
    }
}
