//! AWS Key Management Service as a ministack plugin.
//!
//! Real cryptography with RustCrypto crates: symmetric keys encrypt with
//! AES-256-GCM into self-describing blobs (the key id travels in the blob, the
//! encryption context is bound as AAD); RSA and ECC keys sign, verify and (RSA)
//! encrypt; HMAC keys make and check MACs. Keys, aliases, grants, policies,
//! tags, rotation (old material keeps decrypting) and imported key material
//! live in the host's store, per account and region. Policies and grants are
//! recorded, not enforced. No custom key store can exist; CreateCustomKeyStore
//! and multi-Region replication are not implemented (the host answers 501).

use ministack_sdk::pagination;
use ministack_sdk::prelude::*;

pub mod aliases;
pub mod crypto;
pub mod grants;
pub mod import;
pub mod keys;
pub mod keystores;
pub mod ops;
pub mod policy;
mod resources;
pub mod rotation;
pub mod tags;
pub mod usage;

pub struct Kms;

impl Service for Kms {
    const NAME: &'static str = "kms";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            // keys
            .op("CreateKey", keys::create_key)
            .op("DescribeKey", keys::describe_key)
            .op("ListKeys", keys::list_keys)
            .op("EnableKey", keys::enable_key)
            .op("DisableKey", keys::disable_key)
            .op("ScheduleKeyDeletion", keys::schedule_key_deletion)
            .op("CancelKeyDeletion", keys::cancel_key_deletion)
            .op("UpdateKeyDescription", keys::update_key_description)
            .op("GetKeyLastUsage", usage::get_key_last_usage)
            // aliases
            .op("CreateAlias", aliases::create_alias)
            .op("UpdateAlias", aliases::update_alias)
            .op("DeleteAlias", aliases::delete_alias)
            .op("ListAliases", aliases::list_aliases)
            // cryptography
            .op("Encrypt", ops::encrypt)
            .op("Decrypt", ops::decrypt)
            .op("ReEncrypt", ops::re_encrypt)
            .op("GenerateDataKey", ops::generate_data_key)
            .op(
                "GenerateDataKeyWithoutPlaintext",
                ops::generate_data_key_without_plaintext,
            )
            .op("GenerateDataKeyPair", ops::generate_data_key_pair)
            .op(
                "GenerateDataKeyPairWithoutPlaintext",
                ops::generate_data_key_pair_without_plaintext,
            )
            .op("GenerateRandom", ops::generate_random)
            .op("Sign", ops::sign)
            .op("Verify", ops::verify)
            .op("GetPublicKey", ops::get_public_key)
            .op("DeriveSharedSecret", ops::derive_shared_secret)
            .op("GenerateMac", ops::generate_mac)
            .op("VerifyMac", ops::verify_mac)
            // policies and tags
            .op("GetKeyPolicy", policy::get_key_policy)
            .op("PutKeyPolicy", policy::put_key_policy)
            .op("ListKeyPolicies", policy::list_key_policies)
            .op("TagResource", tags::tag_resource)
            .op("UntagResource", tags::untag_resource)
            .op("ListResourceTags", tags::list_resource_tags)
            // rotation
            .op("EnableKeyRotation", rotation::enable_key_rotation)
            .op("DisableKeyRotation", rotation::disable_key_rotation)
            .op("GetKeyRotationStatus", rotation::get_key_rotation_status)
            .op("RotateKeyOnDemand", rotation::rotate_key_on_demand)
            .op("ListKeyRotations", rotation::list_key_rotations)
            // grants
            .op("CreateGrant", grants::create_grant)
            .op("ListGrants", grants::list_grants)
            .op("ListRetirableGrants", grants::list_retirable_grants)
            .op("RetireGrant", grants::retire_grant)
            .op("RevokeGrant", grants::revoke_grant)
            // imported key material
            .op("GetParametersForImport", import::get_parameters_for_import)
            .op("ImportKeyMaterial", import::import_key_material)
            .op(
                "DeleteImportedKeyMaterial",
                import::delete_imported_key_material,
            )
            // custom key stores (none can exist here)
            .op(
                "DescribeCustomKeyStores",
                keystores::describe_custom_key_stores,
            )
            .op("ConnectCustomKeyStore", keystores::connect_custom_key_store)
            .op(
                "DisconnectCustomKeyStore",
                keystores::disconnect_custom_key_store,
            )
            .op("DeleteCustomKeyStore", keystores::delete_custom_key_store)
            .op("UpdateCustomKeyStore", keystores::update_custom_key_store)
            .task(keys::DELETE_KEY, keys::delete_key_task)
            .task(rotation::ROTATE_KEY, rotation::rotate_key_task)
    }
}

export_plugin!(Kms);

/// `DryRunOperationException` (HTTP 412, as AWS): the request would have
/// succeeded.
pub fn dry_run() -> AwsError {
    AwsError::new(
        "DryRunOperationException",
        "The request would have succeeded, but the DryRun option is set.",
    )
    .with_status(412)
}

/// Position markers for listings held in one record (tags, grants, rotations).
pub fn index_token(position: usize) -> String {
    pagination::encode(&position.to_string())
}

pub fn index_marker(marker: Option<&str>) -> Result<usize, AwsError> {
    match marker.filter(|m| !m.is_empty()) {
        None => Ok(0),
        Some(m) => pagination::decode(m)
            .and_then(|s| s.parse().ok())
            .ok_or_else(keys::invalid_marker),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_only_modelled_operations() {
        assert_eq!(
            ministack_sdk::coverage::<Kms>().unknown,
            Vec::<String>::new()
        );
    }

    #[test]
    fn markers_round_trip() {
        assert_eq!(index_marker(Some(&index_token(7))).unwrap(), 7);
        assert_eq!(index_marker(None).unwrap(), 0);
        assert_eq!(
            index_marker(Some("garbage!")).unwrap_err().code,
            "InvalidMarkerException"
        );
    }
}
