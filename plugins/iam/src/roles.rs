//! Roles (trust policies, paths, session durations, boundaries, tags),
//! service-linked roles and instance profiles.

use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use ministack_sdk::validate::Validator;
use serde_json::{Value, json};

use crate::common::*;
use crate::entities::{self, InstanceProfile, PROFILES, ROLES, Role};
use crate::eval::PolicyKind;
use crate::users::{ListRequest, tags_page};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateRoleRequest {
    role_name: String,
    assume_role_policy_document: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    max_session_duration: Option<i64>,
    #[serde(default)]
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

fn check_duration(v: &mut Validator, d: Option<i64>) {
    if let Some(d) = d {
        v.range("maxSessionDuration", d, 3600, 43200);
    }
}

pub fn create_role(ctx: &Context, input: CreateRoleRequest) -> Result<Value, AwsError> {
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(&mut v, "roleName", &input.role_name, 64);
    check_path(&mut v, "path", &path);
    check_duration(&mut v, input.max_session_duration);
    check_tags(&mut v, &input.tags);
    if let Some(d) = &input.description {
        v.length("description", d, 0, 1000);
    }
    v.finish(AwsError::validation_error)?;
    no_duplicate_tag_keys(&input.tags)?;
    check_policy(&input.assume_role_policy_document, PolicyKind::Trust)?;
    if ROLES.contains(&key(&input.role_name)) {
        return Err(already_exists(format!(
            "Role with name {} already exists.",
            input.role_name
        )));
    }
    if let Some(b) = &input.permissions_boundary {
        entities::policy(ctx, b)?;
    }
    let role = Role {
        arn: arn(ctx, "role", &path, &input.role_name),
        path,
        name: input.role_name,
        id: ids::aws_id(IdPrefix::Role),
        created: time::now(),
        trust_policy: input.assume_role_policy_document,
        description: input.description,
        max_session_duration: input.max_session_duration.unwrap_or(3600),
        tags: input.tags,
        boundary: input.permissions_boundary,
        attached: Vec::new(),
        inline: Default::default(),
        service_linked: None,
    };
    ROLES.put(&key(&role.name), &role)?;
    let mut shape = role.shape();
    shape.as_object_mut().map(|o| o.remove("RoleLastUsed"));
    Ok(json!({"Role": shape}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleNameInput {
    pub role_name: String,
}

pub fn get_role(_: &Context, input: RoleNameInput) -> Result<Value, AwsError> {
    Ok(json!({"Role": entities::role(&input.role_name)?.shape()}))
}

pub fn delete_role(_: &Context, input: RoleNameInput) -> Result<Empty, AwsError> {
    let role = entities::role(&input.role_name)?;
    if role.service_linked.is_some() {
        return Err(AwsError::new(
            "UnmodifiableEntity",
            format!(
                "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                role.name
            ),
        ));
    }
    delete_checked(&role)
}

fn delete_checked(role: &Role) -> Result<Empty, AwsError> {
    if profiles_of(&role.name)?.next().is_some() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    if !role.inline.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    if !role.attached.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    ROLES.delete(&key(&role.name));
    Ok(Empty {})
}

fn profiles_of(role: &str) -> Result<impl Iterator<Item = InstanceProfile>, AwsError> {
    let role = role.to_string();
    Ok(PROFILES
        .values("")?
        .into_iter()
        .filter(move |p| p.roles.iter().any(|r| r.eq_ignore_ascii_case(&role))))
}

pub fn list_roles(_: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let items = ROLES
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, r)| path_matches(&r.path, input.path_prefix.as_deref()))
        .map(|(k, r)| (k, r.brief()))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Roles"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleRequest {
    role_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    max_session_duration: Option<i64>,
}

pub fn update_role(_: &Context, input: UpdateRoleRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_duration(&mut v, input.max_session_duration);
    v.finish(AwsError::validation_error)?;
    let mut role = entities::role(&input.role_name)?;
    if input.description.is_some() {
        role.description = input.description;
    }
    if let Some(d) = input.max_session_duration {
        role.max_session_duration = d;
    }
    ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateRoleDescriptionRequest {
    role_name: String,
    description: String,
}

pub fn update_role_description(
    _: &Context,
    input: UpdateRoleDescriptionRequest,
) -> Result<Value, AwsError> {
    let mut role = entities::role(&input.role_name)?;
    role.description = Some(input.description);
    ROLES.put(&key(&role.name), &role)?;
    Ok(json!({"Role": role.shape()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateAssumeRolePolicyRequest {
    role_name: String,
    policy_document: String,
}

pub fn update_assume_role_policy(
    _: &Context,
    input: UpdateAssumeRolePolicyRequest,
) -> Result<Empty, AwsError> {
    let mut role = entities::role(&input.role_name)?;
    check_policy(&input.policy_document, PolicyKind::Trust)?;
    role.trust_policy = input.policy_document;
    ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

pub fn delete_role_permissions_boundary(
    _: &Context,
    input: RoleNameInput,
) -> Result<Empty, AwsError> {
    let mut role = entities::role(&input.role_name)?;
    role.boundary = None;
    ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagRoleRequest {
    role_name: String,
    tags: Vec<Tag>,
}

pub fn tag_role(_: &Context, input: TagRoleRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    no_duplicate_tag_keys(&input.tags)?;
    let mut role = entities::role(&input.role_name)?;
    merge_tags(&mut role.tags, input.tags)?;
    ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagRoleRequest {
    role_name: String,
    tag_keys: Vec<String>,
}

pub fn untag_role(_: &Context, input: UntagRoleRequest) -> Result<Empty, AwsError> {
    let mut role = entities::role(&input.role_name)?;
    remove_tags(&mut role.tags, &input.tag_keys);
    ROLES.put(&key(&role.name), &role)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRoleTagsRequest {
    role_name: String,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_role_tags(_: &Context, input: ListRoleTagsRequest) -> Result<Value, AwsError> {
    let role = entities::role(&input.role_name)?;
    tags_page(role.tags, input.marker.as_deref(), input.max_items)
}

// ---- service-linked roles ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateServiceLinkedRoleRequest {
    #[serde(rename = "AWSServiceName")]
    aws_service_name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    custom_suffix: Option<String>,
}

/// `AWSServiceRoleForECS` for `ecs.amazonaws.com`, as AWS names most of them.
fn service_role_name(service: &str) -> String {
    let short = service.split('.').next().unwrap_or(service);
    let known = [
        ("ecs", "ECS"),
        ("elasticloadbalancing", "ElasticLoadBalancing"),
        ("autoscaling", "AutoScaling"),
        ("rds", "RDS"),
        ("eks", "AmazonEKS"),
        ("eks-nodegroup", "AmazonEKSNodegroup"),
        ("lambda", "Lambda"),
        ("organizations", "Organizations"),
        ("spot", "EC2Spot"),
        ("es", "AmazonElasticsearchService"),
        ("opensearchservice", "AmazonOpenSearchService"),
        ("elasticache", "ElastiCache"),
        ("dynamodb", "DynamoDBReplication"),
        ("ssm", "AmazonSSM"),
        ("apigateway", "APIGateway"),
        ("config", "Config"),
        ("cloudtrail", "CloudTrail"),
    ];
    let suffix = known
        .iter()
        .find(|(k, _)| *k == short)
        .map(|(_, v)| v.to_string())
        .unwrap_or_else(|| {
            let mut s = String::new();
            for part in short.split('-') {
                let mut c = part.chars();
                if let Some(f) = c.next() {
                    s.push(f.to_ascii_uppercase());
                    s.push_str(c.as_str());
                }
            }
            s
        });
    format!("AWSServiceRoleFor{suffix}")
}

pub fn create_service_linked_role(
    ctx: &Context,
    input: CreateServiceLinkedRoleRequest,
) -> Result<Value, AwsError> {
    if !input.aws_service_name.ends_with(".amazonaws.com") {
        return Err(invalid_input(format!(
            "Service name {} is not a valid service name.",
            input.aws_service_name
        )));
    }
    let mut name = service_role_name(&input.aws_service_name);
    if let Some(s) = &input.custom_suffix {
        name = format!("{name}_{s}");
    }
    if ROLES.contains(&key(&name)) {
        return Err(invalid_input(format!(
            "Service role name {name} has been taken in this account, please try a different suffix."
        )));
    }
    let path = format!("/aws-service-role/{}/", input.aws_service_name);
    let trust = format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Principal\":{{\"Service\":\"{}\"}},\"Action\":\"sts:AssumeRole\"}}]}}",
        input.aws_service_name
    );
    let role = Role {
        arn: arn(ctx, "role", &path, &name),
        path,
        name,
        id: ids::aws_id(IdPrefix::Role),
        created: time::now(),
        trust_policy: trust,
        description: input.description,
        max_session_duration: 3600,
        tags: Vec::new(),
        boundary: None,
        attached: Vec::new(),
        inline: Default::default(),
        service_linked: Some(input.aws_service_name),
    };
    ROLES.put(&key(&role.name), &role)?;
    Ok(json!({"Role": role.brief()}))
}

pub const DELETION_TASKS: Table<String> = Table::account("service-linked-role-deletions");

pub fn delete_service_linked_role(_: &Context, input: RoleNameInput) -> Result<Value, AwsError> {
    let role = entities::role(&input.role_name)?;
    if role.service_linked.is_none() {
        return Err(AwsError::validation_error(format!(
            "Role {} is not a service-linked role.",
            role.name
        )));
    }
    let mut cleared = role.clone();
    cleared.inline.clear();
    cleared.attached.clear();
    delete_checked(&cleared)?;
    let task = format!(
        "task/aws-service-role/{}/{}/{}",
        role.service_linked.unwrap_or_default(),
        role.name,
        ids::uuid()
    );
    DELETION_TASKS.put(&task, &"SUCCEEDED".to_string())?;
    Ok(json!({"DeletionTaskId": task}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeletionStatusRequest {
    deletion_task_id: String,
}

pub fn get_service_linked_role_deletion_status(
    _: &Context,
    input: DeletionStatusRequest,
) -> Result<Value, AwsError> {
    let status = DELETION_TASKS
        .get(&input.deletion_task_id)?
        .ok_or_else(|| {
            no_such_entity(format!(
                "Deletion task {} cannot be found.",
                input.deletion_task_id
            ))
        })?;
    Ok(json!({"Status": status}))
}

// ---- instance profiles ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInstanceProfileRequest {
    instance_profile_name: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_instance_profile(
    ctx: &Context,
    input: CreateInstanceProfileRequest,
) -> Result<Value, AwsError> {
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(
        &mut v,
        "instanceProfileName",
        &input.instance_profile_name,
        128,
    );
    check_path(&mut v, "path", &path);
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    if PROFILES.contains(&key(&input.instance_profile_name)) {
        return Err(already_exists(format!(
            "Instance Profile {} already exists.",
            input.instance_profile_name
        )));
    }
    let p = InstanceProfile {
        arn: arn(ctx, "instance-profile", &path, &input.instance_profile_name),
        path,
        name: input.instance_profile_name,
        id: ids::aws_id(IdPrefix::InstanceProfile),
        created: time::now(),
        roles: Vec::new(),
        tags: input.tags,
    };
    PROFILES.put(&key(&p.name), &p)?;
    Ok(json!({"InstanceProfile": p.shape()?}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProfileNameInput {
    instance_profile_name: String,
}

pub fn get_instance_profile(_: &Context, input: ProfileNameInput) -> Result<Value, AwsError> {
    Ok(
        json!({"InstanceProfile": entities::instance_profile(&input.instance_profile_name)?.shape()?}),
    )
}

pub fn delete_instance_profile(_: &Context, input: ProfileNameInput) -> Result<Empty, AwsError> {
    let p = entities::instance_profile(&input.instance_profile_name)?;
    if !p.roles.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    PROFILES.delete(&key(&p.name));
    Ok(Empty {})
}

pub fn list_instance_profiles(_: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let mut items = Vec::new();
    for (k, p) in PROFILES.scan(&Scan::all())? {
        if path_matches(&p.path, input.path_prefix.as_deref()) {
            items.push((k, p.shape()?));
        }
    }
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("InstanceProfiles"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProfileRoleRequest {
    instance_profile_name: String,
    role_name: String,
}

pub fn add_role_to_instance_profile(
    _: &Context,
    input: ProfileRoleRequest,
) -> Result<Empty, AwsError> {
    let mut p = entities::instance_profile(&input.instance_profile_name)?;
    let role = entities::role(&input.role_name)?;
    if !p.roles.is_empty() {
        return Err(limit_exceeded(
            "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
        ));
    }
    p.roles.push(role.name);
    PROFILES.put(&key(&p.name), &p)?;
    Ok(Empty {})
}

pub fn remove_role_from_instance_profile(
    _: &Context,
    input: ProfileRoleRequest,
) -> Result<Empty, AwsError> {
    let mut p = entities::instance_profile(&input.instance_profile_name)?;
    let before = p.roles.len();
    p.roles
        .retain(|r| !r.eq_ignore_ascii_case(&input.role_name));
    if p.roles.len() == before {
        entities::role(&input.role_name)?;
        return Err(no_such_entity(format!(
            "Role {} in Instance Profile {} cannot be found.",
            input.role_name, p.name
        )));
    }
    PROFILES.put(&key(&p.name), &p)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListProfilesForRoleRequest {
    role_name: String,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_instance_profiles_for_role(
    _: &Context,
    input: ListProfilesForRoleRequest,
) -> Result<Value, AwsError> {
    let role = entities::role(&input.role_name)?;
    let mut items = Vec::new();
    for p in profiles_of(&role.name)? {
        items.push((key(&p.name), p.shape()?));
    }
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("InstanceProfiles"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagProfileRequest {
    instance_profile_name: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn tag_instance_profile(_: &Context, input: TagProfileRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    let mut p = entities::instance_profile(&input.instance_profile_name)?;
    merge_tags(&mut p.tags, input.tags)?;
    PROFILES.put(&key(&p.name), &p)?;
    Ok(Empty {})
}

pub fn untag_instance_profile(_: &Context, input: TagProfileRequest) -> Result<Empty, AwsError> {
    let mut p = entities::instance_profile(&input.instance_profile_name)?;
    remove_tags(&mut p.tags, &input.tag_keys);
    PROFILES.put(&key(&p.name), &p)?;
    Ok(Empty {})
}

pub fn list_instance_profile_tags(
    _: &Context,
    input: TagProfileRequest,
) -> Result<Value, AwsError> {
    let p = entities::instance_profile(&input.instance_profile_name)?;
    tags_page(p.tags, input.marker.as_deref(), input.max_items)
}
