//! Hybrid activations, managed-node and patch-state queries, OpsData
//! summaries and parameter resource policies. No node ever registers
//! locally, so node queries answer empty and node updates `InvalidInstanceId`.

use ministack_sdk::prelude::*;
use ministack_sdk::{hash, ids, time};
use serde_json::{Value, json};

const ACTIVATIONS: Table<Value> = Table::new("activations");
/// Parameter ARN → its policies (`[{PolicyId, PolicyHash, Policy}]`).
const POLICIES: Table<Vec<Value>> = Table::new("resource-policies");

use crate::json::str_of;

// --- hybrid activations ---

pub fn create_activation(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = ids::uuid();
    let code = ids::alnum(20);
    let now = time::now();
    let mut a = json!({
        "ActivationId": id,
        "IamRole": str_of(&input, "IamRole"),
        "RegistrationLimit": input["RegistrationLimit"].as_i64().unwrap_or(1),
        "RegistrationsCount": 0,
        // Activations expire after 24 hours unless given a date (30 days at most).
        "ExpirationDate": input["ExpirationDate"].as_f64().unwrap_or(now + 86_400.0),
        "CreatedDate": now,
        "Tags": input.get("Tags").cloned().unwrap_or(json!([])),
    });
    for k in ["Description", "DefaultInstanceName"] {
        if let Some(v) = input.get(k) {
            a[k] = v.clone();
        }
    }
    ACTIVATIONS.put(&id, &a)?;
    Ok(json!({"ActivationId": id, "ActivationCode": code}))
}

pub fn describe_activations(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let now = time::now();
    let filters: Vec<(String, Vec<Value>)> = input["Filters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            (
                str_of(f, "FilterKey").unwrap_or_default().to_string(),
                f["FilterValues"].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect();
    let list: Vec<Value> = ACTIVATIONS
        .values("")?
        .into_iter()
        .filter(|a| {
            filters.iter().all(|(k, vals)| match k.as_str() {
                "ActivationIds" => vals.contains(&a["ActivationId"]),
                "DefaultInstanceName" => vals.contains(&a["DefaultInstanceName"]),
                "IamRole" => vals.contains(&a["IamRole"]),
                _ => true,
            })
        })
        .map(|mut a| {
            a["Expired"] = json!(a["ExpirationDate"].as_f64().unwrap_or(0.0) < now);
            a
        })
        .collect();
    crate::paging::page(
        json!({"ActivationList": list}),
        "ActivationList",
        &input,
        50,
    )
}

pub fn delete_activation(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let id = str_of(&input, "ActivationId").unwrap_or_default();
    if !ACTIVATIONS.delete(id) {
        return Err(AwsError::new(
            "InvalidActivationId",
            "The activation ID is not valid. Verify the you entered the correct ActivationId or ActivationCode and try again.",
        ));
    }
    Ok(json!({}))
}

fn no_such_node(input: &Value) -> AwsError {
    AwsError::new(
        "InvalidInstanceId",
        format!(
            "Instance {} is not a managed node of this account: no node has registered with Systems Manager here.",
            str_of(input, "InstanceId").unwrap_or_default()
        ),
    )
}

pub fn deregister_managed_instance(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(no_such_node(&input))
}

pub fn update_managed_instance_role(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    Err(no_such_node(&input))
}

pub fn describe_instance_properties(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"InstanceProperties": []}))
}

pub fn list_nodes(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Nodes": []}))
}

pub fn list_nodes_summary(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Summary": []}))
}

pub fn get_ops_summary(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Entities": []}))
}

// --- patch state of nodes (none report) ---

pub fn describe_instance_patch_states(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"InstancePatchStates": []}))
}

pub fn describe_instance_patches(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Patches": []}))
}

pub fn describe_patch_group_state(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    let mut out = json!({"Instances": 0});
    for k in [
        "InstancesWithInstalledPatches",
        "InstancesWithInstalledOtherPatches",
        "InstancesWithInstalledPendingRebootPatches",
        "InstancesWithInstalledRejectedPatches",
        "InstancesWithMissingPatches",
        "InstancesWithFailedPatches",
        "InstancesWithNotApplicablePatches",
        "InstancesWithUnreportedNotApplicablePatches",
        "InstancesWithCriticalNonCompliantPatches",
        "InstancesWithSecurityNonCompliantPatches",
        "InstancesWithOtherNonCompliantPatches",
        "InstancesWithAvailableSecurityUpdates",
    ] {
        out[k] = json!(0);
    }
    Ok(out)
}

/// No patch catalogue is kept locally.
pub fn describe_available_patches(_ctx: &Context, _input: Value) -> Result<Value, AwsError> {
    Ok(json!({"Patches": []}))
}

