//! S3 prefixes: AWS's namespace expressions.
//!
//! - `!{timestamp:<pattern>}`: the approximate arrival time of the oldest
//!   record of the object, in UTC, formatted with a Java `DateTimeFormatter`
//!   pattern (supported letters: `y M d H m s S`, `'quoted'` literals).
//! - `!{firehose:random-string}`: 11 random alphanumerics, one per object;
//!   `!{firehose:error-output-type}`: `processing-failed`, ... (error prefix only).
//! - `!{partitionKeyFromQuery:k}` / `!{partitionKeyFromLambda:k}`: dynamic
//!   partitioning keys.
//!
//! A prefix without a timestamp (or partition key) expression gets
//! `!{timestamp:yyyy/MM/dd/HH}/` appended, as AWS does; the default prefix
//! is that expression alone.

use std::collections::BTreeMap;

use ministack_sdk::AwsError;

use crate::invalid;

pub const DEFAULT_TIME: &str = "!{timestamp:yyyy/MM/dd/HH}/";

/// What the expressions of one object's prefix evaluate to.
#[derive(Debug, Default, Clone)]
pub struct Vars<'a> {
    pub arrival_ms: u64,
    pub random: String,
    pub error_output_type: Option<&'a str>,
    pub query_keys: BTreeMap<String, String>,
    pub lambda_keys: BTreeMap<String, String>,
}

/// (namespace, argument) of each `!{...}` in `prefix`, or an error for an
/// unterminated one.
fn expressions(prefix: &str) -> Result<Vec<(usize, usize, String, String)>, AwsError> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = prefix[at..].find("!{") {
        let start = at + i;
        let Some(len) = prefix[start..].find('}') else {
            return Err(invalid(format!(
                "The expression in the prefix {prefix} is not terminated by '}}'."
            )));
        };
        let end = start + len + 1;
        let body = &prefix[start + 2..end - 1];
        let (ns, arg) = body.split_once(':').unwrap_or((body, ""));
        out.push((start, end, ns.trim().to_string(), arg.to_string()));
        at = end;
    }
    Ok(out)
}

/// Refuses expressions AWS does not know.
pub fn check(prefix: &str) -> Result<(), AwsError> {
    for (_, _, ns, arg) in expressions(prefix)? {
        let ok = match ns.as_str() {
            "timestamp" => !arg.is_empty(),
            "firehose" => matches!(arg.as_str(), "random-string" | "error-output-type"),
            "partitionKeyFromQuery" | "partitionKeyFromLambda" => !arg.is_empty(),
            _ => false,
        };
        if !ok {
            return Err(invalid(format!(
                "The expression !{{{ns}:{arg}}} in prefix {prefix} is not supported."
            )));
        }
    }
    Ok(())
}

/// The prefix AWS evaluates for a configured one (`""` for none).
pub fn effective(prefix: &str) -> String {
    if prefix.contains("!{timestamp:") || prefix.contains("!{partitionKeyFrom") {
        prefix.to_string()
    } else {
        format!("{prefix}{DEFAULT_TIME}")
    }
}

/// The error output prefix AWS evaluates (`""` for none).
pub fn effective_error(prefix: &str) -> String {
    if prefix.is_empty() {
        format!("!{{firehose:error-output-type}}/{DEFAULT_TIME}")
    } else {
        effective(prefix)
    }
}

pub fn evaluate(prefix: &str, vars: &Vars) -> String {
    let Ok(exprs) = expressions(prefix) else {
        return prefix.to_string();
    };
    let mut out = String::new();
    let mut at = 0;
    for (start, end, ns, arg) in exprs {
        out.push_str(&prefix[at..start]);
        match ns.as_str() {
            "timestamp" => out.push_str(&format_time(vars.arrival_ms, &arg)),
            "firehose" if arg == "random-string" => out.push_str(&vars.random),
            "firehose" => out.push_str(vars.error_output_type.unwrap_or("")),
            "partitionKeyFromQuery" => {
                out.push_str(vars.query_keys.get(&arg).map(String::as_str).unwrap_or(""))
            }
            "partitionKeyFromLambda" => {
                out.push_str(vars.lambda_keys.get(&arg).map(String::as_str).unwrap_or(""))
            }
            _ => {}
        }
        at = end;
    }
    out.push_str(&prefix[at..]);
    out
}

/// (year, month, day, hour, minute, second, millisecond) in UTC.
pub fn civil(ms: u64) -> (i64, u32, u32, u32, u32, u32, u32) {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (sod / 3600) as u32,
        ((sod % 3600) / 60) as u32,
        (sod % 60) as u32,
        (ms % 1000) as u32,
    )
}

/// A Java `DateTimeFormatter` pattern (the letters Firehose prefixes use).
pub fn format_time(ms: u64, pattern: &str) -> String {
    let (y, mo, d, h, mi, s, milli) = civil(ms);
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let mut j = i + 1;
            while j < chars.len() && chars[j] != '\'' {
                out.push(chars[j]);
                j += 1;
            }
            if j == i + 1 && j < chars.len() {
                out.push('\''); // '' is a literal quote
            }
            i = j + 1;
            continue;
        }
        let mut n = 1;
        while i + n < chars.len() && chars[i + n] == c {
            n += 1;
        }
        let num = |v: i64, width: usize| format!("{v:0width$}");
        match c {
            'y' | 'u' if n == 2 => out.push_str(&num(y.rem_euclid(100), 2)),
            'y' | 'u' => out.push_str(&num(y, n.max(4))),
            'M' => out.push_str(&num(mo.into(), n.min(2))),
            'd' => out.push_str(&num(d.into(), n.min(2))),
            'H' => out.push_str(&num(h.into(), n.min(2))),
            'm' => out.push_str(&num(mi.into(), n.min(2))),
            's' => out.push_str(&num(s.into(), n.min(2))),
            'S' => out.push_str(&num(milli.into(), 3)[..n.min(3)]),
            _ => (0..n).for_each(|_| out.push(c)),
        }
        i += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-02-29T13:05:09.123Z
    const T: u64 = 1_709_211_909_123;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0, 0));
        assert_eq!(civil(T), (2024, 2, 29, 13, 5, 9, 123));
    }

    #[test]
    fn java_patterns() {
        assert_eq!(format_time(T, "yyyy/MM/dd/HH"), "2024/02/29/13");
        assert_eq!(
            format_time(T, "'year='yyyy/'month='MM"),
            "year=2024/month=02"
        );
        assert_eq!(format_time(T, "yy-M-d H:mm:ss.SSS"), "24-2-29 13:05:09.123");
    }

    #[test]
    fn prefixes_as_aws_evaluates_them() {
        let vars = Vars {
            arrival_ms: T,
            random: "abcdefghijk".into(),
            error_output_type: Some("processing-failed"),
            ..Vars::default()
        };
        assert_eq!(evaluate(&effective(""), &vars), "2024/02/29/13/");
        assert_eq!(evaluate(&effective("logs/"), &vars), "logs/2024/02/29/13/");
        assert_eq!(
            evaluate(
                &effective("d/!{timestamp:yyyy}/!{firehose:random-string}/"),
                &vars
            ),
            "d/2024/abcdefghijk/"
        );
        assert_eq!(
            evaluate(&effective_error(""), &vars),
            "processing-failed/2024/02/29/13/"
        );
        assert!(check("a/!{timestamp:yyyy}").is_ok());
        assert!(check("a/!{nope:x}").is_err());
        assert!(check("a/!{timestamp:yyyy").is_err());
    }
}
