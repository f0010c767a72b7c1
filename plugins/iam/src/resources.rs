//! CloudFormation / Cloud Control resource types of IAM (see
//! docs/resources.md): Role, Policy (inline), ManagedPolicy, User, Group,
//! InstanceProfile, AccessKey and ServiceLinkedRole, made with the plugin's
//! own operations.

use ministack_sdk::prelude::*;
use ministack_sdk::resources::{
    ProgressEvent, ResourceList, ResourceRequest, call_own, tags, value_text,
};
use serde_json::{Map, Value, json};

use crate::Iam;

pub fn types() -> Vec<ResourceType> {
    vec![
        ResourceType::new("AWS::IAM::Role", role_create, role_delete)
            .primary_identifier(&["RoleName"])
            .required(&["AssumeRolePolicyDocument"])
            .create_only(&["RoleName", "Path"])
            .read_only(&["Arn", "RoleId"])
            .attributes(&["Arn", "RoleId"])
            .update(role_update)
            .list(role_list),
        ResourceType::new("AWS::IAM::Policy", inline_create, inline_delete)
            .primary_identifier(&["Id"])
            .required(&["PolicyDocument", "PolicyName"])
            .update(inline_update),
        ResourceType::new("AWS::IAM::ManagedPolicy", managed_create, managed_delete)
            .primary_identifier(&["PolicyArn"])
            .required(&["PolicyDocument"])
            .create_only(&["ManagedPolicyName", "Path", "Description"])
            .attributes(&[
                "PolicyArn",
                "PolicyId",
                "AttachmentCount",
                "DefaultVersionId",
                "IsAttachable",
            ])
            .update(managed_update),
        ResourceType::new("AWS::IAM::User", user_create, user_delete)
            .primary_identifier(&["UserName"])
            .create_only(&["UserName"])
            .attributes(&["Arn"])
            .update(user_update),
        ResourceType::new("AWS::IAM::Group", group_create, group_delete)
            .primary_identifier(&["GroupName"])
            .create_only(&["GroupName"])
            .attributes(&["Arn"])
            .update(group_update),
        ResourceType::new("AWS::IAM::InstanceProfile", profile_create, profile_delete)
            .primary_identifier(&["InstanceProfileName"])
            .required(&["Roles"])
            .create_only(&["InstanceProfileName", "Path"])
            .attributes(&["Arn"]),
        ResourceType::new("AWS::IAM::AccessKey", key_create, key_delete)
            .primary_identifier(&["Id"])
            .required(&["UserName"])
            .create_only(&["UserName", "Serial"])
            .attributes(&["SecretAccessKey"])
            .update(key_update),
        ResourceType::new(
            "AWS::IAM::ServiceLinkedRole",
            linked_role_create,
            linked_role_delete,
        )
        .primary_identifier(&["RoleName"])
        .create_only(&["AWSServiceName", "CustomSuffix"])
        .read_only(&["RoleName"])
        .attributes(&["RoleName"])
        .update(linked_role_update),
    ]
}

fn call(ctx: &Context, op: &str, input: Value) -> Result<Value, AwsError> {
    call_own::<Iam>(ctx, op, &input)
}

fn doc(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn list(p: &Map<String, Value>, k: &str) -> Vec<String> {
    p.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().map(value_text).collect())
        .unwrap_or_default()
}

fn tag_list(p: &Map<String, Value>) -> Vec<Value> {
    tags(p)
        .into_iter()
        .map(|(k, v)| json!({"Key": k, "Value": v}))
        .collect()
}

