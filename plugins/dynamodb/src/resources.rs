//! CloudFormation / Cloud Control resource types of DynamoDB (see
//! docs/resources.md): AWS::DynamoDB::Table (indexes, streams, TTL,
//! point-in-time recovery) and AWS::DynamoDB::GlobalTable (the table in the
//! stack's region with its other replicas recorded as UpdateTable's
//! ReplicaUpdates do), made with the plugin's own operations.

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
        ResourceType::new("AWS::DynamoDB::GlobalTable", global_create, table_delete)
            .primary_identifier(&["TableName"])
            .required(&["AttributeDefinitions", "KeySchema", "Replicas"])
            .create_only(&["TableName", "KeySchema", "LocalSecondaryIndexes"])
            .read_only(&["Arn", "StreamArn", "TableId"])
            .attributes(&["Arn", "StreamArn", "TableId"])
            .update(global_update),
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

/// The regions of a global table's `Replicas`.
fn replica_regions(p: &Map<String, Value>) -> Vec<String> {
    p.get("Replicas")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("Region").map(value_text))
        .collect()
}

/// The replica of the stack's region (where the table is made).
fn local_replica<'a>(ctx: &Context, p: &'a Map<String, Value>) -> Option<&'a Value> {
    p.get("Replicas")
        .and_then(Value::as_array)?
        .iter()
        .find(|r| r.get("Region").map(value_text).as_deref() == Some(ctx.region.as_str()))
}

fn global_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "DescribeTable", json!({"TableName": name}))?;
    let t = &out["Table"];
    let mut e = ProgressEvent::success(name).attr("Arn", t["TableArn"].clone());
    if let Some(s) = t.get("LatestStreamArn") {
        e = e.attr("StreamArn", s.clone());
    }
    if let Some(id) = t.get("TableId") {
        e = e.attr("TableId", id.clone());
    }
    Ok(e)
}

fn replica_updates(
    ctx: &Context,
    name: &str,
    add: &[String],
    remove: &[String],
) -> Result<(), AwsError> {
    let mut updates: Vec<Value> = add
        .iter()
        .filter(|r| **r != ctx.region)
        .map(|r| json!({"Create": {"RegionName": r}}))
        .collect();
    updates.extend(
        remove
            .iter()
            .filter(|r| **r != ctx.region)
            .map(|r| json!({"Delete": {"RegionName": r}})),
    );
    if !updates.is_empty() {
        call(
            ctx,
            "UpdateTable",
            json!({"TableName": name, "ReplicaUpdates": updates}),
        )?;
    }
    Ok(())
}

fn global_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let regions = replica_regions(p);
    let Some(local) = local_replica(ctx, p) else {
        return Err(AwsError::validation(format!(
            "Property validation failure: [Replicas must include the stack's region {} (got {regions:?})]",
            ctx.region
        )));
    };
    let name = match r.str("TableName") {
        Some(n) => n.to_string(),
        None => r.generated_name(255),
    };
    let billing = p
        .get("BillingMode")
        .map(value_text)
        .unwrap_or_else(|| "PROVISIONED".into());
    let mut input = json!({"TableName": name, "BillingMode": billing});
    for k in [
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "LocalSecondaryIndexes",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = typed(v);
        }
    }
    if billing == "PROVISIONED" {
        // Writes come from the table's auto scaling settings, reads from
        // the replica's (fixed capacity here: no auto scaling).
        let write = p
            .get("WriteProvisionedThroughputSettings")
            .and_then(|w| w.get("WriteCapacityAutoScalingSettings"))
            .and_then(|s| s.get("MinCapacity"))
            .map(|v| value_text(v).parse::<i64>().unwrap_or(5))
            .unwrap_or(5);
        let read = local
            .get("ReadProvisionedThroughputSettings")
            .and_then(|s| s.get("ReadCapacityUnits"))
            .map(|v| value_text(v).parse::<i64>().unwrap_or(5))
            .unwrap_or(5);
        input["ProvisionedThroughput"] =
            json!({"ReadCapacityUnits": read, "WriteCapacityUnits": write});
        if let Some(Value::Array(indexes)) = input.get_mut("GlobalSecondaryIndexes") {
            for i in indexes {
                i["ProvisionedThroughput"] =
                    json!({"ReadCapacityUnits": read, "WriteCapacityUnits": write});
            }
        }
    }
    if let Some(s) = stream_spec(p) {
        input["StreamSpecification"] = s;
    }
    if let Some(sse) = p.get("SSESpecification") {
        let mut spec =
            json!({"Enabled": sse.get("SSEEnabled").is_some_and(|v| value_text(v) == "true")});
        if let Some(t) = sse.get("SSEType") {
            spec["SSEType"] = json!(value_text(t));
        }
        if let Some(k) = local
            .get("SSESpecification")
            .and_then(|s| s.get("KMSMasterKeyId"))
        {
            spec["KMSMasterKeyId"] = json!(value_text(k));
        }
        input["SSESpecification"] = spec;
    }
    for k in ["TableClass", "DeletionProtectionEnabled"] {
        if let Some(v) = local.get(k) {
            input[k] = typed(v);
        }
    }
    let t: Vec<Value> = local
        .as_object()
        .map(tags)
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    call(ctx, "CreateTable", input)?;
    replica_updates(ctx, &name, &regions, &[])?;
    let mut local_props = p.clone();
    if let Some(pitr) = local.get("PointInTimeRecoverySpecification") {
        local_props.insert("PointInTimeRecoverySpecification".into(), pitr.clone());
    }
    extras(ctx, &name, &local_props, &Map::new())?;
    global_event(ctx, &name)
}

/// Replicas added or removed, streams, TTL; other changes keep the table.
fn global_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev) = (&r.properties, &r.previous_properties);
    let name = r.physical_id.clone();
    if local_replica(ctx, p).is_none() {
        return Err(AwsError::validation(format!(
            "Property validation failure: [Replicas must include the stack's region {}]",
            ctx.region
        )));
    }
    let (new, old) = (replica_regions(p), replica_regions(prev));
    let add: Vec<String> = new.iter().filter(|r| !old.contains(r)).cloned().collect();
    let remove: Vec<String> = old.iter().filter(|r| !new.contains(r)).cloned().collect();
    replica_updates(ctx, &name, &add, &remove)?;
    if p.get("StreamSpecification") != prev.get("StreamSpecification")
        && let Some(s) = stream_spec(p)
    {
        call(
            ctx,
            "UpdateTable",
            json!({"TableName": name, "StreamSpecification": s}),
        )?;
    }
    let mut ttl_only = Map::new();
    let mut ttl_prev = Map::new();
    if let Some(t) = p.get("TimeToLiveSpecification") {
        ttl_only.insert("TimeToLiveSpecification".into(), t.clone());
    }
    if let Some(t) = prev.get("TimeToLiveSpecification") {
        ttl_prev.insert("TimeToLiveSpecification".into(), t.clone());
    }
    extras(ctx, &name, &ttl_only, &ttl_prev)?;
    global_event(ctx, &name)
}
