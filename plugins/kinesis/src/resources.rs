//! CloudFormation / Cloud Control resource types of Kinesis (see
//! docs/resources.md): AWS::Kinesis::Stream and AWS::Kinesis::StreamConsumer,
//! made with the plugin's own operations. Create answers IN_PROGRESS until the
//! stream (or consumer) is ACTIVE (the handler contract's async progress).

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Value, json};

use crate::Kinesis;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Kinesis::Stream", stream_create, stream_delete)
            .primary_identifier(&["Name"])
            .create_only(&["Name"])
            .attributes(&["Arn"])
            .update(stream_update),
        ResourceType::new(
            "AWS::Kinesis::StreamConsumer",
            consumer_create,
            consumer_delete,
        )
        .primary_identifier(&["ConsumerARN"])
        .required(&["ConsumerName", "StreamARN"])
        .create_only(&["ConsumerName", "StreamARN"])
        .read_only(&["ConsumerARN", "ConsumerCreationTimestamp", "ConsumerStatus"])
        .attributes(&[
            "ConsumerARN",
            "ConsumerCreationTimestamp",
            "ConsumerName",
            "ConsumerStatus",
            "StreamARN",
        ]),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Kinesis>(ctx, op, &input)
}

fn stream_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = match &r.callback_context {
        Some(c) => value_text(&c["Name"]),
        None => {
            let name = r.name_or_generated("Name", 128);
            let mut input = json!({"StreamName": name});
            if let Some(mode) = r.properties.get("StreamModeDetails") {
                input["StreamModeDetails"] = json!({"StreamMode": value_text(&mode["StreamMode"])});
            }
            let on_demand = input["StreamModeDetails"]["StreamMode"] == json!("ON_DEMAND");
            if !on_demand {
                let shards = r
                    .properties
                    .get("ShardCount")
                    .map(value_text)
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(1);
                input["ShardCount"] = json!(shards);
            }
            let t: serde_json::Map<String, Value> = tags(&r.properties)
                .into_iter()
                .map(|(k, v)| (k, json!(v)))
                .collect();
            if !t.is_empty() {
                input["Tags"] = json!(t);
            }
            call(ctx, "CreateStream", input)?;
            retention(ctx, &name, r, 24)?;
            name
        }
    };
    let out = call(ctx, "DescribeStreamSummary", json!({"StreamName": name}))?;
    let summary = &out["StreamDescriptionSummary"];
    if summary["StreamStatus"] != json!("ACTIVE") {
        return Ok(ProgressEvent::in_progress(
            name.clone(),
            json!({"Name": name}),
            200,
        ));
    }
    Ok(ProgressEvent::success(name).attr("Arn", summary["StreamARN"].clone()))
}

fn stream_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteStream",
        json!({"StreamName": r.physical_id, "EnforceConsumerDeletion": true}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

/// `RetentionPeriodHours` from `from` hours to the template's value.
fn retention(ctx: &Context, name: &str, r: &ResourceRequest, from: i64) -> Result<(), AwsError> {
    let Some(hours) = r
        .properties
        .get("RetentionPeriodHours")
        .and_then(|v| value_text(v).parse::<i64>().ok())
    else {
        return Ok(());
    };
    let op = match hours.cmp(&from) {
        std::cmp::Ordering::Greater => "IncreaseStreamRetentionPeriod",
        std::cmp::Ordering::Less => "DecreaseStreamRetentionPeriod",
        std::cmp::Ordering::Equal => return Ok(()),
    };
    call(
        ctx,
        op,
        json!({"StreamName": name, "RetentionPeriodHours": hours}),
    )?;
    Ok(())
}

/// Shard count, retention and mode change in place (AWS updates them
/// without replacement); anything else the template changes replaces.
fn stream_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.clone();
    let summary = call(ctx, "DescribeStreamSummary", json!({"StreamName": name}))?
        ["StreamDescriptionSummary"]
        .clone();
    let current = summary["RetentionPeriodHours"].as_i64().unwrap_or(24);
    retention(ctx, &name, r, current)?;
    let mode = r
        .properties
        .get("StreamModeDetails")
        .map(|m| value_text(&m["StreamMode"]))
        .unwrap_or_else(|| "PROVISIONED".into());
    if json!(mode) != summary["StreamModeDetails"]["StreamMode"] {
        call(
            ctx,
            "UpdateStreamMode",
            json!({"StreamARN": summary["StreamARN"], "StreamModeDetails": {"StreamMode": mode}}),
        )?;
    }
    if let Some(target) = r
        .properties
        .get("ShardCount")
        .and_then(|v| value_text(v).parse::<i64>().ok())
        .filter(|n| mode == "PROVISIONED" && Some(*n) != summary["OpenShardCount"].as_i64())
    {
        call(
            ctx,
            "UpdateShardCount",
            json!({"StreamName": name, "TargetShardCount": target, "ScalingType": "UNIFORM_SCALING"}),
        )?;
    }
    Ok(ProgressEvent::success(name).attr("Arn", summary["StreamARN"].clone()))
}

fn consumer_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let arn = match &r.callback_context {
        Some(c) => value_text(&c["ConsumerARN"]),
        None => {
            let out = call(
                ctx,
                "RegisterStreamConsumer",
                json!({"StreamARN": r.required_str("StreamARN")?,
                       "ConsumerName": r.required_str("ConsumerName")?}),
            )?;
            value_text(&out["Consumer"]["ConsumerARN"])
        }
    };
    let d =
        call(ctx, "DescribeStreamConsumer", json!({"ConsumerARN": arn}))?["ConsumerDescription"]
            .clone();
    if d["ConsumerStatus"] != json!("ACTIVE") {
        return Ok(ProgressEvent::in_progress(
            arn.clone(),
            json!({"ConsumerARN": arn}),
            200,
        ));
    }
    Ok(ProgressEvent::success(arn)
        .attr("ConsumerARN", d["ConsumerARN"].clone())
        .attr("ConsumerName", d["ConsumerName"].clone())
        .attr("ConsumerStatus", d["ConsumerStatus"].clone())
        .attr("StreamARN", d["StreamARN"].clone())
        .attr(
            "ConsumerCreationTimestamp",
            value_text(&d["ConsumerCreationTimestamp"]),
        ))
}

fn consumer_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeregisterStreamConsumer",
        json!({"ConsumerARN": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
