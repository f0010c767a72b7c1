//! OpsMetadata, resource data syncs, compliance, service settings and the
//! Session Manager operations that need no agent.

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Map, Value, json};

use crate::params::user_of;

/// Resource id → OpsMetadata record.
const OPS_METADATA: Table<Value> = Table::new("ops-metadata");
const DATA_SYNCS: Table<Value> = Table::new("resource-data-syncs");
/// `resource type/resource id/compliance type` → the items put last.
const COMPLIANCE: Table<Value> = Table::new("compliance");
/// Setting id → customized value.
const SETTINGS: Table<Value> = Table::new("service-settings");

use crate::json::str_of;

// --- OpsMetadata ---

fn metadata_arn(ctx: &Context, resource_id: &str) -> String {
    let id = if resource_id.starts_with('/') {
        resource_id.to_string()
    } else {
        format!("/{resource_id}")
    };
    ctx.arn("ssm", &format!("opsmetadata{id}")).to_string()
}

/// The resource id an OpsMetadata ARN names.
fn resource_of(arn: &str) -> Result<String, AwsError> {
    let id = arn
        .split_once(":opsmetadata")
        .map(|(_, id)| id)
        .ok_or_else(|| {
            AwsError::new(
                "OpsMetadataInvalidArgumentException",
                format!("{arn} is not a valid OpsMetadata ARN."),
            )
        })?;
    Ok(id.to_string())
}

fn metadata_not_found(arn: &str) -> AwsError {
    AwsError::not_found(
        "OpsMetadataNotFoundException",
        format!("OpsMetadata object {arn} does not exist."),
    )
}

fn load_metadata(arn: &str) -> Result<(String, Value), AwsError> {
    let key = resource_of(arn)?;
    let m = OPS_METADATA
        .get(&key)?
        .ok_or_else(|| metadata_not_found(arn))?;
    Ok((key, m))
}

pub fn ops_metadata_exists(id: &str) -> bool {
    resource_of(id)
        .map(|k| OPS_METADATA.contains(&k))
        .unwrap_or(false)
        || OPS_METADATA.contains(id)
}

pub fn create_ops_metadata(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let rid = str_of(&input, "ResourceId").unwrap_or_default();
    let arn = metadata_arn(ctx, rid);
    let key = resource_of(&arn)?;
    if OPS_METADATA.contains(&key) {
        return Err(AwsError::new(
            "OpsMetadataAlreadyExistsException",
            format!("OpsMetadata object for {rid} already exists."),
        ));
    }
    let now = time::now();
    OPS_METADATA.put(
        &key,
        &json!({
            "ResourceId": rid,
            "OpsMetadataArn": arn,
            "Metadata": input.get("Metadata").cloned().unwrap_or(json!({})),
            "CreationDate": now,
            "LastModifiedDate": now,
            "LastModifiedUser": user_of(ctx),
        }),
    )?;
    crate::tags::set("OpsMetadata", &arn, crate::tags::from_input(&input))?;
    Ok(json!({"OpsMetadataArn": arn}))
}

pub fn get_ops_metadata(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (_, m) = load_metadata(str_of(&input, "OpsMetadataArn").unwrap_or_default())?;
    Ok(json!({"ResourceId": m["ResourceId"], "Metadata": m["Metadata"]}))
}

pub fn update_ops_metadata(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "OpsMetadataArn").unwrap_or_default();
    let (key, mut m) = load_metadata(arn)?;
    let mut data = m["Metadata"].as_object().cloned().unwrap_or_default();
    for k in input["KeysToDelete"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        data.remove(k);
    }
    data.extend(
        input["MetadataToUpdate"]
            .as_object()
            .cloned()
            .unwrap_or_default(),
    );
    if data.len() > 5 {
        return Err(AwsError::new(
            "OpsMetadataKeyLimitExceededException",
            "The OpsMetadata object exceeds the maximum number of OpsMetadata keys (5).",
        ));
    }
    m["Metadata"] = Value::Object(data);
    m["LastModifiedDate"] = json!(time::now());
    m["LastModifiedUser"] = json!(user_of(ctx));
    OPS_METADATA.put(&key, &m)?;
    Ok(json!({"OpsMetadataArn": arn}))
}

pub fn delete_ops_metadata(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "OpsMetadataArn").unwrap_or_default();
    let (key, _) = load_metadata(arn)?;
    OPS_METADATA.delete(&key);
    crate::tags::forget("OpsMetadata", arn);
    Ok(json!({}))
}

