//! CloudFormation / Cloud Control resource types of SSM (see
//! docs/resources.md): AWS::SSM::Parameter, made with the plugin's own
//! operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, value_text};
use serde_json::{Map, Value, json};

use crate::Ssm;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::SSM::Parameter", parameter_create, parameter_delete)
            .primary_identifier(&["Name"])
            .required(&["Value", "Type"])
            .create_only(&["Name"])
            .attributes(&["Type", "Value"])
            .update(parameter_update)
            .read(parameter_read),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Ssm>(ctx, op, &input)
}

fn put(
    ctx: &Context,
    name: &str,
    p: &Map<String, Value>,
    overwrite: bool,
) -> Result<ProgressEvent, AwsError> {
    let mut input = json!({
        "Name": name,
        "Value": p.get("Value").map(value_text).unwrap_or_default(),
        "Type": p.get("Type").map(value_text).unwrap_or_else(|| "String".into()),
        "Overwrite": overwrite,
    });
    for k in [
        "Description",
        "AllowedPattern",
        "Tier",
        "Policies",
        "DataType",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    // CloudFormation writes SSM tags as a map.
    if !overwrite
        && let Some(Value::Object(tags)) = p.get("Tags")
        && !tags.is_empty()
    {
        input["Tags"] = json!(
            tags.iter()
                .map(|(k, v)| json!({"Key": k, "Value": value_text(v)}))
                .collect::<Vec<_>>()
        );
    }
    call(ctx, "PutParameter", input.clone())?;
    Ok(ProgressEvent::success(name)
        .attr("Type", input["Type"].clone())
        .attr("Value", input["Value"].clone()))
}

fn parameter_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = match r.str("Name") {
        Some(n) => n.to_string(),
        None => format!("CFN-{}-{}", r.logical_id, ministack_sdk::ids::alnum(12)),
    };
    put(ctx, &name, &r.properties, false)
}

fn parameter_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    put(ctx, &r.physical_id, &r.properties, true)
}

fn parameter_read(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "GetParameter", json!({"Name": r.physical_id}))?;
    let p = &out["Parameter"];
    let mut props = Map::new();
    props.insert("Name".into(), p["Name"].clone());
    props.insert("Type".into(), p["Type"].clone());
    props.insert("Value".into(), p["Value"].clone());
    Ok(ProgressEvent::success(r.physical_id.clone())
        .attr("Type", p["Type"].clone())
        .attr("Value", p["Value"].clone())
        .with_properties(props))
}

fn parameter_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteParameter", json!({"Name": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
