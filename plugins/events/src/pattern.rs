//! EventBridge's event pattern language, validated and matched over JSON.
//!
//! A pattern is a JSON object mirroring the event: an object value matches
//! a nested object, an array value is a list of matchers (the field matches
//! if any matcher matches any of its values; event arrays are flattened),
//! and `$or` holds alternative sub-patterns. Matchers are literals (string,
//! number, boolean, null) or one-key objects: `prefix`, `suffix`,
//! `equals-ignore-case`, `anything-but`, `numeric`, `exists`, `cidr`,
//! `wildcard`. When a nested pattern meets an array of objects in the
//! event, one element has to satisfy the whole nested pattern (AWS's array
//! consistency), not fields of different elements.
//!
//! Pure functions: no host calls, so everything here is unit-tested natively.

use serde_json::{Map, Value};
use std::net::IpAddr;

/// AWS's numeric matching bound (±5.0e9).
const NUMERIC_LIMIT: f64 = 5.0e9;

/// Parses and validates a pattern; the error is the text after
/// `Event pattern is not valid. Reason: `.
pub fn parse(text: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("Filter is not valid JSON: {e}"))?;
    validate(&value)?;
    Ok(value)
}

/// The InvalidEventPatternException message AWS gives.
pub fn error_message(reason: &str) -> String {
    format!("Event pattern is not valid. Reason: {reason}")
}

pub fn validate(pattern: &Value) -> Result<(), String> {
    match pattern {
        Value::Object(fields) => validate_object(fields, ""),
        _ => Err("Filter is not an object".into()),
    }
}

fn path_of(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}

fn validate_object(fields: &Map<String, Value>, parent: &str) -> Result<(), String> {
    for (key, value) in fields {
        let path = path_of(parent, key);
        if key == "$or" {
            let alternatives = value
                .as_array()
                .ok_or_else(|| "\"$or\" must be an array of objects".to_string())?;
            if alternatives.len() < 2 {
                return Err("\"$or\" must have at least 2 alternatives".into());
            }
            for alt in alternatives {
                match alt {
                    Value::Object(o) if !o.is_empty() => validate_object(o, parent)?,
                    _ => return Err("Each \"$or\" alternative must be a non-empty object".into()),
                }
            }
            continue;
        }
        match value {
            Value::Object(o) => validate_object(o, &path)?,
            Value::Array(matchers) => {
                if matchers.is_empty() {
                    return Err(format!("Empty arrays are not allowed (at \"{path}\")"));
                }
                for m in matchers {
                    validate_matcher(m, &path)?;
                }
            }
            _ => return Err(format!("\"{key}\" must be an object or an array")),
        }
    }
    Ok(())
}

fn single_key<'a>(o: &'a Map<String, Value>, path: &str) -> Result<(&'a str, &'a Value), String> {
    let mut it = o.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) => Ok((k.as_str(), v)),
        (None, _) => Err(format!(
            "Empty objects are not allowed as a match expression (at \"{path}\")"
        )),
        _ => Err(format!(
            "Only one key allowed in a match expression (at \"{path}\")"
        )),
    }
}

