//! Replication metadata: ReplicateSecretToRegions,
//! RemoveRegionsFromReplication, StopReplicationToReplica. The status is
//! recorded on the primary secret (`InSync`); no replica secret is written
//! in the other region.

use ministack_sdk::prelude::*;
use ministack_sdk::time;

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
        secret.replication.push(ReplicaStatus {
            region,
            kms_key_id: Some(
                r.kms_key_id
                    .unwrap_or_else(|| "alias/aws/secretsmanager".into()),
            ),
            status: "InSync".to_string(),
            status_message: Some("Replication succeeded".to_string()),
            last_accessed_date: None,
        });
    }
    secret.primary_region = Some(ctx.region.clone());
    secret.last_changed = time::now();
    Ok(())
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
    let _ = input.force_overwrite_replica_secret;
    let mut secret = find(ctx, &input.secret_id)?;
    if input.add_replica_regions.is_empty() {
        return Err(invalid_parameter("AddReplicaRegions must not be empty."));
    }
    add_regions(ctx, &mut secret, input.add_replica_regions)?;
    save(&secret)?;
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
    let mut secret = find(ctx, &input.secret_id)?;
    for region in &input.remove_replica_regions {
        if !secret.replication.iter().any(|s| &s.region == region) {
            return Err(invalid_parameter(format!(
                "The secret is not replicated to region {region}."
            )));
        }
    }
    secret
        .replication
        .retain(|s| !input.remove_replica_regions.contains(&s.region));
    if secret.replication.is_empty() {
        secret.primary_region = None;
    }
    secret.last_changed = time::now();
    save(&secret)?;
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

/// Promotes a replica to a standalone secret. Secrets here are never
/// replicas (replication keeps metadata only), so a secret in its primary
/// region is refused as AWS refuses it.
pub fn stop_replication_to_replica(
    ctx: &Context,
    input: SecretIdRequest,
) -> Result<StopReplicationToReplicaResponse, AwsError> {
    let mut secret = find(ctx, &input.secret_id)?;
    match secret.primary_region.as_deref() {
        Some(p) if p != ctx.region => {
            secret.primary_region = None;
            save(&secret)?;
            Ok(StopReplicationToReplicaResponse { arn: secret.arn })
        }
        _ => Err(invalid_request(
            "This secret is not a replica secret; StopReplicationToReplica can only be called on a replica secret in its replica region.",
        )),
    }
}
