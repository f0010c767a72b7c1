//! Cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey
//! (+WithoutPlaintext), GenerateDataKeyPair (+WithoutPlaintext),
//! GenerateRandom, Sign, Verify, GetPublicKey, DeriveSharedSecret,
//! GenerateMac, VerifyMac.

use std::collections::BTreeMap;

use ministack_sdk::encoding;
use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::crypto::{self, Curve, Hash, RsaSig};
use crate::keys::{self, KEYS, Key, crypto_error};
use crate::usage;

type Context_ = BTreeMap<String, String>;

fn blob_in(member: &str, value: &str) -> Result<Vec<u8>, AwsError> {
    encoding::base64_decode(value)
        .ok_or_else(|| AwsError::validation(format!("{member} is not valid base64")))
}

fn b64(bytes: &[u8]) -> String {
    encoding::base64_encode(bytes)
}

fn length(member: &str, data: &[u8], max: usize) -> Result<(), AwsError> {
    if data.is_empty() || data.len() > max {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length {}",
            if data.is_empty() {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {max}")
            }
        )));
    }
    Ok(())
}

fn invalid_ciphertext() -> AwsError {
    crypto_error(crypto::CryptoError::InvalidCiphertext)
}

fn oaep_hash(algorithm: &str) -> Option<Hash> {
    match algorithm {
        "RSAES_OAEP_SHA_1" => Some(Hash::Sha1),
        "RSAES_OAEP_SHA_256" => Some(Hash::Sha256),
        _ => None,
    }
}

fn check_encryption_algorithm(key: &Key, algorithm: &str) -> Result<(), AwsError> {
    if key.key_usage != "ENCRYPT_DECRYPT" {
        return Err(key.usage_error("this operation"));
    }
    if !key.encryption_algorithms().contains(&algorithm) {
        return Err(AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "{} key spec is {} which does not support EncryptionAlgorithm {algorithm}.",
                key.arn, key.key_spec
            ),
        ));
    }
    Ok(())
}

/// Symmetric encryption with the key's current material; returns the blob and
/// the material id.
pub fn seal(
    key: &Key,
    plaintext: &[u8],
    context: &Context_,
) -> Result<(Vec<u8>, String), AwsError> {
    let material = key.current().ok_or_else(|| key.state_error())?;
    let secret = keys::decode_secret(material)?;
    let blob = crypto::seal(&key.key_id, &material.id, &secret, plaintext, context)
        .map_err(crypto_error)?;
    Ok((blob, material.id.clone()))
}

/// Encrypts under `key` with `algorithm` (already checked usable).
fn encrypt_with(
    key: &Key,
    algorithm: &str,
    plaintext: &[u8],
    context: &Context_,
) -> Result<(Vec<u8>, Option<String>), AwsError> {
    check_encryption_algorithm(key, algorithm)?;
    if key.is_symmetric() {
        let (blob, id) = seal(key, plaintext, context)?;
        return Ok((blob, Some(id)));
    }
    if !context.is_empty() {
        return Err(AwsError::validation(
            "EncryptionContext is not supported with asymmetric KMS keys.",
        ));
    }
    let hash = oaep_hash(algorithm).expect("checked algorithm");
    let private = key.secret()?;
    let blob = crypto::rsa_encrypt(&private, hash, plaintext).map_err(crypto_error)?;
    Ok((blob, None))
}

