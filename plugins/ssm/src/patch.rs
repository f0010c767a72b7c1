//! Patch baselines and patch groups. AWS's predefined baselines (one per
//! operating system, the defaults until another is registered) are listed
//! with owner AWS; nothing patches anything locally.

use ministack_sdk::prelude::*;
use ministack_sdk::{ids, time};
use serde_json::{Map, Value, json};

const BASELINES: Table<Value> = Table::new("patch-baselines");
/// Operating system → the baseline registered as its default.
const DEFAULTS: Table<String> = Table::new("default-patch-baselines");
/// Patch group → baseline id.
const GROUPS: Table<String> = Table::new("patch-groups");

const SYSTEMS: &[(&str, &str)] = &[
    ("WINDOWS", "AWS-DefaultPatchBaseline"),
    ("AMAZON_LINUX", "AWS-AmazonLinuxDefaultPatchBaseline"),
    ("AMAZON_LINUX_2", "AWS-AmazonLinux2DefaultPatchBaseline"),
    (
        "AMAZON_LINUX_2022",
        "AWS-AmazonLinux2022DefaultPatchBaseline",
    ),
    (
        "AMAZON_LINUX_2023",
        "AWS-AmazonLinux2023DefaultPatchBaseline",
    ),
    ("UBUNTU", "AWS-UbuntuDefaultPatchBaseline"),
    ("REDHAT_ENTERPRISE_LINUX", "AWS-RedHatDefaultPatchBaseline"),
    ("SUSE", "AWS-SuseDefaultPatchBaseline"),
    ("CENTOS", "AWS-CentOSDefaultPatchBaseline"),
    ("ORACLE_LINUX", "AWS-OracleLinuxDefaultPatchBaseline"),
    ("DEBIAN", "AWS-DebianDefaultPatchBaseline"),
    ("MACOS", "AWS-MacOSDefaultPatchBaseline"),
    ("RASPBIAN", "AWS-RaspbianDefaultPatchBaseline"),
    ("ROCKY_LINUX", "AWS-RockyLinuxDefaultPatchBaseline"),
    ("ALMA_LINUX", "AWS-AlmaLinuxDefaultPatchBaseline"),
];

use crate::json::{str_of, string_filters};

/// AWS's baselines have a stable id per operating system.
fn aws_baseline_id(ctx: &Context, os: &str) -> String {
    let digest = ministack_sdk::hash::sha256_hex(format!("{}/{os}", ctx.region).as_bytes());
    format!("pb-{}", &digest[..17])
}

fn aws_baseline(ctx: &Context, os: &str, name: &str) -> Value {
    json!({
        "BaselineId": aws_baseline_id(ctx, os),
        "Name": name,
        "OperatingSystem": os,
        "Description": format!("Default Patch Baseline for {os} Provided by AWS."),
        "GlobalFilters": {"PatchFilters": []},
        "ApprovalRules": {"PatchRules": [{
            "PatchFilterGroup": {"PatchFilters": [
                {"Key": "CLASSIFICATION", "Values": ["Security"]},
                {"Key": "SEVERITY", "Values": ["Critical", "Important"]}
            ]},
            "ComplianceLevel": "UNSPECIFIED",
            "ApproveAfterDays": 7,
            "EnableNonSecurity": false
        }]},
        "ApprovedPatches": [],
        "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
        "ApprovedPatchesEnableNonSecurity": false,
        "RejectedPatches": [],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
        "Sources": [],
        "CreatedDate": 1_546_300_800.0,
        "ModifiedDate": 1_546_300_800.0,
        "Owner": "AWS",
    })
}

fn all_baselines(ctx: &Context) -> Result<Vec<Value>, AwsError> {
    let mut out: Vec<Value> = SYSTEMS
        .iter()
        .map(|(os, name)| aws_baseline(ctx, os, name))
        .collect();
    out.extend(BASELINES.values("")?);
    Ok(out)
}

fn check_id(id: &str) -> Result<(), AwsError> {
    // An id (pb- + 17 hex) or an ARN ending in one.
    let plain = id.rsplit_once("patchbaseline/").map_or(id, |(_, p)| p);
    let ok = plain.len() == 20
        && plain.starts_with("pb-")
        && plain[3..].bytes().all(|b| b.is_ascii_hexdigit());
    if !ok {
        return Err(AwsError::new(
            "InvalidResourceId",
            "The resource ID is not valid. Verify that you entered the correct ID and try again.",
        ));
    }
    Ok(())
}

fn plain_id(id: &str) -> &str {
    id.rsplit_once("patchbaseline/").map_or(id, |(_, p)| p)
}

