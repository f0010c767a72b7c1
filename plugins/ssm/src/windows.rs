//! Maintenance window targets and tasks. Windows are kept in
//! [`crate::documents`]; nothing runs on their schedule (no managed
//! instances exist locally), so executions are always listed empty.

use ministack_sdk::ids;
use ministack_sdk::prelude::*;
use serde_json::{Map, Value, json};

use crate::documents::WINDOWS;

/// `window id/target id` → target.
const TARGETS: Table<Value> = Table::new("maintenance-window-targets");
/// `window id/task id` → task.
const TASKS: Table<Value> = Table::new("maintenance-window-tasks");

use crate::json::{str_of, value_filters};

fn does_not_exist(message: String) -> AwsError {
    AwsError::not_found("DoesNotExistException", message)
}

pub fn window_exists(id: &str) -> bool {
    WINDOWS.contains(id)
}

fn window(input: &Value) -> Result<String, AwsError> {
    let id = str_of(input, "WindowId").unwrap_or_default();
    if !window_exists(id) {
        return Err(does_not_exist(format!(
            "Maintenance window {id} does not exist"
        )));
    }
    Ok(id.to_string())
}

/// Drops a deleted window's targets and tasks.
pub fn forget_window(id: &str) {
    TARGETS.delete_range(&Scan::prefix(format!("{id}/")));
    TASKS.delete_range(&Scan::prefix(format!("{id}/")));
}

fn copy(from: &Value, keys: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for k in keys {
        if let Some(v) = from.get(*k)
            && !v.is_null()
        {
            out.insert((*k).into(), v.clone());
        }
    }
    out
}

const TARGET_KEYS: &[&str] = &[
    "WindowId",
    "WindowTargetId",
    "ResourceType",
    "Targets",
    "OwnerInformation",
    "Name",
    "Description",
];

pub fn register_target(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    if TARGETS.count(&Scan::prefix(format!("{wid}/"))) >= 100 {
        return Err(AwsError::new(
            "ResourceLimitExceededException",
            "Maintenance window targets limit exceeded (100).",
        ));
    }
    let id = ids::uuid();
    let mut t = copy(&input, TARGET_KEYS);
    t.insert("WindowTargetId".into(), json!(id));
    TARGETS.put(&format!("{wid}/{id}"), &Value::Object(t))?;
    Ok(json!({"WindowTargetId": id}))
}

fn load_target(wid: &str, id: &str) -> Result<Value, AwsError> {
    TARGETS.get(&format!("{wid}/{id}"))?.ok_or_else(|| {
        does_not_exist(format!(
            "Maintenance window target {id} does not exist in window {wid}"
        ))
    })
}

/// Tasks whose targets name this window target.
fn tasks_using(wid: &str, target: &str) -> Result<bool, AwsError> {
    Ok(TASKS.values(&format!("{wid}/"))?.iter().any(|t| {
        t["Targets"].as_array().into_iter().flatten().any(|x| {
            x["Key"] == "WindowTargetIds"
                && x["Values"]
                    .as_array()
                    .is_some_and(|v| v.contains(&json!(target)))
        })
    }))
}

pub fn deregister_target(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let id = str_of(&input, "WindowTargetId").unwrap_or_default();
    load_target(&wid, id)?;
    if input["Safe"].as_bool() == Some(true) && tasks_using(&wid, id)? {
        return Err(AwsError::new(
            "TargetInUseException",
            "You specified the Safe option for the DeregisterTargetFromMaintenanceWindow operation, but the target is still referenced in a task.",
        ));
    }
    TARGETS.delete(&format!("{wid}/{id}"));
    Ok(json!({"WindowId": wid, "WindowTargetId": id}))
}

/// Applies an update: with `Replace`, members not given are cleared.
fn apply_update(record: &mut Value, input: &Value, keys: &[&str], fixed: &[&str]) {
    let replace = input["Replace"].as_bool() == Some(true);
    for k in keys {
        if fixed.contains(k) {
            continue;
        }
        match input.get(*k) {
            Some(v) => record[*k] = v.clone(),
            None if replace => {
                if let Some(o) = record.as_object_mut() {
                    o.remove(*k);
                }
            }
            None => {}
        }
    }
}

pub fn update_target(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let id = str_of(&input, "WindowTargetId").unwrap_or_default();
    let mut t = load_target(&wid, id)?;
    apply_update(
        &mut t,
        &input,
        TARGET_KEYS,
        &["WindowId", "WindowTargetId", "ResourceType"],
    );
    TARGETS.put(&format!("{wid}/{id}"), &t)?;
    let mut out = copy(&t, TARGET_KEYS);
    out.remove("ResourceType");
    Ok(Value::Object(out))
}

pub fn describe_targets(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let filters = value_filters(&input);
    let list: Vec<Value> = TARGETS
        .values(&format!("{wid}/"))?
        .into_iter()
        .filter(|t| matches(t, &filters))
        .collect();
    crate::paging::page(json!({"Targets": list}), "Targets", &input, 50)
}

