//! The stored IAM entities of an account (users, groups, roles, managed
//! policies, instance profiles) and how each reads in a response.
//!
//! Every table is account-global (`Table::account`): IAM has no regions.
//! Records are keyed by lowercased name (IAM names are unique without regard
//! to case).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::common::{self, Tag, key, no_such_entity, permissions_boundary, put_opt, url_encode};
use crate::managed;

pub const USERS: Table<User> = Table::account("users");
pub const GROUPS: Table<Group> = Table::account("groups");
pub const ROLES: Table<Role> = Table::account("roles");
pub const POLICIES: Table<ManagedPolicy> = Table::account("policies");
pub const PROFILES: Table<InstanceProfile> = Table::account("instance-profiles");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub path: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub created: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub boundary: Option<String>,
    /// Managed policy ARNs.
    #[serde(default)]
    pub attached: Vec<String>,
    /// Inline policy name → document.
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// Group names.
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub password_last_used: Option<f64>,
}

impl User {
    pub fn shape(&self) -> Value {
        let mut out = json!({
            "Path": self.path, "UserName": self.name, "UserId": self.id,
            "Arn": self.arn, "CreateDate": self.created,
        });
        put_opt(
            &mut out,
            "PermissionsBoundary",
            permissions_boundary(&self.boundary),
        );
        if !self.tags.is_empty() {
            out["Tags"] = json!(self.tags);
        }
        put_opt(
            &mut out,
            "PasswordLastUsed",
            self.password_last_used.map(|t| json!(t)),
        );
        out
    }