fn find(ctx: &Context, id: &str) -> Result<Value, AwsError> {
    check_id(id)?;
    let id = plain_id(id);
    all_baselines(ctx)?
        .into_iter()
        .find(|b| b["BaselineId"] == json!(id))
        .ok_or_else(|| {
            AwsError::not_found(
                "DoesNotExistException",
                format!("Patch Baseline {id} does not exist."),
            )
        })
}

pub fn baseline_exists(id: &str) -> bool {
    BASELINES.contains(plain_id(id))
}

fn default_for(ctx: &Context, os: &str) -> Result<String, AwsError> {
    Ok(DEFAULTS
        .get(os)?
        .unwrap_or_else(|| aws_baseline_id(ctx, os)))
}

fn groups_of(id: &str) -> Result<Vec<String>, AwsError> {
    Ok(GROUPS
        .scan(&Scan::prefix(""))?
        .into_iter()
        .filter(|(_, b)| b == id)
        .map(|(g, _)| g)
        .collect())
}

const MEMBERS: &[&str] = &[
    "Name",
    "GlobalFilters",
    "ApprovalRules",
    "ApprovedPatches",
    "ApprovedPatchesComplianceLevel",
    "ApprovedPatchesEnableNonSecurity",
    "RejectedPatches",
    "RejectedPatchesAction",
    "Description",
    "Sources",
    "AvailableSecurityUpdatesComplianceStatus",
];

pub fn create_patch_baseline(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = format!("pb-{}", ids::hex(17));
    let now = time::now();
    let mut b = json!({
        "BaselineId": id,
        "OperatingSystem": str_of(&input, "OperatingSystem").unwrap_or("WINDOWS"),
        "ApprovedPatches": [],
        "ApprovedPatchesComplianceLevel": "UNSPECIFIED",
        "ApprovedPatchesEnableNonSecurity": false,
        "RejectedPatches": [],
        "RejectedPatchesAction": "ALLOW_AS_DEPENDENCY",
        "Sources": [],
        "CreatedDate": now,
        "ModifiedDate": now,
    });
    for k in MEMBERS {
        if let Some(v) = input.get(*k) {
            b[*k] = v.clone();
        }
    }
    BASELINES.put(&id, &b)?;
    crate::tags::set("PatchBaseline", &id, crate::tags::from_input(&input))?;
    Ok(json!({"BaselineId": id}))
}

/// A baseline as GetPatchBaseline shapes it: the filter groups are always
/// there, empty when none were given (clients read them unconditionally).
fn shown(b: &Value) -> Value {
    let mut out: Map<String, Value> = b.as_object().cloned().unwrap_or_default();
    out.remove("Owner");
    out.entry("GlobalFilters")
        .or_insert_with(|| json!({"PatchFilters": []}));
    out.entry("ApprovalRules")
        .or_insert_with(|| json!({"PatchRules": []}));
    Value::Object(out)
}

pub fn get_patch_baseline(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let mut b = shown(&find(
        ctx,
        str_of(&input, "BaselineId").unwrap_or_default(),
    )?);
    let id = str_of(&b, "BaselineId").unwrap_or_default().to_string();
    b["PatchGroups"] = json!(groups_of(&id)?);
    Ok(b)
}

pub fn update_patch_baseline(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "BaselineId").unwrap_or_default();
    let b = find(ctx, id)?;
    let id = plain_id(id);
    if b["Owner"] == "AWS" {
        return Err(AwsError::new(
            "InvalidResourceId",
            "Patch baselines provided by AWS can't be changed.",
        ));
    }
    let mut b = b;
    let replace = input["Replace"].as_bool() == Some(true);
    for k in MEMBERS {
        match input.get(*k) {
            Some(v) => b[*k] = v.clone(),
            None if replace && *k != "Name" => {
                if let Some(o) = b.as_object_mut() {
                    o.remove(*k);
                }
            }
            None => {}
        }
    }
    b["ModifiedDate"] = json!(time::now());
    BASELINES.put(id, &b)?;
    Ok(shown(&b))
}

pub fn delete_patch_baseline(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = plain_id(str_of(&input, "BaselineId").unwrap_or_default()).to_string();
    // Deleting one that does not exist succeeds, as in AWS.
    if let Some(b) = BASELINES.get(&id)? {
        let os = str_of(&b, "OperatingSystem").unwrap_or_default();
        if default_for(ctx, os)? == id || !groups_of(&id)?.is_empty() {
            return Err(AwsError::new(
                "ResourceInUseException",
                "Patch Baseline is in use: it is a default baseline or registered with a patch group.",
            ));
        }
        BASELINES.delete(&id);
        crate::tags::forget("PatchBaseline", &id);
    }
    Ok(json!({"BaselineId": id}))
}

