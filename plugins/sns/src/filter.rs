//! Subscription filter policies, as the SNS developer guide documents them:
//! exact string and number matches, `prefix`, `suffix`, `anything-but`
//! (a value, a list, `prefix`, `suffix`), `numeric` ranges, `exists`,
//! `equals-ignore-case`, `cidr`, `$or`, and nested keys when the policy
//! applies to the message body (`FilterPolicyScope = MessageBody`).
//!
//! [`parse`] checks a policy (malformed → the `InvalidParameter` message AWS
//! gives) and its complexity; [`Policy::matches_attributes`] and
//! [`Policy::matches_body`] evaluate it.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

/// Most keys in one policy (attributes scope: names; body scope: leaf paths).
pub const MAX_KEYS: usize = 5;
/// Most combinations of values (the product over `$or` branches and keys).
pub const MAX_COMBINATIONS: usize = 150;

/// A parsed policy: alternatives (from `$or`) of conditions on keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Any alternative matching makes the policy match.
    alternatives: Vec<Vec<Condition>>,
}

/// A key path (one name for attributes; nested names for a body) and the
/// matchers of which one must match.
#[derive(Debug, Clone, PartialEq)]
struct Condition {
    path: Vec<String>,
    matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    Exact(String),
    Number(f64),
    Null,
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Vec<Value>),
    AnythingButPrefix(String),
    AnythingButSuffix(String),
    Numeric(Vec<(String, f64)>),
    Exists(bool),
    Cidr(IpAddr, u8),
}

/// A message attribute as a filter sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub data_type: String,
    pub value: String,
}

fn invalid(reason: impl AsRef<str>) -> String {
    format!("Invalid parameter: FilterPolicy: {}", reason.as_ref())
}

/// Parses and checks a policy for `scope` (`MessageAttributes` or
/// `MessageBody`). The error is the message of an `InvalidParameter`.
pub fn parse(text: &str, body_scope: bool) -> Result<Policy, String> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("failed to parse JSON. {e}")))?;
    let Value::Object(map) = value else {
        return Err(invalid("Filter policy must be a JSON object"));
    };
    let mut alternatives = Vec::new();
    expand(
        &map,
        &mut Vec::new(),
        vec![Vec::new()],
        &mut alternatives,
        body_scope,
    )?;
    if alternatives.is_empty() {
        alternatives.push(Vec::new());
    }
    let mut keys = std::collections::BTreeSet::new();
    let mut combinations = 0usize;
    for alt in &alternatives {
        let mut product = 1usize;
        for c in alt {
            keys.insert(c.path.join("."));
            product = product.saturating_mul(c.matchers.len().max(1));
        }
        combinations = combinations.saturating_add(product);
    }
    if keys.len() > MAX_KEYS {
        return Err(invalid(format!(
            "Filter policy can not have more than {MAX_KEYS} keys"
        )));
    }
    if combinations > MAX_COMBINATIONS {
        return Err(invalid("Filter policy is too complex"));
    }
    Ok(Policy { alternatives })
}

/// Walks one object level, multiplying the alternatives by each `$or`.
fn expand(
    map: &Map<String, Value>,
    path: &mut Vec<String>,
    partial: Vec<Vec<Condition>>,
    out: &mut Vec<Vec<Condition>>,
    body_scope: bool,
) -> Result<(), String> {
    let mut current = partial;
    for (key, value) in map {
        if key == "$or" {
            let Value::Array(branches) = value else {
                return Err(invalid("\"$or\" must be an array of objects"));
            };
            if branches.len() < 2 {
                return Err(invalid("\"$or\" must have at least 2 branches"));
            }
            let mut next = Vec::new();
            for branch in branches {
                let Value::Object(b) = branch else {
                    return Err(invalid("\"$or\" must be an array of objects"));
                };
                let mut produced = Vec::new();
                expand(b, path, current.clone(), &mut produced, body_scope)?;
                next.extend(produced);
            }
            current = next;
            continue;
        }
        match value {
            Value::Array(items) => {
                let matchers = parse_matchers(key, items)?;
                path.push(key.clone());
                for alt in &mut current {
                    alt.push(Condition {
                        path: path.clone(),
                        matchers: matchers.clone(),
                    });
                }
                path.pop();
            }
            Value::Object(inner) => {
                if !body_scope {
                    return Err(invalid(format!(
                        "\"{key}\" must be an array of values; nested keys need FilterPolicyScope MessageBody"
                    )));
                }
                path.push(key.clone());
                let mut produced = Vec::new();
                expand(inner, path, current, &mut produced, body_scope)?;
                current = produced;
                path.pop();
            }
            _ => {
                return Err(invalid(format!("\"{key}\" must be an object or an array")));
            }
        }
    }
    out.extend(current);
    Ok(())
}