    /// The listing form (ListUsers, GetGroup): no tags or boundary.
    pub fn brief(&self) -> Value {
        json!({
            "Path": self.path, "UserName": self.name, "UserId": self.id,
            "Arn": self.arn, "CreateDate": self.created,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Group {
    pub path: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub created: f64,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
}

impl Group {
    pub fn shape(&self) -> Value {
        json!({
            "Path": self.path, "GroupName": self.name, "GroupId": self.id,
            "Arn": self.arn, "CreateDate": self.created,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Role {
    pub path: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub created: f64,
    pub trust_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub boundary: Option<String>,
    #[serde(default)]
    pub attached: Vec<String>,
    #[serde(default)]
    pub inline: BTreeMap<String, String>,
    /// For service-linked roles: the service principal.
    #[serde(default)]
    pub service_linked: Option<String>,
}

impl Role {
    pub fn shape(&self) -> Value {
        let mut out = self.brief();
        put_opt(
            &mut out,
            "PermissionsBoundary",
            permissions_boundary(&self.boundary),
        );
        if !self.tags.is_empty() {
            out["Tags"] = json!(self.tags);
        }
        out["RoleLastUsed"] = json!({});
        out
    }

    pub fn brief(&self) -> Value {
        let mut out = json!({
            "Path": self.path, "RoleName": self.name, "RoleId": self.id,
            "Arn": self.arn, "CreateDate": self.created,
            "AssumeRolePolicyDocument": url_encode(&self.trust_policy),
            "MaxSessionDuration": self.max_session_duration,
        });
        put_opt(
            &mut out,
            "Description",
            self.description.clone().map(Value::from),
        );
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersion {
    pub id: String,
    pub document: String,
    pub created: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created: f64,
    pub updated: f64,
    pub default_version: String,
    pub versions: Vec<PolicyVersion>,
    pub next_version: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn is_aws_managed(&self) -> bool {
        self.arn.contains(":iam::aws:policy/")
    }

    pub fn version(&self, id: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub fn default_document(&self) -> &str {
        self.version(&self.default_version)
            .map(|v| v.document.as_str())
            .unwrap_or("{}")
    }

    /// The Policy shape, with usage counts.
    pub fn shape(&self, usage: &Usage) -> Value {
        let mut out = json!({
            "PolicyName": self.name, "PolicyId": self.id, "Arn": self.arn,
            "Path": self.path, "DefaultVersionId": self.default_version,
            "AttachmentCount": usage.attachments(),
            "PermissionsBoundaryUsageCount": usage.boundaries,
            "IsAttachable": true, "CreateDate": self.created, "UpdateDate": self.updated,
        });
        put_opt(
            &mut out,
            "Description",
            self.description.clone().map(Value::from),
        );
        if !self.tags.is_empty() {
            out["Tags"] = json!(self.tags);
        }
        out
    }

    pub fn version_shape(&self, v: &PolicyVersion, with_document: bool) -> Value {
        let mut out = json!({
            "VersionId": v.id, "IsDefaultVersion": v.id == self.default_version,
            "CreateDate": v.created,
        });
        if with_document {
            out["Document"] = json!(url_encode(&v.document));
        }
        out
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InstanceProfile {
    pub path: String,
    pub name: String,
    pub id: String,
    pub arn: String,
    pub created: f64,
    /// Role names (at most one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceProfile {
    pub fn shape(&self) -> Result<Value, AwsError> {
        let mut roles = Vec::new();
        for r in &self.roles {
            if let Some(role) = ROLES.get(&key(r))? {
                roles.push(role.brief());
            }
        }
        let mut out = json!({
            "Path": self.path, "InstanceProfileName": self.name,
            "InstanceProfileId": self.id, "Arn": self.arn, "CreateDate": self.created,
            "Roles": roles,
        });
        if !self.tags.is_empty() {
            out["Tags"] = json!(self.tags);
        }
        Ok(out)
    }
}

pub fn user(name: &str) -> Result<User, AwsError> {
    USERS
        .get(&key(name))?
        .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found.")))
}

pub fn group(name: &str) -> Result<Group, AwsError> {
    GROUPS
        .get(&key(name))?
        .ok_or_else(|| no_such_entity(format!("The group with name {name} cannot be found.")))
}

pub fn role(name: &str) -> Result<Role, AwsError> {
    ROLES
        .get(&key(name))?
        .ok_or_else(|| no_such_entity(format!("The role with name {name} cannot be found.")))
}

pub fn instance_profile(name: &str) -> Result<InstanceProfile, AwsError> {
    PROFILES
        .get(&key(name))?
        .ok_or_else(|| no_such_entity(format!("Instance Profile {name} cannot be found.")))
}

/// A managed policy by ARN: one of the account's, or an AWS managed one.
pub fn find_policy(ctx: &Context, arn: &str) -> Result<Option<ManagedPolicy>, AwsError> {
    let Some(parsed) = Arn::parse(arn) else {
        return Ok(None);
    };
    if parsed.service != "iam" || !parsed.resource.starts_with("policy/") {
        return Ok(None);
    }
    if parsed.account == "aws" {
        let autocreate = ctx.setting("autocreate_aws_managed") == Some("true");
        return Ok(
            managed::find(arn).or_else(|| autocreate.then(|| managed::placeholder(arn)).flatten())
        );
    }
    if parsed.account != ctx.account {
        return Ok(None);
    }
    let name = arn.rsplit('/').next().unwrap_or_default();
    Ok(POLICIES.get(&key(name))?.filter(|p| p.arn == arn))
}

pub fn policy(ctx: &Context, arn: &str) -> Result<ManagedPolicy, AwsError> {
    check_policy_arn(arn)?;
    find_policy(ctx, arn)?
        .ok_or_else(|| no_such_entity(format!("Policy {arn} does not exist or is not attachable.")))
}

pub fn check_policy_arn(arn: &str) -> Result<(), AwsError> {
    if arn.len() < 20 || !arn.starts_with("arn:") {
        return Err(common::invalid_input(format!("ARN {arn} is not valid.")));
    }
    Ok(())
}

/// Where a managed policy is used in the account.
#[derive(Debug, Default, Clone)]
pub struct Usage {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub boundaries: u64,
}

impl Usage {
    pub fn attachments(&self) -> u64 {
        (self.users.len() + self.groups.len() + self.roles.len()) as u64
    }
}

pub fn usage(arn: &str) -> Result<Usage, AwsError> {
    Ok(all_usage()?.remove(arn).unwrap_or_default())
}

/// The usage of every managed policy the account uses, in one pass over its
/// users, groups and roles.
pub fn all_usage() -> Result<std::collections::HashMap<String, Usage>, AwsError> {
    let mut map: std::collections::HashMap<String, Usage> = Default::default();
    for user in USERS.values("")? {
        if let Some(b) = &user.boundary {
            map.entry(b.clone()).or_default().boundaries += 1;
        }
        for a in &user.attached {
            map.entry(a.clone()).or_default().users.push(user.clone());
        }
    }
    for group in GROUPS.values("")? {
        for a in &group.attached {
            map.entry(a.clone()).or_default().groups.push(group.clone());
        }
    }
    for role in ROLES.values("")? {
        if let Some(b) = &role.boundary {
            map.entry(b.clone()).or_default().boundaries += 1;
        }
        for a in &role.attached {
            map.entry(a.clone()).or_default().roles.push(role.clone());
        }
    }
    Ok(map)
}

/// `{PolicyName, PolicyArn}` of an attached managed policy.
pub fn attached_shape(arn: &str) -> Value {
    json!({"PolicyName": arn.rsplit('/').next().unwrap_or_default(), "PolicyArn": arn})
}
