//! Managed policies and their versions, attachments in every direction, and
//! inline policies of users, groups and roles.

use std::collections::BTreeMap;

use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use ministack_sdk::validate::Validator;
use serde_json::{Value, json};

use crate::common::*;
use crate::entities::{self, GROUPS, ManagedPolicy, POLICIES, PolicyVersion, ROLES, USERS};
use crate::eval::PolicyKind;
use crate::managed;
use crate::users::tags_page;

/// Users, groups and roles all hold attached and inline policies.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    User,
    Group,
    Role,
}

/// A holder's policies, read and written through one interface.
pub struct Held {
    pub kind: Holder,
    pub name: String,
    pub attached: Vec<String>,
    pub inline: BTreeMap<String, String>,
}

impl Holder {
    pub fn load(self, name: &str) -> Result<Held, AwsError> {
        Ok(match self {
            Holder::User => {
                let u = entities::user(name)?;
                Held {
                    kind: self,
                    name: u.name,
                    attached: u.attached,
                    inline: u.inline,
                }
            }
            Holder::Group => {
                let g = entities::group(name)?;
                Held {
                    kind: self,
                    name: g.name,
                    attached: g.attached,
                    inline: g.inline,
                }
            }
            Holder::Role => {
                let r = entities::role(name)?;
                Held {
                    kind: self,
                    name: r.name,
                    attached: r.attached,
                    inline: r.inline,
                }
            }
        })
    }

    fn member(self) -> &'static str {
        match self {
            Holder::User => "userName",
            Holder::Group => "groupName",
            Holder::Role => "roleName",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Holder::User => "user",
            Holder::Group => "group",
            Holder::Role => "role",
        }
    }
}

impl Held {
    pub fn save(self) -> Result<(), AwsError> {
        let k = key(&self.name);
        match self.kind {
            Holder::User => {
                let mut u = entities::user(&self.name)?;
                u.attached = self.attached;
                u.inline = self.inline;
                USERS.put(&k, &u)
            }
            Holder::Group => {
                let mut g = entities::group(&self.name)?;
                g.attached = self.attached;
                g.inline = self.inline;
                GROUPS.put(&k, &g)
            }
            Holder::Role => {
                let mut r = entities::role(&self.name)?;
                r.attached = self.attached;
                r.inline = self.inline;
                ROLES.put(&k, &r)
            }
        }
    }
}

/// Inputs of the attach / inline operations: one of the three names.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HolderRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    group_name: Option<String>,
    #[serde(default)]
    role_name: Option<String>,
    #[serde(default)]
    policy_arn: Option<String>,
    #[serde(default)]
    policy_name: Option<String>,
    #[serde(default)]
    policy_document: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

impl HolderRequest {
    fn name(&self) -> &str {
        self.user_name
            .as_deref()
            .or(self.group_name.as_deref())
            .or(self.role_name.as_deref())
            .unwrap_or_default()
    }
}

fn attach(ctx: &Context, kind: Holder, input: HolderRequest) -> Result<Empty, AwsError> {
    let arn = input.policy_arn.clone().unwrap_or_default();
    let mut held = kind.load(input.name())?;
    let policy = entities::policy(ctx, &arn)?;
    if !held.attached.contains(&policy.arn) {
        if held.attached.len() >= 10 {
            let quota = match kind {
                Holder::User => "PoliciesPerUser",
                Holder::Group => "PoliciesPerGroup",
                Holder::Role => "PoliciesPerRole",
            };
            return Err(limit_exceeded(format!(
                "Cannot exceed quota for {quota}: 10"
            )));
        }
        held.attached.push(policy.arn);
        held.save()?;
    }
    Ok(Empty {})
}

fn detach(kind: Holder, input: HolderRequest) -> Result<Empty, AwsError> {
    let arn = input.policy_arn.clone().unwrap_or_default();
    entities::check_policy_arn(&arn)?;
    let mut held = kind.load(input.name())?;
    if !held.attached.contains(&arn) {
        return Err(no_such_entity(format!("Policy {arn} was not found.")));
    }
    held.attached.retain(|a| a != &arn);
    held.save()?;
    Ok(Empty {})
}

fn list_attached(kind: Holder, input: HolderRequest) -> Result<Value, AwsError> {
    let held = kind.load(input.name())?;
    let prefix = input.path_prefix.as_deref();
    let items = held
        .attached
        .iter()
        .filter(|arn| {
            let path = arn
                .split_once(":policy")
                .map(|(_, rest)| rest.rsplit_once('/').map(|(p, _)| p).unwrap_or(""))
                .unwrap_or("");
            path_matches(&format!("{path}/"), prefix)
        })
        .map(|arn| {
            (
                arn.rsplit('/').next().unwrap_or_default().to_lowercase(),
                entities::attached_shape(arn),
            )
        })
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("AttachedPolicies"))
}