fn parse_matchers(key: &str, items: &[Value]) -> Result<Vec<Matcher>, String> {
    if items.is_empty() {
        return Err(invalid(format!(
            "Empty arrays are not allowed (key \"{key}\")"
        )));
    }
    items.iter().map(parse_matcher).collect()
}

fn number(v: &Value) -> Result<f64, String> {
    v.as_f64()
        .filter(|n| n.abs() <= 1e9)
        .ok_or_else(|| invalid("Value of numeric must be a number between -1.0E9 and 1.0E9"))
}

fn string<'a>(v: &'a Value, op: &str) -> Result<&'a str, String> {
    v.as_str()
        .ok_or_else(|| invalid(format!("{op} match pattern must be a string")))
}

fn parse_matcher(item: &Value) -> Result<Matcher, String> {
    match item {
        Value::String(s) => Ok(Matcher::Exact(s.clone())),
        Value::Number(n) => Ok(Matcher::Number(number(&Value::Number(n.clone()))?)),
        Value::Null => Ok(Matcher::Null),
        Value::Bool(_) => Err(invalid(
            "Match value must be String, number, true, false, or null",
        )),
        Value::Array(_) => Err(invalid(
            "Match value must be String, number, true, false, or null",
        )),
        Value::Object(op) => {
            if op.len() != 1 {
                return Err(invalid("Only one key allowed in match expression"));
            }
            let (name, arg) = op.iter().next().expect("one entry");
            match name.as_str() {
                "prefix" => Ok(Matcher::Prefix(string(arg, "prefix")?.to_string())),
                "suffix" => Ok(Matcher::Suffix(string(arg, "suffix")?.to_string())),
                "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(
                    string(arg, "equals-ignore-case")?.to_string(),
                )),
                "exists" => match arg {
                    Value::Bool(b) => Ok(Matcher::Exists(*b)),
                    _ => Err(invalid(
                        "exists match pattern must be either true or false.",
                    )),
                },
                "anything-but" => match arg {
                    Value::String(_) | Value::Number(_) => {
                        Ok(Matcher::AnythingBut(vec![arg.clone()]))
                    }
                    Value::Array(values) => {
                        if values.is_empty()
                            || values.iter().any(|v| !(v.is_string() || v.is_number()))
                        {
                            return Err(invalid(
                                "Inside anything but list, start|null|boolean is not supported.",
                            ));
                        }
                        Ok(Matcher::AnythingBut(values.clone()))
                    }
                    Value::Object(inner) if inner.len() == 1 => {
                        let (k, v) = inner.iter().next().expect("one entry");
                        match k.as_str() {
                            "prefix" => {
                                Ok(Matcher::AnythingButPrefix(string(v, "prefix")?.to_string()))
                            }
                            "suffix" => {
                                Ok(Matcher::AnythingButSuffix(string(v, "suffix")?.to_string()))
                            }
                            other => Err(invalid(format!(
                                "Unsupported anything-but pattern: {other}"
                            ))),
                        }
                    }
                    _ => Err(invalid(
                        "Value of anything-but must be an array or single string/number value.",
                    )),
                },
                "numeric" => parse_numeric(arg),
                "cidr" => parse_cidr(string(arg, "cidr")?),
                other => Err(invalid(format!("Unrecognized match type {other}"))),
            }
        }
    }
}

