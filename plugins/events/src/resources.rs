//! CloudFormation / Cloud Control resource types of EventBridge (see
//! docs/resources.md): AWS::Events::Rule (with targets) and
//! AWS::Events::EventBus, AWS::Events::Archive, AWS::Events::Connection and
//! AWS::Events::ApiDestination, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::Events;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Events::Rule", rule_create, rule_delete)
            .primary_identifier(&["Arn"])
            .create_only(&["Name", "EventBusName"])
            .attributes(&["Arn"])
            .update(rule_update),
        ResourceType::new("AWS::Events::EventBus", bus_create, bus_delete)
            .primary_identifier(&["Name"])
            .required(&["Name"])
            .create_only(&["Name", "EventSourceName"])
            .attributes(&["Arn", "Name", "Policy"])
            .update(bus_update),
        ResourceType::new("AWS::Events::Archive", archive_create, archive_delete)
            .primary_identifier(&["ArchiveName"])
            .required(&["SourceArn"])
            .create_only(&["ArchiveName", "SourceArn"])
            .read_only(&["Arn"])
            .attributes(&["Arn"])
            .update(archive_update),
        ResourceType::new(
            "AWS::Events::Connection",
            connection_create,
            connection_delete,
        )
        .primary_identifier(&["Name"])
        .create_only(&["Name"])
        .read_only(&["Arn", "ArnForPolicy", "SecretArn"])
        .attributes(&["Arn", "ArnForPolicy", "SecretArn"])
        .update(connection_update),
        ResourceType::new(
            "AWS::Events::ApiDestination",
            destination_create,
            destination_delete,
        )
        .primary_identifier(&["Name"])
        .required(&["ConnectionArn", "InvocationEndpoint", "HttpMethod"])
        .create_only(&["Name"])
        .read_only(&["Arn", "ArnForPolicy"])
        .attributes(&["Arn", "ArnForPolicy"])
        .update(destination_update),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Events>(ctx, op, &input)
}

fn bus_of(p: &Map<String, Value>) -> String {
    let bus = p
        .get("EventBusName")
        .map(value_text)
        .unwrap_or_else(|| "default".into());
    // An ARN names the bus too.
    bus.rsplit('/').next().unwrap_or("default").to_string()
}

/// The physical id: the rule name, `bus|name` on a custom bus.
fn rule_id(bus: &str, name: &str) -> String {
    if bus == "default" {
        name.to_string()
    } else {
        format!("{bus}|{name}")
    }
}

fn split_id(id: &str) -> (String, String) {
    match id.split_once('|') {
        Some((bus, name)) => (bus.to_string(), name.to_string()),
        None => ("default".to_string(), id.to_string()),
    }
}

