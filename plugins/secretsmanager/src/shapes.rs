//! The stored secret, how a SecretId finds it, and the errors of the service.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{ids, time};
use serde_json::Value;

/// Secrets of the caller's account and region, by name.
pub const SECRETS: Table<Secret> = Table::new("secrets");

pub const AWSCURRENT: &str = "AWSCURRENT";
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
pub const AWSPENDING: &str = "AWSPENDING";

/// Versions without a staging label kept per secret (AWS keeps about 100).
pub const MAX_DEPRECATED_VERSIONS: usize = 100;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Version {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<String>,
    /// Base64, as the wire carries it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
    pub stages: Vec<String>,
    pub created: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed: Option<f64>,
}

impl Version {
    pub fn same_value(&self, string: &Option<String>, binary: &Option<String>) -> bool {
        &self.string == string && &self.binary == binary
    }
}

#[derive(Serialize, Deserialize, Clone, Debug)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaStatus {
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub kms_key_id: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    pub created: f64,
    pub last_changed: f64,
    #[serde(default)]
    pub last_accessed: Option<f64>,
    /// When the secret will be deleted (set by DeleteSecret with a window).
    #[serde(default)]
    pub deletion_date: Option<f64>,
    #[serde(default)]
    pub rotation_enabled: bool,
    #[serde(default)]
    pub rotation_lambda_arn: Option<String>,
    #[serde(default)]
    pub rotation_rules: Option<Value>,
    #[serde(default)]
    pub last_rotated: Option<f64>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub replication: Vec<ReplicaStatus>,
    #[serde(default)]
    pub primary_region: Option<String>,
    /// Version id -> version.
    #[serde(default)]
    pub versions: BTreeMap<String, Version>,
}

impl Secret {
    /// A read-only copy of a secret whose primary is in another region.
    pub fn is_replica_here(&self, ctx: &Context) -> bool {
        self.primary_region
            .as_deref()
            .is_some_and(|p| p != ctx.region)
    }

    pub fn is_deleted(&self) -> bool {
        self.deletion_date.is_some()
    }

    /// The version carrying `stage`.
    pub fn version_with_stage(&self, stage: &str) -> Option<&Version> {
        self.versions
            .values()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    pub fn version_ids_to_stages(&self) -> BTreeMap<String, Vec<String>> {
        self.versions
            .values()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.clone(), v.stages.clone()))
            .collect()
    }

    /// Puts `stage` on `version_id` only. Moving AWSCURRENT hands
    /// AWSPREVIOUS to the version that had it.
    pub fn move_stage(&mut self, stage: &str, version_id: &str) {
        let previous_holder = self
            .version_with_stage(stage)
            .map(|v| v.id.clone())
            .filter(|id| id != version_id);
        for v in self.versions.values_mut() {
            v.stages.retain(|s| s != stage);
        }
        if let Some(v) = self.versions.get_mut(version_id) {
            v.stages.push(stage.to_string());
        }
        if stage == AWSCURRENT
            && let Some(prev) = previous_holder
        {
            self.move_stage(AWSPREVIOUS, &prev);
        }
    }

    /// Removes `stage` from whatever version has it.
    pub fn remove_stage(&mut self, stage: &str) {
        for v in self.versions.values_mut() {
            v.stages.retain(|s| s != stage);
        }
    }

    /// Adds a version with the given stages (AWSCURRENT moves, and the old
    /// current becomes AWSPREVIOUS), dropping the oldest unlabelled versions
    /// beyond the limit.
    pub fn add_version(
        &mut self,
        id: &str,
        string: Option<String>,
        binary: Option<String>,
        stages: &[String],
    ) {
        self.versions.insert(
            id.to_string(),
            Version {
                id: id.to_string(),
                string,
                binary,
                stages: Vec::new(),
                created: time::now(),
                last_accessed: None,
            },
        );
        for stage in stages {
            self.move_stage(stage, id);
        }
        let mut deprecated: Vec<(f64, String)> = self
            .versions
            .values()
            .filter(|v| v.stages.is_empty())
            .map(|v| (v.created, v.id.clone()))
            .collect();
        if deprecated.len() > MAX_DEPRECATED_VERSIONS {
            deprecated.sort_by(|a, b| a.0.total_cmp(&b.0));
            let excess = deprecated.len() - MAX_DEPRECATED_VERSIONS;
            for (_, id) in deprecated.into_iter().take(excess) {
                self.versions.remove(&id);
            }
        }
        self.last_changed = time::now();
    }

    pub fn tag_list(&self) -> Option<&Vec<Tag>> {
        (!self.tags.is_empty()).then_some(&self.tags)
    }
}

