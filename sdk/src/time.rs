//! Time as AWS writes it. The host's JSON conventions carry timestamps as
//! epoch seconds (numbers), so most handlers only need [`now`]; the text
//! formats are for values that are strings in the model (policy conditions,
//! tokens, messages).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, in epoch seconds with a fractional part.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Now, in whole epoch seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, in epoch milliseconds.
pub fn now_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Days since 1970-01-01 → (year, month, day) (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = m as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn parts(secs: i64) -> (i64, u32, u32, i64, i64, i64) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    (y, mo, d, rem / 3600, rem % 3600 / 60, rem % 60)
}

/// `2026-11-27T02:41:30Z`.
pub fn iso8601(epoch_secs: u64) -> String {
    let (y, mo, d, h, mi, s) = parts(epoch_secs as i64);
    stamp(y, mo, d, h, mi, s, None)
}

/// `2026-11-27T02:41:30.123Z` (milliseconds, as many AWS responses).
pub fn iso8601_millis(epoch_secs: f64) -> String {
    let millis = (epoch_secs * 1000.0).round() as i64;
    let (y, mo, d, h, mi, s) = parts(millis.div_euclid(1000));
    let ms = millis.rem_euclid(1000);
    stamp(y, mo, d, h, mi, s, Some(ms))
}

/// The ISO 8601 text, with milliseconds when given. Years 0–9999 digit by
/// digit: `format!` with padding cost ~1,000 wasm instructions per
/// timestamp, and EventBridge writes one per event; other years through it.
fn stamp(y: i64, mo: u32, d: u32, h: i64, mi: i64, s: i64, ms: Option<i64>) -> String {
    if !(0..=9999).contains(&y) {
        return match ms {
            Some(ms) => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z"),
            None => format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
        };
    }
    fn put(out: &mut Vec<u8>, n: i64, width: usize) {
        let start = out.len();
        out.resize(start + width, b'0');
        crate::encoding::put_digits(&mut out[start..], n as u64);
    }
    let mut out = Vec::with_capacity(24);
    put(&mut out, y, 4);
    out.push(b'-');
    put(&mut out, i64::from(mo), 2);
    out.push(b'-');
    put(&mut out, i64::from(d), 2);
    out.push(b'T');
    put(&mut out, h, 2);
    out.push(b':');
    put(&mut out, mi, 2);
    out.push(b':');
    put(&mut out, s, 2);
    if let Some(ms) = ms {
        out.push(b'.');
        put(&mut out, ms, 3);
    }
    out.push(b'Z');
    String::from_utf8(out).expect("ASCII digits")
}

/// `Fri, 27 Nov 2026 02:41:30 GMT` (HTTP dates).
pub fn http_date(epoch_secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = epoch_secs as i64;
    let (y, mo, d, h, mi, s) = parts(secs);
    let wd = DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize];
    format!(
        "{wd}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT",
        MONTHS[mo as usize - 1]
    )
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fff](Z|±HH:MM)` (and a date alone) to epoch seconds.
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let s = s.trim();
    let num = |t: &str| -> Option<i64> {
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()
    };
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, ""),
    };
    let mut dp = date.split('-');
    let y = num(dp.next()?)?;
    let mo = num(dp.next()?)? as u32;
    let d = num(dp.next()?)? as u32;
    if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y, mo, d) as f64 * 86_400.0;
    if rest.is_empty() {
        return Some(secs);
    }
    let (clock, offset) = if let Some(stripped) = rest.strip_suffix(['Z', 'z']) {
        (stripped, 0i64)
    } else if let Some(i) = rest.rfind(['+', '-']) {
        let (c, o) = rest.split_at(i);
        let sign = if o.starts_with('-') { -1 } else { 1 };
        let mut op = o[1..].split(':');
        let oh = num(op.next()?)?;
        let om = op.next().map(num).unwrap_or(Some(0))?;
        (c, sign * (oh * 3600 + om * 60))
    } else {
        (rest, 0)
    };
    let mut cp = clock.split(':');
    let h = num(cp.next()?)?;
    let mi = num(cp.next()?)?;
    let sec_text = cp.next().unwrap_or("0");
    let (whole, frac) = match sec_text.split_once('.') {
        Some((w, f)) => (num(w)?, format!("0.{f}").parse::<f64>().ok()?),
        None => (num(sec_text)?, 0.0),
    };
    if h > 23 || mi > 59 || whole > 60 {
        return None;
    }
    secs += (h * 3600 + mi * 60 + whole - offset) as f64 + frac;
    Some(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(1_795_747_290), "2026-11-27T02:41:30Z");
        assert_eq!(iso8601(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(
            iso8601_millis(1_795_747_290.123),
            "2026-11-27T02:41:30.123Z"
        );
        assert_eq!(http_date(1_795_747_290), "Fri, 27 Nov 2026 02:41:30 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(iso8601_millis(-0.5), "1969-12-31T23:59:59.500Z");
        // Past year 9999 the text is `format!`'s, as before.
        assert_eq!(iso8601(253_402_300_800), "10000-01-01T00:00:00Z");
        assert_eq!(
            iso8601_millis(-62_198_755_200.0),
            "-001-01-01T00:00:00.000Z"
        );
        for t in [1, 59, 3_599, 86_399, 1_000_000_007, 4_102_444_799] {
            let (y, mo, d, h, mi, s) = parts(t);
            assert_eq!(
                iso8601(t as u64),
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
            );
        }
    }

    #[test]
    fn parses() {
        assert_eq!(parse_iso8601("2026-11-27T02:41:30Z"), Some(1_795_747_290.0));
        assert_eq!(
            parse_iso8601("2026-11-27T03:41:30+01:00"),
            Some(1_795_747_290.0)
        );
        assert_eq!(parse_iso8601("2000-02-29"), Some(951_782_400.0));
        let f = parse_iso8601("2026-11-27T02:41:30.500Z").unwrap();
        assert!((f - 1_795_747_290.5).abs() < 1e-6);
        assert_eq!(parse_iso8601("yesterday"), None);
        assert_eq!(parse_iso8601("2026-13-01T00:00:00Z"), None);
        for t in [0u64, 86_399, 1_000_000_000, 4_102_444_800] {
            assert_eq!(parse_iso8601(&iso8601(t)), Some(t as f64));
        }
    }

    #[test]
    fn now_is_recent() {
        assert!(now_secs() > 1_700_000_000);
        assert!((now() - now_secs() as f64).abs() < 2.0);
    }
}
