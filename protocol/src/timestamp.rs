//! Timestamp formats on the wire. In our JSON a timestamp is epoch seconds
//! (a JSON number, fractional allowed).
//!
//! Parsing uses the `time` crate (RFC 3339 / RFC 2822); formatting is a few
//! lines on top of it because AWS wants fixed shapes (`...Z` with optional
//! milliseconds, and IMF-fixdate `Tue, 29 Apr 2014 18:30:38 GMT`).

use time::OffsetDateTime;
use time::format_description::well_known::{Rfc2822, Rfc3339};

fn to_datetime(secs: f64) -> Option<OffsetDateTime> {
    if !secs.is_finite() {
        return None;
    }
    // AWS timestamps carry at most milliseconds; rounding there keeps
    // 0.123 from printing as 0.122999.
    let nanos = (secs * 1e3).round() as i128 * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

fn from_datetime(dt: OffsetDateTime) -> f64 {
    let nanos = dt.unix_timestamp_nanos();
    let secs = nanos.div_euclid(1_000_000_000) as f64;
    let frac = nanos.rem_euclid(1_000_000_000) as f64 / 1e9;
    // Keep millisecond precision clean (0.123 rather than 0.12299999).
    secs + (frac * 1e6).round() / 1e6
}

/// `2014-04-29T18:30:38Z`, with `.123` milliseconds when not whole.
pub(crate) fn format_iso8601(secs: f64) -> String {
    let mut s = Vec::with_capacity(24);
    write_iso8601(&mut s, secs, &mut DayCache::default());
    String::from_utf8(s).unwrap_or_default()
}

/// The date part of the last day written: the timestamps of one response
/// (object listings, items) mostly fall on a few days, and the calendar
/// arithmetic is most of the cost of writing one.
#[derive(Default)]
pub(crate) struct DayCache {
    day: Option<i64>,
    date: [u8; 10],
}

impl DayCache {
    fn date(&mut self, days: i64) -> &[u8; 10] {
        if self.day != Some(days) {
            let (y, m, d) = civil_from_days(days);
            let y = y.clamp(0, 9999) as u32;
            let mut buf = *b"0000-00-00";
            put_2(&mut buf, 0, y / 100);
            put_2(&mut buf, 2, y % 100);
            put_2(&mut buf, 5, m);
            put_2(&mut buf, 8, d);
            self.day = Some(days);
            self.date = buf;
        }
        &self.date
    }
}

/// Days since 1970-01-01 → (year, month, day) (H. Hinnant's civil_from_days).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn put_2(buf: &mut [u8], at: usize, n: u32) {
    buf[at] = b'0' + (n / 10 % 10) as u8;
    buf[at + 1] = b'0' + (n % 10) as u8;
}

/// Appends the ISO 8601 form (the response hot path: no `fmt`, no `time`).
pub(crate) fn write_iso8601(out: &mut Vec<u8>, secs: f64, days: &mut DayCache) {
    if !(-62_167_219_200.0..=253_402_300_799.0).contains(&secs) {
        // Out of the four-digit-year range: let `time` (or Display) say it.
        match to_datetime(secs) {
            Some(dt) => out.extend_from_slice(dt.to_string().as_bytes()),
            None => out.extend_from_slice(secs.to_string().as_bytes()),
        }
        return;
    }
    // Round half away from zero without `f64::round` (a libm call on
    // baseline x86-64): this is the response hot path.
    let x = secs * 1e3;
    let total_ms = if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    };
    write_iso8601_ms(out, total_ms, days);
}

/// A JSON number of epoch seconds: whole seconds (the usual case) skip the
/// floating point.
pub(crate) fn write_iso8601_number(out: &mut Vec<u8>, n: &serde_json::Number, days: &mut DayCache) {
    match n.as_i64() {
        Some(secs) if (-62_167_219_200..=253_402_300_799).contains(&secs) => {
            write_iso8601_parts(out, secs, 0, days)
        }
        _ => write_iso8601(out, n.as_f64().unwrap_or(0.0), days),
    }
}

/// Epoch milliseconds within years 0000–9999.
fn write_iso8601_ms(out: &mut Vec<u8>, total_ms: i64, days: &mut DayCache) {
    let ms = total_ms.rem_euclid(1000) as u32;
    write_iso8601_parts(out, total_ms.div_euclid(1000), ms, days)
}

/// Whole seconds and milliseconds (0–999).
fn write_iso8601_parts(out: &mut Vec<u8>, whole: i64, ms: u32, days: &mut DayCache) {
    let sod = whole.rem_euclid(86_400) as u32;
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    buf[..10].copy_from_slice(days.date(whole.div_euclid(86_400)));
    put_2(&mut buf, 11, sod / 3600);
    put_2(&mut buf, 14, sod / 60 % 60);
    put_2(&mut buf, 17, sod % 60);
    if ms != 0 {
        buf[20] = b'0' + (ms / 100) as u8;
        put_2(&mut buf, 21, ms % 100);
        out.extend_from_slice(&buf);
    } else {
        buf[19] = b'Z';
        out.extend_from_slice(&buf[..20]);
    }
}

