//! Per-function settings beside the configuration: concurrency (reserved
//! and provisioned), event invoke configs, code signing configs, tags,
//! account settings, runtime management and recursion configs; and the
//! operations of features that cannot exist locally.

use std::collections::BTreeMap;

use ministack_sdk::members::str_member as s;
use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::functions::paginate;

/// (function, qualifier) -> FunctionEventInvokeConfig.
pub const EVENT_INVOKE: Table<Value> = Table::new("event-invoke-configs");
/// (function, qualifier) -> provisioned concurrency config.
pub const PROVISIONED: Table<Value> = Table::new("provisioned-concurrency");
/// Code signing config id -> CodeSigningConfig.
pub const CODE_SIGNING: Table<Value> = Table::new("code-signing-configs");

/// Drops everything kept per function when it is deleted.
pub fn forget_function(_ctx: &Context, name: &str) -> Result<(), AwsError> {
    let p = keys::prefix(&[name]);
    EVENT_INVOKE.delete_range(&Scan::prefix(p.clone()));
    PROVISIONED.delete_range(&Scan::prefix(p));
    Ok(())
}

/// The account's concurrency limit (LAMBDA_ACCOUNT_CONCURRENCY, default 1000).
pub fn account_concurrency(ctx: &Context) -> u64 {
    ctx.setting("LAMBDA_ACCOUNT_CONCURRENCY")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

fn reserved_total(except: &str) -> Result<u64, AwsError> {
    Ok(FUNCTIONS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(n, _)| n != except)
        .filter_map(|(_, f)| f.reserved.map(u64::from))
        .sum())
}

// ---- reserved concurrency ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutConcurrencyIn {
    function_name: String,
    reserved_concurrent_executions: u32,
}

pub fn put_function_concurrency(ctx: &Context, input: PutConcurrencyIn) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let mut f = load_function(ctx, &r.name)?;
    let limit = account_concurrency(ctx);
    let others = reserved_total(&r.name)?;
    if others + u64::from(input.reserved_concurrent_executions) > limit.saturating_sub(100) {
        return Err(invalid(
            "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].",
        ));
    }
    f.reserved = Some(input.reserved_concurrent_executions);
    FUNCTIONS.put(&r.name, &f)?;
    crate::exec::release(&function_arn(ctx, &r.name));
    Ok(json!({"ReservedConcurrentExecutions": input.reserved_concurrent_executions}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionOnly {
    function_name: String,
}

pub fn get_function_concurrency(ctx: &Context, input: FunctionOnly) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let f = load_function(ctx, &r.name)?;
    Ok(match f.reserved {
        Some(n) => json!({"ReservedConcurrentExecutions": n}),
        None => json!({}),
    })
}

pub fn delete_function_concurrency(ctx: &Context, input: FunctionOnly) -> Result<Empty, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let mut f = load_function(ctx, &r.name)?;
    f.reserved = None;
    FUNCTIONS.put(&r.name, &f)?;
    crate::exec::release(&function_arn(ctx, &r.name));
    Ok(Empty {})
}

// ---- provisioned concurrency ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QualifiedIn {
    function_name: String,
    #[serde(default)]
    qualifier: Option<String>,
    #[serde(default)]
    provisioned_concurrent_executions: Option<u64>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

fn published_qualifier(
    ctx: &Context,
    input: &QualifiedIn,
) -> Result<(FunctionRef, String), AwsError> {
    let r = function_ref(ctx, &input.function_name, input.qualifier.as_deref())?;
    let f = load_function(ctx, &r.name)?;
    let q = r.qualifier.clone().unwrap_or_default();
    if q.is_empty() || q == LATEST {
        return Err(invalid(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
        ));
    }
    check_qualifier(ctx, &f, &r.name, Some(&q))?;
    Ok((r, q))
}

