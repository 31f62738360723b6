//! Timestamps as stored: RFC 3339 UTC text with a fixed width (microseconds, `Z`), so that text
//! order is time order on both databases.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

pub fn now() -> Timestamp {
    Utc::now()
}

/// The stored form of a timestamp.
pub fn format(t: Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn now_text() -> String {
    format(now())
}

/// A stored time as people read it: `2026-01-09 23:59` (UTC). Text that is not a stored time
/// is shown as it is.
pub fn display(stored: &str) -> String {
    match parse(stored) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => stored.to_string(),
    }
}

pub fn parse(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn stored_times_sort_as_text_in_time_order() {
        let early = Utc.with_ymd_and_hms(2026, 1, 9, 23, 59, 59).unwrap();
        let late = Utc.with_ymd_and_hms(2026, 1, 10, 0, 0, 0).unwrap();
        assert!(format(early) < format(late));
        assert_eq!(format(early), "2026-01-09T23:59:59.000000Z");
        assert_eq!(parse(&format(late)), Some(late));
        assert_eq!(display(&format(early)), "2026-01-09 23:59");
        assert_eq!(display("2026-01-09"), "2026-01-09");
    }
}