fn validate_matcher(m: &Value, path: &str) -> Result<(), String> {
    let o = match m {
        Value::Object(o) => o,
        Value::Array(_) => {
            return Err(format!(
                "Match value must be a string, number, boolean, null or object (at \"{path}\"), not an array"
            ));
        }
        _ => return Ok(()),
    };
    let (kind, arg) = single_key(o, path)?;
    match kind {
        "prefix" | "suffix" => match arg {
            Value::String(_) => Ok(()),
            Value::Object(inner) => {
                let (k, v) = single_key(inner, path)?;
                if k != "equals-ignore-case" {
                    return Err(format!("Unsupported {kind} pattern: {k}"));
                }
                v.as_str().map(|_| ()).ok_or_else(|| {
                    format!("equals-ignore-case match pattern must be a string (at \"{path}\")")
                })
            }
            _ => Err(format!(
                "{kind} match pattern must be a string (at \"{path}\")"
            )),
        },
        "equals-ignore-case" => arg.as_str().map(|_| ()).ok_or_else(|| {
            format!("equals-ignore-case match pattern must be a string (at \"{path}\")")
        }),
        "wildcard" => {
            let s = arg.as_str().ok_or_else(|| {
                format!("wildcard match pattern must be a string (at \"{path}\")")
            })?;
            validate_wildcard(s)
        }
        "exists" => arg.as_bool().map(|_| ()).ok_or_else(|| {
            format!("exists match pattern must be either true or false (at \"{path}\")")
        }),
        "cidr" => {
            let s = arg
                .as_str()
                .ok_or_else(|| format!("prefix match pattern must be a string (at \"{path}\")"))?;
            parse_cidr(s)
                .map(|_| ())
                .ok_or_else(|| format!("Nonstandard IP address: {s}"))
        }
        "numeric" => validate_numeric(arg, path),
        "anything-but" => validate_anything_but(arg, path),
        other => Err(format!("Unrecognized match type {other}")),
    }
}

fn validate_anything_but(arg: &Value, path: &str) -> Result<(), String> {
    match arg {
        Value::String(_) | Value::Number(_) => Ok(()),
        Value::Array(items) => {
            if items.is_empty() {
                return Err(format!("Empty arrays are not allowed (at \"{path}\")"));
            }
            let strings = items.iter().all(Value::is_string);
            let numbers = items.iter().all(Value::is_number);
            if strings || numbers {
                Ok(())
            } else {
                Err("Inside anything but list, start|null|boolean is not supported.".into())
            }
        }
        Value::Object(inner) => {
            let (k, v) = single_key(inner, path)?;
            match k {
                "prefix" | "suffix" | "equals-ignore-case" | "wildcard" => {
                    let values: Vec<&Value> = match v {
                        Value::Array(a) if !a.is_empty() => a.iter().collect(),
                        Value::Array(_) => {
                            return Err(format!("Empty arrays are not allowed (at \"{path}\")"));
                        }
                        other => vec![other],
                    };
                    for s in values {
                        let s = s.as_str().ok_or_else(|| {
                            format!(
                                "Value of anything-but {k} must be a string or an array of strings"
                            )
                        })?;
                        if (k == "prefix" || k == "suffix") && s.is_empty() {
                            return Err(format!("Null {k} not allowed"));
                        }
                        if k == "wildcard" {
                            validate_wildcard(s)?;
                        }
                    }
                    Ok(())
                }
                other => Err(format!("Unsupported anything-but pattern: {other}")),
            }
        }
        _ => Err("Value of anything-but must be an array or single string/number value.".into()),
    }
}

fn validate_numeric(arg: &Value, path: &str) -> Result<(), String> {
    let items = arg
        .as_array()
        .ok_or_else(|| format!("Value of numeric must be an array. (at \"{path}\")"))?;
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err("Bad numeric range definition".into());
    }
    let mut lower: Option<f64> = None;
    let mut upper: Option<f64> = None;
    let mut equals = false;
    for pair in items.chunks(2) {
        let op = pair[0]
            .as_str()
            .ok_or_else(|| "Bad numeric range definition".to_string())?;
        let n = pair[1]
            .as_f64()
            .ok_or_else(|| format!("Value of {op} must be numeric"))?;
        if !(-NUMERIC_LIMIT..=NUMERIC_LIMIT).contains(&n) {
            return Err("Numeric values must be between -5.0E9 and 5.0E9 inclusive".into());
        }
        match op {
            "=" => {
                if items.len() != 2 {
                    return Err("Bad numeric range definition".into());
                }
                equals = true;
            }
            ">" | ">=" => {
                if lower.replace(n).is_some() {
                    return Err("Bad numeric range definition".into());
                }
            }
            "<" | "<=" => {
                if upper.replace(n).is_some() {
                    return Err("Bad numeric range definition".into());
                }
            }
            other => return Err(format!("Unrecognized numeric range operator: {other}")),
        }
    }
    if let (Some(lo), Some(hi)) = (lower, upper)
        && lo >= hi
    {
        return Err("Bottom must be less than top".into());
    }
    let _ = equals;
    Ok(())
}

