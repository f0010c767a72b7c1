//! YAML document content → JSON, so YAML documents are checked and read
//! (parameters, description) like JSON ones. saphyr-parser is the parser
//! the CloudFormation plugin already uses.

use saphyr_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Value};

/// Parses one YAML document; Err when it is not well-formed.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors = std::collections::HashMap::new();
    for event in Parser::new_from_str(text) {
        let (event, _) = event.map_err(|e| e.to_string())?;
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, _) => (scalar(&text, style), anchor),
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                continue;
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Map::new(), None, anchor));
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => (Value::Array(items), anchor),
                Some(Frame::Map(map, _, anchor)) => (Value::Object(map), anchor),
                None => return Err("unbalanced YAML".into()),
            },
            Event::Alias(id) => (
                anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| "unknown alias".to_string())?,
                0,
            ),
            _ => continue,
        };
        if anchor > 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => return Ok(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => *pending = Some(key_text(&value)),
                Some(key) => {
                    map.insert(key, value);
                }
            },
        }
    }
    Err("empty document".into())
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<String>, usize),
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "~" | "null" | "Null" | "NULL" | "" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => match text.parse::<i64>() {
            Ok(n) if n.to_string() == text => Value::from(n),
            _ => match text.parse::<f64>() {
                Ok(f) if f.is_finite() && text.contains('.') => Value::from(f),
                _ => Value::String(text.to_string()),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_and_errors() {
        let v = parse("schemaVersion: '2.2'\nmainSteps:\n  - name: a\n    n: 3\n").unwrap();
        assert_eq!(
            v,
            json!({"schemaVersion": "2.2", "mainSteps": [{"name": "a", "n": 3}]})
        );
        assert!(parse("key: [unclosed").is_err());
        assert_eq!(parse("just text").unwrap(), json!("just text"));
    }
}
