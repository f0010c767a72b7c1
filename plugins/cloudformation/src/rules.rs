//! The template's `Rules` section: each rule whose `RuleCondition` holds
//! (or that has none) must satisfy every `Assert` of its `Assertions`, or
//! the operation fails with `ValidationError` and the assertion's
//! `AssertDescription`. The CDK's `CheckBootstrapVersion` rule is one: it
//! refuses a bootstrap stack older than the app needs.
//!
//! Rule functions: `Fn::And`, `Fn::Or`, `Fn::Not`, `Fn::Equals`,
//! `Fn::Contains`, `Fn::EachMemberEquals`, `Fn::EachMemberIn`; values are
//! parameters (`Ref`), pseudo parameters and the ordinary intrinsics.
//! `Fn::RefAll`, `Fn::ValueOf` and `Fn::ValueOfAll` read AWS-specific
//! parameter types (VPCs, subnets, ...) no plugin provides yet: they fail
//! as unsupported.
//!
//! One evaluator, two moments: [`check_call`] when CreateStack,
//! UpdateStack or CreateChangeSet is called (so a broken rule is the
//! call's error), and [`check`] again when a deployment builds its
//! environment (the SSM parameter values it reads may have changed).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::Value;

use crate::template::{self, Env, format_error, section, text};

/// Checks the rules at call time, over the given parameter values
/// (defaults added, SSM-typed parameters read from SSM).
pub fn check_call(
    ctx: &Context,
    template: &Value,
    parameters: &BTreeMap<String, String>,
) -> Result<(), AwsError> {
    if section(template, "Rules").is_empty() {
        return Ok(());
    }
    let mut env = Env {
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        partition: ctx.partition().to_string(),
        parameters: template::resolve_parameters(template, parameters)?,
        mappings: section(template, "Mappings").clone(),
        ..Default::default()
    };
    crate::deploy::resolve_ssm_parameters(ctx, template, &mut env)?;
    check(&env, template)
}

/// Checks every rule of `template` against the resolved parameters in `env`.
pub fn check(env: &Env, template: &Value) -> Result<(), AwsError> {
    for (name, rule) in section(template, "Rules") {
        if let Some(condition) = rule.get("RuleCondition")
            && !truth(env, condition)?
        {
            continue;
        }
        let assertions = rule
            .get("Assertions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for assertion in assertions {
            let Some(assert) = assertion.get("Assert") else {
                return Err(format_error(format!(
                    "Template error: every assertion of rule {name} needs an Assert"
                )));
            };
            if !truth(env, assert)? {
                let message = assertion
                    .get("AssertDescription")
                    .map(text)
                    .unwrap_or_else(|| format!("Assertion failed for rule {name}"));
                return Err(AwsError::validation_error(message));
            }
        }
    }
    Ok(())
}

fn function(v: &Value) -> Option<(&str, &Value)> {
    match v {
        Value::Object(m) if m.len() == 1 => {
            let (k, arg) = m.iter().next()?;
            Some((k.as_str(), arg))
        }
        _ => None,
    }
}

fn args<'a>(name: &str, arg: &'a Value, n: usize) -> Result<&'a [Value], AwsError> {
    match arg {
        Value::Array(a) if a.len() == n => Ok(a),
        _ => Err(format_error(format!(
            "Template error: {name} requires a list of {n} elements"
        ))),
    }
}

