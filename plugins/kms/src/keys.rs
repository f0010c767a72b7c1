//! KMS keys: the stored record, how a `KeyId` is resolved (key id, key ARN,
//! alias name, alias ARN), key metadata, and the key lifecycle operations
//! (CreateKey, DescribeKey, ListKeys, Enable/Disable, deletion, description).

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::store::keys as skeys;
use ministack_sdk::{encoding, ids, tasks, time};
use serde_json::{Value, json};

use crate::aliases::{ALIASES, Alias};
use crate::crypto::{self, Curve};
use crate::policy;

pub const KEYS: Table<Key> = Table::new("keys");

/// One version of a key's material (symmetric and HMAC keys rotate).
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Material {
    /// 64 hex characters (AWS's KeyMaterialId).
    pub id: String,
    /// The secret: AES/HMAC key bytes or a PKCS#8 private key, base64.
    pub secret: String,
    pub created: f64,
    /// `AUTOMATIC` / `ON_DEMAND` for materials that came from a rotation.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// Public key (SubjectPublicKeyInfo DER, base64) of asymmetric keys.
    #[serde(default)]
    pub public: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Key {
    pub key_id: String,
    pub arn: String,
    pub account: String,
    pub region: String,
    pub created: f64,
    pub description: String,
    pub key_usage: String,
    pub key_spec: String,
    pub origin: String,
    /// `CUSTOMER` or `AWS` (managed keys behind `alias/aws/*`).
    pub key_manager: String,
    /// Enabled, Disabled, PendingDeletion, PendingImport.
    pub state: String,
    #[serde(default)]
    pub deletion_date: Option<f64>,
    #[serde(default)]
    pub pending_window: Option<i64>,
    #[serde(default)]
    pub deletion_task: Option<String>,
    #[serde(default)]
    pub multi_region: bool,
    pub policy: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub rotation_enabled: bool,
    #[serde(default)]
    pub rotation_period: Option<i64>,
    #[serde(default)]
    pub next_rotation: Option<f64>,
    /// The host task that performs the next automatic rotation.
    #[serde(default)]
    pub rotation_task: Option<String>,
    /// Every material, oldest first; the last one is current.
    #[serde(default)]
    pub materials: Vec<Material>,
    /// EXTERNAL keys: expiry of imported material.
    #[serde(default)]
    pub valid_to: Option<f64>,
    #[serde(default)]
    pub expiration_model: Option<String>,
    /// EXTERNAL keys: SHA-256 of the first material imported (re-imports
    /// must bring the same material).
    #[serde(default)]
    pub imported_digest: Option<String>,
}

impl Key {
    pub fn current(&self) -> Option<&Material> {
        self.materials.last()
    }

    pub fn material(&self, id: &str) -> Option<&Material> {
        self.materials.iter().find(|m| m.id == id)
    }

    pub fn is_symmetric(&self) -> bool {
        self.key_spec == "SYMMETRIC_DEFAULT"
    }

    pub fn is_hmac(&self) -> bool {
        self.key_spec.starts_with("HMAC_")
    }

    pub fn is_rsa(&self) -> bool {
        self.key_spec.starts_with("RSA_")
    }

    pub fn curve(&self) -> Option<Curve> {
        curve_of(&self.key_spec)
    }

    /// The secret of the current material (decoded).
    pub fn secret(&self) -> Result<Vec<u8>, AwsError> {
        let m = self.current().ok_or_else(|| self.state_error())?;
        decode_secret(m)
    }

    /// Checks that the key may be used for cryptography now.
    pub fn usable(&self) -> Result<(), AwsError> {
        match self.state.as_str() {
            "Enabled" => Ok(()),
            "Disabled" => Err(AwsError::new(
                "DisabledException",
                format!("{} is disabled.", self.arn),
            )),
            _ => Err(self.state_error()),
        }
    }

    /// `KMSInvalidStateException` for the key's current state.
    pub fn state_error(&self) -> AwsError {
        let what = match self.state.as_str() {
            "PendingDeletion" => "pending deletion",
            "PendingImport" => "pending import",
            "Disabled" => "disabled",
            "Enabled" => "enabled",
            other => other,
        };
        AwsError::new(
            "KMSInvalidStateException",
            format!("{} is {what}.", self.arn),
        )
    }

    /// Refuses keys that are pending deletion (most management operations).
    pub fn not_pending_deletion(&self) -> Result<(), AwsError> {
        if self.state == "PendingDeletion" {
            return Err(self.state_error());
        }
        Ok(())
    }

    pub fn usage_error(&self, operation: &str) -> AwsError {
        AwsError::new(
            "InvalidKeyUsageException",
            format!(
                "{} key usage is {} which is not valid for {operation}.",
                self.arn, self.key_usage
            ),
        )
    }

    pub fn encryption_algorithms(&self) -> Vec<&'static str> {
        match (self.key_usage.as_str(), self.key_spec.as_str()) {
            ("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT") => vec!["SYMMETRIC_DEFAULT"],
            ("ENCRYPT_DECRYPT", s) if s.starts_with("RSA_") => {
                vec!["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]
            }
            _ => vec![],
        }
    }

    pub fn signing_algorithms(&self) -> Vec<&'static str> {
        if self.key_usage != "SIGN_VERIFY" {
            return vec![];
        }
        match self.key_spec.as_str() {
            s if s.starts_with("RSA_") => vec![
                "RSASSA_PKCS1_V1_5_SHA_256",
                "RSASSA_PKCS1_V1_5_SHA_384",
                "RSASSA_PKCS1_V1_5_SHA_512",
                "RSASSA_PSS_SHA_256",
                "RSASSA_PSS_SHA_384",
                "RSASSA_PSS_SHA_512",
            ],
            "ECC_NIST_P256" | "ECC_SECG_P256K1" => vec!["ECDSA_SHA_256"],
            "ECC_NIST_P384" => vec!["ECDSA_SHA_384"],
            "ECC_NIST_P521" => vec!["ECDSA_SHA_512"],
            "ECC_NIST_EDWARDS25519" => vec!["ED25519_SHA_512", "ED25519_PH_SHA_512"],
            _ => vec![],
        }
    }

    pub fn mac_algorithms(&self) -> Vec<&'static str> {
        match self.key_spec.as_str() {
            "HMAC_224" => vec!["HMAC_SHA_224"],
            "HMAC_256" => vec!["HMAC_SHA_256"],
            "HMAC_384" => vec!["HMAC_SHA_384"],
            "HMAC_512" => vec!["HMAC_SHA_512"],
            _ => vec![],
        }
    }

    pub fn key_agreement_algorithms(&self) -> Vec<&'static str> {
        if self.key_usage == "KEY_AGREEMENT" {
            vec!["ECDH"]
        } else {
            vec![]
        }
    }

    /// The KeyMetadata structure.
    pub fn metadata(&self) -> Value {
        let mut m = json!({
            "AWSAccountId": self.account,
            "KeyId": self.key_id,
            "Arn": self.arn,
            "CreationDate": self.created,
            "Enabled": self.state == "Enabled",
            "Description": self.description,
            "KeyUsage": self.key_usage,
            "KeyState": self.state,
            "Origin": self.origin,
            "KeyManager": self.key_manager,
            "CustomerMasterKeySpec": self.key_spec,
            "KeySpec": self.key_spec,
            "MultiRegion": self.multi_region,
        });
        let obj = m.as_object_mut().expect("object");
        let lists = [
            ("EncryptionAlgorithms", self.encryption_algorithms()),
            ("SigningAlgorithms", self.signing_algorithms()),
            ("MacAlgorithms", self.mac_algorithms()),
            ("KeyAgreementAlgorithms", self.key_agreement_algorithms()),
        ];
        for (name, list) in lists {
            if !list.is_empty() {
                obj.insert(name.into(), json!(list));
            }
        }
        if let Some(d) = self.deletion_date {
            obj.insert("DeletionDate".into(), json!(d));
        }
        if let Some(w) = self.pending_window {
            obj.insert("PendingDeletionWindowInDays".into(), json!(w));
        }
        if self.origin == "EXTERNAL" {
            let model = self
                .expiration_model
                .clone()
                .unwrap_or_else(|| "KEY_MATERIAL_DOES_NOT_EXPIRE".into());
            if !self.materials.is_empty() {
                obj.insert("ExpirationModel".into(), json!(model));
            }
            if let Some(v) = self.valid_to {
                obj.insert("ValidTo".into(), json!(v));
            }
        }
        if self.multi_region {
            obj.insert(
                "MultiRegionConfiguration".into(),
                json!({
                    "MultiRegionKeyType": "PRIMARY",
                    "PrimaryKey": {"Arn": self.arn, "Region": self.region},
                    "ReplicaKeys": [],
                }),
            );
        }
        if (self.is_symmetric() || self.is_hmac())
            && let Some(m) = self.current()
        {
            obj.insert("CurrentKeyMaterialId".into(), json!(m.id));
        }
        m
    }
}

