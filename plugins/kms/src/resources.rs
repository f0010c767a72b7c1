//! CloudFormation / Cloud Control resource types of KMS (see
//! docs/resources.md): AWS::KMS::Key and AWS::KMS::Alias, made with the
//! plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Value, json};

use crate::Kms;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::KMS::Key", key_create, key_delete)
            .primary_identifier(&["KeyId"])
            .create_only(&["KeySpec", "KeyUsage", "MultiRegion", "Origin"])
            .read_only(&["Arn", "KeyId"])
            .attributes(&["Arn", "KeyId"])
            .update(key_update),
        ResourceType::new("AWS::KMS::Alias", alias_create, alias_delete)
            .primary_identifier(&["AliasName"])
            .required(&["AliasName", "TargetKeyId"])
            .create_only(&["AliasName"])
            .update(alias_update),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Kms>(ctx, op, &input)
}

fn doc(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn truthy(v: Option<&Value>) -> Option<bool> {
    v.map(|v| value_text(v) == "true")
}

fn key_event(id: &str, arn: &Value) -> ProgressEvent {
    ProgressEvent::success(id)
        .attr("KeyId", id)
        .attr("Arn", arn.clone())
}

fn key_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let mut input = json!({});
    if let Some(policy) = p.get("KeyPolicy") {
        input["Policy"] = json!(doc(policy));
    }
    for k in ["Description", "KeyUsage", "KeySpec", "Origin"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    if let Some(m) = truthy(p.get("MultiRegion")) {
        input["MultiRegion"] = json!(m);
    }
    let t: Vec<Value> = tags(p)
        .into_iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    let out = call(ctx, "CreateKey", input)?;
    let meta = &out["KeyMetadata"];
    let id = value_text(&meta["KeyId"]);
    if truthy(p.get("EnableKeyRotation")) == Some(true) {
        call(ctx, "EnableKeyRotation", json!({"KeyId": id}))?;
    }
    if truthy(p.get("Enabled")) == Some(false) {
        call(ctx, "DisableKey", json!({"KeyId": id}))?;
    }
    Ok(key_event(&id, &meta["Arn"]))
}

fn key_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev, id) = (
        &r.properties,
        &r.previous_properties,
        r.physical_id.as_str(),
    );
    if p.get("KeyPolicy") != prev.get("KeyPolicy")
        && let Some(policy) = p.get("KeyPolicy")
    {
        call(
            ctx,
            "PutKeyPolicy",
            json!({"KeyId": id, "PolicyName": "default", "Policy": doc(policy)}),
        )?;
    }
    if p.get("Description") != prev.get("Description") {
        call(
            ctx,
            "UpdateKeyDescription",
            json!({"KeyId": id, "Description": p.get("Description").map(value_text).unwrap_or_default()}),
        )?;
    }
    if truthy(p.get("EnableKeyRotation")) != truthy(prev.get("EnableKeyRotation")) {
        let op = if truthy(p.get("EnableKeyRotation")) == Some(true) {
            "EnableKeyRotation"
        } else {
            "DisableKeyRotation"
        };
        call(ctx, op, json!({"KeyId": id}))?;
    }
    if truthy(p.get("Enabled")) != truthy(prev.get("Enabled")) {
        let op = if truthy(p.get("Enabled")) == Some(false) {
            "DisableKey"
        } else {
            "EnableKey"
        };
        call(ctx, op, json!({"KeyId": id}))?;
    }
    let out = call(ctx, "DescribeKey", json!({"KeyId": id}))?;
    Ok(key_event(id, &out["KeyMetadata"]["Arn"]))
}

fn key_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let days = r
        .properties
        .get("PendingWindowInDays")
        .and_then(|v| value_text(v).parse::<i64>().ok())
        .unwrap_or(30);
    call(
        ctx,
        "ScheduleKeyDeletion",
        json!({"KeyId": r.physical_id, "PendingWindowInDays": days}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn alias_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.required_str("AliasName")?;
    call(
        ctx,
        "CreateAlias",
        json!({"AliasName": name, "TargetKeyId": r.required_str("TargetKeyId")?}),
    )?;
    Ok(ProgressEvent::success(name))
}

fn alias_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "UpdateAlias",
        json!({"AliasName": r.physical_id, "TargetKeyId": r.required_str("TargetKeyId")?}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn alias_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteAlias", json!({"AliasName": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