fn put_rule(
    ctx: &Context,
    bus: &str,
    name: &str,
    p: &Map<String, Value>,
    create: bool,
) -> Result<String, AwsError> {
    let mut input = json!({"Name": name, "EventBusName": bus});
    if let Some(pattern) = p.get("EventPattern") {
        input["EventPattern"] = json!(match pattern {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    for k in ["ScheduleExpression", "State", "Description", "RoleArn"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    if create {
        let t: Vec<Value> = tags(p)
            .into_iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect();
        if !t.is_empty() {
            input["Tags"] = json!(t);
        }
    }
    let out = call(ctx, "PutRule", input)?;
    Ok(value_text(&out["RuleArn"]))
}

fn targets(p: &Map<String, Value>) -> Vec<Value> {
    p.get("Targets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn rule_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let bus = bus_of(&r.properties);
    let name = r.name_or_generated("Name", 64);
    let arn = put_rule(ctx, &bus, &name, &r.properties, true)?;
    let t = targets(&r.properties);
    if !t.is_empty() {
        let out = call(
            ctx,
            "PutTargets",
            json!({"Rule": name, "EventBusName": bus, "Targets": t}),
        )?;
        if out["FailedEntryCount"].as_i64().unwrap_or(0) > 0 {
            return Err(AwsError::validation(format!(
                "Targets were not added: {}",
                out["FailedEntries"]
            )));
        }
    }
    Ok(ProgressEvent::success(rule_id(&bus, &name)).attr("Arn", arn))
}

fn rule_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (bus, name) = split_id(&r.physical_id);
    let arn = put_rule(ctx, &bus, &name, &r.properties, false)?;
    let (new, old) = (targets(&r.properties), targets(&r.previous_properties));
    let gone: Vec<Value> = old
        .iter()
        .filter(|o| !new.iter().any(|n| n["Id"] == o["Id"]))
        .map(|o| o["Id"].clone())
        .collect();
    if !gone.is_empty() {
        call(
            ctx,
            "RemoveTargets",
            json!({"Rule": name, "EventBusName": bus, "Ids": gone}),
        )?;
    }
    if !new.is_empty() {
        call(
            ctx,
            "PutTargets",
            json!({"Rule": name, "EventBusName": bus, "Targets": new}),
        )?;
    }
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Arn", arn))
}

fn rule_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (bus, name) = split_id(&r.physical_id);
    let out = call(
        ctx,
        "ListTargetsByRule",
        json!({"Rule": name, "EventBusName": bus}),
    )?;
    let ids: Vec<Value> = out["Targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["Id"].clone())
        .collect();
    if !ids.is_empty() {
        call(
            ctx,
            "RemoveTargets",
            json!({"Rule": name, "EventBusName": bus, "Ids": ids}),
        )?;
    }
    call(
        ctx,
        "DeleteRule",
        json!({"Name": name, "EventBusName": bus}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn bus_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "DescribeEventBus", json!({"Name": name}))?;
    Ok(ProgressEvent::success(name)
        .attr("Arn", out["Arn"].clone())
        .attr("Name", name)
        .attr("Policy", out.get("Policy").cloned().unwrap_or(Value::Null)))
}

fn bus_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.required_str("Name")?.to_string();
    let mut input = json!({"Name": name});
    for k in ["EventSourceName", "Description", "KmsKeyIdentifier"] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let t: Vec<Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    call(ctx, "CreateEventBus", input)?;
    bus_event(ctx, &name)
}

fn bus_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({"Name": r.physical_id});
    for k in ["Description", "KmsKeyIdentifier"] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    call(ctx, "UpdateEventBus", input)?;
    bus_event(ctx, &r.physical_id)
}

fn bus_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteEventBus", json!({"Name": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// A template number (often written as text) as a JSON number.
fn number(v: &Value) -> Value {
    value_text(v)
        .parse::<u64>()
        .map(Value::from)
        .unwrap_or_else(|_| v.clone())
}

fn archive_input(name: &str, p: &Map<String, Value>) -> Value {
    let mut input = json!({"ArchiveName": name});
    if let Some(pattern) = p.get("EventPattern") {
        input["EventPattern"] = json!(match pattern {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        });
    }
    if let Some(d) = p.get("Description") {
        input["Description"] = json!(value_text(d));
    }
    if let Some(days) = p.get("RetentionDays") {
        input["RetentionDays"] = number(days);
    }
    input
}

fn archive_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("ArchiveName", 48);
    let mut input = archive_input(&name, &r.properties);
    input["EventSourceArn"] = json!(r.required_str("SourceArn")?);
    let out = call(ctx, "CreateArchive", input)?;
    Ok(ProgressEvent::success(name).attr("Arn", out["ArchiveArn"].clone()))
}

fn archive_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let out = call(
        ctx,
        "UpdateArchive",
        archive_input(&r.physical_id, &r.properties),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Arn", out["ArchiveArn"].clone()))
}

fn archive_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteArchive", json!({"ArchiveName": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// `arn:...:connection/<name>/<uuid>` → `arn:...:connection/<name>`: the
/// ARN without its unique suffix, which policies name.
fn arn_for_policy(arn: &str) -> String {
    match arn.rsplit_once('/') {
        Some((head, _)) if head.matches('/').count() >= 1 => head.to_string(),
        _ => arn.to_string(),
    }
}

fn connection_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "DescribeConnection", json!({"Name": name}))?;
    let arn = value_text(&out["ConnectionArn"]);
    Ok(ProgressEvent::success(name)
        .attr("ArnForPolicy", arn_for_policy(&arn))
        .attr("Arn", arn)
        .attr("SecretArn", out["SecretArn"].clone()))
}

fn connection_input(name: &str, p: &Map<String, Value>) -> Value {
    let mut input = json!({"Name": name});
    for k in ["Description", "AuthorizationType", "KmsKeyIdentifier"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    for k in ["AuthParameters", "InvocationConnectivityParameters"] {
        if let Some(v) = p.get(k) {
            input[k] = v.clone();
        }
    }
    input
}

fn connection_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("Name", 64);
    call(
        ctx,
        "CreateConnection",
        connection_input(&name, &r.properties),
    )?;
    connection_event(ctx, &name)
}

fn connection_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "UpdateConnection",
        connection_input(&r.physical_id, &r.properties),
    )?;
    connection_event(ctx, &r.physical_id)
}

fn connection_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteConnection", json!({"Name": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn destination_input(name: &str, p: &Map<String, Value>) -> Value {
    let mut input = json!({"Name": name});
    for k in [
        "Description",
        "ConnectionArn",
        "InvocationEndpoint",
        "HttpMethod",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    if let Some(v) = p.get("InvocationRateLimitPerSecond") {
        input["InvocationRateLimitPerSecond"] = number(v);
    }
    input
}

fn destination_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "DescribeApiDestination", json!({"Name": name}))?;
    let arn = value_text(&out["ApiDestinationArn"]);
    Ok(ProgressEvent::success(name)
        .attr("ArnForPolicy", arn_for_policy(&arn))
        .attr("Arn", arn))
}

fn destination_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("Name", 64);
    call(
        ctx,
        "CreateApiDestination",
        destination_input(&name, &r.properties),
    )?;
    destination_event(ctx, &name)
}

fn destination_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "UpdateApiDestination",
        destination_input(&r.physical_id, &r.properties),
    )?;
    destination_event(ctx, &r.physical_id)
}

fn destination_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteApiDestination", json!({"Name": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