fn validate_wildcard(s: &str) -> Result<(), String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut previous_star = false;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                match chars.get(i + 1) {
                    Some('*') | Some('\\') => i += 1,
                    _ => return Err(format!("Invalid escape character at pos {}", i + 1)),
                }
                previous_star = false;
            }
            '*' => {
                if previous_star {
                    return Err(format!("Consecutive wildcard characters at pos {}", i + 1));
                }
                previous_star = true;
            }
            _ => previous_star = false,
        }
        i += 1;
    }
    Ok(())
}

// ---------------------------------------------------------------- matching

/// Adds the top-level event fields `pattern` reads (through `$or` too) to
/// `out`: an event holding only those matches as the whole one does.
pub fn fields<'p>(pattern: &'p Value, out: &mut Vec<&'p str>) {
    for (key, p) in pattern.as_object().into_iter().flatten() {
        if key == "$or" {
            for alt in p.as_array().into_iter().flatten() {
                fields(alt, out);
            }
        } else if !out.contains(&key.as_str()) {
            out.push(key);
        }
    }
}

/// An event's top-level fields, however the caller holds them.
pub trait Fields {
    fn field(&self, key: &str) -> Option<&Value>;
}

impl Fields for Map<String, Value> {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// Whether `event` matches the (validated) `pattern`.
pub fn matches(pattern: &Value, event: &Value) -> bool {
    match pattern {
        Value::Object(fields) => match_object(fields, event.as_object()),
        _ => false,
    }
}

/// [`matches`] for an event given as its top-level fields.
pub fn matches_fields<F: Fields>(pattern: &Value, event: &F) -> bool {
    match pattern {
        Value::Object(fields) => match_object(fields, Some(event)),
        _ => false,
    }
}

/// No object: what an absent or non-object field offers a nested pattern.
const NONE: Option<&Map<String, Value>> = None;

fn match_object<F: Fields>(fields: &Map<String, Value>, object: Option<&F>) -> bool {
    fields.iter().all(|(key, pattern)| {
        if key == "$or" {
            return pattern.as_array().is_some_and(|alts| {
                alts.iter()
                    .filter_map(Value::as_object)
                    .any(|alt| match_object(alt, object))
            });
        }
        let field = object.and_then(|o| o.field(key));
        match pattern {
            Value::Object(nested) => match_nested(nested, field),
            Value::Array(matchers) => match_field(matchers, field),
            _ => false,
        }
    })
}

fn match_nested(nested: &Map<String, Value>, field: Option<&Value>) -> bool {
    match field {
        Some(Value::Array(items)) => {
            let mut elements = Vec::new();
            flatten(items, &mut elements);
            if elements.is_empty() {
                return match_object(nested, NONE);
            }
            elements
                .into_iter()
                .any(|e| match_object(nested, e.as_object()))
        }
        Some(Value::Object(o)) => match_object(nested, Some(o)),
        _ => match_object(nested, NONE),
    }
}

fn flatten<'a>(items: &'a [Value], out: &mut Vec<&'a Value>) {
    for item in items {
        match item {
            Value::Array(inner) => flatten(inner, out),
            other => out.push(other),
        }
    }
}

/// The leaf values of a field: scalars, with arrays flattened; objects are
/// not leaves.
fn leaves(field: Option<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    match field {
        None | Some(Value::Object(_)) => {}
        Some(Value::Array(items)) => flatten(items, &mut out),
        Some(v) => out.push(v),
    }
    out.retain(|v| !v.is_object());
    out
}