/// IMF-fixdate: `Tue, 29 Apr 2014 18:30:38 GMT`.
pub(crate) fn format_http_date(secs: f64) -> String {
    // httpdate writes the fixed-width form straight into its buffer (a
    // tenth of `format!`'s cost); it covers the years 1970-9999.
    if (0.0..HTTPDATE_END).contains(&secs) {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
        return httpdate::fmt_http_date(t);
    }
    format_http_date_wide(secs)
}

/// 10000-01-01T00:00:00Z.
const HTTPDATE_END: f64 = 253_402_300_800.0;

/// [`format_http_date`] for any year `time` represents.
fn format_http_date_wide(secs: f64) -> String {
    let Some(dt) = to_datetime(secs.floor()) else {
        return secs.to_string();
    };
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[dt.weekday().number_days_from_monday() as usize],
        dt.day(),
        MONTHS[u8::from(dt.month()) as usize - 1],
        dt.year(),
        dt.hour(),
        dt.minute(),
        dt.second()
    )
}

/// Epoch seconds as a JSON number (an integer when whole).
pub(crate) fn epoch_number(secs: f64) -> serde_json::Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        serde_json::Value::from(secs as i64)
    } else {
        serde_json::Number::from_f64(secs)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// Text of epoch seconds for query strings and headers (`1398796238` or `1398796238.123`).
pub(crate) fn format_epoch(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{}", secs as i64)
    } else {
        let mut s = format!("{secs:.3}");
        while s.ends_with('0') {
            s.pop();
        }
        s
    }
}

pub(crate) fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(from_datetime(dt));
    }
    // Lenient: lower-case separators, no zone (UTC), no seconds fraction limits.
    let upper = s.to_ascii_uppercase();
    if let Ok(dt) = OffsetDateTime::parse(&upper, &Rfc3339) {
        return Some(from_datetime(dt));
    }
    if !upper.ends_with('Z') && !upper.get(10..).unwrap_or("").contains(['+', '-']) {
        let z = format!("{upper}Z");
        if let Ok(dt) = OffsetDateTime::parse(&z, &Rfc3339) {
            return Some(from_datetime(dt));
        }
    }
    None
}

pub(crate) fn parse_http_date(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc2822) {
        return Some(from_datetime(dt));
    }
    // RFC 2822 parsing in `time` wants a numeric zone for anything but GMT/UT.
    let fixed = s.replace(" UTC", " GMT").replace(" Z", " GMT");
    OffsetDateTime::parse(&fixed, &Rfc2822)
        .ok()
        .map(from_datetime)
}

/// Any of the three formats (epoch seconds, ISO 8601, HTTP date).
pub(crate) fn parse_any(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>()
        && n.is_finite()
    {
        return Some(n);
    }
    parse_iso8601(t).or_else(|| parse_http_date(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_the_same_from_either_writer() {
        for secs in [
            0.0,
            0.999,
            951_782_400.0,   // 2000-02-29
            1_398_796_238.5, // fraction dropped
            4_107_542_399.0, // 2100-02-28T23:59:59
            HTTPDATE_END - 1.0,
        ] {
            assert_eq!(
                format_http_date(secs),
                format_http_date_wide(secs),
                "{secs}"
            );
        }
        assert_eq!(format_http_date(0.0), "Thu, 01 Jan 1970 00:00:00 GMT");
        // Outside httpdate's years, the wide writer answers alone.
        assert_eq!(format_http_date(-1.0), "Wed, 31 Dec 1969 23:59:59 GMT");
        assert_eq!(
            format_http_date(HTTPDATE_END),
            format_http_date_wide(HTTPDATE_END)
        );
    }

    #[test]
    fn round_trips() {
        assert_eq!(format_iso8601(1398796238.0), "2014-04-29T18:30:38Z");
        assert_eq!(format_iso8601(1398796238.123), "2014-04-29T18:30:38.123Z");
        assert_eq!(
            format_http_date(1398796238.0),
            "Tue, 29 Apr 2014 18:30:38 GMT"
        );
        assert_eq!(parse_iso8601("2014-04-29T18:30:38Z"), Some(1398796238.0));
        assert_eq!(
            parse_iso8601("2014-04-29T18:30:38.123Z"),
            Some(1398796238.123)
        );
        assert_eq!(
            parse_http_date("Tue, 29 Apr 2014 18:30:38 GMT"),
            Some(1398796238.0)
        );
        assert_eq!(parse_any("1398796238"), Some(1398796238.0));
        assert_eq!(format_epoch(1398796238.5), "1398796238.5");
        assert_eq!(parse_iso8601("not a date"), None);
        assert_eq!(
            parse_iso8601("2014-04-2\u{e9}T00:00:00"),
            None,
            "no panic off a char boundary"
        );
        assert_eq!(format_iso8601(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(format_iso8601(-1.5), "1969-12-31T23:59:58.500Z");
        assert_eq!(format_iso8601(951782400.0), "2000-02-29T00:00:00Z");
        for secs in [
            -86400.0 * 400.0 * 365.0,
            0.001,
            1e9,
            4102444800.0,
            253402300799.0,
        ] {
            assert_eq!(parse_iso8601(&format_iso8601(secs)), Some(secs), "{secs}");
        }
    }
}
