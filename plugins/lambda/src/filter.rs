//! Event filtering (FilterCriteria patterns), the subset of EventBridge
//! pattern syntax Lambda accepts: literal values, `prefix`, `suffix`,
//! `equals-ignore-case`, `exists`, `anything-but`, `numeric`.

use serde_json::Value;

/// Whether `event` matches any of the filters' patterns (no filters: all match).
pub fn passes(patterns: &[Value], event: &Value) -> bool {
    patterns.is_empty() || patterns.iter().any(|p| matches(p, event))
}

/// Parses FilterCriteria.Filters[].Pattern strings; an error names the bad one.
pub fn parse(criteria: &Value) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for f in criteria["Filters"].as_array().into_iter().flatten() {
        let text = f["Pattern"].as_str().unwrap_or("{}");
        let v: Value = serde_json::from_str(text).map_err(|_| text.to_string())?;
        if !v.is_object() {
            return Err(text.to_string());
        }
        out.push(v);
    }
    Ok(out)
}

pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(p) = pattern.as_object() else {
        return false;
    };
    p.iter().all(|(k, rule)| {
        let value = event.get(k);
        match rule {
            Value::Object(_) => value.is_some_and(|v| matches(rule, v)),
            Value::Array(rules) => rules.iter().any(|r| rule_matches(r, value)),
            _ => false,
        }
    })
}

fn values(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(x) => vec![x],
        None => Vec::new(),
    }
}

fn rule_matches(rule: &Value, value: Option<&Value>) -> bool {
    match rule {
        Value::Object(m) => {
            let Some((op, arg)) = m.iter().next() else {
                return false;
            };
            match op.as_str() {
                "exists" => arg.as_bool() == Some(value.is_some()),
                "prefix" => values(value).iter().any(|v| {
                    v.as_str()
                        .zip(arg.as_str())
                        .is_some_and(|(v, p)| v.starts_with(p))
                }),
                "suffix" => values(value).iter().any(|v| {
                    v.as_str()
                        .zip(arg.as_str())
                        .is_some_and(|(v, p)| v.ends_with(p))
                }),
                "equals-ignore-case" => values(value).iter().any(|v| {
                    v.as_str()
                        .zip(arg.as_str())
                        .is_some_and(|(v, p)| v.eq_ignore_ascii_case(p))
                }),
                "anything-but" => {
                    let vs = values(value);
                    if vs.is_empty() {
                        return false;
                    }
                    vs.iter().all(|v| match arg {
                        Value::Array(list) => !list.contains(v),
                        Value::Object(_) => !rule_matches(arg, Some(v)),
                        other => *v != other,
                    })
                }
                "numeric" => values(value).iter().any(|v| {
                    let Some(x) = v.as_f64() else { return false };
                    let conds = arg.as_array().cloned().unwrap_or_default();
                    conds.chunks(2).all(|c| {
                        let (Some(op), Some(n)) = (c[0].as_str(), c.get(1).and_then(Value::as_f64))
                        else {
                            return false;
                        };
                        match op {
                            "=" => x == n,
                            "<" => x < n,
                            "<=" => x <= n,
                            ">" => x > n,
                            ">=" => x >= n,
                            _ => false,
                        }
                    })
                }),
                _ => false,
            }
        }
        literal => values(value).contains(&literal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literal_and_operator_rules() {
        let e = json!({"body": {"kind": "order", "n": 5, "tags": ["a", "b"]}});
        assert!(matches(&json!({"body": {"kind": ["order"]}}), &e));
        assert!(!matches(&json!({"body": {"kind": ["refund"]}}), &e));
        assert!(matches(&json!({"body": {"kind": [{"prefix": "ord"}]}}), &e));
        assert!(matches(
            &json!({"body": {"n": [{"numeric": [">", 3, "<=", 5]}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"body": {"n": [{"numeric": [">", 5]}]}}),
            &e
        ));
        assert!(matches(&json!({"body": {"tags": ["b"]}}), &e));
        assert!(matches(
            &json!({"body": {"missing": [{"exists": false}]}}),
            &e
        ));
        assert!(matches(
            &json!({"body": {"kind": [{"anything-but": ["refund"]}]}}),
            &e
        ));
        assert!(!matches(
            &json!({"body": {"kind": [{"anything-but": "order"}]}}),
            &e
        ));
    }

    #[test]
    fn any_filter_passes() {
        let e = json!({"eventName": "INSERT"});
        let pats = parse(&json!({"Filters": [{"Pattern": "{\"eventName\": [\"MODIFY\"]}"}, {"Pattern": "{\"eventName\": [\"INSERT\"]}"}]})).unwrap();
        assert!(passes(&pats, &e));
        assert!(passes(&[], &e));
        assert!(parse(&json!({"Filters": [{"Pattern": "nope"}]})).is_err());
    }
}