fn match_field(matchers: &[Value], field: Option<&Value>) -> bool {
    let exists = |m: &Value| m.get("exists").and_then(Value::as_bool);
    match field {
        // One leaf, the common case: no list of leaves built.
        Some(v) if !v.is_array() && !v.is_object() => matchers
            .iter()
            .any(|m| exists(m).unwrap_or_else(|| match_value(m, v))),
        _ => {
            let values = leaves(field);
            matchers.iter().any(|m| match exists(m) {
                Some(e) => e != values.is_empty(),
                None => values.iter().any(|v| match_value(m, v)),
            })
        }
    }
}

fn number_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn match_value(matcher: &Value, value: &Value) -> bool {
    match matcher {
        Value::String(s) => value.as_str() == Some(s),
        Value::Number(_) => value.is_number() && number_eq(matcher, value),
        Value::Bool(b) => value.as_bool() == Some(*b),
        Value::Null => value.is_null(),
        Value::Object(o) => {
            let Some((kind, arg)) = o.iter().next() else {
                return false;
            };
            match_operator(kind, arg, value)
        }
        Value::Array(_) => false,
    }
}

fn match_operator(kind: &str, arg: &Value, value: &Value) -> bool {
    match kind {
        "prefix" | "suffix" => {
            let Some(text) = value.as_str() else {
                return false;
            };
            let (needle, fold) = match arg {
                Value::String(s) => (s.as_str(), false),
                Value::Object(o) => match o.get("equals-ignore-case").and_then(Value::as_str) {
                    Some(s) => (s, true),
                    None => return false,
                },
                _ => return false,
            };
            affix(kind == "prefix", text, needle, fold)
        }
        "equals-ignore-case" => match (value.as_str(), arg.as_str()) {
            (Some(v), Some(a)) => fold_case(v) == fold_case(a),
            _ => false,
        },
        "wildcard" => match (value.as_str(), arg.as_str()) {
            (Some(v), Some(a)) => wildcard(a, v),
            _ => false,
        },
        "cidr" => match (value.as_str(), arg.as_str().and_then(parse_cidr)) {
            (Some(v), Some(net)) => v.parse::<IpAddr>().is_ok_and(|ip| in_cidr(&net, ip)),
            _ => false,
        },
        "numeric" => value
            .as_f64()
            .filter(|_| value.is_number())
            .is_some_and(|n| numeric(arg, n)),
        "anything-but" => anything_but(arg, value),
        _ => false,
    }
}

fn fold_case(s: &str) -> String {
    s.to_lowercase()
}

fn affix(prefix: bool, text: &str, needle: &str, fold: bool) -> bool {
    if fold {
        let (t, n) = (fold_case(text), fold_case(needle));
        if prefix {
            t.starts_with(&n)
        } else {
            t.ends_with(&n)
        }
    } else if prefix {
        text.starts_with(needle)
    } else {
        text.ends_with(needle)
    }
}

fn numeric(arg: &Value, n: f64) -> bool {
    let Some(items) = arg.as_array() else {
        return false;
    };
    items.chunks(2).all(|pair| {
        let (Some(op), Some(x)) = (pair[0].as_str(), pair.get(1).and_then(Value::as_f64)) else {
            return false;
        };
        match op {
            "=" => n == x,
            ">" => n > x,
            ">=" => n >= x,
            "<" => n < x,
            "<=" => n <= x,
            _ => false,
        }
    })
}

