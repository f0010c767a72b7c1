//! CloudFormation / Cloud Control resource types of CloudWatch Logs (see
//! docs/resources.md): AWS::Logs::LogGroup, LogStream, MetricFilter,
//! SubscriptionFilter and Destination, made with the plugin's own
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
        ResourceType::new("AWS::Logs::LogStream", stream_create, stream_delete)
            .primary_identifier(&["LogGroupName", "LogStreamName"])
            .required(&["LogGroupName"])
            .create_only(&["LogGroupName", "LogStreamName"]),
        ResourceType::new(
            "AWS::Logs::MetricFilter",
            metric_filter_put,
            metric_filter_delete,
        )
        .primary_identifier(&["LogGroupName", "FilterName"])
        .required(&["FilterPattern", "LogGroupName", "MetricTransformations"])
        .create_only(&["FilterName", "LogGroupName"])
        .update(metric_filter_put),
        ResourceType::new(
            "AWS::Logs::SubscriptionFilter",
            subscription_put,
            subscription_delete,
        )
        .primary_identifier(&["FilterName", "LogGroupName"])
        .required(&["DestinationArn", "FilterPattern", "LogGroupName"])
        .create_only(&["FilterName", "LogGroupName"])
        .update(subscription_put),
        ResourceType::new(
            "AWS::Logs::Destination",
            destination_put,
            destination_delete,
        )
        .primary_identifier(&["DestinationName"])
        .required(&["DestinationName", "TargetArn", "RoleArn"])
        .create_only(&["DestinationName"])
        .attributes(&["Arn"])
        .update(destination_put),
    ]
}

fn stream_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let group = r.required_str("LogGroupName")?;
    let name = r.name_or_generated("LogStreamName", 512);
    call(
        ctx,
        "CreateLogStream",
        json!({"logGroupName": group, "logStreamName": name}),
    )?;
    Ok(ProgressEvent::success(name))
}

fn stream_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let group = r.str("LogGroupName").unwrap_or_default();
    ignore_missing(call(
        ctx,
        "DeleteLogStream",
        json!({"logGroupName": group, "logStreamName": r.physical_id}),
    ))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// A delete of something already gone succeeds (the stack is deleting it).
fn ignore_missing(r: Result<Value, AwsError>) -> Result<(), AwsError> {
    match r {
        Err(e) if e.code != "ResourceNotFoundException" => Err(e),
        _ => Ok(()),
    }
}

fn filter_name(r: &ResourceRequest) -> String {
    if !r.physical_id.is_empty() {
        return r.physical_id.clone();
    }
    r.name_or_generated("FilterName", 512)
}

fn num(v: &Value) -> Value {
    value_text(v)
        .parse::<f64>()
        .map(|n| json!(n))
        .unwrap_or(Value::Null)
}

fn metric_filter_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = filter_name(r);
    let transformations: Vec<Value> = r
        .properties
        .get("MetricTransformations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|t| {
            let mut o = json!({
                "metricName": value_text(&t["MetricName"]),
                "metricNamespace": value_text(&t["MetricNamespace"]),
                "metricValue": value_text(&t["MetricValue"]),
            });
            if let Some(d) = t.get("DefaultValue") {
                o["defaultValue"] = num(d);
            }
            if let Some(u) = t.get("Unit") {
                o["unit"] = json!(value_text(u));
            }
            if let Some(dims) = t.get("Dimensions").and_then(Value::as_array) {
                let m: Map<String, Value> = dims
                    .iter()
                    .map(|d| (value_text(&d["Key"]), json!(value_text(&d["Value"]))))
                    .collect();
                o["dimensions"] = Value::Object(m);
            }
            o
        })
        .collect();
    call(
        ctx,
        "PutMetricFilter",
        json!({
            "logGroupName": r.required_str("LogGroupName")?,
            "filterName": name,
            "filterPattern": r.str("FilterPattern").unwrap_or_default(),
            "metricTransformations": transformations,
        }),
    )?;
    Ok(ProgressEvent::success(name))
}

fn metric_filter_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    ignore_missing(call(
        ctx,
        "DeleteMetricFilter",
        json!({"logGroupName": r.str("LogGroupName").unwrap_or_default(), "filterName": r.physical_id}),
    ))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn subscription_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = filter_name(r);
    let mut input = json!({
        "logGroupName": r.required_str("LogGroupName")?,
        "filterName": name,
        "filterPattern": r.str("FilterPattern").unwrap_or_default(),
        "destinationArn": r.required_str("DestinationArn")?,
    });
    for (prop, member) in [("RoleArn", "roleArn"), ("Distribution", "distribution")] {
        if let Some(v) = r.str(prop) {
            input[member] = json!(v);
        }
    }
    call(ctx, "PutSubscriptionFilter", input)?;
    Ok(ProgressEvent::success(name))
}

fn subscription_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    ignore_missing(call(
        ctx,
        "DeleteSubscriptionFilter",
        json!({"logGroupName": r.str("LogGroupName").unwrap_or_default(), "filterName": r.physical_id}),
    ))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn destination_put(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.required_str("DestinationName")?;
    let out = call(
        ctx,
        "PutDestination",
        json!({
            "destinationName": name,
            "targetArn": r.required_str("TargetArn")?,
            "roleArn": r.required_str("RoleArn")?,
        }),
    )?;
    if let Some(p) = r.properties.get("DestinationPolicy") {
        let policy = match p {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        call(
            ctx,
            "PutDestinationPolicy",
            json!({"destinationName": name, "accessPolicy": policy}),
        )?;
    }
    let arn = value_text(&out["destination"]["arn"]);
    Ok(ProgressEvent::success(name).attr("Arn", arn))
}

fn destination_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    ignore_missing(call(
        ctx,
        "DeleteDestination",
        json!({"destinationName": r.physical_id}),
    ))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
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
    let name = r.name_or_generated("LogGroupName", 512);
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