fn parse_numeric(arg: &Value) -> Result<Matcher, String> {
    let Value::Array(items) = arg else {
        return Err(invalid("Value of numeric must be an array."));
    };
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(invalid("Bad numeric range operator"));
    }
    let mut ops = Vec::new();
    for pair in items.chunks(2) {
        let op = pair[0]
            .as_str()
            .ok_or_else(|| invalid("Bad numeric range operator"))?;
        if !["=", "<", "<=", ">", ">="].contains(&op) {
            return Err(invalid(format!(
                "Unrecognized numeric range operator: {op}"
            )));
        }
        ops.push((op.to_string(), number(&pair[1])?));
    }
    if ops.len() == 2 {
        let (lo, hi) = (&ops[0], &ops[1]);
        let ok = lo.0.starts_with('>') && hi.0.starts_with('<') && lo.1 < hi.1;
        if !ok {
            return Err(invalid("Bottom must be less than top"));
        }
    } else if ops.len() == 1 && ops[0].0 == "=" {
        // ["=", n] is fine.
    }
    Ok(Matcher::Numeric(ops))
}

fn parse_cidr(text: &str) -> Result<Matcher, String> {
    let bad = || invalid(format!("Malformed CIDR, one '/' required: {text}"));
    let (ip, bits) = text.split_once('/').ok_or_else(bad)?;
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| invalid(format!("Nonstandard IP address: {ip}")))?;
    let bits: u8 = bits.parse().map_err(|_| bad())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if bits > max {
        return Err(invalid(format!(
            "Malformed CIDR, mask bits out of range: {text}"
        )));
    }
    Ok(Matcher::Cidr(ip, bits))
}

fn in_cidr(value: &str, net: &IpAddr, bits: u8) -> bool {
    let Ok(ip) = value.parse::<IpAddr>() else {
        return false;
    };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(*b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(*b) & mask
        }
        _ => false,
    }
}

/// One concrete value found at a key.
#[derive(Debug, Clone, PartialEq)]
enum Found {
    Str(String),
    Num(f64),
    Null,
    Other,
}

impl Matcher {
    /// Whether a present value matches (exists is handled by the caller).
    fn matches(&self, v: &Found) -> bool {
        match (self, v) {
            (Matcher::Exact(s), Found::Str(x)) => s == x,
            (Matcher::Number(n), Found::Num(x)) => n == x,
            (Matcher::Null, Found::Null) => true,
            (Matcher::Prefix(p), Found::Str(x)) => x.starts_with(p.as_str()),
            (Matcher::Suffix(p), Found::Str(x)) => x.ends_with(p.as_str()),
            (Matcher::EqualsIgnoreCase(p), Found::Str(x)) => p.to_lowercase() == x.to_lowercase(),
            (Matcher::AnythingBut(values), Found::Str(x)) => {
                !values.iter().any(|v| v.as_str() == Some(x.as_str()))
            }
            (Matcher::AnythingBut(values), Found::Num(x)) => {
                !values.iter().any(|v| v.as_f64() == Some(*x))
            }
            (Matcher::AnythingButPrefix(p), Found::Str(x)) => !x.starts_with(p.as_str()),
            (Matcher::AnythingButSuffix(p), Found::Str(x)) => !x.ends_with(p.as_str()),
            (Matcher::Numeric(ops), Found::Num(x)) => ops.iter().all(|(op, n)| match op.as_str() {
                "=" => x == n,
                "<" => x < n,
                "<=" => x <= n,
                ">" => x > n,
                ">=" => x >= n,
                _ => false,
            }),
            (Matcher::Cidr(net, bits), Found::Str(x)) => in_cidr(x, net, *bits),
            _ => false,
        }
    }
}

/// Whether the condition holds for the values found at its key (`None`: the
/// key is absent).
fn condition_holds(c: &Condition, found: Option<&[Found]>) -> bool {
    c.matchers.iter().any(|m| match (m, found) {
        (Matcher::Exists(want), f) => *want == f.is_some(),
        (_, None) => false,
        (m, Some(values)) => values.iter().any(|v| m.matches(v)),
    })
}