fn anything_but(arg: &Value, value: &Value) -> bool {
    match arg {
        Value::String(_) | Value::Number(_) => !match_value(arg, value),
        Value::Array(items) => !items.iter().any(|i| match_value(i, value)),
        Value::Object(o) => {
            let Some((k, v)) = o.iter().next() else {
                return false;
            };
            let Some(text) = value.as_str() else {
                // anything-but prefix/suffix/wildcard apply to strings only.
                return false;
            };
            let needles: Vec<&str> = match v {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                other => other.as_str().into_iter().collect(),
            };
            !needles.iter().any(|n| match k.as_str() {
                "prefix" => text.starts_with(n),
                "suffix" => text.ends_with(n),
                "equals-ignore-case" => fold_case(text) == fold_case(n),
                "wildcard" => wildcard(n, text),
                _ => false,
            })
        }
        _ => false,
    }
}

/// `*` matches any run of characters (also none); `\*` is a literal star.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Char(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Char(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy match with backtracking to the last star: linear-ish, no regex.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

struct Cidr {
    network: IpAddr,
    bits: u8,
}

fn parse_cidr(s: &str) -> Option<Cidr> {
    let (addr, bits) = s.split_once('/')?;
    let network: IpAddr = addr.parse().ok()?;
    let bits: u8 = bits.parse().ok()?;
    let max = if network.is_ipv4() { 32 } else { 128 };
    (bits <= max).then_some(Cidr { network, bits })
}

