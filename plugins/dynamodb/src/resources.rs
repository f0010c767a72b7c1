//! CloudFormation / Cloud Control resource types of DynamoDB (see
//! docs/resources.md): AWS::DynamoDB::Table (indexes, streams, TTL,
//! point-in-time recovery), made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, tags, value_text,
};
use serde_json::{Map, Value, json};

use crate::DynamoDb;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::DynamoDB::Table", table_create, table_delete)
            .primary_identifier(&["TableName"])
            .required(&["KeySchema"])
            .create_only(&["TableName", "KeySchema", "LocalSecondaryIndexes"])
            .read_only(&["Arn", "StreamArn"])
            .attributes(&["Arn", "StreamArn"])
            .update(table_update)
            .list(table_list),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<DynamoDb>(ctx, op, &input)
}

/// Numbers written as text in templates as numbers, booleans likewise.
fn typed(v: &Value) -> Value {
    match v {
        Value::String(s) if s == "true" => json!(true),
        Value::String(s) if s == "false" => json!(false),
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => s
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| v.clone()),
        Value::Object(m) => Value::Object(m.iter().map(|(k, v)| (k.clone(), typed(v))).collect()),
        Value::Array(a) => Value::Array(a.iter().map(typed).collect()),
        other => other.clone(),
    }
}

fn stream_spec(p: &Map<String, Value>) -> Option<Value> {
    let s = p.get("StreamSpecification")?;
    Some(json!({"StreamEnabled": true, "StreamViewType": s["StreamViewType"]}))
}

fn event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "DescribeTable", json!({"TableName": name}))?;
    let t = &out["Table"];
    let mut e = ProgressEvent::success(name).attr("Arn", t["TableArn"].clone());
    if let Some(s) = t.get("LatestStreamArn") {
        e = e.attr("StreamArn", s.clone());
    }
    Ok(e)
}

fn table_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = match r.str("TableName") {
        Some(n) => n.to_string(),
        None => r.generated_name(255),
    };
    let mut input = json!({"TableName": name});
    for k in [
        "AttributeDefinitions",
        "KeySchema",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
        "SSESpecification",
        "TableClass",
        "DeletionProtectionEnabled",
        "OnDemandThroughput",
        "WarmThroughput",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = typed(v);
        }
    }
    if let Some(s) = stream_spec(p) {
        input["StreamSpecification"] = s;
    }
    let tags: Vec<Value> = tags(p)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !tags.is_empty() {
        input["Tags"] = json!(tags);
    }
    call(ctx, "CreateTable", input)?;
    extras(ctx, &name, p, &Map::new())?;
    event(ctx, &name)
}

/// TTL and point-in-time recovery, set with their own operations.
fn extras(
    ctx: &Context,
    name: &str,
    p: &Map<String, Value>,
    prev: &Map<String, Value>,
) -> Result<(), AwsError> {
    if p.get("TimeToLiveSpecification") != prev.get("TimeToLiveSpecification") {
        let spec = match p.get("TimeToLiveSpecification") {
            Some(t) => typed(t),
            None => {
                let old = &prev["TimeToLiveSpecification"];
                json!({"AttributeName": old["AttributeName"], "Enabled": false})
            }
        };
        call(
            ctx,
            "UpdateTimeToLive",
            json!({"TableName": name, "TimeToLiveSpecification": spec}),
        )?;
    }
    if p.get("PointInTimeRecoverySpecification") != prev.get("PointInTimeRecoverySpecification") {
        let enabled = p
            .get("PointInTimeRecoverySpecification")
            .and_then(|s| s.get("PointInTimeRecoveryEnabled"))
            .is_some_and(|v| value_text(v) == "true");
        call(
            ctx,
            "UpdateContinuousBackups",
            json!({"TableName": name, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": enabled}}),
        )?;
    }
    Ok(())
}

fn table_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev) = (&r.properties, &r.previous_properties);
    let name = r.physical_id.clone();
    let mut input = json!({"TableName": name});
    let mut changed = false;
    for k in [
        "BillingMode",
        "ProvisionedThroughput",
        "SSESpecification",
        "TableClass",
        "DeletionProtectionEnabled",
    ] {
        if p.get(k) != prev.get(k)
            && let Some(v) = p.get(k)
        {
            input[k] = typed(v);
            changed = true;
        }
    }
    if p.get("StreamSpecification") != prev.get("StreamSpecification") {
        input["StreamSpecification"] =
            stream_spec(p).unwrap_or_else(|| json!({"StreamEnabled": false}));
        changed = true;
    }
    // Indexes: one created or deleted per update, as AWS allows.
    let index_names = |m: &Map<String, Value>| -> Vec<(String, Value)> {
        m.get("GlobalSecondaryIndexes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|i| (value_text(&i["IndexName"]), i.clone()))
            .collect()
    };
    let (new_idx, old_idx) = (index_names(p), index_names(prev));
    let mut updates = Vec::new();
    for (n, i) in &new_idx {
        if !old_idx.iter().any(|(o, _)| o == n) {
            updates.push(json!({"Create": typed(i)}));
        }
    }
    for (o, _) in &old_idx {
        if !new_idx.iter().any(|(n, _)| n == o) {
            updates.push(json!({"Delete": {"IndexName": o}}));
        }
    }
    if !updates.is_empty() {
        input["GlobalSecondaryIndexUpdates"] = json!(updates);
        input["AttributeDefinitions"] = typed(&p["AttributeDefinitions"]);
        changed = true;
    }
    if changed {
        call(ctx, "UpdateTable", input)?;
    }
    if p.get("Tags") != prev.get("Tags") {
        let arn = event(ctx, &name)?.attributes["Arn"].clone();
        let old: Vec<String> = tags(prev).into_iter().map(|(k, _)| k).collect();
        if !old.is_empty() {
            call(
                ctx,
                "UntagResource",
                json!({"ResourceArn": arn, "TagKeys": old}),
            )?;
        }
        let new: Vec<Value> = tags(p)
            .into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        if !new.is_empty() {
            call(ctx, "TagResource", json!({"ResourceArn": arn, "Tags": new}))?;
        }
    }
    extras(ctx, &name, p, prev)?;
    event(ctx, &name)
}

fn table_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let out = call(ctx, "ListTables", json!({}))?;
    let resources = out["TableNames"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let name = value_text(n);
            let mut props = Map::new();
            props.insert("TableName".into(), json!(name));
            ProgressEvent::success(name).with_properties(props)
        })
        .collect();
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}

fn table_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteTable", json!({"TableName": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
