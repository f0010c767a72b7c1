//! A user's credentials: access keys (registered with the gateway, so they
//! work as request credentials and STS GetCallerIdentity names the user),
//! login profiles, virtual MFA devices and SSH public keys.

use ministack_sdk::identity::{self, Credential};
use ministack_sdk::ids::{self, IdPrefix};
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::common::*;
use crate::entities::{self, USERS, User};

/// Access keys by key id.
pub const ACCESS_KEYS: Table<AccessKey> = Table::account("access-keys");
/// Login profiles by lowercased user name.
pub const LOGIN_PROFILES: Table<LoginProfile> = Table::account("login-profiles");
/// Virtual MFA devices by serial number.
pub const MFA_DEVICES: Table<MfaDevice> = Table::account("mfa-devices");
/// SSH public keys by key id.
pub const SSH_KEYS: Table<SshKey> = Table::account("ssh-keys");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
    /// Original user name; empty for the root user's keys.
    pub user: String,
    pub status: String,
    pub created: f64,
    #[serde(default)]
    pub last_used: Option<f64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginProfile {
    pub user: String,
    pub created: f64,
    pub password_reset_required: bool,
    /// SHA-256 of the password (ChangePassword checks the old one).
    #[serde(default)]
    pub password_sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaDevice {
    pub serial: String,
    pub seed: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub enabled: Option<f64>,
    pub path: String,
    pub name: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SshKey {
    pub id: String,
    pub user: String,
    pub body: String,
    pub fingerprint: String,
    pub status: String,
    pub uploaded: f64,
}

/// The IAM user a request signed with one of this account's keys acts as.
pub fn caller_user(ctx: &Context) -> Result<Option<User>, AwsError> {
    let Some(c) = identity::lookup(&ctx.access_key_id) else {
        return Ok(None);
    };
    if c.account != ctx.account {
        return Ok(None);
    }
    match c.arn.split_once(":user/") {
        Some((_, rest)) => USERS.get(&key(rest.rsplit('/').next().unwrap_or(rest))),
        None => Ok(None),
    }
}

/// The named user, or the calling user when no name is given (`None` for root).
pub fn user_or_caller(ctx: &Context, name: Option<String>) -> Result<Option<User>, AwsError> {
    match name {
        Some(n) => entities::user(&n).map(Some),
        None => caller_user(ctx),
    }
}

fn register(ctx: &Context, user: &User, key: &AccessKey) {
    identity::register(&Credential {
        access_key_id: key.id.clone(),
        secret_access_key: key.secret.clone(),
        account: ctx.account.clone(),
        arn: user.arn.clone(),
        user_id: user.id.clone(),
        expires: 0,
    });
}

/// Registers a user's active keys again (after a rename or a move).
pub fn reregister_keys(ctx: &Context, user: &User) -> Result<(), AwsError> {
    for k in keys_of(&user.name)? {
        if k.status == "Active" {
            register(ctx, user, &k);
        }
    }
    Ok(())
}

pub fn keys_of(user: &str) -> Result<Vec<AccessKey>, AwsError> {
    Ok(ACCESS_KEYS
        .values("")?
        .into_iter()
        .filter(|k| k.user.eq_ignore_ascii_case(user))
        .collect())
}

pub fn rename_user(old: &str, new: &str) -> Result<(), AwsError> {
    for mut k in keys_of(old)? {
        k.user = new.to_string();
        ACCESS_KEYS.put(&k.id, &k)?;
    }
    for mut d in MFA_DEVICES.values("")? {
        if d.user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(old))
        {
            d.user = Some(new.to_string());
            MFA_DEVICES.put(&d.serial.clone(), &d)?;
        }
    }
    for mut k in SSH_KEYS.values("")? {
        if k.user.eq_ignore_ascii_case(old) {
            k.user = new.to_string();
            SSH_KEYS.put(&k.id.clone(), &k)?;
        }
    }
    for mut c in crate::certs::user_signing_certs(old)? {
        c.user = new.to_string();
        crate::certs::SIGNING_CERTS.put(&c.id.clone(), &c)?;
    }
    for mut c in crate::certs::SERVICE_CREDENTIALS.values("")? {
        if c.user.eq_ignore_ascii_case(old) {
            c.user = new.to_string();
            crate::certs::SERVICE_CREDENTIALS.put(&c.id.clone(), &c)?;
        }
    }
    if let Some(mut p) = LOGIN_PROFILES.get(&key(old))? {
        LOGIN_PROFILES.delete(&key(old));
        p.user = new.to_string();
        LOGIN_PROFILES.put(&key(new), &p)?;
    }
    Ok(())
}

/// DeleteUser refuses while the user still has credentials.
pub fn check_user_deletable(user: &str) -> Result<(), AwsError> {
    if LOGIN_PROFILES.contains(&key(user)) {
        return Err(delete_conflict(
            "Cannot delete entity, must delete login profile first.",
        ));
    }
    if !keys_of(user)?.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    if MFA_DEVICES.values("")?.iter().any(|d| {
        d.user
            .as_deref()
            .is_some_and(|u| u.eq_ignore_ascii_case(user))
    }) {
        return Err(delete_conflict(
            "Cannot delete entity, must delete MFA device first.",
        ));
    }
    if SSH_KEYS
        .values("")?
        .iter()
        .any(|k| k.user.eq_ignore_ascii_case(user))
    {
        return Err(delete_conflict(
            "Cannot delete entity, must delete SSH public keys first.",
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OptionalUser {
    #[serde(default)]
    user_name: Option<String>,
}

/// A new access key id and secret. Registering a key with the gateway takes
/// effect at once, outside the request's unit; a request that conflicts runs
/// again, so both are derived from the request id: a re-run registers the
/// same key instead of leaving a working key with no IAM record behind.
fn new_key_pair(ctx: &Context) -> (String, String) {
    if ctx.request_id.is_empty() {
        return (ids::aws_id(IdPrefix::AccessKey), ids::secret_access_key());
    }
    let derive = |label: &str| {
        ministack_sdk::hash::sha256(
            format!("{label}\0{}\0{}", ctx.account, ctx.request_id).as_bytes(),
        )
    };
    const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let id: String = derive("access-key-id")[..16]
        .iter()
        .map(|b| BASE32[(*b as usize) % 32] as char)
        .collect();
    let secret = ministack_sdk::encoding::base64_encode(&derive("secret-access-key")[..30]);
    (format!("AKIA{id}"), secret)
}

/// The user a key operation is about; `None` means the root user.
fn key_owner(ctx: &Context, name: Option<String>) -> Result<Option<User>, AwsError> {
    user_or_caller(ctx, name)
}

pub fn create_access_key(ctx: &Context, input: OptionalUser) -> Result<Value, AwsError> {
    let user = key_owner(ctx, input.user_name)?;
    let owner = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    if keys_of(&owner)?.len() >= 2 {
        return Err(limit_exceeded(
            "Cannot exceed quota for AccessKeysPerUser: 2",
        ));
    }
    let (id, secret) = new_key_pair(ctx);
    let key = AccessKey {
        id,
        secret,
        user: owner,
        status: "Active".to_string(),
        created: time::now(),
        last_used: None,
    };
    ACCESS_KEYS.put(&key.id, &key)?;
    match &user {
        Some(u) => register(ctx, u, &key),
        None => identity::register(&Credential {
            access_key_id: key.id.clone(),
            secret_access_key: key.secret.clone(),
            account: ctx.account.clone(),
            arn: format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account),
            user_id: ctx.account.clone(),
            expires: 0,
        }),
    }
    let mut out = json!({
        "AccessKeyId": key.id, "Status": key.status,
        "SecretAccessKey": key.secret, "CreateDate": key.created,
    });
    if !key.user.is_empty() {
        out["UserName"] = json!(key.user);
    }
    Ok(json!({ "AccessKey": out }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyRequest {
    #[serde(default)]
    user_name: Option<String>,
    access_key_id: String,
    #[serde(default)]
    status: Option<String>,
}

fn owned_key(ctx: &Context, input: &KeyRequest) -> Result<(Option<User>, AccessKey), AwsError> {
    let user = key_owner(ctx, input.user_name.clone())?;
    let owner = user.as_ref().map(|u| u.name.as_str()).unwrap_or_default();
    let key = ACCESS_KEYS
        .get(&input.access_key_id)?
        .filter(|k| k.user.eq_ignore_ascii_case(owner))
        .ok_or_else(|| {
            no_such_entity(format!(
                "The Access Key with id {} cannot be found.",
                input.access_key_id
            ))
        })?;
    Ok((user, key))
}

pub fn delete_access_key(ctx: &Context, input: KeyRequest) -> Result<Empty, AwsError> {
    let (_, key) = owned_key(ctx, &input)?;
    ACCESS_KEYS.delete(&key.id);
    identity::revoke(&key.id);
    Ok(Empty {})
}

pub fn update_access_key(ctx: &Context, input: KeyRequest) -> Result<Empty, AwsError> {
    let status = input.status.clone().unwrap_or_default();
    if status != "Active" && status != "Inactive" {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        )));
    }
    let (user, mut key) = owned_key(ctx, &input)?;
    key.status = status;
    ACCESS_KEYS.put(&key.id, &key)?;
    match (&user, key.status.as_str()) {
        (_, "Inactive") => identity::revoke(&key.id),
        (Some(u), _) => register(ctx, u, &key),
        (None, _) => identity::register(&Credential {
            access_key_id: key.id.clone(),
            secret_access_key: key.secret.clone(),
            account: ctx.account.clone(),
            arn: format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account),
            user_id: ctx.account.clone(),
            expires: 0,
        }),
    }
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListKeysRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn list_access_keys(ctx: &Context, input: ListKeysRequest) -> Result<Value, AwsError> {
    let user = key_owner(ctx, input.user_name)?;
    let owner = user.as_ref().map(|u| u.name.clone()).unwrap_or_default();
    let items = keys_of(&owner)?
        .into_iter()
        .map(|k| {
            let mut v = json!({"AccessKeyId": k.id, "Status": k.status, "CreateDate": k.created});
            if !k.user.is_empty() {
                v["UserName"] = json!(k.user);
            }
            (k.id, v)
        })
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("AccessKeyMetadata"))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccessKeyIdInput {
    access_key_id: String,
}

pub fn get_access_key_last_used(_: &Context, input: AccessKeyIdInput) -> Result<Value, AwsError> {
    let key = ACCESS_KEYS.get(&input.access_key_id)?.ok_or_else(|| {
        AwsError::access_denied(format!(
            "The Access Key with id {} cannot be found.",
            input.access_key_id
        ))
    })?;
    let mut out = json!({"AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}});
    if let Some(t) = key.last_used {
        out["AccessKeyLastUsed"]["LastUsedDate"] = json!(t);
    }
    if !key.user.is_empty() {
        out["UserName"] = json!(key.user);
    }
    Ok(out)
}

// ---- login profiles ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LoginProfileRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    password_reset_required: Option<bool>,
}

fn profile_shape(p: &LoginProfile) -> Value {
    json!({"UserName": p.user, "CreateDate": p.created, "PasswordResetRequired": p.password_reset_required})
}

pub fn create_login_profile(ctx: &Context, input: LoginProfileRequest) -> Result<Value, AwsError> {
    let user = key_owner(ctx, input.user_name)?.ok_or_else(|| {
        AwsError::validation_error("The root user has no login profile to create.")
    })?;
    if let Some(pw) = &input.password {
        crate::account::check_password(pw)?;
    }
    if LOGIN_PROFILES.contains(&key(&user.name)) {
        return Err(already_exists(format!(
            "Login Profile for user {} already exists.",
            user.name
        )));
    }
    let p = LoginProfile {
        user: user.name.clone(),
        created: time::now(),
        password_reset_required: input.password_reset_required.unwrap_or(false),
        password_sha256: input.password.as_deref().map(password_hash),
    };
    LOGIN_PROFILES.put(&key(&user.name), &p)?;
    Ok(json!({"LoginProfile": profile_shape(&p)}))
}

fn login_profile(name: &str) -> Result<LoginProfile, AwsError> {
    entities::user(name)?;
    LOGIN_PROFILES
        .get(&key(name))?
        .ok_or_else(|| no_such_entity(format!("Login Profile for User {name} cannot be found.")))
}

pub fn get_login_profile(ctx: &Context, input: LoginProfileRequest) -> Result<Value, AwsError> {
    let name = key_owner(ctx, input.user_name)?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(json!({"LoginProfile": profile_shape(&login_profile(&name)?)}))
}

pub fn update_login_profile(ctx: &Context, input: LoginProfileRequest) -> Result<Empty, AwsError> {
    let name = key_owner(ctx, input.user_name)?
        .map(|u| u.name)
        .unwrap_or_default();
    let mut p = login_profile(&name)?;
    if let Some(pw) = &input.password {
        crate::account::check_password(pw)?;
        p.password_sha256 = Some(password_hash(pw));
    }
    if let Some(r) = input.password_reset_required {
        p.password_reset_required = r;
    }
    LOGIN_PROFILES.put(&key(&name), &p)?;
    Ok(Empty {})
}

pub fn delete_login_profile(ctx: &Context, input: LoginProfileRequest) -> Result<Empty, AwsError> {
    let name = key_owner(ctx, input.user_name)?
        .map(|u| u.name)
        .unwrap_or_default();
    login_profile(&name)?;
    LOGIN_PROFILES.delete(&key(&name));
    Ok(Empty {})
}

fn password_hash(password: &str) -> String {
    ministack_sdk::hash::sha256_hex(password.as_bytes())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangePasswordRequest {
    old_password: String,
    new_password: String,
}

/// ChangePassword: the calling IAM user changes its own console password.
pub fn change_password(ctx: &Context, input: ChangePasswordRequest) -> Result<Empty, AwsError> {
    let user = caller_user(ctx)?.ok_or_else(|| {
        AwsError::new(
            "InvalidUserType",
            "Only IAM Users can change their own password.",
        )
    })?;
    let mut p = login_profile(&user.name)?;
    if p.password_sha256
        .as_deref()
        .is_some_and(|h| h != password_hash(&input.old_password))
    {
        return Err(AwsError::access_denied("The old password is incorrect."));
    }
    crate::account::check_password(&input.new_password)?;
    p.password_sha256 = Some(password_hash(&input.new_password));
    p.password_reset_required = false;
    LOGIN_PROFILES.put(&key(&user.name), &p)?;
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_pairs_follow_the_request() {
        let mut ctx = Context::for_test("123456789012", "us-east-1");
        let (id, secret) = new_key_pair(&ctx);
        assert_eq!((id.len(), secret.len()), (20, 40));
        assert!(id.starts_with("AKIA"));
        assert_eq!(new_key_pair(&ctx), (id.clone(), secret));
        ctx.request_id = "another".into();
        assert_ne!(new_key_pair(&ctx).0, id);
    }
}
