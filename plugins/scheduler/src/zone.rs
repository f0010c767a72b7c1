//! Time zones of `ScheduleExpressionTimezone`: IANA names from the tz
//! database (chrono-tz, compiled in), with daylight saving time. A local
//! time in a spring-forward gap fires at the first valid instant after it;
//! one repeated in the fall fires at its first occurrence.

use chrono::{DateTime, LocalResult, TimeZone};
use chrono_tz::Tz;

pub struct Zone(Tz);

impl Zone {
    pub fn parse(name: &str) -> Option<Zone> {
        name.parse::<Tz>().ok().map(Zone)
    }

    /// Local wall-clock seconds (as if UTC) of a UTC instant.
    pub fn to_local(&self, utc: i64) -> i64 {
        DateTime::from_timestamp(utc, 0)
            .map(|d| d.with_timezone(&self.0).naive_local().and_utc().timestamp())
            .unwrap_or(utc)
    }

    /// The UTC instant of local wall-clock seconds.
    pub fn to_utc(&self, local: i64) -> i64 {
        let Some(naive) = DateTime::from_timestamp(local, 0).map(|d| d.naive_utc()) else {
            return local;
        };
        match self.0.from_local_datetime(&naive) {
            LocalResult::Single(d) => d.timestamp(),
            LocalResult::Ambiguous(a, b) => a.timestamp().min(b.timestamp()),
            // In a gap: the gap's end (search forward by minutes).
            LocalResult::None => (1..=180)
                .find_map(|m| {
                    match self
                        .0
                        .from_local_datetime(&(naive + chrono::Duration::minutes(m)))
                    {
                        LocalResult::Single(d) => Some(d.timestamp()),
                        LocalResult::Ambiguous(a, _) => Some(a.timestamp()),
                        LocalResult::None => None,
                    }
                })
                .map(|t| t - (t % 60))
                .unwrap_or(local),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::days_from_civil;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    }

    #[test]
    fn zones_with_daylight_saving() {
        let paris = Zone::parse("Europe/Paris").unwrap();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(paris.to_utc(at(2030, 1, 15, 12, 0)), at(2030, 1, 15, 11, 0));
        assert_eq!(paris.to_utc(at(2030, 7, 15, 12, 0)), at(2030, 7, 15, 10, 0));
        assert_eq!(
            paris.to_local(at(2030, 7, 15, 10, 0)),
            at(2030, 7, 15, 12, 0)
        );
        // 2030-03-31 02:30 does not exist in Paris: 03:00 local = 01:00 UTC.
        assert_eq!(paris.to_utc(at(2030, 3, 31, 2, 30)), at(2030, 3, 31, 1, 0));
        let ny = Zone::parse("America/New_York").unwrap();
        assert_eq!(ny.to_utc(at(2030, 1, 15, 8, 0)), at(2030, 1, 15, 13, 0));
        assert!(Zone::parse("UTC").is_some());
        assert!(Zone::parse("Mars/Olympus").is_none());
    }
}