pub fn put_provisioned_concurrency_config(
    ctx: &Context,
    input: QualifiedIn,
) -> Result<Value, AwsError> {
    let (r, q) = published_qualifier(ctx, &input)?;
    let n = input.provisioned_concurrent_executions.unwrap_or(1);
    let v = json!({
        "FunctionArn": qualified_arn(&function_arn(ctx, &r.name), Some(&q)),
        "RequestedProvisionedConcurrentExecutions": n,
        "AvailableProvisionedConcurrentExecutions": n,
        "AllocatedProvisionedConcurrentExecutions": n,
        "Status": "READY",
        "LastModified": last_modified(),
    });
    PROVISIONED.put(&keys::join(&[&r.name, &q]), &v)?;
    let mut out = v;
    // Allocation is reported in progress on the write, ready on later reads.
    out["Status"] = json!("IN_PROGRESS");
    out["AvailableProvisionedConcurrentExecutions"] = json!(0);
    out["AllocatedProvisionedConcurrentExecutions"] = json!(0);
    out.as_object_mut().map(|m| m.remove("FunctionArn"));
    Ok(out)
}

pub fn get_provisioned_concurrency_config(
    ctx: &Context,
    input: QualifiedIn,
) -> Result<Value, AwsError> {
    let (r, q) = published_qualifier(ctx, &input)?;
    let mut v = PROVISIONED
        .get(&keys::join(&[&r.name, &q]))?
        .ok_or_else(|| {
            AwsError::new(
                "ProvisionedConcurrencyConfigNotFoundException",
                "No Provisioned Concurrency Config found for this function",
            )
            .with_member("Type", "User")
        })?;
    v.as_object_mut().map(|m| m.remove("FunctionArn"));
    Ok(v)
}

pub fn delete_provisioned_concurrency_config(
    ctx: &Context,
    input: QualifiedIn,
) -> Result<Empty, AwsError> {
    let (r, q) = published_qualifier(ctx, &input)?;
    if !PROVISIONED.delete(&keys::join(&[&r.name, &q])) {
        return Err(AwsError::new(
            "ProvisionedConcurrencyConfigNotFoundException",
            "No Provisioned Concurrency Config found for this function",
        )
        .with_member("Type", "User"));
    }
    Ok(Empty {})
}

pub fn list_provisioned_concurrency_configs(
    ctx: &Context,
    input: QualifiedIn,
) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    load_function(ctx, &r.name)?;
    let items = PROVISIONED.scan(&Scan::prefix(keys::prefix(&[&r.name])))?;
    let (list, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"ProvisionedConcurrencyConfigs": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

// ---- event invoke config ----

/// The event invoke config that applies to an invoke of `qualifier`
/// (the alias's or version's own, or none).
pub fn event_invoke_config(name: &str, qualifier: &str) -> Option<Value> {
    EVENT_INVOKE
        .get(&keys::join(&[name, qualifier]))
        .ok()
        .flatten()
}

fn check_destination_config(d: &Value) -> Result<(), AwsError> {
    for k in ["OnSuccess", "OnFailure"] {
        if let Some(dest) = d[k]["Destination"].as_str() {
            let ok = Arn::parse(dest).is_some_and(|a| {
                matches!(
                    a.service.as_str(),
                    "sqs" | "sns" | "lambda" | "events" | "s3"
                )
            });
            if !ok {
                return Err(invalid(format!("The destination ARN {dest} is invalid.")));
            }
        }
    }
    Ok(())
}

fn eic_target(ctx: &Context, input: &Value) -> Result<(FunctionRef, String), AwsError> {
    let r = function_ref(
        ctx,
        s(input, "FunctionName").unwrap_or_default(),
        s(input, "Qualifier"),
    )?;
    let f = load_function(ctx, &r.name)?;
    let q = r.qualifier.clone().unwrap_or_else(|| LATEST.into());
    check_qualifier(ctx, &f, &r.name, Some(&q))?;
    Ok((r, q))
}

fn write_eic(ctx: &Context, input: Value, merge: bool) -> Result<Value, AwsError> {
    let (r, q) = eic_target(ctx, &input)?;
    let key = keys::join(&[&r.name, &q]);
    let mut v = if merge {
        EVENT_INVOKE.get(&key)?.unwrap_or_else(|| json!({}))
    } else {
        json!({})
    };
    if !input["DestinationConfig"].is_null() {
        check_destination_config(&input["DestinationConfig"])?;
    }
    for k in [
        "MaximumRetryAttempts",
        "MaximumEventAgeInSeconds",
        "DestinationConfig",
    ] {
        if !input[k].is_null() {
            v[k] = input[k].clone();
        }
    }
    if v["DestinationConfig"].is_null() {
        v["DestinationConfig"] = json!({"OnSuccess": {}, "OnFailure": {}});
    }
    v["FunctionArn"] = json!(qualified_arn(&function_arn(ctx, &r.name), Some(&q)));
    v["LastModified"] = json!(time::now());
    EVENT_INVOKE.put(&key, &v)?;
    Ok(v)
}

pub fn put_function_event_invoke_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    write_eic(ctx, input, false)
}

