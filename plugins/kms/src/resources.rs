//! CloudFormation / Cloud Control resource types of KMS (see
//! docs/resources.md): AWS::KMS::Key, AWS::KMS::Alias and
//! AWS::KMS::ReplicaKey, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use ministack_sdk::services::{self, Target};
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
        ResourceType::new("AWS::KMS::ReplicaKey", replica_create, key_delete)
            .primary_identifier(&["KeyId"])
            .required(&["PrimaryKeyArn", "KeyPolicy"])
            .create_only(&["PrimaryKeyArn"])
            .read_only(&["Arn", "KeyId"])
            .attributes(&["Arn", "KeyId"])
            .update(key_update),
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

/// A replica of a multi-Region key of another region of the same account,
/// made in the stack's region. KMS's `ReplicateKey` (called in the primary
/// key's region) makes it when the plugin has it; otherwise the replica is
/// a new multi-Region key of the primary's spec and usage (its own id and
/// key material: see docs/services/kms.md).
fn replica_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let primary = r.required_str("PrimaryKeyArn")?;
    let arn: Arn = primary
        .parse()
        .map_err(|_| AwsError::validation(format!("PrimaryKeyArn '{primary}' is not a key ARN")))?;
    if arn.account != ctx.account || arn.region == ctx.region {
        return Err(AwsError::validation(format!(
            "PrimaryKeyArn '{primary}' must name a key of account {} in another region than {}",
            ctx.account, ctx.region
        )));
    }
    let home = Target::at("kms", &arn.account, &arn.region);
    let described: Value = services::call(&home, "DescribeKey", &json!({"KeyId": primary}))?;
    let meta = &described["KeyMetadata"];
    if meta["MultiRegion"] != json!(true) {
        return Err(AwsError::new(
            "UnsupportedOperationException",
            format!("{primary} is not a multi-Region key"),
        ));
    }
    let mut input = json!({"Policy": doc(&p["KeyPolicy"])});
    if let Some(d) = p.get("Description") {
        input["Description"] = json!(value_text(d));
    }
    let t: Vec<Value> = tags(p)
        .into_iter()
        .map(|(k, v)| json!({"TagKey": k, "TagValue": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    let mut replicate = input.clone();
    replicate["KeyId"] = json!(primary);
    replicate["ReplicaRegion"] = json!(ctx.region);
    let (id, key_arn) = match services::call::<_, Value>(&home, "ReplicateKey", &replicate) {
        Ok(out) => {
            let m = &out["ReplicaKeyMetadata"];
            (value_text(&m["KeyId"]), m["Arn"].clone())
        }
        Err(e)
            if matches!(
                e.code.as_str(),
                "NotImplemented" | "UnknownOperationException"
            ) =>
        {
            input["MultiRegion"] = json!(true);
            for k in ["KeySpec", "KeyUsage"] {
                if let Some(v) = meta.get(k) {
                    input[k] = v.clone();
                }
            }
            let out = call(ctx, "CreateKey", input)?;
            let m = &out["KeyMetadata"];
            (value_text(&m["KeyId"]), m["Arn"].clone())
        }
        Err(e) => return Err(e),
    };
    if truthy(p.get("Enabled")) == Some(false) {
        call(ctx, "DisableKey", json!({"KeyId": id}))?;
    }
    Ok(key_event(&id, &key_arn))
}