pub fn list_ops_metadata(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let prefixes: Vec<String> = input["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["Key"] == "AppManager/ResourceId" || f["Key"] == "ResourceId")
        .flat_map(|f| f["Values"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let list: Vec<Value> = OPS_METADATA
        .values("")?
        .into_iter()
        .filter(|m| {
            prefixes.is_empty()
                || prefixes
                    .iter()
                    .any(|p| str_of(m, "ResourceId") == Some(p.as_str()))
        })
        .map(|mut m| {
            if let Some(o) = m.as_object_mut() {
                o.remove("Metadata");
            }
            m
        })
        .collect();
    crate::paging::page(
        json!({"OpsMetadataList": list}),
        "OpsMetadataList",
        &input,
        50,
    )
}

// --- resource data syncs ---

fn sync_type(input: &Value) -> &str {
    str_of(input, "SyncType").unwrap_or("SyncToDestination")
}

pub fn create_resource_data_sync(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "SyncName").unwrap_or_default();
    let kind = sync_type(&input);
    match kind {
        "SyncToDestination" if input.get("S3Destination").is_none() => {
            return Err(AwsError::new(
                "ResourceDataSyncInvalidConfigurationException",
                "S3Destination is required for a SyncToDestination sync.",
            ));
        }
        "SyncFromSource" if input.get("SyncSource").is_none() => {
            return Err(AwsError::new(
                "ResourceDataSyncInvalidConfigurationException",
                "SyncSource is required for a SyncFromSource sync.",
            ));
        }
        _ => {}
    }
    if DATA_SYNCS.contains(name) {
        return Err(AwsError::new(
            "ResourceDataSyncAlreadyExistsException",
            format!("Sync {name} already exists."),
        )
        .with_member("SyncName", name));
    }
    if DATA_SYNCS.count(&Scan::prefix("")) >= 5 {
        return Err(AwsError::new(
            "ResourceDataSyncCountExceededException",
            "You have exceeded the allowed maximum sync configurations.",
        ));
    }
    let now = time::now();
    let mut item = json!({
        "SyncName": name,
        "SyncType": kind,
        "SyncCreatedTime": now,
        "SyncLastModifiedTime": now,
        "LastStatus": "Successful",
        "LastSyncTime": now,
        "LastSuccessfulSyncTime": now,
    });
    if let Some(d) = input.get("S3Destination") {
        item["S3Destination"] = d.clone();
    }
    if let Some(s) = input.get("SyncSource") {
        let mut s = s.clone();
        s["State"] = json!("Active");
        item["SyncSource"] = s;
    }
    DATA_SYNCS.put(name, &item)?;
    Ok(json!({}))
}

fn sync_not_found(name: &str) -> AwsError {
    AwsError::not_found(
        "ResourceDataSyncNotFoundException",
        format!("Sync {name} does not exist."),
    )
    .with_member("SyncName", name)
}

pub fn delete_resource_data_sync(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "SyncName").unwrap_or_default();
    if !DATA_SYNCS.delete(name) {
        return Err(sync_not_found(name));
    }
    Ok(json!({}))
}

pub fn update_resource_data_sync(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let name = str_of(&input, "SyncName").unwrap_or_default();
    let mut item = DATA_SYNCS.get(name)?.ok_or_else(|| sync_not_found(name))?;
    if item["SyncType"] != json!(sync_type(&input)) {
        return Err(AwsError::new(
            "ResourceDataSyncInvalidConfigurationException",
            "The SyncType doesn't match the sync's type.",
        ));
    }
    let mut s = input["SyncSource"].clone();
    s["State"] = json!("Active");
    item["SyncSource"] = s;
    item["SyncLastModifiedTime"] = json!(time::now());
    DATA_SYNCS.put(name, &item)?;
    Ok(json!({}))
}

pub fn list_resource_data_sync(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let kind = str_of(&input, "SyncType");
    let items: Vec<Value> = DATA_SYNCS
        .values("")?
        .into_iter()
        .filter(|s| kind.is_none_or(|k| s["SyncType"] == json!(k)))
        .collect();
    crate::paging::page(
        json!({"ResourceDataSyncItems": items}),
        "ResourceDataSyncItems",
        &input,
        50,
    )
}

// --- compliance ---

const SEVERITIES: &[&str] = &[
    "CRITICAL",
    "HIGH",
    "MEDIUM",
    "LOW",
    "INFORMATIONAL",
    "UNSPECIFIED",
];

pub fn put_compliance_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let rtype = str_of(&input, "ResourceType").unwrap_or_default();
    if rtype != "ManagedInstance" {
        return Err(AwsError::new(
            "InvalidResourceType",
            "The resource type isn't valid. For example, if you are attempting to tag an EC2 instance, the instance must be a registered managed node.",
        ));
    }
    let rid = str_of(&input, "ResourceId").unwrap_or_default();
    let ctype = str_of(&input, "ComplianceType").unwrap_or_default();
    let key = format!("{rtype}/{rid}/{ctype}");
    let mut items: Vec<Value> = input["Items"].as_array().cloned().unwrap_or_default();
    if input["UploadType"] == "PARTIAL"
        && let Some(old) = COMPLIANCE.get(&key)?
    {
        let mut merged: Vec<Value> = old["Items"].as_array().cloned().unwrap_or_default();
        for item in items {
            merged.retain(|o| o["Id"] != item["Id"] || item["Id"].is_null());
            merged.push(item);
        }
        items = merged;
    }
    COMPLIANCE.put(
        &key,
        &json!({
            "ResourceType": rtype,
            "ResourceId": rid,
            "ComplianceType": ctype,
            "ExecutionSummary": input["ExecutionSummary"],
            "Items": items,
        }),
    )?;
    Ok(json!({}))
}