/// Midnight (UTC) of the day of `t`: AWS reports access dates by day.
pub fn day_of(t: f64) -> f64 {
    (t / 86400.0).floor() * 86400.0
}

/// `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 chars>`.
pub fn new_arn(ctx: &Context, name: &str) -> String {
    ctx.arn(
        "secretsmanager",
        &format!("secret:{name}-{}", ids::alnum(6)),
    )
    .to_string()
}

// --- errors ---

pub fn not_found() -> AwsError {
    AwsError::resource_not_found("Secrets Manager can't find the specified secret.")
}

pub fn invalid_parameter(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidParameterException", message)
}

pub fn invalid_request(message: impl Into<String>) -> AwsError {
    AwsError::new("InvalidRequestException", message)
}

pub fn marked_for_deletion() -> AwsError {
    invalid_request(
        "You can't perform this operation on the secret because it was marked for deletion.",
    )
}

// --- KMS ---

/// Checks that a customer KMS key can protect a new value, as Secrets
/// Manager asks KMS for a data key (GenerateDataKey with the `SecretARN`
/// encryption context). A key KMS refuses (disabled, wrong usage) is
/// `EncryptionFailure`; a key KMS does not know, or no KMS plugin, is
/// accepted. The value itself is stored as given.
pub fn check_kms_key(ctx: &Context, key_id: Option<&str>, arn: &str) -> Result<(), AwsError> {
    let Some(key_id) = key_id else {
        return Ok(());
    };
    let input = serde_json::json!({
        "KeyId": key_id,
        "KeySpec": "AES_256",
        "EncryptionContext": {"SecretARN": arn},
    });
    match services::call::<Value, Value>(&Target::new("kms", ctx), "GenerateDataKey", &input) {
        Ok(_) => Ok(()),
        // A local convenience: a key KMS does not know (or no KMS plugin) is
        // recorded and echoed, the value protected as with the default key.
        Err(e)
            if e.code == "ServiceUnavailable"
                || e.code == "NotFoundException"
                || e.status == Some(501) =>
        {
            Ok(())
        }
        Err(e) => Err(AwsError::new(
            "EncryptionFailure",
            format!(
                "Secrets Manager can't encrypt the protected secret text using the provided KMS key {key_id}: {}",
                e.message
            ),
        )),
    }
}

// --- finding a secret ---

/// The name a SecretId designates and, for a full ARN, the ARN to match.
/// A partial ARN (no 6-character suffix) names the secret directly.
fn candidates(secret_id: &str) -> Vec<(String, Option<String>)> {
    let Some(rest) = secret_id.strip_prefix("arn:") else {
        return vec![(secret_id.to_string(), None)];
    };
    let Some(pos) = rest.find(":secret:") else {
        return vec![(secret_id.to_string(), None)];
    };
    let name = &rest[pos + ":secret:".len()..];
    let mut out = Vec::new();
    if let Some((base, suffix)) = name.rsplit_once('-')
        && suffix.len() == 6
        && suffix.chars().all(|c| c.is_ascii_alphanumeric())
    {
        out.push((base.to_string(), Some(secret_id.to_string())));
    }
    out.push((name.to_string(), None));
    out
}

/// A secret ARN names the endpoint's own region and the caller's account:
/// another region's secret is not found here, another account's is not
/// shared with the caller (no resource policy crosses accounts locally).
fn check_arn_scope(ctx: &Context, secret_id: &str) -> Result<(), AwsError> {
    let Some(arn) = Arn::parse(secret_id).filter(|a| a.service == "secretsmanager") else {
        return Ok(());
    };
    if arn.account != ctx.account {
        let caller = if ctx.caller_arn.is_empty() {
            format!("arn:aws:iam::{}:root", ctx.account)
        } else {
            ctx.caller_arn.clone()
        };
        return Err(AwsError::access_denied_exception(format!(
            "User: {caller} is not authorized to access resource: {secret_id} because no resource-based policy allows it"
        )));
    }
    if arn.region != ctx.region {
        return Err(not_found());
    }
    Ok(())
}