fn put_inline(kind: Holder, input: HolderRequest) -> Result<Empty, AwsError> {
    let name = input.policy_name.clone().unwrap_or_default();
    let document = input.policy_document.clone().unwrap_or_default();
    let mut v = Validator::new();
    check_name(&mut v, "policyName", &name, 128);
    v.length(kind.member(), input.name(), 1, 128);
    v.finish(AwsError::validation_error)?;
    check_policy(&document, PolicyKind::Identity)?;
    let mut held = kind.load(input.name())?;
    held.inline.insert(name, document);
    let total: usize = held
        .inline
        .values()
        .map(|d| d.chars().filter(|c| !c.is_whitespace()).count())
        .sum();
    let quota = match kind {
        Holder::User => 2048,
        Holder::Group => 5120,
        Holder::Role => 10240,
    };
    if total > quota {
        return Err(limit_exceeded(format!(
            "Maximum policy size of {quota} bytes exceeded for {} {}",
            kind.noun(),
            held.name
        )));
    }
    held.save()?;
    Ok(Empty {})
}

fn inline_name(held: &Held, name: &str) -> Result<String, AwsError> {
    held.inline
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .ok_or_else(|| {
            no_such_entity(format!(
                "The {} policy with name {name} cannot be found.",
                held.kind.noun()
            ))
        })
}

fn get_inline(kind: Holder, input: HolderRequest) -> Result<Value, AwsError> {
    let held = kind.load(input.name())?;
    let name = inline_name(&held, input.policy_name.as_deref().unwrap_or_default())?;
    let member = match kind {
        Holder::User => "UserName",
        Holder::Group => "GroupName",
        Holder::Role => "RoleName",
    };
    Ok(json!({
        member: held.name, "PolicyName": name,
        "PolicyDocument": url_encode(&held.inline[&name]),
    }))
}

fn delete_inline(kind: Holder, input: HolderRequest) -> Result<Empty, AwsError> {
    let mut held = kind.load(input.name())?;
    let name = inline_name(&held, input.policy_name.as_deref().unwrap_or_default())?;
    held.inline.remove(&name);
    held.save()?;
    Ok(Empty {})
}

fn list_inline(kind: Holder, input: HolderRequest) -> Result<Value, AwsError> {
    let held = kind.load(input.name())?;
    let items = held.inline.into_keys().map(|k| (k.clone(), k)).collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("PolicyNames"))
}

macro_rules! holder_ops {
    ($kind:expr, $attach:ident, $detach:ident, $list_attached:ident, $put:ident, $get:ident, $delete:ident, $list:ident) => {
        pub fn $attach(ctx: &Context, input: HolderRequest) -> Result<Empty, AwsError> {
            attach(ctx, $kind, input)
        }
        pub fn $detach(_: &Context, input: HolderRequest) -> Result<Empty, AwsError> {
            detach($kind, input)
        }
        pub fn $list_attached(_: &Context, input: HolderRequest) -> Result<Value, AwsError> {
            list_attached($kind, input)
        }
        pub fn $put(_: &Context, input: HolderRequest) -> Result<Empty, AwsError> {
            put_inline($kind, input)
        }
        pub fn $get(_: &Context, input: HolderRequest) -> Result<Value, AwsError> {
            get_inline($kind, input)
        }
        pub fn $delete(_: &Context, input: HolderRequest) -> Result<Empty, AwsError> {
            delete_inline($kind, input)
        }
        pub fn $list(_: &Context, input: HolderRequest) -> Result<Value, AwsError> {
            list_inline($kind, input)
        }
    };
}

holder_ops!(
    Holder::User,
    attach_user_policy,
    detach_user_policy,
    list_attached_user_policies,
    put_user_policy,
    get_user_policy,
    delete_user_policy,
    list_user_policies
);
holder_ops!(
    Holder::Group,
    attach_group_policy,
    detach_group_policy,
    list_attached_group_policies,
    put_group_policy,
    get_group_policy,
    delete_group_policy,
    list_group_policies
);
holder_ops!(
    Holder::Role,
    attach_role_policy,
    detach_role_policy,
    list_attached_role_policies,
    put_role_policy,
    get_role_policy,
    delete_role_policy,
    list_role_policies
);

// ---- managed policies ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreatePolicyRequest {
    policy_name: String,
    policy_document: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

