//! CloudFormation / Cloud Control resource types of Kinesis (see
//! docs/resources.md): AWS::Kinesis::Stream, made with the plugin's own
//! operations. Create answers IN_PROGRESS until the stream is ACTIVE (the
//! handler contract's async progress).

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Value, json};

use crate::Kinesis;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Kinesis::Stream", stream_create, stream_delete)
            .primary_identifier(&["Name"])
            .create_only(&["Name"])
            .attributes(&["Arn"]),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Kinesis>(ctx, op, &input)
}

fn stream_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = match &r.callback_context {
        Some(c) => value_text(&c["Name"]),
        None => {
            let name = r
                .str("Name")
                .map(str::to_string)
                .unwrap_or_else(|| r.generated_name(128));
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