pub fn update_function_event_invoke_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    write_eic(ctx, input, true)
}

pub fn get_function_event_invoke_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let (r, q) = eic_target(ctx, &input)?;
    EVENT_INVOKE
        .get(&keys::join(&[&r.name, &q]))?
        .ok_or_else(|| {
            not_found(format!(
                "The function {} doesn't have an EventInvokeConfig",
                qualified_arn(&function_arn(ctx, &r.name), Some(&q))
            ))
        })
}

pub fn delete_function_event_invoke_config(ctx: &Context, input: Value) -> Result<Empty, AwsError> {
    let (r, q) = eic_target(ctx, &input)?;
    if !EVENT_INVOKE.delete(&keys::join(&[&r.name, &q])) {
        return Err(not_found(format!(
            "The function {} doesn't have an EventInvokeConfig",
            qualified_arn(&function_arn(ctx, &r.name), Some(&q))
        )));
    }
    Ok(Empty {})
}

pub fn list_function_event_invoke_configs(
    ctx: &Context,
    input: QualifiedIn,
) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    load_function(ctx, &r.name)?;
    let items = EVENT_INVOKE.scan(&Scan::prefix(keys::prefix(&[&r.name])))?;
    let (list, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"FunctionEventInvokeConfigs": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

// ---- code signing configs ----

fn csc_id(arn_or_id: &str) -> String {
    arn_or_id
        .rsplit(':')
        .next()
        .unwrap_or(arn_or_id)
        .to_string()
}

fn csc_not_found(arn: &str) -> AwsError {
    AwsError::new(
        "ResourceNotFoundException",
        format!("The code signing configuration cannot be found. Check that the provided configuration is not deleted: {arn}."),
    )
    .with_member("Type", "User")
}

pub fn create_code_signing_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = format!("csc-{}", ids::hex(17));
    let arn = ctx
        .arn("lambda", &format!("code-signing-config:{id}"))
        .to_string();
    let v = json!({
        "CodeSigningConfigId": id,
        "CodeSigningConfigArn": arn,
        "Description": s(&input, "Description").unwrap_or(""),
        "AllowedPublishers": input["AllowedPublishers"].clone(),
        "CodeSigningPolicies": if input["CodeSigningPolicies"].is_null() { json!({"UntrustedArtifactOnDeployment": "Warn"}) } else { input["CodeSigningPolicies"].clone() },
        "LastModified": last_modified(),
    });
    CODE_SIGNING.put(&id, &v)?;
    if let Some(tags) = input["Tags"].as_object() {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect();
        TAGS.put(&arn, &tags)?;
    }
    Ok(json!({"CodeSigningConfig": v}))
}