pub fn decode_secret(m: &Material) -> Result<Vec<u8>, AwsError> {
    encoding::base64_decode(&m.secret)
        .ok_or_else(|| AwsError::internal("stored key material does not decode"))
}

pub fn curve_of(spec: &str) -> Option<Curve> {
    match spec {
        "ECC_NIST_P256" => Some(Curve::P256),
        "ECC_NIST_P384" => Some(Curve::P384),
        "ECC_NIST_P521" => Some(Curve::P521),
        "ECC_SECG_P256K1" => Some(Curve::Secp256k1),
        "ECC_NIST_EDWARDS25519" => Some(Curve::Ed25519),
        _ => None,
    }
}

pub fn rsa_bits(spec: &str) -> Option<usize> {
    match spec {
        "RSA_2048" => Some(2048),
        "RSA_3072" => Some(3072),
        "RSA_4096" => Some(4096),
        _ => None,
    }
}

pub fn hmac_len(spec: &str) -> Option<usize> {
    match spec {
        "HMAC_224" => Some(28),
        "HMAC_256" => Some(32),
        "HMAC_384" => Some(48),
        "HMAC_512" => Some(64),
        _ => None,
    }
}

pub fn new_material_id() -> String {
    crypto::hex(&crypto::random(crypto::MATERIAL_ID_LEN))
}

