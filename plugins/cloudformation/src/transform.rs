//! Template transforms, applied when a template is submitted (the stack
//! keeps the original body for `GetTemplate` and deploys the processed
//! template): `AWS::Include` (`Fn::Transform` snippets from S3),
//! `AWS::LanguageExtensions` (`Fn::ForEach`), and the SAM transform
//! `AWS::Serverless-2016-10-31` (crate::sam).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::template::{self, format_error, text};

pub const SERVERLESS: &str = "AWS::Serverless-2016-10-31";
pub const LANGUAGE_EXTENSIONS: &str = "AWS::LanguageExtensions";
pub const INCLUDE: &str = "AWS::Include";

/// The transforms a template declares at its top.
pub fn declared(tpl: &Value) -> Vec<String> {
    match tpl.get("Transform") {
        Some(Value::Array(a)) => a.iter().map(text).collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![text(other)],
    }
}

/// True when the template holds macros (transforms other than language
/// extensions, or `Fn::Transform`): CreateStack and UpdateStack need
/// `CAPABILITY_AUTO_EXPAND` for them, as AWS asks.
pub fn has_macros(tpl: &Value) -> bool {
    fn walk(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, x)| k == "Fn::Transform" || walk(x)),
            Value::Array(a) => a.iter().any(walk),
            _ => false,
        }
    }
    declared(tpl).iter().any(|t| t != LANGUAGE_EXTENSIONS) || walk(tpl)
}

/// Applies every transform; `parameters` are the values given (defaults
/// fill in), which `Fn::ForEach` collections may name.
pub fn apply(
    ctx: &Context,
    tpl: Value,
    parameters: &BTreeMap<String, String>,
) -> Result<Value, AwsError> {
    let names = declared(&tpl);
    if let Some(t) = names
        .iter()
        .find(|t| ![SERVERLESS, LANGUAGE_EXTENSIONS, INCLUDE].contains(&t.as_str()))
    {
        return Err(AwsError::validation_error(format!(
            "Template format error: Unsupported transform {t}: this gateway runs {SERVERLESS}, {LANGUAGE_EXTENSIONS} and {INCLUDE}"
        )));
    }
    let mut tpl = include(ctx, tpl)?;
    if names.iter().any(|t| t == LANGUAGE_EXTENSIONS) {
        tpl = for_each(&tpl, parameters)?;
    } else if contains_key(&tpl, "Fn::ForEach::") {
        return Err(format_error(
            "Fn::ForEach needs the AWS::LanguageExtensions transform",
        ));
    }
    if names.iter().any(|t| t == SERVERLESS) {
        tpl = crate::sam::expand(tpl)?;
    }
    if let Value::Object(m) = &mut tpl {
        m.remove("Transform");
    }
    // The result must still be a well-formed template.
    template::parse(&tpl.to_string())
}

fn contains_key(v: &Value, prefix: &str) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, x)| k.starts_with(prefix) || contains_key(x, prefix)),
        Value::Array(a) => a.iter().any(|x| contains_key(x, prefix)),
        _ => false,
    }
}

/// Replaces `{"Fn::Transform": {"Name": "AWS::Include", "Parameters":
/// {"Location": "s3://..."}}}` by the snippet at that location (merged
/// into the enclosing object when it has other members).
fn include(ctx: &Context, v: Value) -> Result<Value, AwsError> {
    let _ = ctx;
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            let mut snippet = None;
            for (k, x) in m {
                if k == "Fn::Transform" {
                    snippet = Some(fetch_include(&x)?);
                } else {
                    out.insert(k, include(ctx, x)?);
                }
            }
            match snippet {
                None => Ok(Value::Object(out)),
                Some(Value::Object(s)) => {
                    for (k, x) in s {
                        out.entry(k).or_insert(x);
                    }
                    Ok(Value::Object(out))
                }
                Some(other) if out.is_empty() => Ok(other),
                Some(_) => Err(format_error(
                    "AWS::Include snippet must be an object to merge with its siblings",
                )),
            }
        }
        Value::Array(a) => a
            .into_iter()
            .map(|x| include(ctx, x))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

fn fetch_include(spec: &Value) -> Result<Value, AwsError> {
    let name = spec.get("Name").map(text).unwrap_or_default();
    if name != INCLUDE {
        return Err(format_error(format!(
            "Fn::Transform {name} is not supported (only {INCLUDE})"
        )));
    }
    let location = spec
        .get("Parameters")
        .and_then(|p| p.get("Location"))
        .map(text)
        .ok_or_else(|| format_error("AWS::Include needs Parameters.Location"))?;
    let body = crate::template_url::fetch(&location)?;
    let snippet = if body.trim_start().starts_with(['{', '[']) {
        serde_json::from_str(&body)
            .map_err(|e| format_error(format!("AWS::Include snippet: {e}")))?
    } else {
        crate::yaml::parse(&body).map_err(|e| format_error(format!("AWS::Include snippet: {e}")))?
    };
    Ok(snippet)
}