fn attribute_values(a: &Attribute) -> Option<Vec<Found>> {
    let base = a.data_type.split('.').next().unwrap_or("");
    match (base, a.data_type.as_str()) {
        (_, "String.Array") => {
            let Ok(Value::Array(items)) = serde_json::from_str::<Value>(&a.value) else {
                return Some(vec![Found::Other]);
            };
            Some(items.iter().map(json_found).collect())
        }
        ("String", _) => Some(vec![Found::Str(a.value.clone())]),
        ("Number", _) => Some(vec![
            a.value
                .trim()
                .parse::<f64>()
                .map(Found::Num)
                .unwrap_or(Found::Other),
        ]),
        // Binary attributes are never matched, but they exist.
        _ => Some(vec![Found::Other]),
    }
}

fn json_found(v: &Value) -> Found {
    match v {
        Value::String(s) => Found::Str(s.clone()),
        Value::Number(n) => n.as_f64().map(Found::Num).unwrap_or(Found::Other),
        Value::Null => Found::Null,
        _ => Found::Other,
    }
}

fn body_values(body: &Value, path: &[String]) -> Option<Vec<Found>> {
    let mut current = vec![body];
    for key in path {
        let mut next = Vec::new();
        for v in current {
            match v {
                Value::Object(m) => {
                    if let Some(x) = m.get(key) {
                        next.push(x);
                    }
                }
                Value::Array(items) => {
                    for item in items {
                        if let Some(x) = item.as_object().and_then(|m| m.get(key)) {
                            next.push(x);
                        }
                    }
                }
                _ => {}
            }
        }
        if next.is_empty() {
            return None;
        }
        current = next;
    }
    let mut out = Vec::new();
    for v in current {
        match v {
            Value::Array(items) => out.extend(items.iter().map(json_found)),
            other => out.push(json_found(other)),
        }
    }
    Some(out)
}

impl Policy {
    /// Evaluates the policy against message attributes.
    pub fn matches_attributes(&self, attributes: &BTreeMap<String, Attribute>) -> bool {
        self.alternatives.iter().any(|alt| {
            alt.iter().all(|c| {
                let found = attributes.get(&c.path[0]).and_then(attribute_values);
                condition_holds(c, found.as_deref())
            })
        })
    }

