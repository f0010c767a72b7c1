//! CloudFormation / Cloud Control resource types of Firehose (see
//! docs/resources.md): AWS::KinesisFirehose::DeliveryStream. Its
//! properties mirror `CreateDeliveryStream`'s input, so the handler hands
//! them over as the model shapes them (`model_input`) and lets the
//! plugin's own operation validate them.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, model_input,
};
use serde_json::{Value, json};

use crate::Firehose;

const TYPE: &str = "AWS::KinesisFirehose::DeliveryStream";

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new(TYPE, stream_create, stream_delete)
            .primary_identifier(&["DeliveryStreamName"])
            // AWS replaces a delivery stream for these; destinations update in place.
            .create_only(&[
                "DeliveryStreamName",
                "DeliveryStreamType",
                "KinesisStreamSourceConfiguration",
                "MSKSourceConfiguration",
            ])
            .read_only(&["Arn"])
            .attributes(&["Arn"])
            .update(stream_update)
            .read(stream_read)
            .list(stream_list),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Firehose>(ctx, op, &input)
}

fn described(ctx: &Context, name: &str) -> Result<Value, AwsError> {
    let out = call(
        ctx,
        "DescribeDeliveryStream",
        json!({"DeliveryStreamName": name}),
    )?;
    Ok(out["DeliveryStreamDescription"].clone())
}

fn stream_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("DeliveryStreamName", 64);
    let mut input = model_input::<Firehose>("CreateDeliveryStream", &r.properties);
    input["DeliveryStreamName"] = json!(name);
    call(ctx, "CreateDeliveryStream", input)?;
    let arn = described(ctx, &name)?["DeliveryStreamARN"].clone();
    Ok(ProgressEvent::success(name).attr("Arn", arn))
}

/// A changed destination goes through `UpdateDestination` (the current
/// version id and destination id, as the API requires); tags are replaced.
fn stream_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.clone();
    let description = described(ctx, &name)?;
    let created = model_input::<Firehose>("CreateDeliveryStream", &r.properties);
    let before = model_input::<Firehose>("CreateDeliveryStream", &r.previous_properties);
    // `...DestinationConfiguration` in a template ↔ `...DestinationUpdate` in UpdateDestination.
    let mut update = serde_json::Map::new();
    for (member, value) in created.as_object().into_iter().flatten() {
        if let Some(kind) = member.strip_suffix("DestinationConfiguration")
            && before.get(member) != Some(value)
        {
            update.insert(format!("{kind}DestinationUpdate"), value.clone());
        }
    }
    if !update.is_empty() {
        update.insert("DeliveryStreamName".into(), json!(name));
        update.insert(
            "CurrentDeliveryStreamVersionId".into(),
            description["VersionId"].clone(),
        );
        update.insert(
            "DestinationId".into(),
            description["Destinations"][0]["DestinationId"].clone(),
        );
        call(ctx, "UpdateDestination", Value::Object(update))?;
    }
    if created.get("Tags") != before.get("Tags") {
        let old: Vec<Value> = before["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|t| t["Key"].clone())
            .collect();
        if !old.is_empty() {
            call(
                ctx,
                "UntagDeliveryStream",
                json!({"DeliveryStreamName": name, "TagKeys": old}),
            )?;
        }
        if created["Tags"].as_array().is_some_and(|t| !t.is_empty()) {
            call(
                ctx,
                "TagDeliveryStream",
                json!({"DeliveryStreamName": name, "Tags": created["Tags"]}),
            )?;
        }
    }
    Ok(ProgressEvent::success(name).attr("Arn", description["DeliveryStreamARN"].clone()))
}

fn stream_read(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let d = described(ctx, &r.physical_id)?;
    let mut properties = serde_json::Map::new();
    properties.insert("DeliveryStreamName".into(), d["DeliveryStreamName"].clone());
    properties.insert("DeliveryStreamType".into(), d["DeliveryStreamType"].clone());
    Ok(ProgressEvent::success(r.physical_id.clone())
        .attr("Arn", d["DeliveryStreamARN"].clone())
        .with_properties(properties))
}

fn stream_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteDeliveryStream",
        json!({"DeliveryStreamName": r.physical_id, "AllowForceDelete": true}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn stream_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let mut resources = Vec::new();
    let mut start: Option<String> = None;
    loop {
        let mut input = json!({"Limit": 10000});
        if let Some(s) = &start {
            input["ExclusiveStartDeliveryStreamName"] = json!(s);
        }
        let out = call(ctx, "ListDeliveryStreams", input)?;
        let names: Vec<String> = out["DeliveryStreamNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();
        for name in &names {
            resources.push(ProgressEvent::success(name.clone()));
        }
        if out["HasMoreDeliveryStreams"] != json!(true) || names.is_empty() {
            break;
        }
        start = names.last().cloned();
    }
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}
