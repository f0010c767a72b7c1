//! Multi-Region secrets: ReplicateSecretToRegions,
//! RemoveRegionsFromReplication, StopReplicationToReplica. A replica is a
//! read-only copy of the primary in another region (same name, the
//! primary's ARN with the replica's region); every change of the primary is
//! written to its replicas at once (this plugin calling itself in the
//! replica's region, `MinistackInternal*` operations no client can reach).
//! Writes to a replica are refused; StopReplicationToReplica promotes it to
//! a standalone secret.

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::secrets::SecretIdRequest;
use crate::shapes::*;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaRegion {
    region: Option<String>,
    kms_key_id: Option<String>,
}

fn looks_like_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()))
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
}

/// Adds (or refreshes) replica regions on a primary secret.
pub fn add_regions(
    ctx: &Context,
    secret: &mut Secret,
    regions: Vec<ReplicaRegion>,
    force: bool,
) -> Result<(), AwsError> {
    if secret
        .primary_region
        .as_deref()
        .is_some_and(|p| p != ctx.region)
    {
        return Err(invalid_request(
            "You can't replicate a replica secret; replicate its primary secret instead.",
        ));
    }
    for r in regions {
        let region = r
            .region
            .ok_or_else(|| invalid_parameter("A replica region must have a Region."))?;
        if !looks_like_region(&region) {
            return Err(invalid_parameter(format!("Invalid region: {region}")));
        }
        if region == ctx.region {
            return Err(invalid_parameter(
                "Invalid replica region: a secret can't be replicated to its own region.",
            ));
        }
        secret.replication.retain(|s| s.region != region);
        let kms_key_id = Some(
            r.kms_key_id
                .unwrap_or_else(|| "alias/aws/secretsmanager".into()),
        );
        secret.primary_region = Some(ctx.region.clone());
        let (status, message) = match write_replica(ctx, secret, &region, &kms_key_id, force) {
            Ok(()) => ("InSync", "Replication succeeded".to_string()),
            Err(e) if e.code == "ResourceExistsException" => (
                "Failed",
                format!(
                    "Replication failed: Secret name already exists in region {region}. Use ForceOverwriteReplicaSecret to overwrite it."
                ),
            ),
            Err(e) => ("Failed", format!("Replication failed: {}", e.message)),
        };
        secret.replication.push(ReplicaStatus {
            region,
            kms_key_id,
            status: status.to_string(),
            status_message: Some(message),
            last_accessed_date: None,
        });
    }
    secret.last_changed = time::now();
    Ok(())
}

/// The replica of `secret` in `region`.
fn replica_of(ctx: &Context, secret: &Secret, region: &str, kms_key_id: &Option<String>) -> Secret {
    let mut replica = secret.clone();
    replica.arn = secret
        .arn
        .replacen(&format!(":{}:", ctx.region), &format!(":{region}:"), 1);
    replica.replication = Vec::new();
    replica.primary_region = Some(ctx.region.clone());
    replica.kms_key_id = kms_key_id.clone();
    replica
}

fn at(ctx: &Context, region: &str) -> Target {
    Target::at("secretsmanager", &ctx.account, region)
}

/// Writes the replica in its region (`force`: over a secret of that name).
fn write_replica(
    ctx: &Context,
    secret: &Secret,
    region: &str,
    kms_key_id: &Option<String>,
    force: bool,
) -> Result<(), AwsError> {
    let replica = replica_of(ctx, secret, region, kms_key_id);
    services::call::<_, Value>(
        &at(ctx, region),
        "MinistackInternalReplicaSync",
        // The record travels as JSON text (the internal operation's shape).
        &json!({
            "Secret": serde_json::to_string(&replica).map_err(|e| AwsError::internal(e.to_string()))?,
            "ForceOverwrite": force,
        }),
    )
    .map(|_| ())
}

