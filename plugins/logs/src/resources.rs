//! CloudFormation / Cloud Control resource types of CloudWatch Logs (see
//! docs/resources.md): AWS::Logs::LogGroup, made with the plugin's own
//! operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::Logs;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Logs::LogGroup", group_create, group_delete)
            .primary_identifier(&["LogGroupName"])
            .create_only(&["LogGroupName", "LogGroupClass"])
            .attributes(&["Arn"])
            .update(group_update),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Logs>(ctx, op, &input)
}

fn arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{name}:*",
        ctx.partition(),
        ctx.region,
        ctx.account
    )
}

fn retention(
    ctx: &Context,
    name: &str,
    p: &Map<String, Value>,
    prev: &Map<String, Value>,
) -> Result<(), AwsError> {
    match p.get("RetentionInDays") {
        Some(d) if p.get("RetentionInDays") != prev.get("RetentionInDays") => {
            let days = value_text(d).parse::<i64>().unwrap_or(0);
            call(
                ctx,
                "PutRetentionPolicy",
                json!({"logGroupName": name, "retentionInDays": days}),
            )?;
        }
        None if prev.contains_key("RetentionInDays") => {
            call(ctx, "DeleteRetentionPolicy", json!({"logGroupName": name}))?;
        }
        _ => {}
    }
    Ok(())
}

fn group_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r
        .str("LogGroupName")
        .map(str::to_string)
        .unwrap_or_else(|| r.generated_name(512));
    let mut input = json!({"logGroupName": name});
    if let Some(k) = r.properties.get("KmsKeyId") {
        input["kmsKeyId"] = json!(value_text(k));
    }
    if let Some(c) = r.properties.get("LogGroupClass") {
        input["logGroupClass"] = json!(value_text(c));
    }
    let t: Map<String, Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    if !t.is_empty() {
        input["tags"] = json!(t);
    }
    call(ctx, "CreateLogGroup", input)?;
    retention(ctx, &name, &r.properties, &Map::new())?;
    Ok(ProgressEvent::success(name.clone()).attr("Arn", arn(ctx, &name)))
}

fn group_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    retention(ctx, &r.physical_id, &r.properties, &r.previous_properties)?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Arn", arn(ctx, &r.physical_id)))
}

fn group_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteLogGroup",
        json!({"logGroupName": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