/// Compliance filters: EQUAL / NOT_EQUAL / BEGIN_WITH / LESS_THAN / GREATER_THAN.
fn filter_ok(value: Option<&str>, f: &Value) -> bool {
    let vals: Vec<&str> = f["Values"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let v = value.unwrap_or_default();
    match str_of(f, "Type").unwrap_or("EQUAL") {
        "NOT_EQUAL" => !vals.contains(&v),
        "BEGIN_WITH" => vals.iter().any(|x| v.starts_with(x)),
        "LESS_THAN" => vals.iter().any(|x| v < *x),
        "GREATER_THAN" => vals.iter().any(|x| v > *x),
        _ => vals.contains(&v),
    }
}

fn check_filters(input: &Value) -> Result<Vec<Value>, AwsError> {
    let filters: Vec<Value> = input["Filters"].as_array().cloned().unwrap_or_default();
    for f in &filters {
        let key = str_of(f, "Key").unwrap_or_default();
        if !matches!(
            key,
            "ComplianceType"
                | "Status"
                | "Severity"
                | "ResourceId"
                | "ResourceType"
                | "Id"
                | "Title"
                | "OverallSeverity"
                | "ExecutionId"
                | "ExecutionType"
                | "AWS:ComplianceItem.Id"
        ) {
            return Err(AwsError::new(
                "InvalidFilter",
                format!("The filter key {key} is not valid."),
            ));
        }
    }
    Ok(filters)
}

fn records() -> Result<Vec<Value>, AwsError> {
    COMPLIANCE.values("")
}

pub fn list_compliance_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters = check_filters(&input)?;
    let ids: Vec<Value> = input["ResourceIds"].as_array().cloned().unwrap_or_default();
    let types: Vec<Value> = input["ResourceTypes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::new();
    for r in records()? {
        if (!ids.is_empty() && !ids.contains(&r["ResourceId"]))
            || (!types.is_empty() && !types.contains(&r["ResourceType"]))
        {
            continue;
        }
        for item in r["Items"].as_array().into_iter().flatten() {
            let mut c: Map<String, Value> = Map::new();
            for k in [
                "ComplianceType",
                "ResourceType",
                "ResourceId",
                "ExecutionSummary",
            ] {
                c.insert(k.into(), r[k].clone());
            }
            for k in ["Id", "Title", "Status", "Severity", "Details"] {
                if let Some(v) = item.get(k) {
                    c.insert(k.into(), v.clone());
                }
            }
            let c = Value::Object(c);
            if filters.iter().all(|f| {
                let key = str_of(f, "Key").unwrap_or_default();
                let key = if key == "AWS:ComplianceItem.Id" {
                    "Id"
                } else {
                    key
                };
                filter_ok(str_of(&c, key), f)
            }) {
                out.push(c);
            }
        }
    }
    crate::paging::page(
        json!({"ComplianceItems": out}),
        "ComplianceItems",
        &input,
        50,
    )
}

fn severity_rank(s: &str) -> usize {
    SEVERITIES.iter().position(|x| *x == s).unwrap_or(5)
}

fn severity_summary(items: &[&Value]) -> Value {
    let mut counts = Map::new();
    for s in SEVERITIES {
        let key = format!("{}Count", s[..1].to_string() + &s[1..].to_ascii_lowercase());
        let n = items.iter().filter(|i| i["Severity"] == json!(s)).count();
        counts.insert(key, json!(n));
    }
    Value::Object(counts)
}

/// Compliant and non-compliant counts of a set of items.
fn summaries(items: &[Value]) -> (Value, Value) {
    let (ok, bad): (Vec<&Value>, Vec<&Value>) =
        items.iter().partition(|i| i["Status"] == "COMPLIANT");
    (
        json!({"CompliantCount": ok.len(), "SeveritySummary": severity_summary(&ok)}),
        json!({"NonCompliantCount": bad.len(), "SeveritySummary": severity_summary(&bad)}),
    )
}

pub fn list_resource_compliance_summaries(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters = check_filters(&input)?;
    let mut out = Vec::new();
    for r in records()? {
        let items: Vec<Value> = r["Items"].as_array().cloned().unwrap_or_default();
        let bad: Vec<&Value> = items
            .iter()
            .filter(|i| i["Status"] != "COMPLIANT")
            .collect();
        let status = if bad.is_empty() {
            "COMPLIANT"
        } else {
            "NON_COMPLIANT"
        };
        let worst_of = |set: &[&Value]| {
            set.iter()
                .filter_map(|i| str_of(i, "Severity"))
                .min_by_key(|s| severity_rank(s))
                .unwrap_or("UNSPECIFIED")
                .to_string()
        };
        let all: Vec<&Value> = items.iter().collect();
        let overall = if bad.is_empty() {
            worst_of(&all)
        } else {
            worst_of(&bad)
        };
        let (compliant, non_compliant) = summaries(&items);
        let s = json!({
            "ComplianceType": r["ComplianceType"],
            "ResourceType": r["ResourceType"],
            "ResourceId": r["ResourceId"],
            "Status": status,
            "OverallSeverity": overall,
            "ExecutionSummary": r["ExecutionSummary"],
            "CompliantSummary": compliant,
            "NonCompliantSummary": non_compliant,
        });
        if filters
            .iter()
            .all(|f| filter_ok(str_of(&s, str_of(f, "Key").unwrap_or_default()), f))
        {
            out.push(s);
        }
    }
    crate::paging::page(
        json!({"ResourceComplianceSummaryItems": out}),
        "ResourceComplianceSummaryItems",
        &input,
        50,
    )
}

pub fn list_compliance_summaries(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters = check_filters(&input)?;
    let mut by_type: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for r in records()? {
        if !filters
            .iter()
            .all(|f| filter_ok(str_of(&r, str_of(f, "Key").unwrap_or_default()), f))
        {
            continue;
        }
        by_type
            .entry(str_of(&r, "ComplianceType").unwrap_or_default().to_string())
            .or_default()
            .extend(r["Items"].as_array().cloned().unwrap_or_default());
    }
    let out: Vec<Value> = by_type
        .into_iter()
        .map(|(t, items)| {
            let (c, n) = summaries(&items);
            json!({"ComplianceType": t, "CompliantSummary": c, "NonCompliantSummary": n})
        })
        .collect();
    crate::paging::page(
        json!({"ComplianceSummaryItems": out}),
        "ComplianceSummaryItems",
        &input,
        50,
    )
}

// --- service settings ---

/// The settings AWS documents for GetServiceSetting, with their defaults.
const SETTING_DEFAULTS: &[(&str, &str)] = &[
    ("/ssm/parameter-store/high-throughput-enabled", "false"),
    ("/ssm/parameter-store/default-parameter-tier", "Standard"),
    ("/ssm/managed-instance/activation-tier", "standard"),
    (
        "/ssm/managed-instance/default-ec2-instance-management-role",
        "",
    ),
    ("/ssm/opsinsights/opscenter", "Disabled"),
    (
        "/ssm/automation/customer-script-log-destination",
        "CloudWatch",
    ),
    (
        "/ssm/automation/customer-script-log-group-name",
        "/aws/ssm/automation/executeScript",
    ),
    ("/ssm/documents/console/public-sharing-permission", "Enable"),
    ("/ssm/appmanager/appmanager-enabled", "True"),
];

/// The values AWS accepts, where the setting has a fixed set.
fn allowed(setting: &str) -> Option<&'static [&'static str]> {
    Some(match setting {
        "/ssm/parameter-store/high-throughput-enabled" => &["true", "false"],
        "/ssm/parameter-store/default-parameter-tier" => {
            &["Standard", "Advanced", "Intelligent-Tiering"]
        }
        "/ssm/managed-instance/activation-tier" => &["standard", "advanced"],
        "/ssm/opsinsights/opscenter" => &["Enabled", "Disabled"],
        "/ssm/automation/customer-script-log-destination" => &["CloudWatch", "None"],
        "/ssm/documents/console/public-sharing-permission" => &["Enable", "Disable"],
        "/ssm/appmanager/appmanager-enabled" => &["True", "False"],
        _ => return None,
    })
}