fn matches(record: &Value, filters: &[(String, Vec<Value>)]) -> bool {
    filters.iter().all(|(k, vals)| {
        let field = match k.as_str() {
            "TaskType" => "Type",
            other => other,
        };
        match record.get(field) {
            Some(Value::Number(n)) => vals.contains(&json!(n.to_string())),
            Some(v) => vals.contains(v),
            None => vals.is_empty(),
        }
    })
}

const TASK_KEYS: &[&str] = &[
    "WindowId",
    "WindowTaskId",
    "Targets",
    "TaskArn",
    "ServiceRoleArn",
    "TaskType",
    "TaskParameters",
    "TaskInvocationParameters",
    "Priority",
    "MaxConcurrency",
    "MaxErrors",
    "LoggingInfo",
    "Name",
    "Description",
    "CutoffBehavior",
    "AlarmConfiguration",
];

pub fn register_task(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    if TASKS.count(&Scan::prefix(format!("{wid}/"))) >= 20 {
        return Err(AwsError::new(
            "ResourceLimitExceededException",
            "Maintenance window tasks limit exceeded (20).",
        ));
    }
    let id = ids::uuid();
    let mut t = copy(&input, TASK_KEYS);
    t.insert("WindowTaskId".into(), json!(id));
    t.entry("Priority").or_insert(json!(1));
    TASKS.put(&format!("{wid}/{id}"), &Value::Object(t))?;
    Ok(json!({"WindowTaskId": id}))
}

fn load_task(wid: &str, id: &str) -> Result<Value, AwsError> {
    TASKS.get(&format!("{wid}/{id}"))?.ok_or_else(|| {
        does_not_exist(format!(
            "Maintenance window task {id} does not exist in window {wid}"
        ))
    })
}

pub fn get_task(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    load_task(&wid, str_of(&input, "WindowTaskId").unwrap_or_default())
}

pub fn update_task(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let id = str_of(&input, "WindowTaskId").unwrap_or_default();
    let mut t = load_task(&wid, id)?;
    apply_update(
        &mut t,
        &input,
        TASK_KEYS,
        &["WindowId", "WindowTaskId", "TaskType", "TaskArn"],
    );
    if let Some(arn) = input.get("TaskArn") {
        t["TaskArn"] = arn.clone();
    }
    TASKS.put(&format!("{wid}/{id}"), &t)?;
    let mut out = copy(&t, TASK_KEYS);
    out.remove("TaskType");
    Ok(Value::Object(out))
}

pub fn deregister_task(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let id = str_of(&input, "WindowTaskId").unwrap_or_default();
    load_task(&wid, id)?;
    TASKS.delete(&format!("{wid}/{id}"));
    Ok(json!({"WindowId": wid, "WindowTaskId": id}))
}

pub fn describe_tasks(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wid = window(&input)?;
    let filters = value_filters(&input);
    let list: Vec<Value> = TASKS
        .values(&format!("{wid}/"))?
        .into_iter()
        .map(|t| {
            // The summary names the task type `Type`.
            let mut s = copy(&t, TASK_KEYS);
            if let Some(kind) = s.remove("TaskType") {
                s.insert("Type".into(), kind);
            }
            s.remove("TaskInvocationParameters");
            Value::Object(s)
        })
        .filter(|t| matches(t, &filters))
        .collect();
    crate::paging::page(json!({"Tasks": list}), "Tasks", &input, 50)
}

/// Nothing runs on a window's schedule locally.
pub fn describe_executions(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"WindowExecutions": []}))
}

pub fn describe_schedule(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    if input.get("WindowId").is_some() {
        window(&input)?;
    }
    Ok(json!({"ScheduledWindowExecutions": []}))
}

fn execution_not_found(id: &str) -> AwsError {
    does_not_exist(format!("Maintenance window execution {id} does not exist"))
}

pub fn get_execution(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

pub fn get_execution_task(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

pub fn describe_execution_tasks(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

pub fn describe_execution_task_invocations(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

pub fn get_execution_task_invocation(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

pub fn cancel_execution(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(execution_not_found(
        str_of(&input, "WindowExecutionId").unwrap_or_default(),
    ))
}

/// Windows with a registered target naming any of the given targets.
pub fn describe_for_target(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let wanted: Vec<Value> = input["Targets"].as_array().cloned().unwrap_or_default();
    let kind = input["ResourceType"].clone();
    let mut found: Vec<Value> = Vec::new();
    for (key, t) in TARGETS.scan(&Scan::prefix(""))? {
        let wid = key.split_once('/').map_or("", |(w, _)| w);
        let hit = t["ResourceType"] == kind
            && t["Targets"].as_array().into_iter().flatten().any(|x| {
                wanted.iter().any(|w| {
                    w["Key"] == x["Key"]
                        && w["Values"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .any(|v| x["Values"].as_array().is_some_and(|xs| xs.contains(v)))
                })
            });
        if hit && !found.iter().any(|f| f["WindowId"] == json!(wid)) {
            let name = WINDOWS
                .get(wid)?
                .and_then(|w| w.get("Name").cloned())
                .unwrap_or(Value::Null);
            found.push(json!({"WindowId": wid, "Name": name}));
        }
    }
    crate::paging::page(
        json!({"WindowIdentities": found}),
        "WindowIdentities",
        &input,
        50,
    )
}
