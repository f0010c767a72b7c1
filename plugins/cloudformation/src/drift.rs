//! Drift detection: each resource is read back through its type's read
//! handler and compared with the properties the stack last wrote.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{self, ResourceRequest, value_text};
use serde_json::{Map, Value, json};

use crate::deploy::Handlers;
use crate::shapes::*;
use crate::stacks::{self, Resource, Stack};

/// Detection id → its result.
const DETECTIONS: Table<Value> = Table::new("drift-detections");
/// `<stack id>/<logical id>` → the resource's last drift result.
const DRIFTS: Table<Value> = Table::new("resource-drifts");

/// Scalars compare as text: templates write `30` where services answer `"30"`.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same(v, w))
        }
        (Value::Object(_) | Value::Array(_), Value::String(s)) => {
            serde_json::from_str::<Value>(s).is_ok_and(|v| same(a, &v))
        }
        (Value::String(_), Value::Object(_) | Value::Array(_)) => same(b, a),
        _ => value_text(a) == value_text(b),
    }
}

/// One resource's drift record (the `StackResourceDrift` shape).
fn detect_one(ctx: &Context, handlers: &mut Handlers, stack: &Stack, r: &Resource) -> Value {
    let mut request = ResourceRequest {
        type_name: r.type_name.clone(),
        logical_id: r.logical_id.clone(),
        stack_name: stack.stack_name.clone(),
        physical_id: r.physical_id.clone(),
        properties: r.properties.clone(),
        ..Default::default()
    };
    request.client_token = format!("{}/{}", stack.stack_id, r.logical_id);
    let (status, actual, differences) = match handlers.run(ctx, resources::READ_OPERATION, request)
    {
        Err(e)
            if e.code.contains("NotFound")
                || e.code.contains("NoSuch")
                || e.code.contains("DoesNotExist")
                || e.code.contains("NonExistent") =>
        {
            ("DELETED", Map::new(), Vec::new())
        }
        Err(_) => ("NOT_CHECKED", Map::new(), Vec::new()),
        Ok(event) => {
            let mut diffs = Vec::new();
            for (k, expected) in &r.properties {
                if let Some(actual) = event.properties.get(k)
                    && !same(expected, actual)
                {
                    diffs.push(json!({
                        "PropertyPath": format!("/{k}"),
                        "ExpectedValue": value_text(expected),
                        "ActualValue": value_text(actual),
                        "DifferenceType": "NOT_EQUAL",
                    }));
                }
            }
            let status = if diffs.is_empty() {
                "IN_SYNC"
            } else {
                "MODIFIED"
            };
            (status, event.properties, diffs)
        }
    };
    let mut v = json!({
        "StackId": stack.stack_id,
        "LogicalResourceId": r.logical_id,
        "PhysicalResourceId": r.physical_id,
        "ResourceType": r.type_name,
        "ExpectedProperties": Value::Object(r.properties.clone()).to_string(),
        "PropertyDifferences": differences,
        "StackResourceDriftStatus": status,
        "Timestamp": ministack_sdk::time::now(),
    });
    if status != "DELETED" {
        v["ActualProperties"] = json!(Value::Object(actual).to_string());
    }
    v
}

fn live(stack: &Stack) -> Vec<Resource> {
    stack
        .resources
        .values()
        .filter(|r| !r.physical_id.is_empty() && !r.status.starts_with("DELETE"))
        .cloned()
        .collect()
}

pub fn detect_stack_drift(ctx: &Context, input: DetectStackDriftInput) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    if stack.in_progress() {
        return Err(AwsError::validation_error(format!(
            "Drift detection cannot run on stack {} in status {}",
            stack.stack_name, stack.status
        )));
    }
    let only = input.logical_resource_ids.unwrap_or_default();
    let mut handlers = Handlers::default();
    let mut drifted = 0;
    for r in live(&stack)
        .iter()
        .filter(|r| only.is_empty() || only.contains(&r.logical_id))
    {
        let drift = detect_one(ctx, &mut handlers, &stack, r);
        if matches!(
            drift["StackResourceDriftStatus"].as_str(),
            Some("MODIFIED" | "DELETED")
        ) {
            drifted += 1;
        }
        DRIFTS.put(&keys::join(&[&stack.stack_id, &r.logical_id]), &drift)?;
    }
    let id = ministack_sdk::ids::uuid();
    DETECTIONS.put(
        &id,
        &json!({
            "StackId": stack.stack_id,
            "StackDriftDetectionId": id,
            "StackDriftStatus": if drifted > 0 { "DRIFTED" } else { "IN_SYNC" },
            "DetectionStatus": "DETECTION_COMPLETE",
            "DriftedStackResourceCount": drifted,
            "Timestamp": ministack_sdk::time::now(),
        }),
    )?;
    Ok(json!({"StackDriftDetectionId": id}))
}

pub fn describe_stack_drift_detection_status(
    _: &Context,
    input: DescribeStackDriftDetectionStatusInput,
) -> Result<Value, AwsError> {
    DETECTIONS
        .get(&input.stack_drift_detection_id)?
        .ok_or_else(|| {
            AwsError::validation_error(format!(
                "Drift detection with id {} does not exist",
                input.stack_drift_detection_id
            ))
        })
}

pub fn describe_stack_resource_drifts(
    _: &Context,
    input: DescribeStackResourceDriftsInput,
) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let filters: Vec<String> = input
        .stack_resource_drift_status_filters
        .unwrap_or_default()
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    let list: Vec<Value> = DRIFTS
        .values(&keys::prefix(&[&stack.stack_id]))?
        .into_iter()
        .filter(|d| {
            filters.is_empty()
                || filters
                    .iter()
                    .any(|f| d["StackResourceDriftStatus"] == json!(f))
        })
        .collect();
    Ok(json!({"StackResourceDrifts": list}))
}

pub fn detect_stack_resource_drift(
    ctx: &Context,
    input: DetectStackResourceDriftInput,
) -> Result<Value, AwsError> {
    let stack = stacks::require(&input.stack_name)?;
    let r = live(&stack)
        .into_iter()
        .find(|r| r.logical_id == input.logical_resource_id)
        .ok_or_else(|| {
            AwsError::validation_error(format!(
                "Resource {} does not exist for stack {}",
                input.logical_resource_id, input.stack_name
            ))
        })?;
    let drift = detect_one(ctx, &mut Handlers::default(), &stack, &r);
    DRIFTS.put(&keys::join(&[&stack.stack_id, &r.logical_id]), &drift)?;
    Ok(json!({"StackResourceDrift": drift}))
}
