//! Schedule expressions: `rate(N unit)` and AWS's six-field
//! `cron(Minutes Hours Day-of-month Month Day-of-week Year)` (UTC), with
//! `,` `-` `*` `/`, `?` (no value), `L` (last day of month / last weekday
//! `5L` of the month), `W` (nearest weekday to a day, `LW`) and `#` (`6#3`:
//! third Friday). Day-of-week is 1-7 = SUN-SAT. One of day-of-month and
//! day-of-week must be `?`.
//!
//! `next_after(t)` gives the next fire time strictly after epoch second `t`;
//! the caller schedules a task for exactly then (no polling tick).

/// The ValidationException message AWS answers a bad expression with.
pub const INVALID: &str = "Parameter ScheduleExpression is not valid.";

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// Period in seconds.
    Rate(u64),
    Cron(Box<Cron>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// Day-of-month: `None` when `?`.
    dom: Option<DomSpec>,
    months: Vec<bool>,
    /// Day-of-week: `None` when `?`.
    dow: Option<DowSpec>,
    years: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq)]
enum DomSpec {
    Days(Vec<bool>),
    Last,
    /// `L-3`: three days before the last.
    LastOffset(u32),
    LastWeekday,
    NearestWeekday(u32),
}

#[derive(Debug, Clone, PartialEq)]
enum DowSpec {
    /// Index 1..=7 (SUN=1).
    Days(Vec<bool>),
    /// `6L`: the last Friday of the month.
    Last(u32),
    /// `6#3`: the third Friday.
    Nth(u32, u32),
}

const YEAR_MIN: i64 = 1970;
const YEAR_MAX: i64 = 2199;

pub fn parse(expr: &str) -> Result<Schedule, String> {
    let expr = expr.trim();
    if let Some(body) = expr.strip_prefix("rate(").and_then(|s| s.strip_suffix(')')) {
        return parse_rate(body).ok_or_else(|| INVALID.to_string());
    }
    if let Some(body) = expr.strip_prefix("cron(").and_then(|s| s.strip_suffix(')')) {
        return parse_cron(body)
            .map(|c| Schedule::Cron(Box::new(c)))
            .ok_or_else(|| INVALID.to_string());
    }
    Err(INVALID.to_string())
}

fn parse_rate(body: &str) -> Option<Schedule> {
    let mut parts = body.split_whitespace();
    let n: u64 = parts.next()?.parse().ok()?;
    let unit = parts.next()?;
    if parts.next().is_some() || n == 0 {
        return None;
    }
    let secs = match (n, unit) {
        (1, "minute") => 60,
        (1, "hour") => 3600,
        (1, "day") => 86400,
        (n, "minutes") if n > 1 => 60 * n,
        (n, "hours") if n > 1 => 3600 * n,
        (n, "days") if n > 1 => 86400 * n,
        _ => return None,
    };
    Some(Schedule::Rate(secs))
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(s: &str, names: &[&str], base: u32) -> Option<u32> {
    if let Ok(n) = s.parse::<u32>() {
        return Some(n);
    }
    let upper = s.to_ascii_uppercase();
    names
        .iter()
        .position(|n| *n == upper)
        .map(|i| i as u32 + base)
}

/// A field of `,`-separated items: `*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n`.
fn set(field: &str, lo: u32, hi: u32, names: &[&str], base: u32) -> Option<Vec<bool>> {
    let mut out = vec![false; hi as usize + 1];
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, s)) => (r, s.parse::<u32>().ok().filter(|s| *s > 0)?),
            None => (item, 1),
        };
        let (a, b) = if range == "*" {
            (lo, hi)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, base)?, value(b, names, base)?)
        } else {
            let a = value(range, names, base)?;
            (a, if item.contains('/') { hi } else { a })
        };
        if a < lo || b > hi || a > b {
            return None;
        }
        let mut v = a;
        while v <= b {
            out[v as usize] = true;
            v += step;
        }
    }
    Some(out)
}