pub fn create_policy(ctx: &Context, input: CreatePolicyRequest) -> Result<Value, AwsError> {
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(&mut v, "policyName", &input.policy_name, 128);
    check_path(&mut v, "path", &path);
    check_tags(&mut v, &input.tags);
    if let Some(d) = &input.description {
        v.length("description", d, 0, 1000);
    }
    v.finish(AwsError::validation_error)?;
    no_duplicate_tag_keys(&input.tags)?;
    check_policy(&input.policy_document, PolicyKind::Identity)?;
    if POLICIES.contains(&key(&input.policy_name)) {
        return Err(already_exists(format!(
            "A policy called {} already exists. Duplicate names are not allowed.",
            input.policy_name
        )));
    }
    let now = time::now();
    let policy = ManagedPolicy {
        arn: arn(ctx, "policy", &path, &input.policy_name),
        name: input.policy_name,
        id: ids::aws_id(IdPrefix::ManagedPolicy),
        path,
        description: input.description,
        created: now,
        updated: now,
        default_version: "v1".into(),
        versions: vec![PolicyVersion {
            id: "v1".into(),
            document: input.policy_document,
            created: now,
        }],
        next_version: 2,
        tags: input.tags,
    };
    POLICIES.put(&key(&policy.name), &policy)?;
    let mut shape = policy.shape(&Default::default());
    shape.as_object_mut().map(|o| o.remove("Description"));
    Ok(json!({"Policy": shape}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyArnRequest {
    policy_arn: String,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    policy_document: Option<String>,
    #[serde(default)]
    set_as_default: Option<bool>,
    #[serde(default)]
    entity_filter: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn get_policy(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let policy = entities::policy(ctx, &input.policy_arn)?;
    let usage = entities::usage(&policy.arn)?;
    Ok(json!({"Policy": policy.shape(&usage)}))
}

/// The account's own policy (AWS managed ones cannot change).
fn local_policy(ctx: &Context, arn: &str) -> Result<ManagedPolicy, AwsError> {
    let p = entities::policy(ctx, arn)?;
    // AWS owns these: deleting, tagging or versioning one is denied.
    if p.is_aws_managed() {
        let caller = if ctx.caller_arn.is_empty() {
            format!("arn:aws:iam::{}:root", ctx.account)
        } else {
            ctx.caller_arn.clone()
        };
        return Err(AwsError::access_denied(format!(
            "User: {caller} is not authorized to modify the AWS managed policy {arn}"
        )));
    }
    Ok(p)
}

pub fn delete_policy(ctx: &Context, input: PolicyArnRequest) -> Result<Empty, AwsError> {
    let policy = local_policy(ctx, &input.policy_arn)?;
    let usage = entities::usage(&policy.arn)?;
    if usage.attachments() > 0 {
        return Err(delete_conflict(
            "Cannot delete a policy attached to entities.",
        ));
    }
    if usage.boundaries > 0 {
        return Err(delete_conflict(
            "Cannot delete a policy used as a permissions boundary.",
        ));
    }
    if policy.versions.len() > 1 {
        return Err(delete_conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    POLICIES.delete(&key(&policy.name));
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListPoliciesRequest {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    only_attached: Option<bool>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    policy_usage_filter: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_policies(_: &Context, input: ListPoliciesRequest) -> Result<Value, AwsError> {
    let scope = input.scope.as_deref().unwrap_or("All");
    let mut all: Vec<ManagedPolicy> = Vec::new();
    if scope == "All" || scope == "AWS" {
        all.extend(managed::all());
    }
    if scope == "All" || scope == "Local" {
        all.extend(POLICIES.values("")?);
    }
    let mut items = Vec::new();
    let usages = entities::all_usage()?;
    let none = entities::Usage::default();
    for p in all {
        if !path_matches(&p.path, input.path_prefix.as_deref()) {
            continue;
        }
        let usage = usages.get(&p.arn).unwrap_or(&none);
        if input.only_attached == Some(true) && usage.attachments() == 0 {
            continue;
        }
        match input.policy_usage_filter.as_deref() {
            Some("PermissionsPolicy") if usage.attachments() == 0 => continue,
            Some("PermissionsBoundary") if usage.boundaries == 0 => continue,
            _ => {}
        }
        let mut shape = p.shape(usage);
        shape.as_object_mut().map(|o| {
            o.remove("Description");
            o.remove("Tags")
        });
        items.push((format!("{}\u{0}{}", p.name.to_lowercase(), p.arn), shape));
    }
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Policies"))
}

pub fn create_policy_version(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let mut policy = local_policy(ctx, &input.policy_arn)?;
    let document = input.policy_document.unwrap_or_default();
    check_policy(&document, PolicyKind::Identity)?;
    if policy.versions.len() >= 5 {
        return Err(limit_exceeded(format!(
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version. ({})",
            policy.arn
        )));
    }
    let now = time::now();
    let version = PolicyVersion {
        id: format!("v{}", policy.next_version),
        document,
        created: now,
    };
    policy.next_version += 1;
    if input.set_as_default == Some(true) {
        policy.default_version = version.id.clone();
    }
    policy.updated = now;
    policy.versions.push(version.clone());
    POLICIES.put(&key(&policy.name), &policy)?;
    Ok(json!({"PolicyVersion": policy.version_shape(&version, false)}))
}

pub fn get_policy_version(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let policy = entities::policy(ctx, &input.policy_arn)?;
    let id = input.version_id.unwrap_or_default();
    let version = policy.version(&id).ok_or_else(|| {
        no_such_entity(format!(
            "Policy {} version {id} does not exist or is not attachable.",
            policy.arn
        ))
    })?;
    Ok(json!({"PolicyVersion": policy.version_shape(version, true)}))
}

pub fn list_policy_versions(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let policy = entities::policy(ctx, &input.policy_arn)?;
    let mut items: Vec<(String, Value)> = policy
        .versions
        .iter()
        .map(|v| {
            let n: u64 = v.id.trim_start_matches('v').parse().unwrap_or(0);
            (
                ministack_sdk::store::keys::u64_desc(n),
                policy.version_shape(v, true),
            )
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Versions"))
}

pub fn delete_policy_version(ctx: &Context, input: PolicyArnRequest) -> Result<Empty, AwsError> {
    let mut policy = local_policy(ctx, &input.policy_arn)?;
    let id = input.version_id.unwrap_or_default();
    if policy.version(&id).is_none() {
        return Err(no_such_entity(format!(
            "Policy {} version {id} does not exist or is not deletable.",
            policy.arn
        )));
    }
    if id == policy.default_version {
        return Err(delete_conflict(
            "Cannot delete the default version of a policy.",
        ));
    }
    policy.versions.retain(|v| v.id != id);
    POLICIES.put(&key(&policy.name), &policy)?;
    Ok(Empty {})
}

pub fn set_default_policy_version(
    ctx: &Context,
    input: PolicyArnRequest,
) -> Result<Empty, AwsError> {
    let mut policy = local_policy(ctx, &input.policy_arn)?;
    let id = input.version_id.unwrap_or_default();
    if policy.version(&id).is_none() {
        return Err(no_such_entity(format!(
            "Policy {} version {id} does not exist or is not attachable.",
            policy.arn
        )));
    }
    policy.default_version = id;
    policy.updated = time::now();
    POLICIES.put(&key(&policy.name), &policy)?;
    Ok(Empty {})
}

pub fn list_entities_for_policy(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let policy = entities::policy(ctx, &input.policy_arn)?;
    let usage = entities::usage(&policy.arn)?;
    let filter = input.entity_filter.as_deref();
    let prefix = input.path_prefix.as_deref();
    let wants = |kind: &str| filter.is_none_or(|f| f == kind);
    let mut items: Vec<(String, (&str, Value))> = Vec::new();
    if wants("User") {
        for u in usage.users.iter().filter(|u| path_matches(&u.path, prefix)) {
            items.push((
                format!("u\u{0}{}", key(&u.name)),
                ("PolicyUsers", json!({"UserName": u.name, "UserId": u.id})),
            ));
        }
    }
    if wants("Group") {
        for g in usage
            .groups
            .iter()
            .filter(|g| path_matches(&g.path, prefix))
        {
            items.push((
                format!("g\u{0}{}", key(&g.name)),
                (
                    "PolicyGroups",
                    json!({"GroupName": g.name, "GroupId": g.id}),
                ),
            ));
        }
    }
    if wants("Role") {
        for r in usage.roles.iter().filter(|r| path_matches(&r.path, prefix)) {
            items.push((
                format!("r\u{0}{}", key(&r.name)),
                ("PolicyRoles", json!({"RoleName": r.name, "RoleId": r.id})),
            ));
        }
    }
    let listing = page(items, input.marker.as_deref(), input.max_items)?;
    let mut out = json!({"PolicyUsers": [], "PolicyGroups": [], "PolicyRoles": [], "IsTruncated": listing.is_truncated});
    for (member, v) in listing.items {
        out[member].as_array_mut().unwrap().push(v);
    }
    if let Some(m) = listing.marker {
        out["Marker"] = json!(m);
    }
    Ok(out)
}

pub fn tag_policy(ctx: &Context, input: PolicyArnRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    let mut policy = local_policy(ctx, &input.policy_arn)?;
    merge_tags(&mut policy.tags, input.tags)?;
    POLICIES.put(&key(&policy.name), &policy)?;
    Ok(Empty {})
}

pub fn untag_policy(ctx: &Context, input: PolicyArnRequest) -> Result<Empty, AwsError> {
    let mut policy = local_policy(ctx, &input.policy_arn)?;
    remove_tags(&mut policy.tags, &input.tag_keys);
    POLICIES.put(&key(&policy.name), &policy)?;
    Ok(Empty {})
}

pub fn list_policy_tags(ctx: &Context, input: PolicyArnRequest) -> Result<Value, AwsError> {
    let policy = entities::policy(ctx, &input.policy_arn)?;
    tags_page(policy.tags, input.marker.as_deref(), input.max_items)
}