pub fn crypto_error(e: crypto::CryptoError) -> AwsError {
    match e {
        crypto::CryptoError::InvalidCiphertext => AwsError::new(
            "InvalidCiphertextException",
            "The ciphertext is invalid or was not encrypted under this key and encryption context.",
        ),
        crypto::CryptoError::BadSignature => AwsError::new(
            "KMSInvalidSignatureException",
            "The signature is not valid.",
        ),
        crypto::CryptoError::Invalid(m) => AwsError::validation(m),
    }
}

/// New material for a key spec (symmetric, HMAC or a key pair).
pub fn generate_material(spec: &str) -> Result<Material, AwsError> {
    let created = time::now();
    let (secret, public) = if spec == "SYMMETRIC_DEFAULT" {
        (crypto::random(32), None)
    } else if let Some(n) = hmac_len(spec) {
        (crypto::random(n), None)
    } else if let Some(bits) = rsa_bits(spec) {
        let (private, public) = crypto::generate_rsa(bits).map_err(crypto_error)?;
        (private, Some(public))
    } else if let Some(curve) = curve_of(spec) {
        let (private, public) = crypto::generate_ec(curve).map_err(crypto_error)?;
        (private, Some(public))
    } else {
        return Err(unsupported_spec(spec));
    };
    Ok(Material {
        id: new_material_id(),
        secret: encoding::base64_encode(&secret),
        created,
        rotation_type: None,
        public: public.map(|p| encoding::base64_encode(&p)),
    })
}