fn parse_cron(body: &str) -> Option<Cron> {
    let f: Vec<&str> = body.split_whitespace().collect();
    if f.len() != 6 {
        return None;
    }
    let minutes = set(f[0], 0, 59, &[], 0)?;
    let hours = set(f[1], 0, 23, &[], 0)?;
    let months = set(f[3], 1, 12, &MONTHS, 1)?;
    let years = set(f[5], YEAR_MIN as u32, YEAR_MAX as u32, &[], 0)?;
    let dom = match f[2] {
        "?" => None,
        "L" => Some(DomSpec::Last),
        "LW" => Some(DomSpec::LastWeekday),
        s if s.starts_with("L-") => {
            let n: u32 = s[2..].parse().ok().filter(|n| (1..=30).contains(n))?;
            Some(DomSpec::LastOffset(n))
        }
        s if s.ends_with('W') => {
            let n: u32 = s[..s.len() - 1]
                .parse()
                .ok()
                .filter(|n| (1..=31).contains(n))?;
            Some(DomSpec::NearestWeekday(n))
        }
        s => Some(DomSpec::Days(set(s, 1, 31, &[], 0)?)),
    };
    let dow = match f[4] {
        "?" => None,
        s if s.contains('#') => {
            let (d, n) = s.split_once('#')?;
            let d = value(d, &DAYS, 1).filter(|d| (1..=7).contains(d))?;
            let n: u32 = n.parse().ok().filter(|n| (1..=5).contains(n))?;
            Some(DowSpec::Nth(d, n))
        }
        "L" => Some(DowSpec::Last(7)),
        s if s.len() > 1 && s.ends_with('L') => {
            let d = value(&s[..s.len() - 1], &DAYS, 1).filter(|d| (1..=7).contains(d))?;
            Some(DowSpec::Last(d))
        }
        s => Some(DowSpec::Days(set(s, 1, 7, &DAYS, 1)?)),
    };
    // Exactly one of the two day fields is `?`.
    if dom.is_some() == dow.is_some() {
        return None;
    }
    Some(Cron {
        minutes,
        hours,
        dom,
        months,
        dow,
        years,
    })
}

// ------------------------------------------------------------ calendar

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    let next = if m == 12 {
        days_from_civil(y + 1, 1, 1)
    } else {
        days_from_civil(y, m + 1, 1)
    };
    (next - days_from_civil(y, m, 1)) as u32
}

/// 1 = Sunday .. 7 = Saturday.
fn weekday(y: i64, m: u32, d: u32) -> u32 {
    // 1970-01-01 was a Thursday (5).
    ((days_from_civil(y, m, d) + 4).rem_euclid(7) + 1) as u32
}

impl Cron {
    fn day_matches(&self, y: i64, m: u32, d: u32) -> bool {
        let last = days_in_month(y, m);
        if let Some(dom) = &self.dom {
            return match dom {
                DomSpec::Days(days) => days[d as usize],
                DomSpec::Last => d == last,
                DomSpec::LastOffset(n) => last > *n && d == last - n,
                DomSpec::LastWeekday => {
                    let mut w = last;
                    while !(2..=6).contains(&weekday(y, m, w)) {
                        w -= 1;
                    }
                    d == w
                }
                DomSpec::NearestWeekday(n) => {
                    if *n > last {
                        return false;
                    }
                    let target = match weekday(y, m, *n) {
                        7 if *n == 1 => 3,        // Sat the 1st -> Mon the 3rd
                        7 => n - 1,               // Sat -> Fri
                        1 if *n == last => n - 2, // Sun the last -> Fri
                        1 => n + 1,               // Sun -> Mon
                        _ => *n,
                    };
                    d == target
                }
            };
        }
        let wd = weekday(y, m, d);
        match &self.dow {
            Some(DowSpec::Days(days)) => days[wd as usize],
            Some(DowSpec::Last(w)) => wd == *w && d + 7 > last,
            Some(DowSpec::Nth(w, n)) => wd == *w && (d - 1) / 7 + 1 == *n,
            None => true,
        }
    }