/// After a change of a primary: its replicas take the new state.
pub fn sync_replicas(ctx: &Context, secret: &Secret) -> Result<(), AwsError> {
    if secret.primary_region.as_deref() != Some(ctx.region.as_str()) {
        return Ok(());
    }
    for r in secret.replication.iter().filter(|r| r.status == "InSync") {
        write_replica(ctx, secret, &r.region, &r.kms_key_id, true)?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaSyncRequest {
    secret: String,
    #[serde(default)]
    force_overwrite: bool,
}

/// In the replica's region: stores the replica, unless a secret of that
/// name that is not this primary's replica is there (and no overwrite).
pub fn internal_replica_sync(_ctx: &Context, input: ReplicaSyncRequest) -> Result<Empty, AwsError> {
    let replica: Secret = serde_json::from_str(&input.secret)
        .map_err(|e| AwsError::internal(format!("replica record unreadable: {e}")))?;
    if let Some(existing) = SECRETS.get(&replica.name)?
        && existing.primary_region != replica.primary_region
        && !input.force_overwrite
    {
        return Err(AwsError::already_exists(
            "ResourceExistsException",
            format!(
                "A secret named {} already exists in this Region.",
                replica.name
            ),
        ));
    }
    SECRETS.put(&replica.name, &replica)?;
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaNameRequest {
    name: String,
    #[serde(default)]
    region: Option<String>,
}

/// In the replica's region: deletes the replica (its primary removed it).
pub fn internal_replica_drop(ctx: &Context, input: ReplicaNameRequest) -> Result<Empty, AwsError> {
    if let Some(existing) = SECRETS.get(&input.name)?
        && existing.is_replica_here(ctx)
    {
        SECRETS.delete(&input.name);
    }
    Ok(Empty::default())
}

/// In the primary's region: a replica was promoted and left.
pub fn internal_replica_detached(
    _ctx: &Context,
    input: ReplicaNameRequest,
) -> Result<Empty, AwsError> {
    if let Some(mut secret) = SECRETS.get(&input.name)? {
        secret
            .replication
            .retain(|r| Some(&r.region) != input.region.as_ref());
        if secret.replication.is_empty() {
            secret.primary_region = None;
        }
        SECRETS.put(&secret.name, &secret)?;
    }
    Ok(Empty::default())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateSecretToRegionsRequest {
    secret_id: String,
    add_replica_regions: Vec<ReplicaRegion>,
    #[serde(default)]
    force_overwrite_replica_secret: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationResponse {
    #[serde(rename = "ARN")]
    arn: String,
    replication_status: Vec<ReplicaStatus>,
}

pub fn replicate_secret_to_regions(
    ctx: &Context,
    input: ReplicateSecretToRegionsRequest,
) -> Result<ReplicationResponse, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    if input.add_replica_regions.is_empty() {
        return Err(invalid_parameter("AddReplicaRegions must not be empty."));
    }
    add_regions(
        ctx,
        &mut secret,
        input.add_replica_regions,
        input.force_overwrite_replica_secret,
    )?;
    save(ctx, &secret)?;
    Ok(ReplicationResponse {
        arn: secret.arn,
        replication_status: secret.replication,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveRegionsFromReplicationRequest {
    secret_id: String,
    remove_replica_regions: Vec<String>,
}

pub fn remove_regions_from_replication(
    ctx: &Context,
    input: RemoveRegionsFromReplicationRequest,
) -> Result<ReplicationResponse, AwsError> {
    let mut secret = find_writable(ctx, &input.secret_id)?;
    for region in &input.remove_replica_regions {
        if !secret.replication.iter().any(|s| &s.region == region) {
            return Err(invalid_parameter(format!(
                "The secret is not replicated to region {region}."
            )));
        }
    }
    for region in &input.remove_replica_regions {
        services::call::<_, Value>(
            &at(ctx, region),
            "MinistackInternalReplicaDrop",
            &json!({"Name": secret.name}),
        )?;
    }
    secret
        .replication
        .retain(|s| !input.remove_replica_regions.contains(&s.region));
    if secret.replication.is_empty() {
        secret.primary_region = None;
    }
    secret.last_changed = time::now();
    save(ctx, &secret)?;
    Ok(ReplicationResponse {
        arn: secret.arn,
        replication_status: secret.replication,
    })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StopReplicationToReplicaResponse {
    #[serde(rename = "ARN")]
    arn: String,
}

/// Promotes a replica to a standalone secret (called in the replica's
/// region); its primary stops replicating to this region.
pub fn stop_replication_to_replica(
    ctx: &Context,
    input: SecretIdRequest,
) -> Result<StopReplicationToReplicaResponse, AwsError> {
    let mut secret = find(ctx, &input.secret_id)?;
    match secret.primary_region.clone() {
        Some(p) if p != ctx.region => {
            secret.primary_region = None;
            secret.last_changed = time::now();
            SECRETS.put(&secret.name, &secret)?;
            services::call::<_, Value>(
                &at(ctx, &p),
                "MinistackInternalReplicaDetached",
                &json!({"Name": secret.name, "Region": ctx.region}),
            )?;
            Ok(StopReplicationToReplicaResponse { arn: secret.arn })
        }
        _ => Err(invalid_request(
            "This secret is not a replica secret; StopReplicationToReplica can only be called on a replica secret in its replica region.",
        )),
    }
}