fn unsupported_spec(spec: &str) -> AwsError {
    AwsError::new(
        "UnsupportedOperationException",
        format!("KeySpec {spec} is not supported by this KMS."),
    )
}

// --- resolving KeyId ---

fn not_found(message: String) -> AwsError {
    AwsError::new("NotFoundException", message)
}

/// Resolves a KeyId (key id, key ARN, alias name or alias ARN) in the
/// caller's account and region. `alias/aws/<service>` names a managed key,
/// created on first use as AWS does.
pub fn find(ctx: &Context, key_id: &str) -> Result<Key, AwsError> {
    let id = key_id.trim();
    if id.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value '' at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    if id.starts_with("arn:") {
        let parts: Vec<&str> = id.splitn(6, ':').collect();
        if parts.len() != 6 || parts[2] != "kms" {
            return Err(not_found(format!("Invalid arn {id}")));
        }
        if parts[3] != ctx.region || parts[4] != ctx.account {
            return Err(not_found(format!("Key '{id}' does not exist")));
        }
        let resource = parts[5];
        if let Some(key) = resource.strip_prefix("key/") {
            return find_key(ctx, key);
        }
        if resource.starts_with("alias/") {
            return find_alias(ctx, resource);
        }
        return Err(not_found(format!("Invalid arn {id}")));
    }
    if id.starts_with("alias/") {
        return find_alias(ctx, id);
    }
    find_key(ctx, id)
}

fn find_key(ctx: &Context, id: &str) -> Result<Key, AwsError> {
    KEYS.get(id)?.ok_or_else(|| {
        if is_key_id(id) {
            not_found(format!(
                "Key '{}' does not exist",
                ctx.arn("kms", &format!("key/{id}"))
            ))
        } else {
            not_found(format!("Invalid keyId '{id}'"))
        }
    })
}

fn find_alias(ctx: &Context, name: &str) -> Result<Key, AwsError> {
    match ALIASES.get(name)? {
        Some(alias) => find_key(ctx, &alias.target_key_id),
        None => match name.strip_prefix("alias/aws/") {
            Some(service) if !service.is_empty() => managed_key(ctx, name, service),
            _ => Err(not_found(format!(
                "Alias {} is not found.",
                ctx.arn("kms", name)
            ))),
        },
    }
}

/// A key id as KMS makes them: a UUID, or `mrk-` and 32 hex digits.
pub fn is_key_id(id: &str) -> bool {
    let uuid = id.len() == 36
        && id.chars().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    let mrk = id
        .strip_prefix("mrk-")
        .is_some_and(|h| h.len() == 32 && h.chars().all(|c| c.is_ascii_hexdigit()));
    uuid || mrk
}

/// Creates the AWS managed key behind `alias/aws/<service>`.
fn managed_key(ctx: &Context, alias: &str, service: &str) -> Result<Key, AwsError> {
    let mut key = new_key(
        ctx,
        NewKey {
            description: format!(
                "Default key that protects my {service} data when no other key is defined"
            ),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            origin: "AWS_KMS".into(),
            policy: None,
            tags: BTreeMap::new(),
            multi_region: false,
        },
    )?;
    key.key_manager = "AWS".into();
    crate::rotation::schedule(&mut key, 365)?;
    KEYS.put(&key.key_id, &key)?;
    let now = time::now();
    ALIASES.put(
        alias,
        &Alias {
            alias_name: alias.to_string(),
            target_key_id: key.key_id.clone(),
            created: now,
            updated: now,
        },
    )?;
    Ok(key)
}

pub struct NewKey {
    pub description: String,
    pub key_usage: String,
    pub key_spec: String,
    pub origin: String,
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub multi_region: bool,
}

