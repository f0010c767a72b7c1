//! Secret values: GetSecretValue, PutSecretValue, UpdateSecretVersionStage,
//! ListSecretVersionIds.

use ministack_sdk::prelude::*;
use ministack_sdk::{pagination, time};

use crate::secrets::{ArnName, version_exists};
use crate::shapes::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetSecretValueRequest {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct SecretValue {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub name: String,
    pub version_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_binary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_string: Option<String>,
    pub version_stages: Vec<String>,
    pub created_date: f64,
}

/// Reads one version (by id, stage, or AWSCURRENT) and records the access.
pub fn read_value(
    secret: &mut Secret,
    version_id: Option<&str>,
    version_stage: Option<&str>,
) -> Result<SecretValue, AwsError> {
    let version = match (version_id, version_stage) {
        (Some(id), stage) => {
            let v = secret.versions.get(id).ok_or_else(|| {
                AwsError::resource_not_found(format!(
                    "Secrets Manager can't find the specified secret value for VersionId: {id}"
                ))
            })?;
            if let Some(stage) = stage
                && !v.stages.iter().any(|s| s == stage)
            {
                return Err(invalid_request(format!(
                    "You provided a VersionStage that is not associated to the provided VersionId. VersionStage: {stage}"
                )));
            }
            v
        }
        (None, stage) => {
            let stage = stage.unwrap_or(AWSCURRENT);
            secret.version_with_stage(stage).ok_or_else(|| {
                AwsError::resource_not_found(format!(
                    "Secrets Manager can't find the specified secret value for staging label: {stage}"
                ))
            })?
        }
    };
    let id = version.id.clone();
    let today = day_of(time::now());
    secret.last_accessed = Some(today);
    let version = secret.versions.get_mut(&id).expect("version exists");
    version.last_accessed = Some(today);
    Ok(SecretValue {
        arn: secret.arn.clone(),
        name: secret.name.clone(),
        version_id: version.id.clone(),
        secret_binary: version.binary.clone(),
        secret_string: version.string.clone(),
        version_stages: version.stages.clone(),
        created_date: version.created,
    })
}

pub fn get_secret_value(
    ctx: &Context,
    input: GetSecretValueRequest,
) -> Result<SecretValue, AwsError> {
    let mut secret = find(ctx, &input.secret_id)?;
    let accessed = |s: &Secret| {
        let mut dates = vec![s.last_accessed];
        dates.extend(s.versions.values().map(|v| v.last_accessed));
        dates
    };
    let before = accessed(&secret);
    let value = read_value(
        &mut secret,
        input.version_id.as_deref(),
        input.version_stage.as_deref(),
    )?;
    // Access dates are by day: most reads write nothing.
    if accessed(&secret) != before {
        save(ctx, &secret)?;
    }
    Ok(value)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueRequest {
    secret_id: String,
    client_request_token: Option<String>,
    secret_binary: Option<String>,
    secret_string: Option<String>,
    version_stages: Option<Vec<String>>,
    rotation_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutSecretValueResponse {
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
    version_id: String,
    version_stages: Vec<String>,
}

pub fn put_secret_value(
    ctx: &Context,
    input: PutSecretValueRequest,
) -> Result<PutSecretValueResponse, AwsError> {
    let _ = &input.rotation_token;
    check_value(&input.secret_string, &input.secret_binary, false)?;
    let mut secret = find_writable(ctx, &input.secret_id)?;
    let token = request_token(input.client_request_token)?;
    let stages = input
        .version_stages
        .unwrap_or_else(|| vec![AWSCURRENT.to_string()]);
    if stages.len() > 20 {
        return Err(invalid_parameter(
            "A version can have at most 20 staging labels.",
        ));
    }
    if let Some(v) = secret.versions.get(&token) {
        if !v.same_value(&input.secret_string, &input.secret_binary) {
            return Err(version_exists());
        }
        return Ok(PutSecretValueResponse {
            arn: secret.arn.clone(),
            name: secret.name.clone(),
            version_id: token,
            version_stages: v.stages.clone(),
        });
    }
    check_kms_key(ctx, secret.kms_key_id.as_deref(), &secret.arn)?;
    secret.add_version(&token, input.secret_string, input.secret_binary, &stages);
    save(ctx, &secret)?;
    Ok(PutSecretValueResponse {
        version_stages: secret.versions[&token].stages.clone(),
        arn: secret.arn,
        name: secret.name,
        version_id: token,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateSecretVersionStageRequest {
    secret_id: String,
    version_stage: String,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

pub fn update_secret_version_stage(
    ctx: &Context,
    input: UpdateSecretVersionStageRequest,
) -> Result<ArnName, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    let stage = input.version_stage;
    if stage.is_empty() || stage.len() > 256 {
        return Err(invalid_parameter("Invalid VersionStage."));
    }
    let holder = secret.version_with_stage(&stage).map(|v| v.id.clone());
    for id in [&input.remove_from_version_id, &input.move_to_version_id]
        .into_iter()
        .flatten()
    {
        if !secret.versions.contains_key(id) {
            return Err(AwsError::resource_not_found(format!(
                "Secrets Manager can't find the specified secret version: {id}"
            )));
        }
    }
    if let Some(remove) = &input.remove_from_version_id
        && holder.as_deref() != Some(remove)
    {
        return Err(invalid_parameter(format!(
            "The staging label {stage} is not attached to version {remove}."
        )));
    }
    match &input.move_to_version_id {
        Some(to) => {
            if let Some(h) = &holder
                && h != to
                && input.remove_from_version_id.is_none()
            {
                return Err(invalid_parameter(format!(
                    "The staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId."
                )));
            }
            secret.move_stage(&stage, to);
        }
        None => {
            if stage == AWSCURRENT {
                return Err(invalid_parameter(
                    "You can only move staging label AWSCURRENT to a different secret version. It can't be completely removed.",
                ));
            }
            if input.remove_from_version_id.is_none() {
                return Err(invalid_parameter(
                    "You must specify either MoveToVersionId or RemoveFromVersionId.",
                ));
            }
            secret.remove_stage(&stage);
        }
    }
    secret.last_changed = time::now();
    save(ctx, &secret)?;
    Ok(ArnName::from(&secret))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsRequest {
    secret_id: String,
    max_results: Option<usize>,
    next_token: Option<String>,
    #[serde(default)]
    include_deprecated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionEntry {
    version_id: String,
    version_stages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_accessed_date: Option<f64>,
    created_date: f64,
    kms_key_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListSecretVersionIdsResponse {
    versions: Vec<VersionEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
    #[serde(rename = "ARN")]
    arn: String,
    name: String,
}

pub fn list_secret_version_ids(
    ctx: &Context,
    input: ListSecretVersionIdsRequest,
) -> Result<ListSecretVersionIdsResponse, AwsError> {
    let secret = find_any(ctx, &input.secret_id)?;
    let mut versions: Vec<&Version> = secret
        .versions
        .values()
        .filter(|v| input.include_deprecated || !v.stages.is_empty())
        .collect();
    versions.sort_by(|a, b| b.created.total_cmp(&a.created).then(a.id.cmp(&b.id)));
    let (page, next_token) = paginate(versions, input.max_results, input.next_token.as_deref())?;
    let kms = secret
        .kms_key_id
        .clone()
        .unwrap_or_else(|| "DEFAULT".to_string());
    Ok(ListSecretVersionIdsResponse {
        versions: page
            .into_iter()
            .map(|v| VersionEntry {
                version_id: v.id.clone(),
                version_stages: v.stages.clone(),
                last_accessed_date: v.last_accessed,
                created_date: v.created,
                kms_key_ids: vec![kms.clone()],
            })
            .collect(),
        next_token,
        arn: secret.arn.clone(),
        name: secret.name.clone(),
    })
}

/// A page of `items` (at most `max_results`, 1..=100) from the position in
/// `next_token` (an offset).
pub fn paginate<T>(
    items: Vec<T>,
    max_results: Option<usize>,
    next_token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), AwsError> {
    let limit = max_results.unwrap_or(100);
    if !(1..=100).contains(&limit) {
        return Err(invalid_parameter("MaxResults must be between 1 and 100."));
    }
    let start = match next_token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => pagination::decode(t)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| {
                AwsError::new(
                    "InvalidNextTokenException",
                    "The NextToken value is invalid.",
                )
            })?,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then(|| pagination::encode(&(start + limit).to_string()));
    Ok((page, next))
}