/// Decrypts a blob: symmetric blobs name their key; RSA ciphertexts need
/// `key_id`. Returns the key, the plaintext and the material id.
pub fn decrypt_with(
    ctx: &Context,
    blob: &[u8],
    context: &Context_,
    key_id: Option<&str>,
    algorithm: &str,
) -> Result<(Key, Vec<u8>, Option<String>), AwsError> {
    let named = match key_id {
        Some(id) => Some(keys::find(ctx, id)?),
        None => None,
    };
    if algorithm != "SYMMETRIC_DEFAULT" {
        let Some(key) = named else {
            return Err(AwsError::validation(
                "KeyId is required to decrypt with an asymmetric KMS key.",
            ));
        };
        key.usable()?;
        check_encryption_algorithm(&key, algorithm)?;
        let hash = oaep_hash(algorithm).expect("checked algorithm");
        let plaintext =
            crypto::rsa_decrypt(&key.secret()?, Some(hash), blob).map_err(crypto_error)?;
        return Ok((key, plaintext, None));
    }
    if let Some(k) = &named
        && !k.is_symmetric()
    {
        return Err(AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "{} key spec is {} which does not support EncryptionAlgorithm SYMMETRIC_DEFAULT.",
                k.arn, k.key_spec
            ),
        ));
    }
    let parsed = crypto::parse_blob(blob).map_err(crypto_error)?;
    let key = KEYS.get(&parsed.key_id)?.ok_or_else(invalid_ciphertext)?;
    if let Some(k) = &named
        && k.key_id != key.key_id
    {
        return Err(AwsError::new(
            "IncorrectKeyException",
            "The key ID in the request does not identify a CMK that can perform this operation.",
        ));
    }
    key.usable()?;
    let material = key
        .material(&parsed.material_id)
        .ok_or_else(invalid_ciphertext)?;
    let secret = keys::decode_secret(material)?;
    let plaintext = crypto::open(blob, &parsed, &secret, context).map_err(crypto_error)?;
    Ok((key.clone(), plaintext, Some(parsed.material_id)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptRequest {
    key_id: String,
    plaintext: String,
    #[serde(default)]
    encryption_context: Context_,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub fn encrypt(ctx: &Context, input: EncryptRequest) -> Result<Value, AwsError> {
    let plaintext = blob_in("Plaintext", &input.plaintext)?;
    length("plaintext", &plaintext, 4096)?;
    let key = keys::find(ctx, &input.key_id)?;
    key.usable()?;
    let algorithm = input
        .encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    let (blob, _) = encrypt_with(&key, &algorithm, &plaintext, &input.encryption_context)?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    usage::record(ctx, &key, "Encrypt")?;
    Ok(json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.arn,
        "EncryptionAlgorithm": algorithm,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptRequest {
    ciphertext_blob: String,
    #[serde(default)]
    encryption_context: Context_,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub fn decrypt(ctx: &Context, input: DecryptRequest) -> Result<Value, AwsError> {
    let blob = blob_in("CiphertextBlob", &input.ciphertext_blob)?;
    length("ciphertextBlob", &blob, 6144)?;
    let algorithm = input
        .encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    let (key, plaintext, material) = decrypt_with(
        ctx,
        &blob,
        &input.encryption_context,
        input.key_id.as_deref(),
        &algorithm,
    )?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    usage::record(ctx, &key, "Decrypt")?;
    let mut out = json!({
        "KeyId": key.arn,
        "Plaintext": b64(&plaintext),
        "EncryptionAlgorithm": algorithm,
    });
    if let Some(m) = material {
        out["KeyMaterialId"] = json!(m);
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptRequest {
    ciphertext_blob: String,
    #[serde(default)]
    source_encryption_context: Context_,
    source_key_id: Option<String>,
    destination_key_id: String,
    #[serde(default)]
    destination_encryption_context: Context_,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub fn re_encrypt(ctx: &Context, input: ReEncryptRequest) -> Result<Value, AwsError> {
    let blob = blob_in("CiphertextBlob", &input.ciphertext_blob)?;
    length("ciphertextBlob", &blob, 6144)?;
    let source_alg = input
        .source_encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    let dest_alg = input
        .destination_encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
    let (source, plaintext, source_material) = decrypt_with(
        ctx,
        &blob,
        &input.source_encryption_context,
        input.source_key_id.as_deref(),
        &source_alg,
    )?;
    let dest = keys::find(ctx, &input.destination_key_id)?;
    dest.usable()?;
    let (out_blob, dest_material) = encrypt_with(
        &dest,
        &dest_alg,
        &plaintext,
        &input.destination_encryption_context,
    )?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    usage::record(ctx, &source, "ReEncrypt")?;
    usage::record(ctx, &dest, "ReEncrypt")?;
    let mut out = json!({
        "CiphertextBlob": b64(&out_blob),
        "SourceKeyId": source.arn,
        "KeyId": dest.arn,
        "SourceEncryptionAlgorithm": source_alg,
        "DestinationEncryptionAlgorithm": dest_alg,
    });
    if let Some(m) = source_material {
        out["SourceKeyMaterialId"] = json!(m);
    }
    if let Some(m) = dest_material {
        out["DestinationKeyMaterialId"] = json!(m);
    }
    Ok(out)
}

/// The symmetric encryption key that protects data keys.
fn data_key_owner(ctx: &Context, key_id: &str, operation: &str) -> Result<Key, AwsError> {
    let key = keys::find(ctx, key_id)?;
    key.usable()?;
    if !key.is_symmetric() || key.key_usage != "ENCRYPT_DECRYPT" {
        return Err(AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "{} key spec is {} which is not valid for {operation}.",
                key.arn, key.key_spec
            ),
        ));
    }
    Ok(key)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyRequest {
    key_id: String,
    #[serde(default)]
    encryption_context: Context_,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    dry_run: Option<bool>,
}

fn data_key_length(number_of_bytes: Option<i64>, spec: Option<&str>) -> Result<usize, AwsError> {
    match (number_of_bytes, spec) {
        (Some(_), Some(_)) => Err(AwsError::validation(
            "Please specify either number of bytes or key spec, not both.",
        )),
        (None, None) => Err(AwsError::validation(
            "Please specify either number of bytes or key spec.",
        )),
        (Some(n), None) if !(1..=1024).contains(&n) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 1024"
            }
        ))),
        (Some(n), None) => Ok(n as usize),
        (None, Some("AES_256")) => Ok(32),
        (None, Some("AES_128")) => Ok(16),
        (None, Some(other)) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))),
    }
}

fn data_key(
    ctx: &Context,
    input: GenerateDataKeyRequest,
    plaintext_out: bool,
) -> Result<Value, AwsError> {
    let operation = if plaintext_out {
        "GenerateDataKey"
    } else {
        "GenerateDataKeyWithoutPlaintext"
    };
    // The key's existence and usage are checked before the key spec.
    let key = data_key_owner(ctx, &input.key_id, operation)?;
    let n = data_key_length(input.number_of_bytes, input.key_spec.as_deref())?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    let plaintext = crypto::random(n);
    let (blob, material) = seal(&key, &plaintext, &input.encryption_context)?;
    usage::record(ctx, &key, operation)?;
    let mut out = json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": key.arn,
        "KeyMaterialId": material,
    });
    if plaintext_out {
        out["Plaintext"] = json!(b64(&plaintext));
    }
    Ok(out)
}