/// Makes and stores a key (with material unless its origin is EXTERNAL).
pub fn new_key(ctx: &Context, k: NewKey) -> Result<Key, AwsError> {
    let key_id = if k.multi_region {
        format!("mrk-{}", ids::hex(32))
    } else {
        ids::uuid()
    };
    let external = k.origin == "EXTERNAL";
    let materials = if external {
        vec![]
    } else {
        vec![generate_material(&k.key_spec)?]
    };
    let key = Key {
        arn: ctx.arn("kms", &format!("key/{key_id}")).to_string(),
        key_id,
        account: ctx.account.clone(),
        region: ctx.region.clone(),
        created: time::now(),
        description: k.description,
        key_usage: k.key_usage,
        key_spec: k.key_spec,
        origin: k.origin,
        key_manager: "CUSTOMER".into(),
        state: if external { "PendingImport" } else { "Enabled" }.into(),
        deletion_date: None,
        pending_window: None,
        deletion_task: None,
        multi_region: k.multi_region,
        policy: k
            .policy
            .unwrap_or_else(|| policy::default_policy(&ctx.account, ctx.partition())),
        tags: k.tags,
        rotation_enabled: false,
        rotation_period: None,
        next_rotation: None,
        rotation_task: None,
        materials,
        valid_to: None,
        expiration_model: None,
        imported_digest: None,
    };
    KEYS.put(&key.key_id, &key)?;
    Ok(key)
}

// --- operations ---

#[derive(Deserialize, Debug, Clone)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub tag_key: String,
    pub tag_value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyRequest {
    policy: Option<String>,
    description: Option<String>,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    multi_region: Option<bool>,
}

/// Which usages a key spec allows.
pub fn check_usage(spec: &str, usage: &str) -> Result<(), AwsError> {
    let ok = match spec {
        "SYMMETRIC_DEFAULT" => usage == "ENCRYPT_DECRYPT",
        s if s.starts_with("HMAC_") => usage == "GENERATE_VERIFY_MAC",
        s if s.starts_with("RSA_") => usage == "ENCRYPT_DECRYPT" || usage == "SIGN_VERIFY",
        "ECC_SECG_P256K1" | "ECC_NIST_EDWARDS25519" => usage == "SIGN_VERIFY",
        s if s.starts_with("ECC_NIST_P") => usage == "SIGN_VERIFY" || usage == "KEY_AGREEMENT",
        _ => return Err(unsupported_spec(spec)),
    };
    if ok {
        Ok(())
    } else {
        Err(AwsError::validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec}"
        )))
    }
}

