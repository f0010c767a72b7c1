//! CloudFormation / Cloud Control resource type of EventBridge Pipes (see
//! docs/resources.md): AWS::Pipes::Pipe, made with the plugin's own
//! operations so a pipe from a template behaves like one from the API.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, value_text};
use serde_json::{Map, Value, json};

use crate::Pipes;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Pipes::Pipe", create, delete)
            .primary_identifier(&["Name"])
            .required(&["RoleArn", "Source", "Target"])
            .create_only(&["Name", "Source", "KmsKeyIdentifier"])
            .read_only(&[
                "Arn",
                "CreationTime",
                "CurrentState",
                "LastModifiedTime",
                "StateReason",
            ])
            .attributes(&[
                "Arn",
                "CreationTime",
                "CurrentState",
                "LastModifiedTime",
                "StateReason",
            ])
            .update(update)
            .read(read),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Pipes>(ctx, op, &input)
}

/// Members a template gives as they are (objects keep their shape).
const PASSED: [&str; 6] = [
    "SourceParameters",
    "EnrichmentParameters",
    "TargetParameters",
    "LogConfiguration",
    "Enrichment",
    "KmsKeyIdentifier",
];
/// Members that are plain strings.
const TEXT: [&str; 4] = ["Description", "DesiredState", "RoleArn", "Target"];

fn pipe_input(name: &str, r: &ResourceRequest, with_source: bool) -> Value {
    let p = &r.properties;
    let mut input = json!({"Name": name});
    for k in TEXT {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    for k in PASSED {
        if let Some(v) = p.get(k) {
            input[k] = v.clone();
        }
    }
    if with_source {
        if let Some(v) = p.get("Source") {
            input["Source"] = json!(value_text(v));
        }
        // AWS::Pipes::Pipe takes Tags as a map, as the API does.
        if let Some(tags) = p.get("Tags").and_then(Value::as_object) {
            let tags: Map<String, Value> = tags
                .iter()
                .map(|(k, v)| (k.clone(), json!(value_text(v))))
                .collect();
            input["Tags"] = Value::Object(tags);
        }
    }
    input
}

fn attributes(event: ProgressEvent, pipe: &Value) -> ProgressEvent {
    [
        "Arn",
        "CreationTime",
        "CurrentState",
        "LastModifiedTime",
        "StateReason",
    ]
    .into_iter()
    .fold(event, |e, k| match pipe.get(k) {
        Some(v) if !v.is_null() => e.attr(k, v.clone()),
        _ => e,
    })
}

fn describe(ctx: &Context, name: &str) -> Result<Value, AwsError> {
    call(ctx, "DescribePipe", json!({"Name": name}))
}

fn create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("Name", 64);
    call(ctx, "CreatePipe", pipe_input(&name, r, true))?;
    let pipe = describe(ctx, &name)?;
    Ok(attributes(ProgressEvent::success(name), &pipe))
}

fn update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "UpdatePipe", pipe_input(&r.physical_id, r, false))?;
    let pipe = describe(ctx, &r.physical_id)?;
    Ok(attributes(
        ProgressEvent::success(r.physical_id.clone()),
        &pipe,
    ))
}

fn delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    match call(ctx, "DeletePipe", json!({"Name": r.physical_id})) {
        Ok(_) => {}
        // Already gone (deleted by hand): the stack's delete goes on.
        Err(e) if e.code == "NotFoundException" => {}
        Err(e) => return Err(e),
    }
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// The pipe as it is now, in the template's property names (drift).
fn read(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let pipe = describe(ctx, &r.physical_id)?;
    let mut properties = Map::new();
    for k in TEXT
        .iter()
        .chain(PASSED.iter())
        .chain(["Source", "Tags"].iter())
    {
        if let Some(v) = pipe.get(*k).filter(|v| !v.is_null()) {
            properties.insert(k.to_string(), v.clone());
        }
    }
    properties.insert("Name".into(), json!(r.physical_id));
    Ok(
        attributes(ProgressEvent::success(r.physical_id.clone()), &pipe)
            .with_properties(properties),
    )
}