/// Inline policies (`Policies`: name → document).
fn inline(p: &Map<String, Value>) -> Vec<(String, String)> {
    p.get("Policies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|x| (value_text(&x["PolicyName"]), doc(&x["PolicyDocument"])))
        .collect()
}

/// Attaches/detaches managed policies and puts/deletes inline ones so that
/// `kind` (role, user, group) `name` matches `p` after `prev`.
fn sync_policies(
    ctx: &Context,
    kind: &str,
    name: &str,
    p: &Map<String, Value>,
    prev: &Map<String, Value>,
) -> Result<(), AwsError> {
    let (attach, detach, put, delete, member) = match kind {
        "Role" => (
            "AttachRolePolicy",
            "DetachRolePolicy",
            "PutRolePolicy",
            "DeleteRolePolicy",
            "RoleName",
        ),
        "User" => (
            "AttachUserPolicy",
            "DetachUserPolicy",
            "PutUserPolicy",
            "DeleteUserPolicy",
            "UserName",
        ),
        _ => (
            "AttachGroupPolicy",
            "DetachGroupPolicy",
            "PutGroupPolicy",
            "DeleteGroupPolicy",
            "GroupName",
        ),
    };
    let (new_arns, old_arns) = (
        list(p, "ManagedPolicyArns"),
        list(prev, "ManagedPolicyArns"),
    );
    for arn in old_arns.iter().filter(|a| !new_arns.contains(a)) {
        let _ = call(ctx, detach, json!({member: name, "PolicyArn": arn}));
    }
    for arn in new_arns.iter().filter(|a| !old_arns.contains(a)) {
        call(ctx, attach, json!({member: name, "PolicyArn": arn}))?;
    }
    let (new_inline, old_inline) = (inline(p), inline(prev));
    for (n, _) in old_inline
        .iter()
        .filter(|(n, _)| !new_inline.iter().any(|(m, _)| m == n))
    {
        let _ = call(ctx, delete, json!({member: name, "PolicyName": n}));
    }
    for (n, d) in new_inline.iter().filter(|x| !old_inline.contains(x)) {
        call(
            ctx,
            put,
            json!({member: name, "PolicyName": n, "PolicyDocument": d}),
        )?;
    }
    Ok(())
}

fn role_event(ctx: &Context, name: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "GetRole", json!({"RoleName": name}))?;
    Ok(ProgressEvent::success(name)
        .attr("Arn", out["Role"]["Arn"].clone())
        .attr("RoleId", out["Role"]["RoleId"].clone()))
}

fn role_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("RoleName", 64);
    let mut input =
        json!({"RoleName": name, "AssumeRolePolicyDocument": doc(&p["AssumeRolePolicyDocument"])});
    for k in [
        "Path",
        "Description",
        "MaxSessionDuration",
        "PermissionsBoundary",
    ] {
        if let Some(v) = p.get(k) {
            input[k] = if k == "MaxSessionDuration" {
                json!(value_text(v).parse::<i64>().unwrap_or(3600))
            } else {
                json!(value_text(v))
            };
        }
    }
    let t = tag_list(p);
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    call(ctx, "CreateRole", input)?;
    sync_policies(ctx, "Role", &name, p, &Map::new())?;
    role_event(ctx, &name)
}

fn role_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let (p, prev, name) = (
        &r.properties,
        &r.previous_properties,
        r.physical_id.as_str(),
    );
    if p.get("AssumeRolePolicyDocument") != prev.get("AssumeRolePolicyDocument") {
        call(
            ctx,
            "UpdateAssumeRolePolicy",
            json!({"RoleName": name, "PolicyDocument": doc(&p["AssumeRolePolicyDocument"])}),
        )?;
    }
    if p.get("Description") != prev.get("Description")
        || p.get("MaxSessionDuration") != prev.get("MaxSessionDuration")
    {
        let mut input = json!({"RoleName": name, "Description": p.get("Description").map(value_text).unwrap_or_default()});
        if let Some(m) = p.get("MaxSessionDuration") {
            input["MaxSessionDuration"] = json!(value_text(m).parse::<i64>().unwrap_or(3600));
        }
        call(ctx, "UpdateRole", input)?;
    }
    sync_policies(ctx, "Role", name, p, prev)?;
    role_event(ctx, name)
}

fn role_list(ctx: &Context, _: &ResourceRequest) -> Result<ResourceList, AwsError> {
    let out = call(ctx, "ListRoles", json!({}))?;
    let resources = out["Roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|role| {
            let name = value_text(&role["RoleName"]);
            let mut props = Map::new();
            props.insert("RoleName".into(), json!(name));
            props.insert("Arn".into(), role["Arn"].clone());
            ProgressEvent::success(name).with_properties(props)
        })
        .collect();
    Ok(ResourceList {
        resources,
        next_token: None,
    })
}

