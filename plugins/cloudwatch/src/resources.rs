//! CloudFormation / Cloud Control resource types of CloudWatch (see
//! docs/resources.md): AWS::CloudWatch::Alarm, CompositeAlarm and
//! Dashboard, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Map, Value, json};

use crate::CloudWatch;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::CloudWatch::Alarm", alarm_put, alarm_delete)
            .primary_identifier(&["AlarmName"])
            .required(&["ComparisonOperator", "EvaluationPeriods"])
            .create_only(&["AlarmName"])
            .attributes(&["Arn"])
            .update(alarm_put),
        ResourceType::new(
            "AWS::CloudWatch::CompositeAlarm",
            composite_put,
            alarm_delete,
        )
        .primary_identifier(&["AlarmName"])
        .required(&["AlarmRule"])
        .create_only(&["AlarmName"])
        .attributes(&["Arn"])
        .update(composite_put),
        ResourceType::new(
            "AWS::CloudWatch::Dashboard",
            dashboard_put,
            dashboard_delete,
        )
        .primary_identifier(&["DashboardName"])
        .required(&["DashboardBody"])
        .create_only(&["DashboardName"])
        .update(dashboard_put),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<CloudWatch>(ctx, op, &input)
}

fn alarm_arn(ctx: &Context, name: &str) -> String {
    format!(
        "arn:{}:cloudwatch:{}:{}:alarm:{name}",
        ctx.partition(),
        ctx.region,
        ctx.account
    )
}

fn name_of(r: &ResourceRequest, prop: &str, max: usize) -> String {
    if !r.physical_id.is_empty() {
        return r.physical_id.clone();
    }
    r.name_or_generated(prop, max)
}

/// Template values are often strings ("60"); the API's numbers are not.
fn number(v: &Value, integer: bool) -> Value {
    let text = value_text(v);
    if integer {
        text.parse::<i64>().map(|n| json!(n)).unwrap_or(v.clone())
    } else {
        text.parse::<f64>().map(|n| json!(n)).unwrap_or(v.clone())
    }
}

fn bool_of(v: &Value) -> Value {
    json!(value_text(v) == "true")
}

/// The properties that are the API's members as they are, with numbers
/// and booleans coerced, and the template's tags.
fn input_of(r: &ResourceRequest, name: &str) -> Map<String, Value> {
    const INTEGERS: &[&str] = &[
        "Period",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "ActionsSuppressorWaitPeriod",
        "ActionsSuppressorExtensionPeriod",
    ];
    const FLOATS: &[&str] = &["Threshold"];
    const BOOLS: &[&str] = &["ActionsEnabled"];
    let mut input = Map::new();
    for (k, v) in &r.properties {
        let v = if INTEGERS.contains(&k.as_str()) {
            number(v, true)
        } else if FLOATS.contains(&k.as_str()) {
            number(v, false)
        } else if BOOLS.contains(&k.as_str()) {
            bool_of(v)
        } else if k == "Metrics" {
            metrics(v)
        } else if k == "Tags" {
            continue;
        } else {
            v.clone()
        };
        input.insert(k.clone(), v);
    }
    input.insert("AlarmName".into(), json!(name));
    let t: Vec<Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !t.is_empty() {
        input.insert("Tags".into(), json!(t));
    }
    input
}

/// `Metrics` (metric math) with `Period` and `ReturnData` coerced.
fn metrics(v: &Value) -> Value {
    let mut v = v.clone();
    for q in v.as_array_mut().into_iter().flatten() {
        if let Some(p) = q.get("Period").cloned() {
            q["Period"] = number(&p, true);
        }
        if let Some(b) = q.get("ReturnData").cloned() {
            q["ReturnData"] = bool_of(&b);
        }
        if let Some(p) = q.pointer("/MetricStat/Period").cloned() {
            q["MetricStat"]["Period"] = number(&p, true);
        }
    }
    v
}

fn alarm_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = name_of(r, "AlarmName", 255);
    call(ctx, "PutMetricAlarm", Value::Object(input_of(r, &name)))?;
    Ok(ProgressEvent::success(name.clone()).attr("Arn", alarm_arn(ctx, &name)))
}

fn composite_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = name_of(r, "AlarmName", 255);
    call(ctx, "PutCompositeAlarm", Value::Object(input_of(r, &name)))?;
    Ok(ProgressEvent::success(name.clone()).attr("Arn", alarm_arn(ctx, &name)))
}

fn alarm_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteAlarms", json!({"AlarmNames": [r.physical_id]}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn dashboard_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = name_of(r, "DashboardName", 255);
    let body = match r.properties.get("DashboardBody") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    call(
        ctx,
        "PutDashboard",
        json!({"DashboardName": name, "DashboardBody": body}),
    )?;
    Ok(ProgressEvent::success(name))
}

fn dashboard_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    match call(
        ctx,
        "DeleteDashboards",
        json!({"DashboardNames": [r.physical_id]}),
    ) {
        Err(e) if e.code != "ResourceNotFound" && e.code != "DashboardNotFoundError" => Err(e),
        _ => Ok(ProgressEvent::success(r.physical_id.clone())),
    }
}