    /// The first minute strictly after epoch second `t` that matches.
    pub fn next_after(&self, t: i64) -> Option<i64> {
        let start = t.div_euclid(60) * 60 + 60;
        let mut day = start.div_euclid(86400);
        let mut first_minute = (start.rem_euclid(86400) / 60) as u32;
        // Walk days (bounded by the year range), then minutes within the day.
        loop {
            let (y, m, d) = civil_from_days(day);
            if y > YEAR_MAX {
                return None;
            }
            let year_ok = y >= YEAR_MIN && self.years[y as usize];
            if !year_ok {
                day = days_from_civil(y + 1, 1, 1);
                first_minute = 0;
                continue;
            }
            if !self.months[m as usize] {
                day = if m == 12 {
                    days_from_civil(y + 1, 1, 1)
                } else {
                    days_from_civil(y, m + 1, 1)
                };
                first_minute = 0;
                continue;
            }
            if self.day_matches(y, m, d) {
                for minute_of_day in first_minute..1440 {
                    let (h, mi) = (minute_of_day / 60, minute_of_day % 60);
                    if self.hours[h as usize] && self.minutes[mi as usize] {
                        return Some(day * 86400 + minute_of_day as i64 * 60);
                    }
                }
            }
            day += 1;
            first_minute = 0;
        }
    }
}