fn role_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    // Whatever is still attached (also by other stacks' AWS::IAM::Policy) goes first.
    if let Ok(out) = call(ctx, "ListAttachedRolePolicies", json!({"RoleName": name})) {
        for p in out["AttachedPolicies"].as_array().into_iter().flatten() {
            let _ = call(
                ctx,
                "DetachRolePolicy",
                json!({"RoleName": name, "PolicyArn": p["PolicyArn"]}),
            );
        }
    }
    if let Ok(out) = call(ctx, "ListRolePolicies", json!({"RoleName": name})) {
        for p in out["PolicyNames"].as_array().into_iter().flatten() {
            let _ = call(
                ctx,
                "DeleteRolePolicy",
                json!({"RoleName": name, "PolicyName": p}),
            );
        }
    }
    if let Ok(out) = call(
        ctx,
        "ListInstanceProfilesForRole",
        json!({"RoleName": name}),
    ) {
        for p in out["InstanceProfiles"].as_array().into_iter().flatten() {
            let _ = call(
                ctx,
                "RemoveRoleFromInstanceProfile",
                json!({"RoleName": name, "InstanceProfileName": p["InstanceProfileName"]}),
            );
        }
    }
    call(ctx, "DeleteRole", json!({"RoleName": name}))?;
    Ok(ProgressEvent::success(name))
}

/// AWS::IAM::Policy: one inline policy put on roles, users and groups.
fn put_inline(ctx: &Context, p: &Map<String, Value>, delete: bool) -> Result<(), AwsError> {
    let name = p.get("PolicyName").map(value_text).unwrap_or_default();
    let document = p.get("PolicyDocument").map(doc).unwrap_or_default();
    for (key, member, put, del) in [
        ("Roles", "RoleName", "PutRolePolicy", "DeleteRolePolicy"),
        ("Users", "UserName", "PutUserPolicy", "DeleteUserPolicy"),
        ("Groups", "GroupName", "PutGroupPolicy", "DeleteGroupPolicy"),
    ] {
        for target in list(p, key) {
            if delete {
                let _ = call(ctx, del, json!({member: target, "PolicyName": name}));
            } else {
                call(
                    ctx,
                    put,
                    json!({member: target, "PolicyName": name, "PolicyDocument": document}),
                )?;
            }
        }
    }
    Ok(())
}

fn inline_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    put_inline(ctx, &r.properties, false)?;
    Ok(ProgressEvent::success(r.generated_name(128)))
}

fn inline_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    put_inline(ctx, &r.previous_properties, true)?;
    put_inline(ctx, &r.properties, false)?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn inline_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    put_inline(ctx, &r.properties, true)?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn attach_managed(ctx: &Context, arn: &str, p: &Map<String, Value>, detach: bool) {
    for (key, member, attach, det) in [
        ("Roles", "RoleName", "AttachRolePolicy", "DetachRolePolicy"),
        ("Users", "UserName", "AttachUserPolicy", "DetachUserPolicy"),
        (
            "Groups",
            "GroupName",
            "AttachGroupPolicy",
            "DetachGroupPolicy",
        ),
    ] {
        for target in list(p, key) {
            let _ = call(
                ctx,
                if detach { det } else { attach },
                json!({member: target, "PolicyArn": arn}),
            );
        }
    }
}

fn managed_event(ctx: &Context, arn: &str) -> Result<ProgressEvent, AwsError> {
    let out = call(ctx, "GetPolicy", json!({"PolicyArn": arn}))?;
    let p = &out["Policy"];
    Ok(ProgressEvent::success(arn)
        .attr("PolicyArn", arn)
        .attr("PolicyId", p["PolicyId"].clone())
        .attr("AttachmentCount", p["AttachmentCount"].clone())
        .attr("DefaultVersionId", p["DefaultVersionId"].clone())
        .attr("IsAttachable", p["IsAttachable"].clone()))
}

fn managed_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("ManagedPolicyName", 128);
    let mut input = json!({"PolicyName": name, "PolicyDocument": doc(&p["PolicyDocument"])});
    for k in ["Path", "Description"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let out = call(ctx, "CreatePolicy", input)?;
    let arn = value_text(&out["Policy"]["Arn"]);
    attach_managed(ctx, &arn, p, false);
    managed_event(ctx, &arn)
}

