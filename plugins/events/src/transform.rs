//! What a target receives: the whole event, a constant `Input`, the part an
//! `InputPath` selects, or an `InputTransformer` (variables taken from the
//! event by `InputPathsMap`, substituted into `InputTemplate`).
//!
//! Quoting follows AWS: a template that is JSON gets each `<var>` as JSON
//! (a string value quoted) outside string literals, and as the bare text
//! (JSON-escaped) inside a string literal; a template that is not JSON is
//! text, and values are inserted as their bare text.

use serde_json::{Map, Value};

/// A JSONPath of the simple form EventBridge accepts: `$`, `$.a.b`,
/// `$.a[0]`, `$['a b']`. Returns the path's steps.
pub fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.trim().strip_prefix('$')?;
    let chars: Vec<char> = rest.chars().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                let mut j = start;
                while j < chars.len() && chars[j] != '.' && chars[j] != '[' {
                    j += 1;
                }
                if j == start {
                    return None;
                }
                steps.push(Step::Key(chars[start..j].iter().collect()));
                i = j;
            }
            '[' => {
                let close = chars[i..].iter().position(|c| *c == ']')? + i;
                let inner: String = chars[i + 1..close].iter().collect();
                let inner = inner.trim();
                if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Key(q.to_string()));
                } else {
                    steps.push(Step::Index(inner.parse().ok()?));
                }
                i = close + 1;
            }
            _ => return None,
        }
    }
    Some(steps)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Key(String),
    Index(usize),
}

pub fn select<'a>(value: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    steps.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get(k.as_str()),
        Step::Index(i) => v.get(*i),
    })
}

/// The value at `path` in `event` (None when absent or the path is bad).
pub fn at_path<'a>(event: &'a Value, path: &str) -> Option<&'a Value> {
    select(event, &parse_path(path)?)
}

/// Checks an InputTransformer as PutTargets does; the error is the reason.
pub fn validate_transformer(paths: &Map<String, Value>, template: &str) -> Result<(), String> {
    for (name, path) in paths {
        if name.starts_with("aws.") {
            return Err(format!(
                "InputTransformer variable name {name} is reserved (names starting with aws. are)"
            ));
        }
        let p = path.as_str().unwrap_or_default();
        if parse_path(p).is_none() {
            return Err(format!("Invalid InputPath for {name}: {p}"));
        }
    }
    if template.is_empty() {
        return Err("InputTemplate must not be empty".into());
    }
    Ok(())
}

/// Values of the predefined `aws.events.*` variables.
pub struct Predefined<'a> {
    pub rule_arn: &'a str,
    pub rule_name: &'a str,
    pub ingestion_time: &'a str,
}

/// Applies an InputTransformer to `event`.
pub fn transform(
    event: &Value,
    paths: &Map<String, Value>,
    template: &str,
    predefined: &Predefined,
) -> String {
    let lookup = |name: &str| -> Option<Value> {
        match name {
            "aws.events.rule-arn" => Some(Value::String(predefined.rule_arn.into())),
            "aws.events.rule-name" => Some(Value::String(predefined.rule_name.into())),
            "aws.events.event.ingestion-time" => {
                Some(Value::String(predefined.ingestion_time.into()))
            }
            "aws.events.event" | "aws.events.event.json" => Some(event.clone()),
            _ => paths
                .get(name)
                .and_then(Value::as_str)
                .and_then(|p| at_path(event, p))
                .cloned(),
        }
    };
    let is_var = |name: &str| name.starts_with("aws.events.") || paths.contains_key(name);
    fill_template(template, &is_var, &lookup)
}

/// Fills `template`'s `<name>` placeholders (those `is_var` accepts) with
/// `lookup(name)`, quoting as AWS does (see [`transform`]). EventBridge Pipes
/// uses it with `<$.json.path>` and `<aws.pipes.*>` names.
pub fn fill_template(
    template: &str,
    is_var: &dyn Fn(&str) -> bool,
    lookup: &dyn Fn(&str) -> Option<Value>,
) -> String {
    // Is the template JSON once placeholders are filled with a neutral value?
    let json_template = {
        let probe = substitute(template, is_var, |_, in_string| {
            Some(if in_string {
                String::new()
            } else {
                "null".into()
            })
        });
        serde_json::from_str::<Value>(&probe).is_ok()
    };
    substitute(template, is_var, |name, in_string| {
        let v = lookup(name);
        Some(match (json_template, in_string, v) {
            (true, false, Some(v)) => v.to_string(),
            (true, false, None) => "null".into(),
            (true, true, Some(Value::String(s))) => escape_json_text(&s),
            (true, true, Some(v)) => escape_json_text(&v.to_string()),
            (_, _, None) => String::new(),
            (false, _, Some(Value::String(s))) => s,
            (false, _, Some(v)) => v.to_string(),
        })
    })
}

