//! Template transforms, applied when a template is submitted (the stack
//! keeps the original body for `GetTemplate` and deploys the processed
//! template): `AWS::Include` (`Fn::Transform` snippets from S3),
//! `AWS::LanguageExtensions` (`Fn::ForEach`), and the SAM transform
//! `AWS::Serverless-2016-10-31` (crate::sam). Also the `Rules` section.

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

/// Checks the `Rules` section against the parameter values: a rule whose
/// `RuleCondition` holds must have every `Assertions[].Assert` true.
pub fn check_rules(tpl: &Value, parameters: &BTreeMap<String, String>) -> Result<(), AwsError> {
    let rules = template::section(tpl, "Rules");
    if rules.is_empty() {
        return Ok(());
    }
    let values = template::resolve_parameters(tpl, parameters)?;
    for (name, rule) in rules {
        if let Some(cond) = rule.get("RuleCondition")
            && !truth(&rule_eval(cond, &values)?)
        {
            continue;
        }
        for assertion in rule
            .get("Assertions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let ok = truth(&rule_eval(
                assertion.get("Assert").unwrap_or(&Value::Null),
                &values,
            )?);
            if !ok {
                let message = assertion
                    .get("AssertDescription")
                    .map(text)
                    .unwrap_or_else(|| format!("Template error: Rule {name} assertion failed"));
                return Err(AwsError::validation_error(message));
            }
        }
    }
    Ok(())
}

fn truth(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::String(s) => s == "true",
        _ => false,
    }
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(text).collect(),
        Value::String(s) => s.split(',').map(|x| x.trim().to_string()).collect(),
        other => vec![text(other)],
    }
}

/// Rule functions: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
/// `Fn::Contains`, `Fn::EachMemberEquals`, `Fn::EachMemberIn`,
/// `Fn::RefAll` (empty: no AWS-specific parameter values here),
/// `Fn::ValueOf`/`Fn::ValueOfAll` (the value itself), `Ref`.
fn rule_eval(v: &Value, values: &BTreeMap<String, Value>) -> Result<Value, AwsError> {
    let Value::Object(m) = v else {
        return match v {
            Value::Array(a) => a
                .iter()
                .map(|x| rule_eval(x, values))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        };
    };
    if m.len() != 1 {
        return Ok(v.clone());
    }
    let (f, arg) = m.iter().next().unwrap();
    let args = |n: usize| -> Result<Vec<Value>, AwsError> {
        let a = arg
            .as_array()
            .filter(|a| n == 0 || a.len() == n)
            .ok_or_else(|| format_error(format!("Template error: {f} takes {n} arguments")))?;
        a.iter().map(|x| rule_eval(x, values)).collect()
    };
    Ok(match f.as_str() {
        "Ref" => values.get(&text(arg)).cloned().ok_or_else(|| {
            format_error(format!(
                "Template error: unresolved parameter {} in Rules",
                text(arg)
            ))
        })?,
        "Fn::Equals" => {
            let a = args(2)?;
            json!(text(&a[0]) == text(&a[1]))
        }
        "Fn::Not" => json!(!truth(&args(1)?[0])),
        "Fn::And" => json!(args(0)?.iter().all(truth)),
        "Fn::Or" => json!(args(0)?.iter().any(truth)),
        "Fn::Contains" => {
            let a = args(2)?;
            json!(as_list(&a[0]).contains(&text(&a[1])))
        }
        "Fn::EachMemberEquals" => {
            let a = args(2)?;
            json!(as_list(&a[0]).iter().all(|x| *x == text(&a[1])))
        }
        "Fn::EachMemberIn" => {
            let a = args(2)?;
            let allowed = as_list(&a[1]);
            json!(as_list(&a[0]).iter().all(|x| allowed.contains(x)))
        }
        "Fn::RefAll" => json!([]),
        "Fn::ValueOf" | "Fn::ValueOfAll" => {
            let a = args(0)?;
            a.first().cloned().unwrap_or(Value::Null)
        }
        "Fn::If" => {
            let a = args(3)?;
            if truth(&a[0]) {
                a[1].clone()
            } else {
                a[2].clone()
            }
        }
        _ => v.clone(),
    })
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

    #[test]
    fn rules() {
        let tpl = json!({
            "Parameters": {"Env": {"Type": "String"}, "Size": {"Type": "String"}},
            "Rules": {"ProdIsLarge": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "Assertions": [{"Assert": {"Fn::Contains": [["large", "xlarge"], {"Ref": "Size"}]}, "AssertDescription": "prod needs a large size"}]
            }},
            "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}
        });
        let p = |e: &str, s: &str| {
            [
                ("Env".to_string(), e.to_string()),
                ("Size".to_string(), s.to_string()),
            ]
            .into_iter()
            .collect()
        };
        assert!(check_rules(&tpl, &p("dev", "small")).is_ok());
        assert!(check_rules(&tpl, &p("prod", "large")).is_ok());
        assert_eq!(
            check_rules(&tpl, &p("prod", "small")).unwrap_err().message,
            "prod needs a large size"
        );
    }
}
