//! Wall-clock time as tagpub records it: whole seconds since the epoch, shown as RFC 3339.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `2026-01-05T10:00:00Z`.
pub fn rfc3339(seconds: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Parses a lifetime such as `90d`, `12h` or `30m`; refuses zero.
pub fn parse_lifetime(text: &str) -> Result<i64, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.as_secs() > 0 => Ok(d.as_secs() as i64),
        Ok(_) => Err(format!(
            "`{text}` is not a positive duration; write it like 90d, 12h or 30m"
        )),
        Err(_) => Err(format!(
            "`{text}` is not a duration; write it like 90d, 12h or 30m"
        )),
    }
}
