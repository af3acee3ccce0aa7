//! Timestamps: RFC 3339 UTC on the wire and in the table, so that they sort
//! as strings in DynamoDB keys.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, UTC, with millisecond precision.
pub type Timestamp = OffsetDateTime;

pub fn now() -> Timestamp {
    let now = OffsetDateTime::now_utc();
    // Millisecond precision keeps the formatted width fixed enough to sort.
    now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
        .unwrap_or(now)
}

/// Formats as `2026-11-26T02:38:14.123Z`.
pub fn format(t: Timestamp) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

pub fn parse(s: &str) -> Result<Timestamp, String> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|e| format!("{s:?} is not an RFC 3339 time: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_a_fixed_width_so_they_sort_as_strings() {
        let a = parse("2026-01-02T03:04:05Z").unwrap();
        let b = parse("2026-01-02T03:04:05.5Z").unwrap();
        assert_eq!(format(a), "2026-01-02T03:04:05.000Z");
        assert_eq!(format(b), "2026-01-02T03:04:05.500Z");
        assert!(format(a) < format(b));
    }
}
