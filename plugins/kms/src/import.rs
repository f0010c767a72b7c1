//! Imported key material for EXTERNAL-origin keys: GetParametersForImport,
//! ImportKeyMaterial, DeleteImportedKeyMaterial. The wrapping key is a fresh
//! RSA key pair per call; its private half stays with the import token.

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, time};
use serde_json::{Value, json};

use crate::crypto::{self, Hash};
use crate::keys::{self, KEYS, Key, Material};

/// Pending import parameters by key id.
const IMPORTS: Table<ImportParams> = Table::new("imports");

/// Import tokens are good for 24 hours, as AWS's.
const TOKEN_LIFETIME: f64 = 86400.0;

#[derive(Serialize, Deserialize)]
struct ImportParams {
    token: String,
    private: String,
    algorithm: String,
    valid_to: f64,
}

fn external(key: &Key) -> Result<(), AwsError> {
    if key.origin != "EXTERNAL" {
        return Err(AwsError::new(
            "UnsupportedOperationException",
            format!(
                "{} origin is {} which is not valid for this operation.",
                key.arn, key.origin
            ),
        ));
    }
    key.not_pending_deletion()
}

fn wrapping_hash(algorithm: &str) -> Result<Option<Hash>, AwsError> {
    match algorithm {
        "RSAES_OAEP_SHA_1" => Ok(Some(Hash::Sha1)),
        "RSAES_OAEP_SHA_256" => Ok(Some(Hash::Sha256)),
        "RSAES_PKCS1_V1_5" => Ok(None),
        other => Err(AwsError::new(
            "UnsupportedOperationException",
            format!("WrappingAlgorithm {other} is not supported by this KMS."),
        )),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersForImportRequest {
    key_id: String,
    wrapping_algorithm: String,
    wrapping_key_spec: String,
}

pub fn get_parameters_for_import(
    ctx: &Context,
    input: GetParametersForImportRequest,
) -> Result<Value, AwsError> {
    let key = keys::find(ctx, &input.key_id)?;
    external(&key)?;
    wrapping_hash(&input.wrapping_algorithm)?;
    let bits = keys::rsa_bits(&input.wrapping_key_spec).ok_or_else(|| {
        AwsError::new(
            "UnsupportedOperationException",
            format!(
                "WrappingKeySpec {} is not supported by this KMS.",
                input.wrapping_key_spec
            ),
        )
    })?;
    let (private, public) = crypto::generate_rsa(bits).map_err(keys::crypto_error)?;
    let mut token = key.key_id.as_bytes().to_vec();
    token.push(0);
    token.extend_from_slice(&crypto::random(64));
    let valid_to = time::now() + TOKEN_LIFETIME;
    let token = encoding::base64_encode(&token);
    IMPORTS.put(
        &key.key_id,
        &ImportParams {
            token: token.clone(),
            private: encoding::base64_encode(&private),
            algorithm: input.wrapping_algorithm,
            valid_to,
        },
    )?;
    Ok(json!({
        "KeyId": key.arn,
        "ImportToken": token,
        "PublicKey": encoding::base64_encode(&public),
        "ParametersValidTo": valid_to,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportKeyMaterialRequest {
    key_id: String,
    import_token: String,
    encrypted_key_material: String,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
}

pub fn import_key_material(
    ctx: &Context,
    input: ImportKeyMaterialRequest,
) -> Result<Value, AwsError> {
    let mut key = keys::find(ctx, &input.key_id)?;
    external(&key)?;
    let invalid_token = || {
        AwsError::new(
            "InvalidImportTokenException",
            "The import token is invalid or is for another KMS key.",
        )
    };
    let params = IMPORTS.get(&key.key_id)?.ok_or_else(invalid_token)?;
    if params.token != input.import_token {
        return Err(invalid_token());
    }
    if time::now() > params.valid_to {
        return Err(AwsError::new(
            "ExpiredImportTokenException",
            "The import token has expired.",
        ));
    }
    let model = input
        .expiration_model
        .clone()
        .unwrap_or_else(|| "KEY_MATERIAL_EXPIRES".into());
    match (model.as_str(), input.valid_to) {
        ("KEY_MATERIAL_EXPIRES", None) => {
            return Err(AwsError::validation(
                "ValidTo is required when ExpirationModel is KEY_MATERIAL_EXPIRES.",
            ));
        }
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", Some(_)) => {
            return Err(AwsError::validation(
                "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE.",
            ));
        }
        _ => {}
    }
    let wrapped = encoding::base64_decode(&input.encrypted_key_material)
        .ok_or_else(|| AwsError::validation("EncryptedKeyMaterial is not base64"))?;
    let private = encoding::base64_decode(&params.private)
        .ok_or_else(|| AwsError::internal("stored wrapping key does not decode"))?;
    let material = crypto::rsa_decrypt(&private, wrapping_hash(&params.algorithm)?, &wrapped)
        .map_err(keys::crypto_error)?;
    let length_ok = match keys::hmac_len(&key.key_spec) {
        Some(min) => (min..=64).contains(&material.len()),
        None => material.len() == 32,
    };
    if !length_ok {
        return Err(AwsError::new(
            "IncorrectKeyMaterialException",
            format!(
                "Key material of {} bytes is not valid for {}.",
                material.len(),
                key.key_spec
            ),
        ));
    }
    let digest = crypto::hex(&Hash::Sha256.digest(&material));
    if let Some(previous) = &key.imported_digest
        && previous != &digest
    {
        return Err(AwsError::new(
            "IncorrectKeyMaterialException",
            "The key material is not the key material that was previously imported into this KMS key.",
        ));
    }
    // The same material always gets the same id, so ciphertexts made before
    // a delete and re-import still decrypt.
    let mut seed = key.key_id.as_bytes().to_vec();
    seed.extend_from_slice(&material);
    let id = crypto::hex(&Hash::Sha256.digest(&seed));
    key.materials = vec![Material {
        id: id.clone(),
        secret: encoding::base64_encode(&material),
        created: time::now(),
        rotation_type: None,
        public: None,
    }];
    key.imported_digest = Some(digest);
    key.expiration_model = Some(model);
    key.valid_to = input.valid_to;
    if key.state == "PendingImport" {
        key.state = "Enabled".into();
    }
    KEYS.put(&key.key_id, &key)?;
    Ok(json!({"KeyId": key.arn, "KeyMaterialId": id}))
}

pub fn delete_imported_key_material(
    ctx: &Context,
    input: keys::KeyIdRequest,
) -> Result<Value, AwsError> {
    let mut key = keys::find(ctx, &input.key_id)?;
    external(&key)?;
    let id = key.current().map(|m| m.id.clone());
    key.materials.clear();
    key.valid_to = None;
    key.state = "PendingImport".into();
    KEYS.put(&key.key_id, &key)?;
    let mut out = json!({"KeyId": key.arn});
    if let Some(id) = id {
        out["KeyMaterialId"] = json!(id);
    }
    Ok(out)
}
