//! CloudFormation / Cloud Control resource types of EventBridge Scheduler
//! (see docs/resources.md): AWS::Scheduler::Schedule and
//! AWS::Scheduler::ScheduleGroup, made with the plugin's own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{ProgressEvent, ResourceRequest, call_own, tags, value_text};
use serde_json::{Value, json};

use crate::Scheduler;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::Scheduler::Schedule", schedule_create, schedule_delete)
            .primary_identifier(&["Name"])
            .required(&["FlexibleTimeWindow", "ScheduleExpression", "Target"])
            .create_only(&["Name"])
            .attributes(&["Arn"])
            .update(schedule_update),
        ResourceType::new("AWS::Scheduler::ScheduleGroup", group_create, group_delete)
            .primary_identifier(&["Name"])
            .create_only(&["Name"])
            .attributes(&["Arn", "CreationDate", "LastModificationDate", "State"]),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Scheduler>(ctx, op, &input)
}

/// The template's properties as Create/UpdateSchedule input (dates as
/// epoch seconds, numbers as numbers).
fn schedule_input(name: &str, r: &ResourceRequest) -> Value {
    let p = &r.properties;
    let mut input = json!({"Name": name});
    for k in [
        "Description",
        "GroupName",
        "KmsKeyArn",
        "ScheduleExpression",
        "ScheduleExpressionTimezone",
        "State",
        "ActionAfterCompletion",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    for k in ["StartDate", "EndDate"] {
        if let Some(t) = p
            .get(k)
            .and_then(|v| ministack_sdk::time::parse_iso8601(&value_text(v)))
        {
            input[k] = json!(t);
        }
    }
    if let Some(w) = p.get("FlexibleTimeWindow") {
        let mut window = json!({"Mode": value_text(&w["Mode"])});
        if let Some(m) = w.get("MaximumWindowInMinutes") {
            window["MaximumWindowInMinutes"] = json!(value_text(m).parse::<i64>().unwrap_or(1));
        }
        input["FlexibleTimeWindow"] = window;
    }
    if let Some(t) = p.get("Target") {
        input["Target"] = t.clone();
    }
    input
}

fn group_of(r: &ResourceRequest) -> String {
    r.str("GroupName").unwrap_or("default").to_string()
}

fn schedule_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("Name", 64);
    let out = call(ctx, "CreateSchedule", schedule_input(&name, r))?;
    Ok(ProgressEvent::success(name).attr("Arn", out["ScheduleArn"].clone()))
}

fn schedule_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "UpdateSchedule", schedule_input(&r.physical_id, r))?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("Arn", out["ScheduleArn"].clone()))
}

fn schedule_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteSchedule",
        json!({"Name": r.physical_id, "GroupName": group_of(r)}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn group_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("Name", 64);
    let mut input = json!({"Name": name});
    let t: Vec<Value> = tags(&r.properties)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect();
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    call(ctx, "CreateScheduleGroup", input)?;
    let g = call(ctx, "GetScheduleGroup", json!({"Name": name}))?;
    Ok(ProgressEvent::success(name)
        .attr("Arn", g["Arn"].clone())
        .attr("CreationDate", g["CreationDate"].clone())
        .attr("LastModificationDate", g["LastModificationDate"].clone())
        .attr("State", g["State"].clone()))
}

fn group_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(ctx, "DeleteScheduleGroup", json!({"Name": r.physical_id}))?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
