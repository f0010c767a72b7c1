//! The `Changes` of a change set (and whether an update changes anything).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::deploy::{self, Handlers};
use crate::stacks::Stack;
use crate::template::{self, EvalError};

fn change(
    action: &str,
    logical: &str,
    physical: Option<&str>,
    type_name: &str,
    replacement: Option<&str>,
    scope: &[&str],
) -> Value {
    let mut rc = json!({
        "Action": action,
        "LogicalResourceId": logical,
        "ResourceType": type_name,
        "Scope": scope,
        "Details": [],
    });
    if let Some(p) = physical {
        rc["PhysicalResourceId"] = json!(p);
    }
    if let Some(r) = replacement {
        rc["Replacement"] = json!(r);
    }
    json!({"Type": "Resource", "ResourceChange": rc})
}

/// What deploying `tpl` with `parameters` over `stack` would do.
pub fn compute(
    ctx: &Context,
    stack: &Stack,
    tpl: &Value,
    parameters: &BTreeMap<String, String>,
) -> Result<Vec<Value>, AwsError> {
    let env = deploy::environment(ctx, stack, tpl, parameters)?;
    let mut handlers = Handlers::default();
    let mut out = Vec::new();
    let defs = template::section(tpl, "Resources");
    for (logical, def) in defs {
        if !template::enabled(&env, def) {
            continue;
        }
        let type_name = template::text(&def["Type"]);
        let existing = stack
            .resources
            .get(logical)
            .filter(|r| !r.physical_id.is_empty() && !r.status.starts_with("DELETE"));
        let Some(old) = existing else {
            out.push(change("Add", logical, None, &type_name, None, &[]));
            continue;
        };
        if old.type_name != type_name {
            out.push(change(
                "Modify",
                logical,
                Some(&old.physical_id),
                &type_name,
                Some("True"),
                &["Properties"],
            ));
            continue;
        }
        let props = match def.get("Properties") {
            None => Ok(json!({})),
            Some(p) => env.eval(p),
        };
        let schema = handlers.schema(ctx, &type_name)?;
        match props {
            Err(EvalError::Unknown(_)) => {
                out.push(change(
                    "Modify",
                    logical,
                    Some(&old.physical_id),
                    &type_name,
                    Some("Conditional"),
                    &["Properties"],
                ));
            }
            Err(e) => return Err(e.into()),
            Ok(Value::Object(p)) if p == old.properties => {}
            Ok(p) => {
                let replace = !schema.updatable
                    || schema
                        .create_only
                        .iter()
                        .any(|k| old.properties.get(k) != p.get(k));
                out.push(change(
                    "Modify",
                    logical,
                    Some(&old.physical_id),
                    &type_name,
                    Some(if replace { "True" } else { "False" }),
                    &["Properties"],
                ));
            }
        }
    }
    for (logical, r) in &stack.resources {
        let kept = defs
            .get(logical)
            .is_some_and(|d| template::enabled(&env, d));
        if !kept && !r.physical_id.is_empty() && !r.status.starts_with("DELETE") {
            out.push(change(
                "Remove",
                logical,
                Some(&r.physical_id),
                &r.type_name,
                None,
                &[],
            ));
        }
    }
    Ok(out)
}