/// The id as given or as the setting's ARN.
fn setting_id(id: &str) -> Result<&'static str, AwsError> {
    let plain = id.split_once(":servicesetting").map_or(id, |(_, p)| p);
    SETTING_DEFAULTS
        .iter()
        .find(|(k, _)| *k == plain)
        .map(|(k, _)| *k)
        .ok_or_else(|| {
            AwsError::not_found(
                "ServiceSettingNotFound",
                format!("The service setting {id} was not found."),
            )
        })
}

fn setting(ctx: &Context, id: &'static str) -> Result<Value, AwsError> {
    let default = SETTING_DEFAULTS
        .iter()
        .find(|(k, _)| *k == id)
        .map_or("", |(_, v)| v);
    let arn = ctx.arn("ssm", &format!("servicesetting{id}")).to_string();
    Ok(match SETTINGS.get(id)? {
        Some(s) => json!({
            "SettingId": id,
            "SettingValue": s["SettingValue"],
            "LastModifiedDate": s["LastModifiedDate"],
            "LastModifiedUser": s["LastModifiedUser"],
            "ARN": arn,
            "Status": "Customized",
        }),
        None => json!({
            "SettingId": id,
            "SettingValue": default,
            "LastModifiedDate": 1_546_300_800.0,
            "LastModifiedUser": "System",
            "ARN": arn,
            "Status": "Default",
        }),
    })
}