pub fn describe_patch_baselines(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let filters: Vec<(String, Vec<String>)> = string_filters(&input);
    let mut out = Vec::new();
    for b in all_baselines(ctx)? {
        let os = str_of(&b, "OperatingSystem").unwrap_or_default();
        let owner = if b["Owner"] == "AWS" { "AWS" } else { "Self" };
        let name = str_of(&b, "Name").unwrap_or_default();
        let keep = filters.iter().all(|(k, vals)| match k.as_str() {
            "OWNER" => vals.iter().any(|v| v == owner || v == "All"),
            "NAME_PREFIX" => vals.iter().any(|v| name.starts_with(v.as_str())),
            "OPERATING_SYSTEM" => vals.iter().any(|v| v == os),
            _ => true,
        });
        if !keep {
            continue;
        }
        let id = str_of(&b, "BaselineId").unwrap_or_default();
        let mut identity = json!({
            "BaselineId": id,
            "BaselineName": name,
            "OperatingSystem": os,
            "DefaultBaseline": default_for(ctx, os)? == id,
        });
        if let Some(d) = b.get("Description") {
            identity["BaselineDescription"] = d.clone();
        }
        out.push(identity);
    }
    crate::paging::page(
        json!({"BaselineIdentities": out}),
        "BaselineIdentities",
        &input,
        50,
    )
}

pub fn register_default_patch_baseline(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let b = find(ctx, str_of(&input, "BaselineId").unwrap_or_default())?;
    let id = str_of(&b, "BaselineId").unwrap_or_default().to_string();
    let os = str_of(&b, "OperatingSystem").unwrap_or_default();
    if b["Owner"] == "AWS" {
        DEFAULTS.delete(os);
    } else {
        DEFAULTS.put(os, &id)?;
    }
    Ok(json!({"BaselineId": id}))
}

pub fn get_default_patch_baseline(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let os = str_of(&input, "OperatingSystem").unwrap_or("WINDOWS");
    Ok(json!({"BaselineId": default_for(ctx, os)?, "OperatingSystem": os}))
}

pub fn register_patch_baseline_for_patch_group(
    ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let b = find(ctx, str_of(&input, "BaselineId").unwrap_or_default())?;
    let id = str_of(&b, "BaselineId").unwrap_or_default().to_string();
    let group = str_of(&input, "PatchGroup").unwrap_or_default();
    if GROUPS.get(group)?.is_some() {
        return Err(AwsError::new(
            "AlreadyExistsException",
            format!("Patch Group {group} is already registered with a baseline."),
        ));
    }
    GROUPS.put(group, &id)?;
    Ok(json!({"BaselineId": id, "PatchGroup": group}))
}

pub fn deregister_patch_baseline_for_patch_group(
    _ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    let id = str_of(&input, "BaselineId").unwrap_or_default();
    check_id(id)?;
    let id = plain_id(id);
    let group = str_of(&input, "PatchGroup").unwrap_or_default();
    if GROUPS.get(group)?.as_deref() != Some(id) {
        return Err(AwsError::new(
            "InvalidResourceId",
            format!("Patch Baseline {id} is not registered with patch group {group}."),
        ));
    }
    GROUPS.delete(group);
    Ok(json!({"BaselineId": id, "PatchGroup": group}))
}

pub fn get_patch_baseline_for_patch_group(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let group = str_of(&input, "PatchGroup").unwrap_or_default();
    let os = str_of(&input, "OperatingSystem").unwrap_or("WINDOWS");
    let id = match GROUPS.get(group)? {
        Some(id) => id,
        None => default_for(ctx, os)?,
    };
    Ok(json!({"BaselineId": id, "PatchGroup": group, "OperatingSystem": os}))
}

pub fn describe_patch_groups(ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let baselines = all_baselines(ctx)?;
    let mut out = Vec::new();
    for (group, id) in GROUPS.scan(&Scan::prefix(""))? {
        if let Some(b) = baselines.iter().find(|b| b["BaselineId"] == json!(id)) {
            let os = str_of(b, "OperatingSystem").unwrap_or_default();
            out.push(json!({
                "PatchGroup": group,
                "BaselineIdentity": {
                    "BaselineId": id,
                    "BaselineName": b["Name"],
                    "OperatingSystem": os,
                    "BaselineDescription": b.get("Description").cloned().unwrap_or(json!("")),
                    "DefaultBaseline": default_for(ctx, os)? == id,
                }
            }));
        }
    }
    crate::paging::page(json!({"Mappings": out}), "Mappings", &input, 50)
}

/// No patch catalogue is kept locally, so no patch applies to a baseline.
pub fn describe_effective_patches_for_patch_baseline(
    ctx: &Context,
    input: Value,
) -> Result<Value, AwsError> {
    find(ctx, str_of(&input, "BaselineId").unwrap_or_default())?;
    Ok(json!({"EffectivePatches": []}))
}