/// The property values AWS documents for patch filters.
pub fn describe_patch_properties(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let os = str_of(&input, "OperatingSystem").unwrap_or_default();
    let property = str_of(&input, "Property").unwrap_or_default();
    let windows = os == "WINDOWS";
    let names: &[&str] = match (property, windows) {
        ("CLASSIFICATION", true) => &[
            "CriticalUpdates",
            "DefinitionUpdates",
            "Drivers",
            "FeaturePacks",
            "SecurityUpdates",
            "ServicePacks",
            "Tools",
            "UpdateRollups",
            "Updates",
            "Upgrades",
        ],
        ("CLASSIFICATION", false) => &[
            "Security",
            "Bugfix",
            "Enhancement",
            "Recommended",
            "Newpackage",
        ],
        ("MSRC_SEVERITY", _) => &["Critical", "Important", "Moderate", "Low", "Unspecified"],
        ("SEVERITY", _) => &["Critical", "Important", "Medium", "Low", "None"],
        ("PRIORITY", _) => &["Required", "Important", "Standard", "Optional", "Extra"],
        ("PRODUCT", true) => &[
            "WindowsServer2016",
            "WindowsServer2019",
            "WindowsServer2022",
        ],
        ("PRODUCT_FAMILY", true) => &["Windows", "Office"],
        ("PRODUCT", false) => &["*"],
        _ => &[],
    };
    let props: Vec<Value> = names.iter().map(|n| json!({"Name": n})).collect();
    Ok(json!({"Properties": props}))
}

// --- parameter resource policies ---

fn policy_target(arn: &str) -> Result<crate::params::Param, AwsError> {
    let not_found = || {
        AwsError::not_found(
            "ResourceNotFoundException",
            format!("The resource {arn} was not found."),
        )
    };
    if !arn.contains(":parameter/") {
        return Err(AwsError::new(
            "ResourcePolicyInvalidParameterException",
            "Only parameters support resource policies.",
        )
        .with_member("ParameterNames", json!(["ResourceArn"])));
    }
    crate::params::load(&crate::params::plain_name(arn))?.ok_or_else(not_found)
}

fn policy_not_found(id: &str) -> AwsError {
    AwsError::not_found(
        "ResourcePolicyNotFoundException",
        format!("No policy with id {id} exists for the resource."),
    )
}

pub fn put_resource_policy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "ResourceArn").unwrap_or_default();
    let param = policy_target(arn)?;
    if param.current().tier != "Advanced" {
        return Err(AwsError::new(
            "ResourcePolicyInvalidParameterException",
            "Only parameters in the advanced tier can be shared. Change the tier and try again.",
        )
        .with_member("ParameterNames", json!(["ResourceArn"])));
    }
    let text = str_of(&input, "Policy").unwrap_or_default();
    let doc: Value = serde_json::from_str(text).map_err(|_| {
        AwsError::new(
            "MalformedResourcePolicyDocumentException",
            "The policy is not a valid JSON document.",
        )
    })?;
    if !doc.is_object() || doc.get("Statement").is_none() {
        return Err(AwsError::new(
            "MalformedResourcePolicyDocumentException",
            "The policy must be a JSON object with a Statement.",
        ));
    }
    // The API reference: a policy is at most 1024 bytes.
    if text.len() > 1024 {
        return Err(AwsError::new(
            "ResourcePolicyLimitExceededException",
            "A policy can't be greater than 1024 bytes in size.",
        )
        .with_member("Limit", json!(1024))
        .with_member("LimitType", json!("PolicySize")));
    }
    let key = arn.to_string();
    let mut list = POLICIES.get(&key)?.unwrap_or_default();
    let new_hash = hash::sha256_hex(text.as_bytes());
    let id = match str_of(&input, "PolicyId") {
        Some(id) => {
            let existing = list
                .iter_mut()
                .find(|p| str_of(p, "PolicyId") == Some(id))
                .ok_or_else(|| policy_not_found(id))?;
            if str_of(existing, "PolicyHash") != str_of(&input, "PolicyHash") {
                return Err(AwsError::new(
                    "ResourcePolicyConflictException",
                    "The hash given does not match the policy's current hash. Get the policy again and retry.",
                ));
            }
            *existing = json!({"PolicyId": id, "PolicyHash": new_hash, "Policy": text});
            id.to_string()
        }
        None => {
            let id = ids::uuid();
            list.push(json!({"PolicyId": id, "PolicyHash": new_hash, "Policy": text}));
            id
        }
    };
    POLICIES.put(&key, &list)?;
    Ok(json!({"PolicyId": id, "PolicyHash": new_hash}))
}

pub fn get_resource_policies(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "ResourceArn").unwrap_or_default();
    policy_target(arn)?;
    Ok(json!({"Policies": POLICIES.get(arn)?.unwrap_or_default()}))
}

pub fn delete_resource_policy(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let arn = str_of(&input, "ResourceArn").unwrap_or_default();
    policy_target(arn)?;
    let id = str_of(&input, "PolicyId").unwrap_or_default();
    let mut list = POLICIES.get(arn)?.unwrap_or_default();
    let at = list
        .iter()
        .position(|p| str_of(p, "PolicyId") == Some(id))
        .ok_or_else(|| policy_not_found(id))?;
    if str_of(&list[at], "PolicyHash") != str_of(&input, "PolicyHash") {
        return Err(AwsError::new(
            "ResourcePolicyConflictException",
            "The hash given does not match the policy's current hash. Get the policy again and retry.",
        ));
    }
    list.remove(at);
    POLICIES.put(arn, &list)?;
    Ok(json!({}))
}