/// Finds a secret by name, full ARN or partial ARN, including one scheduled
/// for deletion (whose window has not ended).
pub fn find_any(ctx: &Context, secret_id: &str) -> Result<Secret, AwsError> {
    check_arn_scope(ctx, secret_id)?;
    for (name, arn) in candidates(secret_id) {
        if let Some(secret) = SECRETS.get(&name)? {
            if arn.as_ref().is_some_and(|a| a != &secret.arn) {
                continue;
            }
            if secret.deletion_date.is_some_and(|d| d <= time::now()) {
                SECRETS.delete(&name);
                continue;
            }
            return Ok(secret);
        }
    }
    Err(not_found())
}

/// Finds a secret that is not scheduled for deletion.
pub fn find(ctx: &Context, secret_id: &str) -> Result<Secret, AwsError> {
    let secret = find_any(ctx, secret_id)?;
    if secret.is_deleted() {
        return Err(marked_for_deletion());
    }
    Ok(secret)
}

/// Stores a secret; a primary's replicas follow it.
pub fn save(ctx: &Context, secret: &Secret) -> Result<(), AwsError> {
    SECRETS.put(&secret.name, secret)?;
    crate::replication::sync_replicas(ctx, secret)
}

/// Finds a secret to change: a replica is read-only, changed only through
/// its primary.
pub fn find_writable(ctx: &Context, secret_id: &str) -> Result<Secret, AwsError> {
    let secret = find(ctx, secret_id)?;
    refuse_replica(ctx, &secret)?;
    Ok(secret)
}

pub fn refuse_replica(ctx: &Context, secret: &Secret) -> Result<(), AwsError> {
    if secret.is_replica_here(ctx) {
        return Err(invalid_request(
            "Operation not permitted on a replica secret. Call must be made in primary secret's region.",
        ));
    }
    Ok(())
}

/// A ClientRequestToken: 32 to 64 characters; a new UUID when absent.
pub fn request_token(token: Option<String>) -> Result<String, AwsError> {
    match token {
        None => Ok(ids::uuid()),
        Some(t) if (32..=64).contains(&t.len()) => Ok(t),
        Some(_) => Err(invalid_parameter(
            "ClientRequestToken must be between 32 and 64 characters.",
        )),
    }
}

/// Exactly one of SecretString and SecretBinary, or neither when `optional`.
pub fn check_value(
    string: &Option<String>,
    binary: &Option<String>,
    optional: bool,
) -> Result<bool, AwsError> {
    match (string, binary) {
        (Some(_), Some(_)) => Err(invalid_parameter(
            "You can't specify both a binary secret value and a string secret value in the same secret.",
        )),
        (None, None) if !optional => Err(invalid_request(
            "You must provide either SecretString or SecretBinary.",
        )),
        (None, None) => Ok(false),
        (Some(s), None) if s.len() > 65536 => Err(invalid_parameter(
            "SecretString must be no longer than 65536 characters.",
        )),
        _ => Ok(true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_ids_name_full_and_partial_arns() {
        assert_eq!(candidates("db/pass"), vec![("db/pass".into(), None)]);
        let full = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db/pass-AbC123";
        assert_eq!(
            candidates(full),
            vec![
                ("db/pass".into(), Some(full.to_string())),
                ("db/pass-AbC123".into(), None)
            ]
        );
        let partial = "arn:aws:secretsmanager:us-east-1:000000000000:secret:db/pass";
        assert_eq!(candidates(partial), vec![("db/pass".into(), None)]);
    }

    fn secret() -> Secret {
        Secret {
            name: "s".into(),
            ..Secret::default()
        }
    }

    #[test]
    fn current_moves_to_previous() {
        let mut s = secret();
        s.add_version("v1", Some("a".into()), None, &[AWSCURRENT.into()]);
        s.add_version("v2", Some("b".into()), None, &[AWSCURRENT.into()]);
        s.add_version("v3", Some("c".into()), None, &[AWSCURRENT.into()]);
        assert_eq!(s.versions["v3"].stages, vec![AWSCURRENT]);
        assert_eq!(s.versions["v2"].stages, vec![AWSPREVIOUS]);
        assert!(s.versions["v1"].stages.is_empty());
        s.add_version("v4", Some("d".into()), None, &[AWSPENDING.into()]);
        assert_eq!(s.version_with_stage(AWSCURRENT).unwrap().id, "v3");
        s.move_stage(AWSCURRENT, "v4");
        assert_eq!(s.versions["v4"].stages, vec![AWSPENDING, AWSCURRENT]);
        assert_eq!(s.versions["v3"].stages, vec![AWSPREVIOUS]);
    }
}
