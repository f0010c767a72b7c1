//! YAML templates → the JSON form of the template, short-form tags
//! (`!Ref x`, `!GetAtt a.b`, `!Sub ...`) becoming their long forms
//! (`{"Ref": "x"}`, `{"Fn::GetAtt": ["a", "b"]}`, `{"Fn::Sub": ...}`).
//! saphyr-parser's events carry the tags, which YAML-to-serde crates drop.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Value};

/// Parses one YAML document.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| e.to_string())?;
        builder
            .event(event)
            .map_err(|e| format!("{e} (line {})", span.start.line()))?;
        if builder.done {
            break;
        }
    }
    builder
        .root
        .ok_or_else(|| "Template format error: empty template".to_string())
}

enum Frame {
    Seq(Vec<Value>, Option<String>, usize),
    Map(Map<String, Value>, Option<String>, Option<String>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
    done: bool,
}

/// The intrinsic a short-form tag names (`!Ref` → `Ref`, `!GetAtt` → `Fn::GetAtt`);
/// None for core tags (`!!str`) and unknown ones.
fn intrinsic(tag: &Tag) -> Option<String> {
    if tag.handle != "!" {
        return None;
    }
    match tag.suffix.as_str() {
        "Ref" | "Condition" => Some(tag.suffix.clone()),
        s => Some(format!("Fn::{s}")),
    }
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>) -> Value {
    if tag.is_some_and(|t| t.handle == "!!" && t.suffix == "str") || style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "~" | "null" | "Null" | "NULL" | "" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    // Numbers keep their text when it would not read back the same (leading
    // zeros, e.g. an account id "012345678901" stays a string).
    if let Ok(n) = text.parse::<i64>()
        && n.to_string() == text
    {
        return Value::from(n);
    }
    if text.contains('.')
        && !text.starts_with('.')
        && !text.ends_with('.')
        && let Ok(f) = text.parse::<f64>()
        && f.is_finite()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
    {
        return Value::from(f);
    }
    Value::String(text.to_string())
}

fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Applies a short-form tag to a finished node.
fn tagged(value: Value, tag: Option<String>) -> Value {
    let Some(name) = tag else { return value };
    let value = match (name.as_str(), value) {
        // `!GetAtt a.b` is `["a", "b"]`; the dotted attribute after the first dot.
        ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
            Some((a, b)) => Value::Array(vec![Value::from(a), Value::from(b)]),
            None => Value::String(s),
        },
        (_, v) => v,
    };
    let mut m = Map::new();
    m.insert(name, value);
    Value::Object(m)
}

impl Builder {
    fn push_value(&mut self, value: Value) -> Result<(), String> {
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
                self.done = true;
            }
            Some(Frame::Seq(items, _, _)) => items.push(value),
            Some(Frame::Map(map, pending, _, _)) => match pending.take() {
                None => *pending = Some(key_text(&value)),
                Some(key) => {
                    map.insert(key, value);
                }
            },
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>) -> Result<(), String> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.as_deref();
                let short = tag.and_then(intrinsic);
                let v = match &short {
                    // `!Ref x`: the scalar is always text.
                    Some(_) => Value::String(text.to_string()),
                    None => scalar(&text, style, tag),
                };
                let v = tagged(v, short);
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.push_value(v)?;
            }
            Event::SequenceStart(anchor, tag) => {
                let short = tag.as_deref().and_then(intrinsic);
                self.stack.push(Frame::Seq(Vec::new(), short, anchor));
            }
            Event::SequenceEnd => {
                let Some(Frame::Seq(items, tag, anchor)) = self.stack.pop() else {
                    return Err("unbalanced sequence".into());
                };
                let v = tagged(Value::Array(items), tag);
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.push_value(v)?;
            }
            Event::MappingStart(anchor, tag) => {
                let short = tag.as_deref().and_then(intrinsic);
                self.stack.push(Frame::Map(Map::new(), None, short, anchor));
            }
            Event::MappingEnd => {
                let Some(Frame::Map(map, _, tag, anchor)) = self.stack.pop() else {
                    return Err("unbalanced mapping".into());
                };
                let v = tagged(Value::Object(map), tag);
                if anchor > 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.push_value(v)?;
            }
            Event::Alias(id) => {
                let v = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| "unknown alias".to_string())?;
                self.push_value(v)?;
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_long_forms() {
        let t = parse(
            r#"
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Q:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q"
      Delay: 5
      Id: "012"
      Arn: !GetAtt Q.Arn
      Joined: !Join [",", [a, !Ref X]]
      Sel: !Select
        - 0
        - !GetAZs ""
"#,
        )
        .unwrap();
        let p = &t["Resources"]["Q"]["Properties"];
        assert_eq!(p["QueueName"], json!({"Fn::Sub": "${AWS::StackName}-q"}));
        assert_eq!(p["Delay"], json!(5));
        assert_eq!(p["Id"], json!("012"));
        assert_eq!(p["Arn"], json!({"Fn::GetAtt": ["Q", "Arn"]}));
        assert_eq!(p["Joined"], json!({"Fn::Join": [",", ["a", {"Ref": "X"}]]}));
        assert_eq!(p["Sel"], json!({"Fn::Select": [0, {"Fn::GetAZs": ""}]}));
        assert_eq!(t["AWSTemplateFormatVersion"], json!("2010-09-09"));
    }
}