/// Expands every `Fn::ForEach::<Loop>: [Identifier, Collection, {Key: Value}]`
/// in maps (Resources, Outputs, Conditions, properties).
fn for_each(tpl: &Value, parameters: &BTreeMap<String, String>) -> Result<Value, AwsError> {
    let params = tpl
        .get("Parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let collection = |v: &Value| -> Result<Vec<String>, AwsError> {
        match v {
            Value::Array(a) => Ok(a.iter().map(text).collect()),
            Value::Object(m) if m.contains_key("Ref") => {
                let name = text(&m["Ref"]);
                let value = parameters
                    .get(&name)
                    .cloned()
                    .or_else(|| {
                        params
                            .get(&name)
                            .and_then(|d| d.get("Default"))
                            .map(|d| match d {
                                Value::Array(a) => a.iter().map(text).collect::<Vec<_>>().join(","),
                                other => text(other),
                            })
                    })
                    .ok_or_else(|| {
                        format_error(format!(
                            "Fn::ForEach collection parameter {name} has no value"
                        ))
                    })?;
                Ok(value
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect())
            }
            _ => Err(format_error(
                "Fn::ForEach collection must be a list or a Ref to a list parameter",
            )),
        }
    };
    fn walk(
        v: &Value,
        collection: &dyn Fn(&Value) -> Result<Vec<String>, AwsError>,
    ) -> Result<Value, AwsError> {
        match v {
            Value::Object(m) => {
                let mut out = Map::new();
                for (k, x) in m {
                    if k.starts_with("Fn::ForEach::") {
                        let parts = x.as_array().filter(|a| a.len() == 3).ok_or_else(|| {
                            format_error(format!(
                                "{k} must be [Identifier, Collection, OutputTemplate]"
                            ))
                        })?;
                        let id = text(&parts[0]);
                        for item in collection(&parts[1])? {
                            let body = substitute(&parts[2], &id, &item);
                            // Loops nest: expand the copy too.
                            if let Value::Object(expanded) = walk(&body, collection)? {
                                for (ek, ev) in expanded {
                                    if out.contains_key(&ek) {
                                        return Err(format_error(format!(
                                            "Fn::ForEach {k} makes the key {ek} twice"
                                        )));
                                    }
                                    out.insert(ek, ev);
                                }
                            } else {
                                return Err(format_error(format!("{k} output must be an object")));
                            }
                        }
                    } else {
                        out.insert(k.clone(), walk(x, collection)?);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(a) => a
                .iter()
                .map(|x| walk(x, collection))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }
    walk(tpl, &collection)
}

/// `${Id}` and `&{Id}` (the item without non-alphanumerics) in keys and
/// strings, and `{"Ref": Id}`, become the item.
fn substitute(v: &Value, id: &str, item: &str) -> Value {
    let alnum: String = item.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    let in_text = |s: &str| {
        s.replace(&format!("${{{id}}}"), item)
            .replace(&format!("&{{{id}}}"), &alnum)
    };
    match v {
        Value::String(s) => Value::String(in_text(s)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, id, item)).collect()),
        Value::Object(m) => {
            if m.len() == 1 && m.get("Ref").and_then(Value::as_str) == Some(id) {
                return json!(item);
            }
            Value::Object(
                m.iter()
                    .map(|(k, x)| (in_text(k), substitute(x, id, item)))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn for_each_expands_resources_and_outputs() {
        let tpl = json!({
            "Transform": "AWS::LanguageExtensions",
            "Parameters": {"Names": {"Type": "CommaDelimitedList", "Default": "a,b-c"}},
            "Resources": {
                "Fn::ForEach::Queues": ["N", {"Ref": "Names"}, {
                    "Queue&{N}": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q-${N}", "Tags": [{"Key": "n", "Value": {"Ref": "N"}}]}}
                }]
            },
            "Outputs": {
                "Fn::ForEach::Out": ["N", ["a"], {"Out${N}": {"Value": {"Ref": "Queuea"}}}]
            }
        });
        let out = for_each(&tpl, &BTreeMap::new()).unwrap();
        assert_eq!(
            out["Resources"]["Queuebc"]["Properties"]["QueueName"],
            "q-b-c"
        );
        assert_eq!(
            out["Resources"]["Queuea"]["Properties"]["Tags"][0]["Value"],
            "a"
        );
        assert!(out["Outputs"]["Outa"].is_object());
    }
}