fn load_csc(arn: &str) -> Result<Value, AwsError> {
    CODE_SIGNING
        .get(&csc_id(arn))?
        .ok_or_else(|| csc_not_found(arn))
}

pub fn get_code_signing_config(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "CodeSigningConfigArn").unwrap_or_default();
    Ok(json!({"CodeSigningConfig": load_csc(arn)?}))
}

pub fn update_code_signing_config(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "CodeSigningConfigArn").unwrap_or_default();
    let mut v = load_csc(arn)?;
    for k in ["Description", "AllowedPublishers", "CodeSigningPolicies"] {
        if !input[k].is_null() {
            v[k] = input[k].clone();
        }
    }
    v["LastModified"] = json!(last_modified());
    CODE_SIGNING.put(&csc_id(arn), &v)?;
    Ok(json!({"CodeSigningConfig": v}))
}

fn functions_using(arn: &str) -> Result<Vec<String>, AwsError> {
    Ok(FUNCTIONS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, f)| f.code_signing_config.as_deref() == Some(arn))
        .map(|(_, f)| {
            f.config["FunctionArn"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

pub fn delete_code_signing_config(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = s(&input, "CodeSigningConfigArn").unwrap_or_default();
    let v = load_csc(arn)?;
    let full = v["CodeSigningConfigArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if !functions_using(&full)?.is_empty() {
        return Err(conflict(
            "The code signing configuration cannot be deleted because it is used by a function.",
        ));
    }
    CODE_SIGNING.delete(&csc_id(arn));
    TAGS.delete(&full);
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListIn {
    #[serde(default)]
    code_signing_config_arn: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<u64>,
}

pub fn list_code_signing_configs(_ctx: &Context, input: ListIn) -> Result<Value, AwsError> {
    let items = CODE_SIGNING.scan(&Scan::all())?;
    let (list, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"CodeSigningConfigs": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

pub fn list_functions_by_code_signing_config(
    _ctx: &Context,
    input: ListIn,
) -> Result<Value, AwsError> {
    let arn = input.code_signing_config_arn.clone().unwrap_or_default();
    let v = load_csc(&arn)?;
    let full = v["CodeSigningConfigArn"].as_str().unwrap_or_default();
    let items = functions_using(full)?
        .into_iter()
        .map(|a| (a.clone(), json!(a)))
        .collect();
    let (list, next) = paginate(items, input.marker.as_deref(), input.max_items, 50)?;
    let mut out = json!({"FunctionArns": list});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    Ok(out)
}

pub fn put_function_code_signing_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let mut f = load_function(ctx, &r.name)?;
    let arn = s(&input, "CodeSigningConfigArn").unwrap_or_default();
    let v = load_csc(arn)?;
    let full = v["CodeSigningConfigArn"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    f.code_signing_config = Some(full.clone());
    FUNCTIONS.put(&r.name, &f)?;
    Ok(json!({"CodeSigningConfigArn": full, "FunctionName": r.name}))
}

pub fn get_function_code_signing_config(
    ctx: &Context,
    input: FunctionOnly,
) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let f = load_function(ctx, &r.name)?;
    Ok(
        json!({"CodeSigningConfigArn": f.code_signing_config.unwrap_or_default(), "FunctionName": r.name}),
    )
}

pub fn delete_function_code_signing_config(
    ctx: &Context,
    input: FunctionOnly,
) -> Result<Empty, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let mut f = load_function(ctx, &r.name)?;
    f.code_signing_config = None;
    FUNCTIONS.put(&r.name, &f)?;
    Ok(Empty {})
}

// ---- tags ----

/// Which stored resource a taggable ARN names; an error when there is none.
fn check_taggable(ctx: &Context, arn: &str) -> Result<String, AwsError> {
    let parsed = Arn::parse(arn).ok_or_else(|| invalid(format!("Invalid ARN: {arn}")))?;
    let missing = || not_found(format!("The resource you requested does not exist: {arn}"));
    if parsed.account != ctx.account || parsed.region != ctx.region {
        return Err(missing());
    }
    let mut parts = parsed.resource.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("function"), Some(name), None) => {
            load_function(ctx, name)?;
            Ok(function_arn(ctx, name))
        }
        (Some("function"), Some(_), Some(_)) => Err(invalid(
            "Tags are not supported for function versions or aliases; tag the unqualified function ARN.",
        )),
        (Some("code-signing-config"), Some(id), None) => {
            load_csc(id)?;
            Ok(arn.to_string())
        }
        (Some("event-source-mapping"), Some(id), None) => {
            if crate::esm::MAPPINGS.contains(id) {
                Ok(arn.to_string())
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagsIn {
    resource: String,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

pub fn list_tags(ctx: &Context, input: TagsIn) -> Result<Value, AwsError> {
    let key = check_taggable(ctx, &input.resource)?;
    Ok(json!({"Tags": TAGS.get(&key)?.unwrap_or_default()}))
}

pub fn tag_resource(ctx: &Context, input: TagsIn) -> Result<Empty, AwsError> {
    let key = check_taggable(ctx, &input.resource)?;
    let mut tags = TAGS.get(&key)?.unwrap_or_default();
    tags.extend(input.tags);
    if tags.len() > 50 {
        return Err(invalid("Number of tags exceeds resource tag limit."));
    }
    TAGS.put(&key, &tags)?;
    Ok(Empty {})
}

pub fn untag_resource(ctx: &Context, input: TagsIn) -> Result<Empty, AwsError> {
    let key = check_taggable(ctx, &input.resource)?;
    let mut tags = TAGS.get(&key)?.unwrap_or_default();
    for k in &input.tag_keys {
        tags.remove(k);
    }
    TAGS.put(&key, &tags)?;
    Ok(Empty {})
}

// ---- account settings ----

pub fn get_account_settings(ctx: &Context, _input: Empty) -> Result<Value, AwsError> {
    let mut total = 0u64;
    let mut count = 0u64;
    for (name, f) in FUNCTIONS.scan(&Scan::all())? {
        count += 1;
        total += f.config["CodeSize"].as_u64().unwrap_or(0);
        for v in VERSIONS.values(&keys::prefix(&[&name]))? {
            total += v.config["CodeSize"].as_u64().unwrap_or(0);
        }
    }
    let limit = account_concurrency(ctx);
    Ok(json!({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800u64,
            "CodeSizeUnzipped": 262_144_000u64,
            "CodeSizeZipped": 52_428_800u64,
            "ConcurrentExecutions": limit,
            "UnreservedConcurrentExecutions": limit.saturating_sub(reserved_total("")?),
        },
        "AccountUsage": {"TotalCodeSize": total, "FunctionCount": count},
    }))
}

// ---- runtime management and recursion ----

pub fn get_runtime_management_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(
        ctx,
        s(&input, "FunctionName").unwrap_or_default(),
        s(&input, "Qualifier"),
    )?;
    let f = load_function(ctx, &r.name)?;
    check_qualifier(ctx, &f, &r.name, r.qualifier.as_deref())?;
    let mut out = f
        .runtime_management
        .clone()
        .unwrap_or_else(|| json!({"UpdateRuntimeOn": "Auto"}));
    out["FunctionArn"] = json!(qualified_arn(
        &function_arn(ctx, &r.name),
        r.qualifier.as_deref()
    ));
    Ok(out)
}

pub fn put_runtime_management_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(
        ctx,
        s(&input, "FunctionName").unwrap_or_default(),
        s(&input, "Qualifier"),
    )?;
    let mut f = load_function(ctx, &r.name)?;
    check_qualifier(ctx, &f, &r.name, r.qualifier.as_deref())?;
    let on = s(&input, "UpdateRuntimeOn").unwrap_or("Auto");
    let mut v = json!({"UpdateRuntimeOn": on});
    match (on, s(&input, "RuntimeVersionArn")) {
        ("Manual", None) => {
            return Err(invalid(
                "RuntimeVersionArn is required when UpdateRuntimeOn is Manual.",
            ));
        }
        ("Manual", Some(a)) => v["RuntimeVersionArn"] = json!(a),
        (_, Some(_)) => {
            return Err(invalid(
                "RuntimeVersionArn is only allowed when UpdateRuntimeOn is Manual.",
            ));
        }
        _ => {}
    }
    f.runtime_management = Some(v.clone());
    FUNCTIONS.put(&r.name, &f)?;
    v["FunctionArn"] = json!(qualified_arn(
        &function_arn(ctx, &r.name),
        r.qualifier.as_deref()
    ));
    Ok(v)
}

pub fn get_function_recursion_config(
    ctx: &Context,
    input: FunctionOnly,
) -> Result<Value, AwsError> {
    let r = function_ref(ctx, &input.function_name, None)?;
    let f = load_function(ctx, &r.name)?;
    Ok(json!({"RecursiveLoop": f.recursion.unwrap_or_else(|| "Terminate".into())}))
}

pub fn put_function_recursion_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(ctx, s(&input, "FunctionName").unwrap_or_default(), None)?;
    let mut f = load_function(ctx, &r.name)?;
    let v = s(&input, "RecursiveLoop")
        .unwrap_or("Terminate")
        .to_string();
    f.recursion = Some(v.clone());
    FUNCTIONS.put(&r.name, &f)?;
    Ok(json!({"RecursiveLoop": v}))
}

// ---- features that cannot exist locally ----

/// Lambda Managed Instances (capacity providers) run functions on EC2
/// instances in the caller's VPC; there are none locally.
fn no_capacity_providers() -> AwsError {
    invalid(
        "Capacity providers (Lambda Managed Instances) are not available in ministack: functions run on the host's functions capability.",
    )
}

pub fn create_capacity_provider(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Err(no_capacity_providers())
}

pub fn update_capacity_provider(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(capacity_provider_not_found(&input))
}

fn capacity_provider_not_found(input: &Value) -> AwsError {
    not_found(format!(
        "Capacity provider not found: {}",
        s(input, "CapacityProviderName").unwrap_or_default()
    ))
}

pub fn get_capacity_provider(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(capacity_provider_not_found(&input))
}

pub fn delete_capacity_provider(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(capacity_provider_not_found(&input))
}

pub fn list_capacity_providers(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"CapacityProviders": []}))
}

pub fn list_function_versions_by_capacity_provider(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    Err(capacity_provider_not_found(&input))
}

pub fn get_function_scaling_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(
        ctx,
        s(&input, "FunctionName").unwrap_or_default(),
        s(&input, "Qualifier"),
    )?;
    load_function(ctx, &r.name)?;
    Err(invalid(format!(
        "Function {} is not configured with a capacity provider.",
        function_arn(ctx, &r.name)
    )))
}

pub fn put_function_scaling_config(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    get_function_scaling_config(ctx, input)
}

/// Durable executions need a function created with DurableConfig and the
/// durable execution SDK's checkpoint service; none run here, so every
/// execution ARN is unknown.
fn durable_not_found(input: &Value) -> AwsError {
    let id = s(input, "DurableExecutionArn")
        .or(s(input, "CallbackId"))
        .unwrap_or_default();
    not_found(format!("Durable execution not found: {id}"))
}

pub fn durable_execution_op(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(durable_not_found(&input))
}

pub fn list_durable_executions_by_function(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let r = function_ref(
        ctx,
        s(&input, "FunctionName").unwrap_or_default(),
        s(&input, "Qualifier"),
    )?;
    load_function(ctx, &r.name)?;
    Ok(json!({"DurableExecutions": []}))
}
