//! Wall-clock time as tagpub records it: whole seconds since the epoch, shown as RFC 3339.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The longest lifetime a token may be given: 10 years of 365.25 days (what
/// `humantime` calls `10years`).
pub const MAX_LIFETIME_SECONDS: i64 = 10 * 31_557_600;

/// The last second RFC 3339 can write (`9999-12-31T23:59:59Z`).
const LAST_RFC3339_SECOND: i64 = 253_402_300_799;

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `2026-01-05T10:00:00Z`, for any input: RFC 3339 has four-digit years, so times
/// before 1970 show as the epoch and times after year 9999 (which only an older
/// tagpub, without a bound on token lifetimes, could have stored) as
/// `9999-12-31T23:59:59Z`. A timestamp is never a reason to fail a request.
pub fn rfc3339(seconds: i64) -> String {
    let clamped = seconds.clamp(0, LAST_RFC3339_SECOND).unsigned_abs();
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(clamped)).to_string()
}

/// Parses a token lifetime such as `90d`, `12h` or `30m`; refuses zero and anything
/// longer than [`MAX_LIFETIME_SECONDS`] (10 years).
pub fn parse_lifetime(text: &str) -> Result<i64, String> {
    match humantime::parse_duration(text.trim()) {
        Ok(d) if d.as_secs() == 0 => Err(format!(
            "`{text}` is not a positive duration; write it like 90d, 12h or 30m"
        )),
        Ok(d) => match i64::try_from(d.as_secs()) {
            Ok(s) if s <= MAX_LIFETIME_SECONDS => Ok(s),
            _ => Err(too_long(text)),
        },
        // humantime refuses numbers that overflow its counters: also far too long.
        Err(humantime::DurationError::NumberOverflow) => Err(too_long(text)),
        Err(_) => Err(format!(
            "`{text}` is not a duration; write it like 90d, 12h or 30m"
        )),
    }
}

fn too_long(text: &str) -> String {
    format!(
        "`{text}` is longer than 10 years, the longest lifetime a token may have; write it like 365d, or leave it out for a token that does not expire"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_timestamp_formats_without_panicking() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_767_607_200), "2026-01-05T10:00:00Z");
        assert_eq!(rfc3339(LAST_RFC3339_SECOND), "9999-12-31T23:59:59Z");
        for late in [LAST_RFC3339_SECOND + 1, 8_640_000_000_000_000, i64::MAX] {
            assert_eq!(rfc3339(late), "9999-12-31T23:59:59Z", "{late}");
        }
        for early in [-1, i64::MIN] {
            assert_eq!(rfc3339(early), "1970-01-01T00:00:00Z", "{early}");
        }
        // What the CLI and the store hand over as u64 or i64 at the extremes.
        assert_eq!(
            rfc3339(i64::try_from(u64::MAX).unwrap_or(i64::MAX)),
            "9999-12-31T23:59:59Z"
        );
    }

    #[test]
    fn lifetimes_are_positive_and_at_most_ten_years() {
        assert_eq!(parse_lifetime("90d"), Ok(90 * 86_400));
        assert_eq!(parse_lifetime(" 12h "), Ok(12 * 3_600));
        assert_eq!(parse_lifetime("10years"), Ok(MAX_LIFETIME_SECONDS));
        assert_eq!(parse_lifetime("3652d"), Ok(3652 * 86_400));
        for too_long in ["3653d", "11y", "99999999999d", "99999999999999999999999d"] {
            let e = parse_lifetime(too_long).unwrap_err();
            assert!(e.contains("10 years") && e.contains(too_long), "{e}");
        }
        for bad in ["0s", "0d", "soon", "", "-5d"] {
            assert!(parse_lifetime(bad).is_err(), "{bad}");
        }
    }
}