fn in_cidr(net: &Cidr, ip: IpAddr) -> bool {
    let (a, b, width): (u128, u128, u32) = match (net.network, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
        (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
        _ => return false,
    };
    if net.bits == 0 {
        return true;
    }
    let shift = width - net.bits as u32;
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(pattern: Value, event: Value) -> bool {
        validate(&pattern).unwrap_or_else(|e| panic!("invalid pattern {pattern}: {e}"));
        matches(&pattern, &event)
    }

    fn invalid(pattern: &str) -> String {
        parse(pattern).expect_err(pattern)
    }

    /// The EC2 state-change event of AWS's documentation.
    fn ec2_event() -> Value {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "111122223333",
            "time": "2017-12-22T18:43:48Z",
            "region": "us-west-1",
            "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
            "detail": {
                "instance-id": " i-1234567890abcdef0",
                "state": "terminated",
                "c-count": 5,
                "d-count": 3,
                "x-limit": 301.8,
                "source-ip": "10.0.0.123",
                "location": "eu-west",
                "image": "ami-0abc",
            }
        })
    }

    #[test]
    fn exact_values() {
        let e = ec2_event();
        assert!(m(json!({"source": ["aws.ec2"]}), e.clone()));
        assert!(!m(json!({"source": ["aws.s3"]}), e.clone()));
        assert!(m(json!({"source": ["aws.s3", "aws.ec2"]}), e.clone()));
        assert!(m(json!({"detail": {"state": ["terminated"]}}), e.clone()));
        assert!(m(json!({"detail": {"c-count": [5]}}), e.clone()));
        assert!(!m(json!({"detail": {"c-count": ["5"]}}), e.clone()));
        assert!(!m(json!({"detail": {"state": ["Terminated"]}}), e.clone()));
        // Every field must match.
        assert!(!m(
            json!({"source": ["aws.ec2"], "detail": {"state": ["running"]}}),
            e.clone()
        ));
        // A missing field never matches a value.
        assert!(!m(json!({"detail": {"nope": ["x"]}}), e));
    }

    #[test]
    fn null_empty_and_booleans() {
        let e = json!({"detail": {"a": null, "b": "", "c": true}});
        assert!(m(json!({"detail": {"a": [null]}}), e.clone()));
        assert!(!m(json!({"detail": {"z": [null]}}), e.clone()));
        assert!(m(json!({"detail": {"b": [""]}}), e.clone()));
        assert!(!m(json!({"detail": {"a": [""]}}), e.clone()));
        assert!(m(json!({"detail": {"c": [true]}}), e.clone()));
        assert!(!m(json!({"detail": {"c": [false]}}), e.clone()));
        assert!(!m(json!({"detail": {"c": ["true"]}}), e));
    }

    #[test]
    fn arrays_match_if_any_element_matches() {
        let e = json!({"resources": ["arn:1", "arn:2", "arn:3"]});
        assert!(m(json!({"resources": ["arn:2", "arn:9"]}), e.clone()));
        assert!(!m(json!({"resources": ["arn:9"]}), e.clone()));
        // Nested arrays flatten.
        let e = json!({"detail": {"v": [[1, 2], [3]]}});
        assert!(m(json!({"detail": {"v": [3]}}), e));
    }

    #[test]
    fn arrays_of_objects_keep_elements_together() {
        let e = json!({"detail": {"items": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]}});
        assert!(m(
            json!({"detail": {"items": {"a": [1], "b": [2]}}}),
            e.clone()
        ));
        assert!(m(json!({"detail": {"items": {"a": [3]}}}), e.clone()));
        assert!(!m(json!({"detail": {"items": {"a": [1], "b": [4]}}}), e));
    }

    #[test]
    fn prefix_and_suffix() {
        let e = ec2_event();
        assert!(m(json!({"time": [{"prefix": "2017-12-22"}]}), e.clone()));
        assert!(!m(json!({"time": [{"prefix": "2018"}]}), e.clone()));
        assert!(m(
            json!({"detail": {"image": [{"suffix": "abc"}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"image": [{"suffix": "ABC"}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"image": [{"suffix": {"equals-ignore-case": "ABC"}}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"image": [{"prefix": {"equals-ignore-case": "AMI-"}}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"image": [{"prefix": {"equals-ignore-case": "xyz"}}]}}),
            e.clone()
        ));
        // Numbers are not strings.
        assert!(!m(json!({"detail": {"c-count": [{"prefix": "5"}]}}), e));
    }

    #[test]
    fn equals_ignore_case() {
        let e = json!({"detail-type": "ec2 instance state-change notification"});
        assert!(m(
            json!({"detail-type": [{"equals-ignore-case": "EC2 Instance State-change Notification"}]}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail-type": [{"equals-ignore-case": "other"}]}),
            e
        ));
    }

    #[test]
    fn anything_but_forms() {
        let e = ec2_event();
        assert!(m(
            json!({"detail": {"state": [{"anything-but": "running"}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": "terminated"}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"c-count": [{"anything-but": 0}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"c-count": [{"anything-but": [5, 6]}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"image": [{"anything-but": {"suffix": "abc"}}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"image": [{"anything-but": {"suffix": ".png"}}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"anything-but": {"equals-ignore-case": ["TERMINATED"]}}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"image": [{"anything-but": {"wildcard": "ami-*"}}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"image": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}}),
            e.clone()
        ));
        // A missing field is not "anything but".
        assert!(!m(json!({"detail": {"nope": [{"anything-but": "x"}]}}), e));
        // An array matches if one element is anything but the values.
        let e = json!({"detail": {"tags": ["a", "b"]}});
        assert!(m(json!({"detail": {"tags": [{"anything-but": "a"}]}}), e));
    }

    #[test]
    fn numeric_ranges() {
        let e = ec2_event();
        assert!(m(
            json!({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"c-count": [{"numeric": [">", 5]}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"d-count": [{"numeric": ["<", 10]}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"x-limit": [{"numeric": ["=", 301.8]}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"x-limit": [{"numeric": [">=", 301.8]}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"x-limit": [{"numeric": ["<", 301.8]}]}}),
            e.clone()
        ));
        // Strings are never numeric.
        assert!(!m(json!({"detail": {"state": [{"numeric": [">", 0]}]}}), e));
        let e = json!({"detail": {"n": "5"}});
        assert!(!m(json!({"detail": {"n": [{"numeric": ["=", 5]}]}}), e));
    }

    #[test]
    fn exists() {
        let e = ec2_event();
        assert!(m(
            json!({"detail": {"state": [{"exists": true}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"exists": false}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"nope": [{"exists": false}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"nope": [{"exists": true}]}}),
            e.clone()
        ));
        // Only leaves exist: an object field does not.
        assert!(!m(json!({"detail": [{"exists": true}]}), e.clone()));
        // exists:false under a missing parent.
        assert!(m(json!({"missing": {"deeper": [{"exists": false}]}}), e));
    }

    #[test]
    fn cidr() {
        let e = ec2_event();
        assert!(m(
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}),
            e.clone()
        ));
        assert!(m(
            json!({"detail": {"source-ip": [{"cidr": "10.0.0.123/32"}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"state": [{"cidr": "10.0.0.0/8"}]}}),
            e
        ));
        let e6 = json!({"ip": "2001:db8::1"});
        assert!(m(json!({"ip": [{"cidr": "2001:db8::/32"}]}), e6.clone()));
        assert!(!m(json!({"ip": [{"cidr": "10.0.0.0/8"}]}), e6));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*.png", "dir/file.png"));
        assert!(!wildcard("*.png", "dir/file.jpg"));
        assert!(wildcard("dir/*/file.png", "dir/sub/file.png"));
        assert!(wildcard("a*b*c", "abc"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("a*b*c", "aXXbYY"));
        assert!(wildcard("*", ""));
        assert!(wildcard("lit\\*eral", "lit*eral"));
        assert!(!wildcard("lit\\*eral", "litXeral"));
        let e = json!({"detail": {"key": "photos/2024/cat.png"}});
        assert!(m(
            json!({"detail": {"key": [{"wildcard": "photos/*.png"}]}}),
            e.clone()
        ));
        assert!(!m(
            json!({"detail": {"key": [{"wildcard": "videos/*"}]}}),
            e
        ));
    }

    #[test]
    fn an_event_of_the_named_fields_matches_as_the_whole_one() {
        let e = ec2_event();
        let patterns = [
            json!({"source": ["aws.ec2"]}),
            json!({"source": ["aws.s3"]}),
            json!({"account": [{"exists": false}]}),
            json!({"nothing": [{"exists": false}]}),
            json!({"region": [{"anything-but": "us-east-1"}], "detail": {"state": ["terminated"]}}),
            json!({"$or": [{"detail-type": ["x"]}, {"resources": [{"prefix": "arn:aws:ec2"}]}]}),
        ];
        for p in &patterns {
            let mut names = Vec::new();
            fields(p, &mut names);
            let sparse: Map<String, Value> = e
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert!(sparse.len() < 9, "{p}: fewer fields");
            assert_eq!(
                matches(p, &Value::Object(sparse)),
                m(p.clone(), e.clone()),
                "{p}"
            );
        }
        let mut names = Vec::new();
        fields(&patterns[5], &mut names);
        fields(&patterns[4], &mut names);
        assert_eq!(names, ["detail-type", "resources", "region", "detail"]);
    }

    #[test]
    fn or_alternatives() {
        let e = ec2_event();
        let p = json!({"source": ["aws.ec2"], "$or": [
            {"detail": {"c-count": [{"numeric": [">", 10]}]}},
            {"detail": {"d-count": [{"numeric": ["<", 5]}]}}
        ]});
        assert!(m(p, e.clone()));
        let p = json!({"$or": [
            {"detail": {"c-count": [{"numeric": [">", 10]}]}},
            {"detail": {"state": ["running"]}}
        ]});
        assert!(!m(p, e.clone()));
        // $or nested inside an object.
        let p = json!({"detail": {"$or": [{"state": ["terminated"]}, {"location": ["x"]}]}});
        assert!(m(p, e));
    }

    #[test]
    fn empty_pattern_matches_everything() {
        assert!(m(json!({}), ec2_event()));
    }

    #[test]
    fn bad_patterns_are_rejected_with_reasons() {
        assert!(invalid("not json").contains("JSON"));
        assert!(invalid("[1]").contains("not an object"));
        assert!(invalid(r#"{"source": "aws.ec2"}"#).contains("must be an object or an array"));
        assert!(invalid(r#"{"source": []}"#).contains("Empty arrays"));
        assert!(invalid(r#"{"a": [{"foo": 1}]}"#).contains("Unrecognized match type foo"));
        assert!(invalid(r#"{"a": [{"prefix": 1}]}"#).contains("prefix"));
        assert!(invalid(r#"{"a": [{"prefix": "a", "suffix": "b"}]}"#).contains("Only one key"));
        assert!(invalid(r#"{"a": [{"exists": "yes"}]}"#).contains("exists"));
        assert!(invalid(r#"{"a": [{"numeric": [">", "x"]}]}"#).contains("numeric"));
        assert!(invalid(r#"{"a": [{"numeric": [">"]}]}"#).contains("numeric range"));
        assert!(invalid(r#"{"a": [{"numeric": ["<", 1, ">", 5]}]}"#).contains("Bottom"));
        assert!(invalid(r#"{"a": [{"numeric": [">", 1, ">", 5]}]}"#).contains("numeric range"));
        assert!(invalid(r#"{"a": [{"numeric": ["!", 1]}]}"#).contains("operator"));
        assert!(invalid(r#"{"a": [{"numeric": [">", 6e9]}]}"#).contains("5.0E9"));
        assert!(invalid(r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#).contains("IP"));
        assert!(invalid(r#"{"a": [{"cidr": "nope"}]}"#).contains("IP"));
        assert!(invalid(r#"{"a": [{"wildcard": "a**b"}]}"#).contains("Consecutive"));
        assert!(invalid(r#"{"a": [{"anything-but": {"foo": "x"}}]}"#).contains("anything-but"));
        assert!(invalid(r#"{"a": [{"anything-but": [true]}]}"#).contains("anything but"));
        assert!(invalid(r#"{"a": [{"anything-but": {"prefix": ""}}]}"#).contains("Null prefix"));
        assert!(invalid(r#"{"a": [{"equals-ignore-case": 3}]}"#).contains("equals-ignore-case"));
        assert!(invalid(r#"{"$or": [{"a": ["x"]}]}"#).contains("$or"));
        assert!(invalid(r#"{"$or": {"a": ["x"]}}"#).contains("$or"));
        assert!(invalid(r#"{"a": [[1]]}"#).contains("array"));
        assert!(
            error_message("x").starts_with("Event pattern is not valid. Reason: "),
            "AWS's prefix"
        );
    }

    /// A small oracle: exact-string matching written the obvious way,
    /// checked against the engine over generated events and patterns.
    #[test]
    fn property_exact_matching_agrees_with_oracle() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let words = ["a", "b", "c", "ab", "ba", ""];
        for _ in 0..2000 {
            let value = words[next(words.len() as u64) as usize];
            let as_array = next(2) == 0;
            let event = if as_array {
                json!({"detail": {"k": [value, words[next(6) as usize]]}})
            } else {
                json!({"detail": {"k": value}})
            };
            let wanted: Vec<&str> = (0..1 + next(3)).map(|_| words[next(6) as usize]).collect();
            let prefix = words[next(6) as usize];
            let event_values: Vec<&str> = match &event["detail"]["k"] {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                v => vec![v.as_str().unwrap()],
            };
            let oracle_exact = event_values.iter().any(|v| wanted.contains(v));
            assert_eq!(
                m(json!({"detail": {"k": wanted}}), event.clone()),
                oracle_exact
            );
            let oracle_prefix = event_values.iter().any(|v| v.starts_with(prefix));
            assert_eq!(
                m(
                    json!({"detail": {"k": [{"prefix": prefix}]}}),
                    event.clone()
                ),
                oracle_prefix
            );
            let oracle_but = event_values.iter().any(|v| !wanted.contains(v));
            assert_eq!(
                m(json!({"detail": {"k": [{"anything-but": wanted}]}}), event),
                oracle_but
            );
        }
    }
}