pub fn create_key(ctx: &Context, input: CreateKeyRequest) -> Result<Value, AwsError> {
    let spec = match (&input.key_spec, &input.customer_master_key_spec) {
        (Some(_), Some(_)) => {
            return Err(AwsError::validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
            ));
        }
        (Some(s), None) | (None, Some(s)) => s.clone(),
        (None, None) => "SYMMETRIC_DEFAULT".into(),
    };
    let usage = input
        .key_usage
        .clone()
        .unwrap_or_else(|| "ENCRYPT_DECRYPT".into());
    check_usage(&spec, &usage)?;
    let origin = input.origin.clone().unwrap_or_else(|| "AWS_KMS".into());
    match origin.as_str() {
        "AWS_KMS" => {}
        "EXTERNAL" => {
            if spec != "SYMMETRIC_DEFAULT" && !spec.starts_with("HMAC_") {
                return Err(AwsError::new(
                    "UnsupportedOperationException",
                    format!(
                        "Importing key material for KeySpec {spec} is not supported by this KMS."
                    ),
                ));
            }
        }
        _ => {
            return Err(AwsError::new(
                "CustomKeyStoreNotFoundException",
                format!(
                    "Origin {origin} needs a custom key store{}; none exists.",
                    input
                        .custom_key_store_id
                        .as_deref()
                        .map(|id| format!(" ({id})"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    if input.custom_key_store_id.is_some() {
        return Err(AwsError::new(
            "CustomKeyStoreNotFoundException",
            "Custom key stores are not supported by this KMS.",
        ));
    }
    if let Some(p) = &input.policy {
        policy::check(p)?;
    }
    let tags = crate::tags::check_tags(&input.tags)?;
    let multi_region = input.multi_region.unwrap_or(false);
    let key = new_key(
        ctx,
        NewKey {
            description: input.description.unwrap_or_default(),
            key_usage: usage,
            key_spec: spec,
            origin,
            policy: input.policy,
            tags,
            multi_region,
        },
    )?;
    Ok(json!({"KeyMetadata": key.metadata()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyIdRequest {
    pub key_id: String,
}

pub fn describe_key(ctx: &Context, input: KeyIdRequest) -> Result<Value, AwsError> {
    let key = find(ctx, &input.key_id)?;
    Ok(json!({"KeyMetadata": key.metadata()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRequest {
    pub limit: Option<i64>,
    pub marker: Option<String>,
}

/// Validates Limit (1..=1000, default 100).
pub fn limit(limit: Option<i64>) -> Result<u32, AwsError> {
    match limit {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n as u32),
        Some(n) => Err(AwsError::validation(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 1000"
            }
        ))),
    }
}

pub fn invalid_marker() -> AwsError {
    AwsError::new("InvalidMarkerException", "Invalid marker")
}

pub fn list_keys(_ctx: &Context, input: ListRequest) -> Result<Value, AwsError> {
    let limit = limit(input.limit)?;
    let page = KEYS
        .page(&Scan::all(), input.marker.as_deref(), limit)
        .map_err(|_| invalid_marker())?;
    let keys: Vec<Value> = page
        .items
        .iter()
        .map(|(_, k)| json!({"KeyId": k.key_id, "KeyArn": k.arn}))
        .collect();
    Ok(paged("Keys", keys, page.next_token))
}

/// `{Name: items, Truncated, NextMarker?}`.
pub fn paged(name: &str, items: Vec<Value>, next: Option<String>) -> Value {
    let mut out = json!({name: items, "Truncated": next.is_some()});
    if let Some(n) = next {
        out["NextMarker"] = json!(n);
    }
    out
}

fn customer_key(key: &Key, operation: &str) -> Result<(), AwsError> {
    if key.key_manager == "AWS" {
        return Err(AwsError::new(
            "UnsupportedOperationException",
            format!(
                "{} is an AWS managed key; {operation} is not allowed on it.",
                key.arn
            ),
        ));
    }
    Ok(())
}

pub fn enable_key(ctx: &Context, input: KeyIdRequest) -> Result<Empty, AwsError> {
    let mut key = find(ctx, &input.key_id)?;
    customer_key(&key, "EnableKey")?;
    match key.state.as_str() {
        "Enabled" | "Disabled" => key.state = "Enabled".into(),
        _ => return Err(key.state_error()),
    }
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

pub fn disable_key(ctx: &Context, input: KeyIdRequest) -> Result<Empty, AwsError> {
    let mut key = find(ctx, &input.key_id)?;
    customer_key(&key, "DisableKey")?;
    match key.state.as_str() {
        "Enabled" | "Disabled" => key.state = "Disabled".into(),
        _ => return Err(key.state_error()),
    }
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleKeyDeletionRequest {
    key_id: String,
    pending_window_in_days: Option<i64>,
}

pub const DELETE_KEY: &str = "delete-key";

#[derive(Serialize, Deserialize)]
pub struct DeleteKeyTask {
    pub key_id: String,
}

pub fn schedule_key_deletion(
    ctx: &Context,
    input: ScheduleKeyDeletionRequest,
) -> Result<Value, AwsError> {
    let days = input.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value {}",
            if days < 7 {
                "greater than or equal to 7"
            } else {
                "less than or equal to 30"
            }
        )));
    }
    let mut key = find(ctx, &input.key_id)?;
    customer_key(&key, "ScheduleKeyDeletion")?;
    key.not_pending_deletion()?;
    let deletion = time::now() + days as f64 * 86400.0;
    key.state = "PendingDeletion".into();
    key.deletion_date = Some(deletion);
    key.pending_window = Some(days);
    key.deletion_task = Some(tasks::schedule(
        Duration::from_secs(days as u64 * 86400),
        DELETE_KEY,
        &DeleteKeyTask {
            key_id: key.key_id.clone(),
        },
    )?);
    KEYS.put(&key.key_id, &key)?;
    Ok(json!({
        "KeyId": key.arn,
        "DeletionDate": deletion,
        "KeyState": key.state,
        "PendingWindowInDays": days,
    }))
}

pub fn cancel_key_deletion(ctx: &Context, input: KeyIdRequest) -> Result<Value, AwsError> {
    let mut key = find(ctx, &input.key_id)?;
    if key.state != "PendingDeletion" {
        return Err(key.state_error());
    }
    if let Some(task) = key.deletion_task.take() {
        tasks::cancel(&task);
    }
    key.state = "Disabled".into();
    key.deletion_date = None;
    key.pending_window = None;
    KEYS.put(&key.key_id, &key)?;
    Ok(json!({"KeyId": key.arn}))
}

/// The end of a deletion window: the key, its aliases and grants go.
pub fn delete_key_task(_ctx: &Context, task: DeleteKeyTask) -> Result<(), AwsError> {
    let Some(key) = KEYS.get(&task.key_id)? else {
        return Ok(());
    };
    if key.state != "PendingDeletion" {
        return Ok(());
    }
    if let Some(task) = &key.rotation_task {
        tasks::cancel(task);
    }
    KEYS.delete(&key.key_id);
    for (name, alias) in ALIASES.scan(&Scan::all())? {
        if alias.target_key_id == key.key_id {
            ALIASES.delete(&name);
        }
    }
    crate::grants::GRANTS.delete_range(&Scan::prefix(skeys::prefix(&[&key.key_id])));
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateKeyDescriptionRequest {
    key_id: String,
    description: String,
}

pub fn update_key_description(
    ctx: &Context,
    input: UpdateKeyDescriptionRequest,
) -> Result<Empty, AwsError> {
    let mut key = find(ctx, &input.key_id)?;
    customer_key(&key, "UpdateKeyDescription")?;
    key.not_pending_deletion()?;
    key.description = input.description;
    KEYS.put(&key.key_id, &key)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids() {
        assert!(is_key_id("1234abcd-12ab-34cd-56ef-1234567890ab"));
        assert!(is_key_id("mrk-1234abcd12ab34cd56ef1234567890ab"));
        assert!(!is_key_id("nope"));
        assert!(!is_key_id("1234abcd-12ab-34cd-56ef-1234567890ag"));
    }

    #[test]
    fn usages_per_spec() {
        assert!(check_usage("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT").is_ok());
        assert!(check_usage("SYMMETRIC_DEFAULT", "SIGN_VERIFY").is_err());
        assert!(check_usage("RSA_2048", "SIGN_VERIFY").is_ok());
        assert!(check_usage("ECC_NIST_P256", "ENCRYPT_DECRYPT").is_err());
        assert!(check_usage("ECC_SECG_P256K1", "KEY_AGREEMENT").is_err());
        assert!(check_usage("HMAC_256", "GENERATE_VERIFY_MAC").is_ok());
        assert_eq!(
            check_usage("SM2", "SIGN_VERIFY").unwrap_err().code,
            "UnsupportedOperationException"
        );
    }

    #[test]
    fn limits() {
        assert_eq!(limit(None).unwrap(), 100);
        assert_eq!(limit(Some(1000)).unwrap(), 1000);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(1001)).is_err());
    }
}
