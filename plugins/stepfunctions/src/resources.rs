//! CloudFormation / Cloud Control resource types of Step Functions (see
//! docs/resources.md): AWS::StepFunctions::StateMachine and
//! AWS::StepFunctions::Activity, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::StepFunctions;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new(
            "AWS::StepFunctions::StateMachine",
            machine_create,
            machine_delete,
        )
        .primary_identifier(&["Arn"])
        .required(&["RoleArn"])
        .create_only(&["StateMachineName", "StateMachineType"])
        .attributes(&["Arn", "Name", "StateMachineRevisionId"])
        .update(machine_update),
        ResourceType::new(
            "AWS::StepFunctions::Activity",
            activity_create,
            activity_delete,
        )
        .primary_identifier(&["Arn"])
        .required(&["Name"])
        .create_only(&["Name", "EncryptionConfiguration"])
        .read_only(&["Arn"])
        .attributes(&["Arn", "Name"])
        .update(activity_update),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<StepFunctions>(ctx, op, &input)
}

/// The definition: `DefinitionString` (with `DefinitionSubstitutions`
/// `${name}` replaced) or the `Definition` object.
fn definition(p: &Map<String, Value>) -> String {
    let mut text = match (p.get("DefinitionString"), p.get("Definition")) {
        (Some(s), _) => value_text(s),
        (None, Some(d)) => d.to_string(),
        (None, None) => String::new(),
    };
    if let Some(Value::Object(subs)) = p.get("DefinitionSubstitutions") {
        for (k, v) in subs {
            text = text.replace(&format!("${{{k}}}"), &value_text(v));
        }
    }
    text
}

fn lower_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let mut c = k.chars();
                    let k = c
                        .next()
                        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
                        .unwrap_or_default();
                    (k, lower_keys(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

fn machine_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("StateMachineName", 80);
    let mut input = json!({
        "name": name,
        "definition": definition(p),
        "roleArn": r.required_str("RoleArn")?,
    });
    if let Some(t) = p.get("StateMachineType") {
        input["type"] = json!(value_text(t));
    }
    for (from, to) in [
        ("LoggingConfiguration", "loggingConfiguration"),
        ("TracingConfiguration", "tracingConfiguration"),
    ] {
        if let Some(v) = p.get(from) {
            input[to] = lower_keys(v);
        }
    }
    let t: Vec<Value> = tags(p)
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    if !t.is_empty() {
        input["tags"] = json!(t);
    }
    let out = call(ctx, "CreateStateMachine", input)?;
    let arn = value_text(&out["stateMachineArn"]);
    Ok(ProgressEvent::success(arn.clone())
        .attr("Arn", arn)
        .attr("Name", name))
}

fn machine_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({
        "stateMachineArn": r.physical_id,
        "definition": definition(&r.properties),
        "roleArn": r.required_str("RoleArn")?,
    });
    if let Some(v) = r.properties.get("LoggingConfiguration") {
        input["loggingConfiguration"] = lower_keys(v);
    }
    let out = call(ctx, "UpdateStateMachine", input)?;
    let name = r
        .physical_id
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_string();
    Ok(ProgressEvent::success(r.physical_id.clone())
        .attr("Arn", r.physical_id.clone())
        .attr("Name", name)
        .attr(
            "StateMachineRevisionId",
            out.get("revisionId").cloned().unwrap_or(Value::Null),
        ))
}

fn machine_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteStateMachine",
        json!({"stateMachineArn": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn activity_tags(p: &Map<String, Value>) -> Vec<Value> {
    tags(p)
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn activity_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.required_str("Name")?.to_string();
    let mut input = json!({"name": name});
    let t = activity_tags(&r.properties);
    if !t.is_empty() {
        input["tags"] = json!(t);
    }
    if let Some(e) = r.properties.get("EncryptionConfiguration") {
        input["encryptionConfiguration"] = lower_keys(e);
    }
    let out = call(ctx, "CreateActivity", input)?;
    let arn = value_text(&out["activityArn"]);
    Ok(ProgressEvent::success(arn.clone())
        .attr("Arn", arn)
        .attr("Name", name))
}

/// Only tags can change in place.
fn activity_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let arn = r.physical_id.clone();
    let old: Vec<String> = tags(&r.previous_properties)
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    if !old.is_empty() {
        call(
            ctx,
            "UntagResource",
            json!({"resourceArn": arn, "tagKeys": old}),
        )?;
    }
    let t = activity_tags(&r.properties);
    if !t.is_empty() {
        call(ctx, "TagResource", json!({"resourceArn": arn, "tags": t}))?;
    }
    let name = arn.rsplit(':').next().unwrap_or_default().to_string();
    Ok(ProgressEvent::success(arn.clone())
        .attr("Arn", arn)
        .attr("Name", name))
}

fn activity_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteActivity", json!({"activityArn": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