fn managed_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let arn = r.physical_id.as_str();
    if r.properties.get("PolicyDocument") != r.previous_properties.get("PolicyDocument") {
        // At most 5 versions: drop the oldest non-default first.
        if let Ok(out) = call(ctx, "ListPolicyVersions", json!({"PolicyArn": arn})) {
            let versions: Vec<&Value> = out["Versions"].as_array().into_iter().flatten().collect();
            if versions.len() >= 5
                && let Some(old) = versions
                    .iter()
                    .rev()
                    .find(|v| v["IsDefaultVersion"] != json!(true))
            {
                let _ = call(
                    ctx,
                    "DeletePolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": old["VersionId"]}),
                );
            }
        }
        call(
            ctx,
            "CreatePolicyVersion",
            json!({"PolicyArn": arn, "PolicyDocument": doc(&r.properties["PolicyDocument"]), "SetAsDefault": true}),
        )?;
    }
    attach_managed(ctx, arn, &r.previous_properties, true);
    attach_managed(ctx, arn, &r.properties, false);
    managed_event(ctx, arn)
}

fn managed_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let arn = r.physical_id.as_str();
    attach_managed(ctx, arn, &r.properties, true);
    if let Ok(out) = call(ctx, "ListPolicyVersions", json!({"PolicyArn": arn})) {
        for v in out["Versions"].as_array().into_iter().flatten() {
            if v["IsDefaultVersion"] != json!(true) {
                let _ = call(
                    ctx,
                    "DeletePolicyVersion",
                    json!({"PolicyArn": arn, "VersionId": v["VersionId"]}),
                );
            }
        }
    }
    call(ctx, "DeletePolicy", json!({"PolicyArn": arn}))?;
    Ok(ProgressEvent::success(arn))
}

fn user_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let p = &r.properties;
    let name = r.name_or_generated("UserName", 64);
    let mut input = json!({"UserName": name});
    for k in ["Path", "PermissionsBoundary"] {
        if let Some(v) = p.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let t = tag_list(p);
    if !t.is_empty() {
        input["Tags"] = json!(t);
    }
    let out = call(ctx, "CreateUser", input)?;
    sync_policies(ctx, "User", &name, p, &Map::new())?;
    for g in list(p, "Groups") {
        call(
            ctx,
            "AddUserToGroup",
            json!({"UserName": name, "GroupName": g}),
        )?;
    }
    if let Some(lp) = p.get("LoginProfile") {
        call(
            ctx,
            "CreateLoginProfile",
            json!({"UserName": name, "Password": value_text(&lp["Password"]), "PasswordResetRequired": value_text(&lp["PasswordResetRequired"]) == "true"}),
        )?;
    }
    Ok(ProgressEvent::success(name).attr("Arn", out["User"]["Arn"].clone()))
}

fn user_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    sync_policies(ctx, "User", name, &r.properties, &r.previous_properties)?;
    let (new, old) = (
        list(&r.properties, "Groups"),
        list(&r.previous_properties, "Groups"),
    );
    for g in old.iter().filter(|g| !new.contains(g)) {
        let _ = call(
            ctx,
            "RemoveUserFromGroup",
            json!({"UserName": name, "GroupName": g}),
        );
    }
    for g in new.iter().filter(|g| !old.contains(g)) {
        call(
            ctx,
            "AddUserToGroup",
            json!({"UserName": name, "GroupName": g}),
        )?;
    }
    let out = call(ctx, "GetUser", json!({"UserName": name}))?;
    Ok(ProgressEvent::success(name).attr("Arn", out["User"]["Arn"].clone()))
}

fn user_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    sync_policies(ctx, "User", name, &Map::new(), &r.properties)?;
    for g in list(&r.properties, "Groups") {
        let _ = call(
            ctx,
            "RemoveUserFromGroup",
            json!({"UserName": name, "GroupName": g}),
        );
    }
    let _ = call(ctx, "DeleteLoginProfile", json!({"UserName": name}));
    call(ctx, "DeleteUser", json!({"UserName": name}))?;
    Ok(ProgressEvent::success(name))
}