pub fn get_service_setting(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = setting_id(str_of(&input, "SettingId").unwrap_or_default())?;
    Ok(json!({"ServiceSetting": setting(ctx, id)?}))
}

pub fn update_service_setting(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = setting_id(str_of(&input, "SettingId").unwrap_or_default())?;
    let value = str_of(&input, "SettingValue").unwrap_or_default();
    if let Some(ok) = allowed(id)
        && !ok.contains(&value)
    {
        return Err(AwsError::validation(format!(
            "The value {value} is not valid for the setting {id}. Valid values: {}.",
            ok.join(", ")
        )));
    }
    SETTINGS.put(
        id,
        &json!({"SettingValue": value, "LastModifiedDate": time::now(), "LastModifiedUser": user_of(ctx)}),
    )?;
    Ok(json!({}))
}

pub fn reset_service_setting(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = setting_id(str_of(&input, "SettingId").unwrap_or_default())?;
    SETTINGS.delete(id);
    Ok(json!({"ServiceSetting": setting(ctx, id)?}))
}

// --- sessions (no agent: nothing is ever connected) ---

pub fn get_connection_status(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Target": str_of(&input, "Target"), "Status": "notconnected"}))
}

pub fn describe_sessions(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Sessions": []}))
}

/// AWS answers TerminateSession for any id (a finished session stays finished).
pub fn terminate_session(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Ok(json!({"SessionId": str_of(&input, "SessionId")}))
}

pub fn resume_session(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(AwsError::not_found(
        "DoesNotExistException",
        format!(
            "Session {} does not exist.",
            str_of(&input, "SessionId").unwrap_or_default()
        ),
    ))
}

/// No automation runs locally (StartAutomationExecution is not implemented).
pub fn describe_automation_executions(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"AutomationExecutionMetadataList": []}))
}

/// Reads of one automation execution: none was ever started.
pub fn automation_execution_not_found(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(AwsError::not_found(
        "AutomationExecutionNotFoundException",
        format!(
            "Automation execution {} does not exist.",
            str_of(&input, "AutomationExecutionId").unwrap_or_default()
        ),
    ))
}
