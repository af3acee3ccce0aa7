//! Timestamps: RFC 3339 UTC on the wire and in the table, so that they sort
//! as strings in DynamoDB keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time, UTC, with millisecond precision.
pub type Timestamp = OffsetDateTime;

/// The time the shop acts at: the system clock, which the local runner can
/// move forward so that tests and demos see reservations expire without
/// waiting half an hour. Clones share the same offset. In Lambda nothing
/// moves it.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    ahead_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn now(&self) -> Timestamp {
        let now = OffsetDateTime::now_utc() + time::Duration::milliseconds(self.ahead_ms.load(Ordering::Relaxed));
        // Millisecond precision keeps the formatted width fixed, so it sorts.
        now.replace_nanosecond(now.millisecond() as u32 * 1_000_000)
            .unwrap_or(now)
    }

    /// Moves this clock (and every clone) forward.
    pub fn advance(&self, by: time::Duration) {
        self.ahead_ms
            .fetch_add(by.whole_milliseconds() as i64, Ordering::Relaxed);
    }
}

/// What tells a handler the time: the store it is given carries the clock.
pub trait Now {
    fn now(&self) -> Timestamp;
}

impl Now for Clock {
    fn now(&self) -> Timestamp {
        Clock::now(self)
    }
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
    fn a_clock_moved_forward_moves_its_clones_too() {
        let clock = Clock::default();
        let copy = clock.clone();
        let before = copy.now();
        clock.advance(time::Duration::minutes(31));
        let gap = copy.now() - before;
        assert!(gap >= time::Duration::minutes(31) && gap < time::Duration::minutes(32));
    }

    #[test]
    fn timestamps_have_a_fixed_width_so_they_sort_as_strings() {
        let a = parse("2026-01-02T03:04:05Z").unwrap();
        let b = parse("2026-01-02T03:04:05.5Z").unwrap();
        assert_eq!(format(a), "2026-01-02T03:04:05.000Z");
        assert_eq!(format(b), "2026-01-02T03:04:05.500Z");
        assert!(format(a) < format(b));
    }
}