pub fn generate_data_key(ctx: &Context, input: GenerateDataKeyRequest) -> Result<Value, AwsError> {
    data_key(ctx, input, true)
}

pub fn generate_data_key_without_plaintext(
    ctx: &Context,
    input: GenerateDataKeyRequest,
) -> Result<Value, AwsError> {
    data_key(ctx, input, false)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairRequest {
    key_id: String,
    key_pair_spec: String,
    #[serde(default)]
    encryption_context: Context_,
    dry_run: Option<bool>,
}

fn data_key_pair(
    ctx: &Context,
    input: GenerateDataKeyPairRequest,
    plaintext_out: bool,
) -> Result<Value, AwsError> {
    let operation = if plaintext_out {
        "GenerateDataKeyPair"
    } else {
        "GenerateDataKeyPairWithoutPlaintext"
    };
    let spec = input.key_pair_spec.as_str();
    // The key is found and checked before the requested pair spec.
    let key = data_key_owner(ctx, &input.key_id, operation)?;
    if keys::rsa_bits(spec).is_none() && keys::curve_of(spec).is_none() {
        return Err(AwsError::new(
            "UnsupportedOperationException",
            format!("KeyPairSpec {spec} is not supported by this KMS."),
        ));
    }
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    let (private, public) = match (keys::rsa_bits(spec), keys::curve_of(spec)) {
        (Some(bits), _) => crypto::generate_rsa(bits),
        (_, Some(curve)) => crypto::generate_ec(curve),
        _ => unreachable!("checked above"),
    }
    .map_err(crypto_error)?;
    let (blob, material) = seal(&key, &private, &input.encryption_context)?;
    usage::record(ctx, &key, operation)?;
    let mut out = json!({
        "PrivateKeyCiphertextBlob": b64(&blob),
        "PublicKey": b64(&public),
        "KeyId": key.arn,
        "KeyPairSpec": spec,
        "KeyMaterialId": material,
    });
    if plaintext_out {
        out["PrivateKeyPlaintext"] = json!(b64(&private));
    }
    Ok(out)
}

pub fn generate_data_key_pair(
    ctx: &Context,
    input: GenerateDataKeyPairRequest,
) -> Result<Value, AwsError> {
    data_key_pair(ctx, input, true)
}

pub fn generate_data_key_pair_without_plaintext(
    ctx: &Context,
    input: GenerateDataKeyPairRequest,
) -> Result<Value, AwsError> {
    data_key_pair(ctx, input, false)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateRandomRequest {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
}

pub fn generate_random(_ctx: &Context, input: GenerateRandomRequest) -> Result<Value, AwsError> {
    if let Some(id) = input.custom_key_store_id {
        return Err(AwsError::new(
            "CustomKeyStoreNotFoundException",
            format!("Custom key store {id} does not exist."),
        ));
    }
    let n = data_key_length(Some(input.number_of_bytes.unwrap_or(0)), None)?;
    Ok(json!({"Plaintext": b64(&crypto::random(n))}))
}

// --- signatures ---

fn signing_hash(algorithm: &str) -> Option<(Option<RsaSig>, Hash)> {
    let hash = match algorithm.rsplit('_').next()? {
        "256" => Hash::Sha256,
        "384" => Hash::Sha384,
        "512" => Hash::Sha512,
        _ => return None,
    };
    let scheme = if algorithm.starts_with("RSASSA_PSS_") {
        Some(RsaSig::Pss)
    } else if algorithm.starts_with("RSASSA_PKCS1_V1_5_") {
        Some(RsaSig::Pkcs1)
    } else if algorithm.starts_with("ECDSA_") {
        None
    } else {
        return None;
    };
    Some((scheme, hash))
}

/// Checks a Sign/Verify request and returns the key and the digest to sign.
fn signing_input(
    ctx: &Context,
    key_id: &str,
    message: &str,
    message_type: Option<&str>,
    algorithm: &str,
) -> Result<(Key, Option<RsaSig>, Hash, Vec<u8>), AwsError> {
    let message = blob_in("Message", message)?;
    length("message", &message, 4096)?;
    let key = keys::find(ctx, key_id)?;
    key.usable()?;
    if key.key_usage != "SIGN_VERIFY" {
        return Err(key.usage_error("Sign/Verify"));
    }
    if !key.signing_algorithms().contains(&algorithm) {
        return Err(AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "Algorithm {algorithm} is incompatible with key spec {}.",
                key.key_spec
            ),
        ));
    }
    // EdDSA: ED25519_SHA_512 signs the message itself (RAW only),
    // ED25519_PH_SHA_512 a SHA-512 digest of it (DIGEST only).
    if algorithm.starts_with("ED25519_") {
        let prehashed = algorithm == "ED25519_PH_SHA_512";
        let wanted = if prehashed { "DIGEST" } else { "RAW" };
        let given = message_type.unwrap_or("RAW");
        if given != wanted {
            return Err(AwsError::validation(format!(
                "The {algorithm} signing algorithm requires MessageType {wanted}, not {given}."
            )));
        }
        if prehashed && message.len() != 64 {
            return Err(AwsError::validation(format!(
                "Digest is invalid length for algorithm {algorithm}."
            )));
        }
        return Ok((key, None, Hash::Sha512, message));
    }
    let (scheme, hash) = signing_hash(algorithm).expect("known algorithm");
    let digest = match message_type.unwrap_or("RAW") {
        "RAW" => hash.digest(&message),
        "DIGEST" => {
            if message.len() != hash.output_len() {
                return Err(AwsError::validation(format!(
                    "Digest is invalid length for algorithm {algorithm}."
                )));
            }
            message
        }
        other => {
            return Err(AwsError::validation(format!(
                "MessageType {other} is not valid for algorithm {algorithm}."
            )));
        }
    };
    Ok((key, scheme, hash, digest))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignRequest {
    key_id: String,
    message: String,
    message_type: Option<String>,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

pub fn sign(ctx: &Context, input: SignRequest) -> Result<Value, AwsError> {
    let (key, scheme, hash, digest) = signing_input(
        ctx,
        &input.key_id,
        &input.message,
        input.message_type.as_deref(),
        &input.signing_algorithm,
    )?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    let private = key.secret()?;
    let prehashed = input.signing_algorithm == "ED25519_PH_SHA_512";
    let signature = match (scheme, key.curve()) {
        (Some(scheme), _) => crypto::rsa_sign(&private, scheme, hash, &digest),
        (None, Some(Curve::Ed25519)) => crypto::ed25519::sign(&private, &digest, prehashed),
        (None, Some(curve)) => crypto::ec_sign(curve, &private, &digest),
        (None, None) => unreachable!("checked algorithm"),
    }
    .map_err(crypto_error)?;
    usage::record(ctx, &key, "Sign")?;
    Ok(json!({
        "KeyId": key.arn,
        "Signature": b64(&signature),
        "SigningAlgorithm": input.signing_algorithm,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyRequest {
    key_id: String,
    message: String,
    message_type: Option<String>,
    signature: String,
    signing_algorithm: String,
    dry_run: Option<bool>,
}

pub fn verify(ctx: &Context, input: VerifyRequest) -> Result<Value, AwsError> {
    let (key, scheme, hash, digest) = signing_input(
        ctx,
        &input.key_id,
        &input.message,
        input.message_type.as_deref(),
        &input.signing_algorithm,
    )?;
    let signature = blob_in("Signature", &input.signature)?;
    length("signature", &signature, 6144)?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    let private = key.secret()?;
    let prehashed = input.signing_algorithm == "ED25519_PH_SHA_512";
    match (scheme, key.curve()) {
        (Some(scheme), _) => crypto::rsa_verify(&private, scheme, hash, &digest, &signature),
        (None, Some(Curve::Ed25519)) => {
            crypto::ed25519::verify(&private, &digest, &signature, prehashed)
        }
        (None, Some(curve)) => crypto::ec_verify(curve, &private, &digest, &signature),
        (None, None) => unreachable!("checked algorithm"),
    }
    .map_err(crypto_error)?;
    usage::record(ctx, &key, "Verify")?;
    Ok(json!({
        "KeyId": key.arn,
        "SignatureValid": true,
        "SigningAlgorithm": input.signing_algorithm,
    }))
}

pub fn get_public_key(ctx: &Context, input: keys::KeyIdRequest) -> Result<Value, AwsError> {
    let key = keys::find(ctx, &input.key_id)?;
    key.usable()?;
    let public = key
        .current()
        .and_then(|m| m.public.clone())
        .ok_or_else(|| {
            AwsError::new(
                "UnsupportedOperationException",
                format!(
                    "{} key spec is {}; it has no public key.",
                    key.arn, key.key_spec
                ),
            )
        })?;
    let mut out = json!({
        "KeyId": key.arn,
        "PublicKey": public,
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "KeyUsage": key.key_usage,
    });
    let lists = [
        ("EncryptionAlgorithms", key.encryption_algorithms()),
        ("SigningAlgorithms", key.signing_algorithms()),
        ("KeyAgreementAlgorithms", key.key_agreement_algorithms()),
    ];
    for (name, list) in lists {
        if !list.is_empty() {
            out[name] = json!(list);
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveSharedSecretRequest {
    key_id: String,
    key_agreement_algorithm: String,
    public_key: String,
    dry_run: Option<bool>,
}

pub fn derive_shared_secret(
    ctx: &Context,
    input: DeriveSharedSecretRequest,
) -> Result<Value, AwsError> {
    let peer = blob_in("PublicKey", &input.public_key)?;
    length("publicKey", &peer, 8192)?;
    let key = keys::find(ctx, &input.key_id)?;
    key.usable()?;
    if key.key_usage != "KEY_AGREEMENT" {
        return Err(key.usage_error("DeriveSharedSecret"));
    }
    if input.key_agreement_algorithm != "ECDH" {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{}' at 'keyAgreementAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [ECDH]",
            input.key_agreement_algorithm
        )));
    }
    let curve = key
        .curve()
        .ok_or_else(|| key.usage_error("DeriveSharedSecret"))?;
    let secret = crypto::ecdh(curve, &key.secret()?, &peer).map_err(crypto_error)?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    usage::record(ctx, &key, "DeriveSharedSecret")?;
    Ok(json!({
        "KeyId": key.arn,
        "SharedSecret": b64(&secret),
        "KeyAgreementAlgorithm": "ECDH",
        "KeyOrigin": key.origin,
    }))
}

// --- MACs ---

fn mac_hash(algorithm: &str) -> Option<Hash> {
    match algorithm {
        "HMAC_SHA_224" => Some(Hash::Sha224),
        "HMAC_SHA_256" => Some(Hash::Sha256),
        "HMAC_SHA_384" => Some(Hash::Sha384),
        "HMAC_SHA_512" => Some(Hash::Sha512),
        _ => None,
    }
}

fn mac_of(
    ctx: &Context,
    key_id: &str,
    message: &str,
    algorithm: &str,
) -> Result<(Key, Vec<u8>), AwsError> {
    let message = blob_in("Message", message)?;
    length("message", &message, 4096)?;
    let key = keys::find(ctx, key_id)?;
    key.usable()?;
    if key.key_usage != "GENERATE_VERIFY_MAC" {
        return Err(key.usage_error("GenerateMac/VerifyMac"));
    }
    if !key.mac_algorithms().contains(&algorithm) {
        return Err(AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "Algorithm {algorithm} is incompatible with key spec {}.",
                key.key_spec
            ),
        ));
    }
    let hash = mac_hash(algorithm).expect("known algorithm");
    let mac = crypto::hmac(hash, &key.secret()?, &message);
    Ok((key, mac))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacRequest {
    message: String,
    key_id: String,
    mac_algorithm: String,
    dry_run: Option<bool>,
}

pub fn generate_mac(ctx: &Context, input: GenerateMacRequest) -> Result<Value, AwsError> {
    let (key, mac) = mac_of(ctx, &input.key_id, &input.message, &input.mac_algorithm)?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    usage::record(ctx, &key, "GenerateMac")?;
    Ok(json!({"Mac": b64(&mac), "MacAlgorithm": input.mac_algorithm, "KeyId": key.arn}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacRequest {
    message: String,
    key_id: String,
    mac_algorithm: String,
    mac: String,
    dry_run: Option<bool>,
}

pub fn verify_mac(ctx: &Context, input: VerifyMacRequest) -> Result<Value, AwsError> {
    let (key, mac) = mac_of(ctx, &input.key_id, &input.message, &input.mac_algorithm)?;
    let given = blob_in("Mac", &input.mac)?;
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    if !crypto::mac_equal(&mac, &given) {
        return Err(AwsError::new(
            "KMSInvalidMacException",
            "The MAC is not valid for this message, key and algorithm.",
        ));
    }
    usage::record(ctx, &key, "VerifyMac")?;
    Ok(json!({"KeyId": key.arn, "MacValid": true, "MacAlgorithm": input.mac_algorithm}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_key_lengths() {
        assert_eq!(data_key_length(None, Some("AES_256")).unwrap(), 32);
        assert_eq!(data_key_length(None, Some("AES_128")).unwrap(), 16);
        assert_eq!(data_key_length(Some(64), None).unwrap(), 64);
        assert!(data_key_length(None, None).is_err());
        assert!(data_key_length(Some(1), Some("AES_256")).is_err());
        assert!(data_key_length(Some(0), None).is_err());
        assert!(data_key_length(Some(1025), None).is_err());
    }

    #[test]
    fn signing_algorithms() {
        assert_eq!(
            signing_hash("RSASSA_PSS_SHA_384"),
            Some((Some(RsaSig::Pss), Hash::Sha384))
        );
        assert_eq!(
            signing_hash("RSASSA_PKCS1_V1_5_SHA_512"),
            Some((Some(RsaSig::Pkcs1), Hash::Sha512))
        );
        assert_eq!(signing_hash("ECDSA_SHA_256"), Some((None, Hash::Sha256)));
        assert_eq!(signing_hash("SM2DSA"), None);
    }
}