/// A rule condition or assertion.
fn truth(env: &Env, v: &Value) -> Result<bool, AwsError> {
    let Some((name, arg)) = function(v) else {
        return match value(env, v)? {
            Value::Bool(b) => Ok(b),
            other => match text(&other).as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                t => Err(format_error(format!(
                    "Template error: rule value {t} is not a boolean"
                ))),
            },
        };
    };
    match name {
        "Fn::And" | "Fn::Or" => {
            let items = arg.as_array().cloned().unwrap_or_default();
            let mut values = Vec::new();
            for i in &items {
                values.push(truth(env, i)?);
            }
            Ok(if name == "Fn::And" {
                values.iter().all(|b| *b)
            } else {
                values.iter().any(|b| *b)
            })
        }
        "Fn::Not" => Ok(!truth(env, &args(name, arg, 1)?[0])?),
        "Fn::Equals" => {
            let a = args(name, arg, 2)?;
            Ok(text(&value(env, &a[0])?) == text(&value(env, &a[1])?))
        }
        "Fn::Contains" => {
            let a = args(name, arg, 2)?;
            let needle = text(&value(env, &a[1])?);
            Ok(list(env, &a[0])?.contains(&needle))
        }
        "Fn::EachMemberEquals" => {
            let a = args(name, arg, 2)?;
            let want = text(&value(env, &a[1])?);
            Ok(list(env, &a[0])?.iter().all(|x| *x == want))
        }
        "Fn::EachMemberIn" => {
            let a = args(name, arg, 2)?;
            let allowed = list(env, &a[1])?;
            Ok(list(env, &a[0])?.iter().all(|x| allowed.contains(x)))
        }
        _ => truth_of_value(env, v),
    }
}

fn truth_of_value(env: &Env, v: &Value) -> Result<bool, AwsError> {
    match value(env, v)? {
        Value::Bool(b) => Ok(b),
        other => Ok(text(&other) == "true"),
    }
}

/// A value in a rule: rule-only functions first, then the ordinary intrinsics.
fn value(env: &Env, v: &Value) -> Result<Value, AwsError> {
    if let Some((name, _)) = function(v)
        && matches!(name, "Fn::RefAll" | "Fn::ValueOf" | "Fn::ValueOfAll")
    {
        return Err(format_error(format!(
            "Template error: {name} is not supported by this gateway yet"
        )));
    }
    env.eval(v).map_err(AwsError::from)
}

/// A list value as text items (a comma-delimited string splits).
fn list(env: &Env, v: &Value) -> Result<Vec<String>, AwsError> {
    Ok(match value(env, v)? {
        Value::Array(a) => a.iter().map(text).collect(),
        other => text(&other)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(version: &str) -> Env {
        let mut e = Env::default();
        e.parameters
            .insert("BootstrapVersion".into(), json!(version));
        e.parameters.insert("Env".into(), json!("prod"));
        e
    }

    const CDK: &str = r#"{"Rules": {"CheckBootstrapVersion": {"Assertions": [{
        "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
        "AssertDescription": "CDK bootstrap stack version 6 required."}]}}}"#;

    #[test]
    fn cdk_bootstrap_version_rule() {
        let t: Value = serde_json::from_str(CDK).unwrap();
        assert!(check(&env("30"), &t).is_ok());
        let e = check(&env("5"), &t).unwrap_err();
        assert_eq!(e.message, "CDK bootstrap stack version 6 required.");
    }

    #[test]
    fn rule_condition_gates_the_assertions() {
        let t = json!({"Rules": {"ProdOnly": {
            "RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "Assertions": [{"Assert": {"Fn::EachMemberIn": [["a", "b"], ["a"]]}}]}}});
        assert!(check(&env("30"), &t).is_err());
        let mut dev = env("30");
        dev.parameters.insert("Env".into(), json!("dev"));
        assert!(check(&dev, &t).is_ok());
    }

    #[test]
    fn parameter_values_and_descriptions() {
        let t = json!({
            "Parameters": {"Env": {"Type": "String"}, "Size": {"Type": "String", "Default": "small"}},
            "Rules": {"ProdIsLarge": {
                "RuleCondition": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
                "Assertions": [{"Assert": {"Fn::Contains": [["large", "xlarge"], {"Ref": "Size"}]}, "AssertDescription": "prod needs a large size"}]
            }}
        });
        let env = |e: &str, s: &str| {
            let given = [
                ("Env".to_string(), e.to_string()),
                ("Size".to_string(), s.to_string()),
            ]
            .into_iter()
            .collect();
            Env {
                parameters: template::resolve_parameters(&t, &given).unwrap(),
                ..Default::default()
            }
        };
        assert!(check(&env("dev", "small"), &t).is_ok());
        assert!(check(&env("prod", "large"), &t).is_ok());
        assert_eq!(
            check(&env("prod", "small"), &t).unwrap_err().message,
            "prod needs a large size"
        );
    }
}