impl Schedule {
    /// The next fire time after `now` for a schedule created at `created`
    /// (epoch seconds). Rates fire on minute boundaries, every period from
    /// the minute the rule was created in.
    pub fn next_after(&self, created: i64, now: i64) -> Option<i64> {
        match self {
            Schedule::Rate(period) => {
                let period = *period as i64;
                let origin = created.div_euclid(60) * 60;
                let elapsed = (now - origin).max(0);
                Some(origin + (elapsed / period + 1) * period)
            }
            Schedule::Cron(c) => c.next_after(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i64, mo: u32, d: u32, h: i64, mi: i64) -> i64 {
        days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60
    }

    fn cron(e: &str) -> Cron {
        match parse(&format!("cron({e})")).unwrap_or_else(|_| panic!("{e}")) {
            Schedule::Cron(c) => *c,
            _ => unreachable!(),
        }
    }

    #[test]
    fn calendar_round_trips() {
        for z in [-1000, 0, 1, 59, 365, 11016, 19000, 20000, 80000] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(weekday(2024, 1, 1), 2); // a Monday
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
    }

    #[test]
    fn rates() {
        assert_eq!(parse("rate(1 minute)"), Ok(Schedule::Rate(60)));
        assert_eq!(parse("rate(5 minutes)"), Ok(Schedule::Rate(300)));
        assert_eq!(parse("rate(2 hours)"), Ok(Schedule::Rate(7200)));
        assert_eq!(parse("rate(1 day)"), Ok(Schedule::Rate(86400)));
        for bad in [
            "rate(1 minutes)",
            "rate(2 minute)",
            "rate(0 minutes)",
            "rate(-1 minutes)",
            "rate(1 second)",
            "rate(minutes)",
            "rate(1.5 hours)",
            "rate 1 minute",
        ] {
            assert_eq!(parse(bad), Err(INVALID.to_string()), "{bad}");
        }
        // Minute boundaries from the creation minute.
        let created = at(2024, 5, 1, 10, 0) + 30;
        let s = Schedule::Rate(60);
        assert_eq!(s.next_after(created, created), Some(at(2024, 5, 1, 10, 1)));
        assert_eq!(
            s.next_after(created, at(2024, 5, 1, 10, 1)),
            Some(at(2024, 5, 1, 10, 2))
        );
        let s = Schedule::Rate(300);
        assert_eq!(
            s.next_after(created, at(2024, 5, 1, 10, 7)),
            Some(at(2024, 5, 1, 10, 10))
        );
    }

    #[test]
    fn aws_documented_crons() {
        let t = at(2024, 5, 1, 9, 0); // a Wednesday
        // 10:15 UTC every day
        assert_eq!(
            cron("15 10 * * ? *").next_after(t),
            Some(at(2024, 5, 1, 10, 15))
        );
        // 18:00 Monday through Friday
        assert_eq!(
            cron("0 18 ? * MON-FRI *").next_after(t),
            Some(at(2024, 5, 1, 18, 0))
        );
        // 8:00 on the first day of the month
        assert_eq!(
            cron("0 8 1 * ? *").next_after(t),
            Some(at(2024, 6, 1, 8, 0))
        );
        // Every 10 minutes on weekdays
        assert_eq!(
            cron("0/10 * ? * MON-FRI *").next_after(t),
            Some(at(2024, 5, 1, 9, 10))
        );
        // Every 5 minutes between 8:00 and 17:55 weekdays
        assert_eq!(
            cron("0/5 8-17 ? * MON-FRI *").next_after(at(2024, 5, 3, 17, 55)),
            Some(at(2024, 5, 6, 8, 0))
        );
        // 9:00 on the first Monday of each month
        assert_eq!(
            cron("0 9 ? * 2#1 *").next_after(t),
            Some(at(2024, 5, 6, 9, 0))
        );
        // Last day of the month
        assert_eq!(
            cron("0 0 L * ? *").next_after(t),
            Some(at(2024, 5, 31, 0, 0))
        );
        assert_eq!(
            cron("0 0 L * ? *").next_after(at(2024, 2, 1, 0, 0)),
            Some(at(2024, 2, 29, 0, 0))
        );
        // Last Friday
        assert_eq!(
            cron("0 12 ? * 6L *").next_after(t),
            Some(at(2024, 5, 31, 12, 0))
        );
        // Nearest weekday to the 15th (Sat 2024-06-15 -> Fri the 14th)
        assert_eq!(
            cron("0 0 15W * ? *").next_after(at(2024, 6, 1, 0, 0)),
            Some(at(2024, 6, 14, 0, 0))
        );
        // Last weekday of the month (2024-06-30 is a Sunday -> Fri the 28th)
        assert_eq!(
            cron("0 0 LW * ? *").next_after(at(2024, 6, 1, 0, 0)),
            Some(at(2024, 6, 28, 0, 0))
        );
        // Month and day names, a year list
        assert_eq!(
            cron("30 6 ? JAN,JUL SUN 2025").next_after(t),
            Some(at(2025, 1, 5, 6, 30))
        );
        // Past the last year: never.
        assert_eq!(cron("0 0 1 1 ? 1999").next_after(t), None);
        // Strictly after: a time on the boundary gives the next one.
        assert_eq!(
            cron("* * * * ? *").next_after(at(2024, 5, 1, 9, 0)),
            Some(at(2024, 5, 1, 9, 1))
        );
    }

    #[test]
    fn bad_crons() {
        for bad in [
            "cron(* * * * *)",
            "cron(0 0 * * * *)",
            "cron(0 0 ? * ? *)",
            "cron(60 0 * * ? *)",
            "cron(0 24 * * ? *)",
            "cron(0 0 32 * ? *)",
            "cron(0 0 ? 13 * *)",
            "cron(0 0 ? * 8 *)",
            "cron(0 0 ? * 2#6 *)",
            "cron(0 0 ? * FOO *)",
            "cron(0/0 * * * ? *)",
            "cron(0 0 5-1 * ? *)",
            "cron(0 0 1 * ? 2300)",
            "cron(a b c d e f)",
            "cron()",
            "every minute",
        ] {
            assert_eq!(parse(bad), Err(INVALID.to_string()), "{bad}");
        }
    }
}