fn escape_json_text(s: &str) -> String {
    let quoted = Value::String(s.to_string()).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// Replaces each `<name>` the predicate accepts with `fill(name, inside a
/// JSON string literal)`; other text is copied.
fn substitute(
    template: &str,
    is_var: &dyn Fn(&str) -> bool,
    fill: impl Fn(&str, bool) -> Option<String>,
) -> String {
    let mut out = String::with_capacity(template.len());
    let mut in_string = false;
    let mut escaped = false;
    let mut rest = template;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            if is_var(name)
                && let Some(text) = fill(name, in_string)
            {
                out.push_str(&text);
                rest = &rest[end + 1..];
                escaped = false;
                continue;
            }
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event() -> Value {
        json!({
            "id": "7bf73129-1428-4cd3-a780-95db273d1602",
            "detail-type": "EC2 Instance State-change Notification",
            "source": "aws.ec2",
            "account": "123456789012",
            "time": "2015-11-11T21:29:54Z",
            "region": "us-east-1",
            "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
            "detail": {"instance-id": "i-0123456789", "state": "RUNNING", "count": 3,
                       "tags": {"a": "b"}}
        })
    }

    fn paths() -> Map<String, Value> {
        json!({"instance": "$.detail.instance-id", "state": "$.detail.state",
               "count": "$.detail.count", "tags": "$.detail.tags",
               "res": "$.resources[0]", "missing": "$.detail.nope"})
        .as_object()
        .unwrap()
        .clone()
    }

    fn run(template: &str) -> String {
        transform(
            &event(),
            &paths(),
            template,
            &Predefined {
                rule_arn: "arn:aws:events:us-east-1:123456789012:rule/r",
                rule_name: "r",
                ingestion_time: "2015-11-11T21:29:55Z",
            },
        )
    }

    #[test]
    fn paths_select() {
        let e = event();
        assert_eq!(at_path(&e, "$"), Some(&e));
        assert_eq!(at_path(&e, "$.detail.state"), Some(&json!("RUNNING")));
        assert_eq!(
            at_path(&e, "$.resources[0]")
                .and_then(Value::as_str)
                .map(|s| s.starts_with("arn:")),
            Some(true)
        );
        assert_eq!(
            at_path(&e, "$['detail-type']"),
            Some(&json!("EC2 Instance State-change Notification"))
        );
        assert_eq!(at_path(&e, "$.detail.nope"), None);
        assert!(parse_path("detail").is_none());
        assert!(parse_path("$..x").is_none());
    }

    #[test]
    fn aws_documented_templates() {
        // JSON template, variables outside quotes: strings get quoted.
        assert_eq!(
            run(r#"{"instance" : <instance>, "state": <state>}"#),
            r#"{"instance" : "i-0123456789", "state": "RUNNING"}"#
        );
        // Inside quotes: the bare text.
        assert_eq!(
            run(r#""instance <instance> is in <state>""#),
            r#""instance i-0123456789 is in RUNNING""#
        );
        assert_eq!(
            run(r#"{"message": "<instance> has <count> tags <tags>"}"#),
            r#"{"message": "i-0123456789 has 3 tags {\"a\":\"b\"}"}"#
        );
        // Numbers and objects as JSON.
        assert_eq!(
            run(r#"{"n": <count>, "t": <tags>}"#),
            r#"{"n": 3, "t": {"a":"b"}}"#
        );
        // Not JSON: text.
        assert_eq!(
            run("instance <instance> is in <state>"),
            "instance i-0123456789 is in RUNNING"
        );
        // Missing values: null in JSON, empty inside strings and text.
        assert_eq!(run(r#"{"x": <missing>}"#), r#"{"x": null}"#);
        assert_eq!(run(r#"{"x": "a<missing>b"}"#), r#"{"x": "ab"}"#);
        // Predefined variables.
        assert_eq!(
            run(r#"{"rule": "<aws.events.rule-name>", "at": "<aws.events.event.ingestion-time>"}"#),
            r#"{"rule": "r", "at": "2015-11-11T21:29:55Z"}"#
        );
        let whole: Value = serde_json::from_str(&run(r#"{"e": <aws.events.event>}"#)).unwrap();
        assert_eq!(whole["e"], event());
        // Unknown <tags> are left as text.
        assert_eq!(run("<b>bold</b> <state>"), "<b>bold</b> RUNNING");
        // Quotes inside a string value are escaped in JSON templates.
        let e = json!({"detail": {"q": "say \"hi\""}});
        let p = json!({"q": "$.detail.q"}).as_object().unwrap().clone();
        let pre = Predefined {
            rule_arn: "",
            rule_name: "",
            ingestion_time: "",
        };
        assert_eq!(
            transform(&e, &p, r#"{"m": "<q>"}"#, &pre),
            r#"{"m": "say \"hi\""}"#
        );
    }

    #[test]
    fn transformer_validation() {
        let ok = json!({"a": "$.detail"}).as_object().unwrap().clone();
        assert!(validate_transformer(&ok, "<a>").is_ok());
        let reserved = json!({"aws.x": "$.detail"}).as_object().unwrap().clone();
        assert!(
            validate_transformer(&reserved, "<a>")
                .unwrap_err()
                .contains("reserved")
        );
        let bad = json!({"a": "detail"}).as_object().unwrap().clone();
        assert!(
            validate_transformer(&bad, "<a>")
                .unwrap_err()
                .contains("InputPath")
        );
    }
}
