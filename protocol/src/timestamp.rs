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
    let Some(dt) = to_datetime(secs) else {
        return secs.to_string();
    };
    let ms = dt.millisecond();
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if ms != 0 {
        s.push_str(&format!(".{ms:03}"));
    }
    s.push('Z');
    s
}

/// IMF-fixdate: `Tue, 29 Apr 2014 18:30:38 GMT`.
pub(crate) fn format_http_date(secs: f64) -> String {
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
    if !upper.ends_with('Z') && !upper[10.min(upper.len())..].contains(['+', '-']) {
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
    }
}
