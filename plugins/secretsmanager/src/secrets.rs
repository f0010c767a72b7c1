//! CreateSecret, DescribeSecret, UpdateSecret, DeleteSecret, RestoreSecret
//! and tags.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::Value;

use crate::replication::{self, ReplicaRegion};
use crate::shapes::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretRequest {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    add_replica_regions: Vec<ReplicaRegion>,
    #[serde(default)]
    force_overwrite_replica_secret: bool,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSecretResponse {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    replication_status: Vec<ReplicaStatus>,
}

/// Secret names: 1 to 512 of `A-Za-z0-9/_+=.@-`.
pub fn check_name(name: &str) -> Result<(), AwsError> {
    let ok = !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
        ))
    }
}

pub fn create_secret(
    ctx: &Context,
    input: CreateSecretRequest,
) -> Result<CreateSecretResponse, AwsError> {
    check_name(&input.name)?;
    let _ = &input.kind;
    let has_value = check_value(&input.secret_string, &input.secret_binary, true)?;
    let token = request_token(input.client_request_token)?;
    if let Some(existing) = SECRETS.get(&input.name)? {
        if existing.deletion_date.is_some_and(|d| d <= time::now()) {
            SECRETS.delete(&input.name);
        } else if existing.is_deleted() {
            return Err(invalid_request(
                "You can't create this secret because a secret with this name is already scheduled for deletion.",
            ));
        } else {
            // Same token and same value: the earlier request, answered again.
            if let Some(v) = existing.versions.get(&token)
                && v.same_value(&input.secret_string, &input.secret_binary)
            {
                return Ok(CreateSecretResponse {
                    arn: existing.arn.clone(),
                    name: existing.name.clone(),
                    version_id: Some(token),
                    replication_status: existing.replication.clone(),
                });
            }
            return Err(AwsError::already_exists(
                "ResourceExistsException",
                format!(
                    "The operation failed because the secret {} already exists.",
                    input.name
                ),
            ));
        }
    }
    check_tags(&input.tags)?;
    let now = time::now();
    let mut secret = Secret {
        name: input.name.clone(),
        arn: new_arn(ctx, &input.name),
        description: input.description,
        kms_key_id: input.kms_key_id,
        tags: Vec::new(),
        created: now,
        last_changed: now,
        ..Secret::default()
    };
    merge_tags(&mut secret.tags, input.tags);
    if has_value {
        check_kms_key(ctx, secret.kms_key_id.as_deref(), &secret.arn)?;
        secret.add_version(
            &token,
            input.secret_string,
            input.secret_binary,
            &[AWSCURRENT.to_string()],
        );
    }
    if !input.add_replica_regions.is_empty() {
        replication::add_regions(
            ctx,
            &mut secret,
            input.add_replica_regions,
            input.force_overwrite_replica_secret,
        )?;
    }
    save(ctx, &secret)?;
    Ok(CreateSecretResponse {
        arn: secret.arn,
        name: secret.name,
        version_id: has_value.then_some(token),
        replication_status: secret.replication,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecretIdRequest {
    pub secret_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeSecretResponse {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_enabled: Option<bool>,
    #[serde(rename = "RotationLambdaARN", skip_serializing_if = "Option::is_none")]
    pub rotation_lambda_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_rules: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_rotated_date: Option<f64>,
    pub last_changed_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// `VersionIdsToStages` in DescribeSecret, `SecretVersionsToStages` in ListSecrets.
    #[serde(flatten)]
    pub stages: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    pub created_date: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary_region: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub replication_status: Vec<ReplicaStatus>,
}

/// What DescribeSecret (and a ListSecrets entry) says of a secret.
pub fn description(secret: &Secret, stages_member: &str) -> DescribeSecretResponse {
    let next_rotation_date = if secret.rotation_enabled {
        let days = secret
            .rotation_rules
            .as_ref()
            .and_then(|r| r["AutomaticallyAfterDays"].as_f64())
            .unwrap_or(30.0);
        let from = secret.last_rotated.unwrap_or(secret.created);
        Some(day_of(from + days * 86400.0))
    } else {
        None
    };
    DescribeSecretResponse {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        description: secret.description.clone(),
        kms_key_id: secret.kms_key_id.clone(),
        // Reported once rotation has been configured, as AWS does.
        rotation_enabled: (secret.rotation_enabled || secret.rotation_lambda_arn.is_some())
            .then_some(secret.rotation_enabled),
        rotation_lambda_arn: secret.rotation_lambda_arn.clone(),
        rotation_rules: secret.rotation_rules.clone(),
        last_rotated_date: secret.last_rotated,
        last_changed_date: secret.last_changed,
        last_accessed_date: secret.last_accessed,
        deleted_date: secret.deletion_date,
        next_rotation_date,
        tags: secret.tag_list().cloned(),
        stages: BTreeMap::from([(stages_member.to_string(), secret.version_ids_to_stages())]),
        created_date: secret.created,
        primary_region: secret
            .primary_region
            .clone()
            .or_else(|| (!secret.replication.is_empty()).then(|| region_of(&secret.arn))),
        replication_status: secret.replication.clone(),
    }
}

fn region_of(arn: &str) -> String {
    arn.split(':').nth(3).unwrap_or_default().to_string()
}

pub fn describe_secret(
    ctx: &Context,
    input: SecretIdRequest,
) -> Result<DescribeSecretResponse, AwsError> {
    let secret = find_any(ctx, &input.secret_id)?;
    Ok(description(&secret, "VersionIdsToStages"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretRequest {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnNameVersion {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
}

pub fn update_secret(
    ctx: &Context,
    input: UpdateSecretRequest,
) -> Result<ArnNameVersion, AwsError> {
    let _ = &input.kind;
    let mut secret = find_writable(ctx, &input.secret_id)?;
    let has_value = check_value(&input.secret_string, &input.secret_binary, true)?;
    let token = request_token(input.client_request_token)?;
    if has_value || input.kms_key_id.is_some() {
        let key = input.kms_key_id.as_deref().or(secret.kms_key_id.as_deref());
        check_kms_key(ctx, key, &secret.arn)?;
    }
    if let Some(d) = input.description {
        secret.description = Some(d);
    }
    if let Some(k) = input.kms_key_id {
        secret.kms_key_id = Some(k);
    }
    secret.last_changed = time::now();
    let mut version_id = None;
    if has_value {
        match secret.versions.get(&token) {
            Some(v) if v.same_value(&input.secret_string, &input.secret_binary) => {}
            Some(_) => return Err(version_exists()),
            None => secret.add_version(
                &token,
                input.secret_string,
                input.secret_binary,
                &[AWSCURRENT.to_string()],
            ),
        }
        version_id = Some(token);
    }
    save(ctx, &secret)?;
    Ok(ArnNameVersion {
        arn: secret.arn,
        name: secret.name,
        version_id,
    })
}

pub fn version_exists() -> AwsError {
    AwsError::already_exists(
        "ResourceExistsException",
        "You can't modify an existing version, you can only create a new version.",
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretRequest {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    force_delete_without_recovery: Option<bool>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteSecretResponse {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    deletion_date: f64,
}

pub fn delete_secret(
    ctx: &Context,
    input: DeleteSecretRequest,
) -> Result<DeleteSecretResponse, AwsError> {
    let force = input.force_delete_without_recovery.unwrap_or(false);
    if force && input.recovery_window_in_days.is_some() {
        return Err(invalid_parameter(
            "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.",
        ));
    }
    let days = input.recovery_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(invalid_parameter(
            "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).",
        ));
    }
    let mut secret = find_any(ctx, &input.secret_id)?;
    refuse_replica(ctx, &secret)?;
    // AWS deletes a primary only once its replicas are removed.
    if !secret.replication.is_empty() {
        return Err(invalid_request(format!(
            "You can't delete secret {} because it has replicas in other Regions. Remove the replicas first.",
            secret.name
        )));
    }
    let now = time::now();
    if force {
        SECRETS.delete(&secret.name);
        return Ok(DeleteSecretResponse {
            arn: secret.arn,
            name: secret.name,
            deletion_date: now,
        });
    }
    if secret.is_deleted() {
        return Err(marked_for_deletion());
    }
    let date = now + days as f64 * 86400.0;
    secret.deletion_date = Some(date);
    save(ctx, &secret)?;
    Ok(DeleteSecretResponse {
        arn: secret.arn,
        name: secret.name,
        deletion_date: date,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnName {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
}

impl From<&Secret> for ArnName {
    fn from(s: &Secret) -> Self {
        ArnName {
            arn: s.arn.clone(),
            name: s.name.clone(),
        }
    }
}

pub fn restore_secret(ctx: &Context, input: SecretIdRequest) -> Result<ArnName, AwsError> {
    let mut secret = find_any(ctx, &input.secret_id)?;
    refuse_replica(ctx, &secret)?;
    secret.deletion_date = None;
    save(ctx, &secret)?;
    Ok(ArnName::from(&secret))
}

// --- tags ---

fn check_tags(tags: &[Tag]) -> Result<(), AwsError> {
    for t in tags {
        if t.key.is_empty() || t.key.len() > 128 || t.value.len() > 256 {
            return Err(invalid_parameter(format!("Invalid tag: {}", t.key)));
        }
        if t.key.starts_with("aws:") {
            return Err(invalid_parameter(
                "Invalid tag key. The aws: prefix is reserved for AWS use.",
            ));
        }
    }
    Ok(())
}

fn merge_tags(tags: &mut Vec<Tag>, new: Vec<Tag>) {
    for tag in new {
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value,
            None => tags.push(tag),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    secret_id: String,
    tags: Vec<Tag>,
}

pub fn tag_resource(ctx: &Context, input: TagResourceRequest) -> Result<Empty, AwsError> {
    check_tags(&input.tags)?;
    let mut secret = find_writable(ctx, &input.secret_id)?;
    merge_tags(&mut secret.tags, input.tags);
    if secret.tags.len() > 50 {
        return Err(invalid_parameter("A secret can have at most 50 tags."));
    }
    save(ctx, &secret)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceRequest {
    secret_id: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(ctx: &Context, input: UntagResourceRequest) -> Result<Empty, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    secret.tags.retain(|t| !input.tag_keys.contains(&t.key));
    save(ctx, &secret)?;
    Ok(Empty {})
}