fn group_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("GroupName", 128);
    let mut input = json!({"GroupName": name});
    if let Some(v) = r.properties.get("Path") {
        input["Path"] = json!(value_text(v));
    }
    let out = call(ctx, "CreateGroup", input)?;
    sync_policies(ctx, "Group", &name, &r.properties, &Map::new())?;
    Ok(ProgressEvent::success(name).attr("Arn", out["Group"]["Arn"].clone()))
}

fn group_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    sync_policies(ctx, "Group", name, &r.properties, &r.previous_properties)?;
    let out = call(ctx, "GetGroup", json!({"GroupName": name}))?;
    Ok(ProgressEvent::success(name).attr("Arn", out["Group"]["Arn"].clone()))
}

fn group_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    sync_policies(ctx, "Group", name, &Map::new(), &r.properties)?;
    call(ctx, "DeleteGroup", json!({"GroupName": name}))?;
    Ok(ProgressEvent::success(name))
}

fn profile_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.name_or_generated("InstanceProfileName", 128);
    let mut input = json!({"InstanceProfileName": name});
    if let Some(v) = r.properties.get("Path") {
        input["Path"] = json!(value_text(v));
    }
    let out = call(ctx, "CreateInstanceProfile", input)?;
    for role in list(&r.properties, "Roles") {
        call(
            ctx,
            "AddRoleToInstanceProfile",
            json!({"InstanceProfileName": name, "RoleName": role}),
        )?;
    }
    Ok(ProgressEvent::success(name).attr("Arn", out["InstanceProfile"]["Arn"].clone()))
}

fn profile_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let name = r.physical_id.as_str();
    for role in list(&r.properties, "Roles") {
        let _ = call(
            ctx,
            "RemoveRoleFromInstanceProfile",
            json!({"InstanceProfileName": name, "RoleName": role}),
        );
    }
    call(
        ctx,
        "DeleteInstanceProfile",
        json!({"InstanceProfileName": name}),
    )?;
    Ok(ProgressEvent::success(name))
}

fn key_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let user = r.required_str("UserName")?;
    let out = call(ctx, "CreateAccessKey", json!({"UserName": user}))?;
    let key = &out["AccessKey"];
    let id = value_text(&key["AccessKeyId"]);
    if r.str("Status") == Some("Inactive") {
        call(
            ctx,
            "UpdateAccessKey",
            json!({"UserName": user, "AccessKeyId": id, "Status": "Inactive"}),
        )?;
    }
    Ok(ProgressEvent::success(id).attr("SecretAccessKey", key["SecretAccessKey"].clone()))
}

fn key_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let status = r.str("Status").unwrap_or("Active");
    call(
        ctx,
        "UpdateAccessKey",
        json!({"UserName": r.required_str("UserName")?, "AccessKeyId": r.physical_id, "Status": status}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn key_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteAccessKey",
        json!({"UserName": r.required_str("UserName")?, "AccessKeyId": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}

fn linked_role_create(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let service = r.required_str("AWSServiceName")?;
    let mut input = json!({"AWSServiceName": service});
    for k in ["CustomSuffix", "Description"] {
        if let Some(v) = r.properties.get(k) {
            input[k] = json!(value_text(v));
        }
    }
    let out = call(ctx, "CreateServiceLinkedRole", input)?;
    let name = value_text(&out["Role"]["RoleName"]);
    Ok(ProgressEvent::success(name.clone()).attr("RoleName", name))
}

fn linked_role_update(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    let description = r
        .properties
        .get("Description")
        .map(value_text)
        .unwrap_or_default();
    call(
        ctx,
        "UpdateRoleDescription",
        json!({"RoleName": r.physical_id, "Description": description}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()).attr("RoleName", r.physical_id.clone()))
}

fn linked_role_delete(ctx: &Context, r: &ResourceRequest) -> Result<ProgressEvent, AwsError> {
    call(
        ctx,
        "DeleteServiceLinkedRole",
        json!({"RoleName": r.physical_id}),
    )?;
    Ok(ProgressEvent::success(r.physical_id.clone()))
}
