//! AWS Secrets Manager as a ministack plugin.
//!
//! Every operation of the 2017-10-17 model is implemented. A secret is one
//! record (per account and region) holding its metadata and all its versions;
//! staging labels live on the versions. Values are stored as given (not
//! encrypted); `KmsKeyId` is recorded and reported. Replicas are read-only
//! copies in other regions that follow their primary (see [`replication`]),
//! and rotation invokes the rotation function through the lambda plugin
//! (see [`rotation`]).

use ministack_sdk::prelude::*;

mod events;
mod listing;
mod password;
mod policy;
mod replication;
mod resources;
mod rotation;
mod secrets;
pub mod shapes;
mod versions;

pub struct SecretsManager;

impl Service for SecretsManager {
    const NAME: &'static str = "secretsmanager";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op(
                "CreateSecret",
                events::published("CreateSecret", secrets::create_secret),
            )
            .op("DescribeSecret", secrets::describe_secret)
            .op(
                "UpdateSecret",
                events::published("UpdateSecret", secrets::update_secret),
            )
            .op(
                "DeleteSecret",
                events::published("DeleteSecret", secrets::delete_secret),
            )
            .op(
                "RestoreSecret",
                events::published("RestoreSecret", secrets::restore_secret),
            )
            .op(
                "TagResource",
                events::published("TagResource", secrets::tag_resource),
            )
            .op(
                "UntagResource",
                events::published("UntagResource", secrets::untag_resource),
            )
            .op("GetSecretValue", versions::get_secret_value)
            .op(
                "PutSecretValue",
                events::published("PutSecretValue", versions::put_secret_value),
            )
            .op(
                "UpdateSecretVersionStage",
                events::published(
                    "UpdateSecretVersionStage",
                    versions::update_secret_version_stage,
                ),
            )
            .op("ListSecretVersionIds", versions::list_secret_version_ids)
            .op("ListSecrets", listing::list_secrets)
            .op("BatchGetSecretValue", listing::batch_get_secret_value)
            .op("GetRandomPassword", password::get_random_password)
            .op(
                "PutResourcePolicy",
                events::published("PutResourcePolicy", policy::put_resource_policy),
            )
            .op("GetResourcePolicy", policy::get_resource_policy)
            .op(
                "DeleteResourcePolicy",
                events::published("DeleteResourcePolicy", policy::delete_resource_policy),
            )
            .op("ValidateResourcePolicy", policy::validate_resource_policy)
            .op(
                "ReplicateSecretToRegions",
                events::published(
                    "ReplicateSecretToRegions",
                    replication::replicate_secret_to_regions,
                ),
            )
            .op(
                "RemoveRegionsFromReplication",
                events::published(
                    "RemoveRegionsFromReplication",
                    replication::remove_regions_from_replication,
                ),
            )
            .op(
                "StopReplicationToReplica",
                events::published(
                    "StopReplicationToReplica",
                    replication::stop_replication_to_replica,
                ),
            )
            .op(
                "RotateSecret",
                events::published("RotateSecret", rotation::rotate_secret),
            )
            .op(
                "CancelRotateSecret",
                events::published("CancelRotateSecret", rotation::cancel_rotate_secret),
            )
            // Reached only through services.call, by this plugin in the
            // region of a primary or of a replica.
            .op(
                "MinistackInternalReplicaSync",
                replication::internal_replica_sync,
            )
            .op(
                "MinistackInternalReplicaDrop",
                replication::internal_replica_drop,
            )
            .op(
                "MinistackInternalReplicaDetached",
                replication::internal_replica_detached,
            )
    }
}

export_plugin!(SecretsManager);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn implements_every_operation_of_the_model() {
        let coverage = ministack_sdk::coverage::<SecretsManager>();
        assert!(coverage.missing.is_empty(), "{:?}", coverage.missing);
        assert!(
            coverage
                .unknown
                .iter()
                .all(|op| op.starts_with("MinistackInternal")),
            "{:?}",
            coverage.unknown
        );
    }
}