    /// Evaluates the policy against a message body (no match when the body
    /// is not a JSON object).
    pub fn matches_body(&self, body: &str) -> bool {
        let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(body) else {
            return self.alternatives.iter().any(|a| a.is_empty());
        };
        self.alternatives.iter().any(|alt| {
            alt.iter().all(|c| {
                let found = body_values(&value, &c.path);
                condition_holds(c, found.as_deref())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(list: &[(&str, &str, &str)]) -> BTreeMap<String, Attribute> {
        list.iter()
            .map(|(k, t, v)| {
                (
                    k.to_string(),
                    Attribute {
                        data_type: t.to_string(),
                        value: v.to_string(),
                    },
                )
            })
            .collect()
    }

    fn m(policy: &str, list: &[(&str, &str, &str)]) -> bool {
        parse(policy, false)
            .unwrap()
            .matches_attributes(&attrs(list))
    }

    fn b(policy: &str, body: &str) -> bool {
        parse(policy, true).unwrap().matches_body(body)
    }

    #[test]
    fn exact_strings_and_numbers() {
        let p = r#"{"color": ["red", "blue"]}"#;
        assert!(m(p, &[("color", "String", "red")]));
        assert!(!m(p, &[("color", "String", "green")]));
        assert!(!m(p, &[]));
        let p = r#"{"size": [5, 10.5]}"#;
        assert!(m(p, &[("size", "Number", "5")]));
        assert!(m(p, &[("size", "Number", "5.0")]));
        assert!(m(p, &[("size", "Number", "10.5")]));
        assert!(!m(p, &[("size", "Number", "6")]));
        // A number policy does not match a string attribute.
        assert!(!m(p, &[("size", "String", "5")]));
    }

    #[test]
    fn string_arrays_match_any_element() {
        let p = r#"{"tags": ["b"]}"#;
        assert!(m(p, &[("tags", "String.Array", r#"["a","b"]"#)]));
        assert!(!m(p, &[("tags", "String.Array", r#"["a","c"]"#)]));
        let p = r#"{"n": [{"numeric": [">", 3]}]}"#;
        assert!(m(p, &[("n", "String.Array", "[1, 4]")]));
    }

    #[test]
    fn prefix_suffix_and_equals_ignore_case() {
        assert!(m(r#"{"c": [{"prefix": "ca"}]}"#, &[("c", "String", "cat")]));
        assert!(!m(
            r#"{"c": [{"prefix": "ca"}]}"#,
            &[("c", "String", "dog")]
        ));
        assert!(m(
            r#"{"c": [{"suffix": ".png"}]}"#,
            &[("c", "String", "a.png")]
        ));
        assert!(!m(
            r#"{"c": [{"suffix": ".png"}]}"#,
            &[("c", "String", "a.jpg")]
        ));
        assert!(m(
            r#"{"c": [{"equals-ignore-case": "ReD"}]}"#,
            &[("c", "String", "rEd")]
        ));
        assert!(!m(
            r#"{"c": [{"equals-ignore-case": "red"}]}"#,
            &[("c", "String", "reds")]
        ));
    }

    #[test]
    fn anything_but_in_every_form() {
        let p = r#"{"c": [{"anything-but": "red"}]}"#;
        assert!(m(p, &[("c", "String", "blue")]));
        assert!(!m(p, &[("c", "String", "red")]));
        assert!(!m(p, &[]), "anything-but needs the attribute");
        let p = r#"{"c": [{"anything-but": ["red", "blue"]}]}"#;
        assert!(m(p, &[("c", "String", "green")]));
        assert!(!m(p, &[("c", "String", "blue")]));
        let p = r#"{"n": [{"anything-but": [100, 200]}]}"#;
        assert!(m(p, &[("n", "Number", "150")]));
        assert!(!m(p, &[("n", "Number", "100")]));
        let p = r#"{"c": [{"anything-but": {"prefix": "ord"}}]}"#;
        assert!(m(p, &[("c", "String", "invoice")]));
        assert!(!m(p, &[("c", "String", "order-1")]));
        let p = r#"{"c": [{"anything-but": {"suffix": ".tmp"}}]}"#;
        assert!(m(p, &[("c", "String", "a.txt")]));
        assert!(!m(p, &[("c", "String", "a.tmp")]));
    }

    #[test]
    fn numeric_ranges() {
        let p = r#"{"price": [{"numeric": [">=", 10, "<", 20]}]}"#;
        assert!(m(p, &[("price", "Number", "10")]));
        assert!(m(p, &[("price", "Number", "19.99")]));
        assert!(!m(p, &[("price", "Number", "20")]));
        assert!(!m(p, &[("price", "Number", "9")]));
        assert!(!m(p, &[("price", "String", "15")]));
        assert!(m(
            r#"{"p": [{"numeric": ["=", 3]}]}"#,
            &[("p", "Number", "3")]
        ));
        assert!(m(
            r#"{"p": [{"numeric": ["<=", 3]}]}"#,
            &[("p", "Number", "3")]
        ));
        assert!(m(
            r#"{"p": [{"numeric": [">", 3]}]}"#,
            &[("p", "Number", "3.1")]
        ));
        assert!(!m(
            r#"{"p": [{"numeric": [">", 3]}]}"#,
            &[("p", "Number", "3")]
        ));
    }

    #[test]
    fn exists_true_and_false() {
        assert!(m(r#"{"k": [{"exists": true}]}"#, &[("k", "String", "x")]));
        assert!(!m(r#"{"k": [{"exists": true}]}"#, &[]));
        assert!(m(r#"{"k": [{"exists": false}]}"#, &[("o", "String", "x")]));
        assert!(!m(r#"{"k": [{"exists": false}]}"#, &[("k", "String", "x")]));
    }

    #[test]
    fn cidr_v4_and_v6() {
        let p = r#"{"ip": [{"cidr": "10.0.0.0/24"}]}"#;
        assert!(m(p, &[("ip", "String", "10.0.0.255")]));
        assert!(!m(p, &[("ip", "String", "10.0.1.1")]));
        assert!(!m(p, &[("ip", "String", "not-an-ip")]));
        let p = r#"{"ip": [{"cidr": "2001:db8::/32"}]}"#;
        assert!(m(p, &[("ip", "String", "2001:db8::1")]));
        assert!(!m(p, &[("ip", "String", "2001:db9::1")]));
    }

    #[test]
    fn all_keys_must_match_and_or_gives_alternatives() {
        let p = r#"{"a": ["1"], "b": ["2"]}"#;
        assert!(m(p, &[("a", "String", "1"), ("b", "String", "2")]));
        assert!(!m(p, &[("a", "String", "1")]));
        let p = r#"{"source": ["aws.cloudwatch"], "$or": [{"metric": ["CPU"]}, {"ns": ["EC2"]}]}"#;
        assert!(m(
            p,
            &[
                ("source", "String", "aws.cloudwatch"),
                ("ns", "String", "EC2")
            ]
        ));
        assert!(m(
            p,
            &[
                ("source", "String", "aws.cloudwatch"),
                ("metric", "String", "CPU")
            ]
        ));
        assert!(!m(p, &[("source", "String", "aws.cloudwatch")]));
        assert!(!m(p, &[("ns", "String", "EC2")]));
    }

    #[test]
    fn message_body_scope_with_nested_keys() {
        let p = r#"{"store": ["example_corp"], "order": {"total": [{"numeric": [">", 100]}]}}"#;
        assert!(b(
            p,
            r#"{"store": "example_corp", "order": {"total": 150}}"#
        ));
        assert!(!b(
            p,
            r#"{"store": "example_corp", "order": {"total": 50}}"#
        ));
        assert!(!b(p, r#"{"store": "example_corp"}"#));
        assert!(!b(p, "not json"));
        // Arrays in the body: any element.
        assert!(b(r#"{"tags": ["x"]}"#, r#"{"tags": ["w", "x"]}"#));
        assert!(b(
            r#"{"items": {"sku": ["A"]}}"#,
            r#"{"items": [{"sku": "B"}, {"sku": "A"}]}"#
        ));
        // null matches a null value.
        assert!(b(r#"{"k": [null]}"#, r#"{"k": null}"#));
        assert!(b(r#"{"k": [{"exists": false}]}"#, r#"{"j": 1}"#));
        assert!(b(
            r#"{"$or": [{"a": ["1"]}, {"b": {"c": ["2"]}}]}"#,
            r#"{"b": {"c": "2"}}"#
        ));
    }

    #[test]
    fn malformed_policies_are_invalid_parameters() {
        for bad in [
            "not json",
            "[]",
            r#"{"a": "x"}"#,
            r#"{"a": []}"#,
            r#"{"a": [{"nope": 1}]}"#,
            r#"{"a": [{"prefix": 1}]}"#,
            r#"{"a": [{"numeric": [">", "x"]}]}"#,
            r#"{"a": [{"numeric": ["<", 5, ">", 1]}]}"#,
            r#"{"a": [{"numeric": ["!", 5]}]}"#,
            r#"{"a": [{"exists": "yes"}]}"#,
            r#"{"a": [{"cidr": "10.0.0.0"}]}"#,
            r#"{"a": [{"cidr": "10.0.0.0/33"}]}"#,
            r#"{"a": [true]}"#,
            r#"{"$or": [{"a": ["1"]}]}"#,
            r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
        ] {
            let err = parse(bad, true).unwrap_err();
            assert!(
                err.starts_with("Invalid parameter: FilterPolicy: "),
                "{bad}: {err}"
            );
        }
        // Nested keys need the body scope.
        assert!(parse(r#"{"a": {"b": ["1"]}}"#, false).is_err());
        assert!(parse(r#"{"a": {"b": ["1"]}}"#, true).is_ok());
    }

    #[test]
    fn complexity_limits() {
        let six = r#"{"a":["1"],"b":["1"],"c":["1"],"d":["1"],"e":["1"],"f":["1"]}"#;
        assert!(parse(six, false).unwrap_err().contains("5 keys"));
        let values: Vec<String> = (0..20).map(|i| format!("\"{i}\"")).collect();
        let list = values.join(",");
        let big = format!(r#"{{"a":[{list}],"b":[{list}]}}"#);
        assert!(parse(&big, false).unwrap_err().contains("too complex"));
        let ok = format!(r#"{{"a":[{list}]}}"#);
        assert!(parse(&ok, false).is_ok());
    }

    #[test]
    fn an_empty_policy_matches_everything() {
        assert!(m("{}", &[]));
        assert!(b("{}", "plain text"));
    }
}
