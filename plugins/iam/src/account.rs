//! The account: alias, password policy, summary, authorization details and
//! the credential report.

use ministack_sdk::encoding::base64_encode;
use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::common::*;
use crate::credentials::{self, ACCESS_KEYS, LOGIN_PROFILES, MFA_DEVICES};
use crate::entities::{self, GROUPS, POLICIES, PROFILES, ROLES, USERS};
use crate::managed;

/// `alias`, `password-policy`, `credential-report`.
const ACCOUNT: Table<Value> = Table::account("account");

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    account_alias: String,
}

pub fn create_account_alias(_: &Context, input: AliasRequest) -> Result<Empty, AwsError> {
    let a = &input.account_alias;
    let valid = (3..=63).contains(&a.len())
        && a.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !a.starts_with('-')
        && !a.ends_with('-');
    if !valid {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{a}' at 'accountAlias' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){{1,61}}[a-z0-9]$"
        )));
    }
    if ACCOUNT.get("alias")?.is_some_and(|v| v != json!(a)) {
        return Err(already_exists("The account already has an alias."));
    }
    ACCOUNT.put("alias", &json!(a))?;
    Ok(Empty {})
}

pub fn delete_account_alias(_: &Context, input: AliasRequest) -> Result<Empty, AwsError> {
    if ACCOUNT.get("alias")? != Some(json!(input.account_alias)) {
        return Err(no_such_entity(format!(
            "The account alias {} cannot be found.",
            input.account_alias
        )));
    }
    ACCOUNT.delete("alias");
    Ok(Empty {})
}

pub fn list_account_aliases(_: &Context, _: Empty) -> Result<Value, AwsError> {
    let aliases: Vec<Value> = ACCOUNT.get("alias")?.into_iter().collect();
    Ok(json!({"AccountAliases": aliases, "IsTruncated": false}))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PasswordPolicy {
    #[serde(default = "default_length")]
    pub minimum_password_length: i64,
    #[serde(default)]
    pub require_symbols: bool,
    #[serde(default)]
    pub require_numbers: bool,
    #[serde(default)]
    pub require_uppercase_characters: bool,
    #[serde(default)]
    pub require_lowercase_characters: bool,
    #[serde(default)]
    pub allow_users_to_change_password: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_password_age: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_reuse_prevention: Option<i64>,
    #[serde(default)]
    pub hard_expiry: bool,
}

fn default_length() -> i64 {
    8
}

pub fn update_account_password_policy(
    _: &Context,
    input: PasswordPolicy,
) -> Result<Empty, AwsError> {
    let mut v = ministack_sdk::validate::Validator::new();
    v.range(
        "minimumPasswordLength",
        input.minimum_password_length,
        6,
        128,
    );
    if let Some(a) = input.max_password_age {
        v.range("maxPasswordAge", a, 1, 1095);
    }
    if let Some(r) = input.password_reuse_prevention {
        v.range("passwordReusePrevention", r, 1, 24);
    }
    v.finish(AwsError::validation_error)?;
    ACCOUNT.put(
        "password-policy",
        &serde_json::to_value(&input).unwrap_or_default(),
    )?;
    Ok(Empty {})
}

fn password_policy() -> Result<Option<PasswordPolicy>, AwsError> {
    Ok(ACCOUNT
        .get("password-policy")?
        .and_then(|v| serde_json::from_value(v).ok()))
}

pub fn get_account_password_policy(ctx: &Context, _: Empty) -> Result<Value, AwsError> {
    let p = password_policy()?.ok_or_else(|| {
        no_such_entity(format!(
            "The Password Policy with domain name {} cannot be found.",
            ctx.account
        ))
    })?;
    let mut out = serde_json::to_value(&p).unwrap_or_default();
    out["ExpirePasswords"] = json!(p.max_password_age.is_some());
    Ok(json!({"PasswordPolicy": out}))
}

pub fn delete_account_password_policy(ctx: &Context, _: Empty) -> Result<Empty, AwsError> {
    if !ACCOUNT.delete("password-policy") {
        return Err(no_such_entity(format!(
            "The account policy with name {} cannot be found.",
            ctx.account
        )));
    }
    Ok(Empty {})
}

/// A new password against the account's password policy.
pub fn check_password(password: &str) -> Result<(), AwsError> {
    let policy = password_policy()?.unwrap_or(PasswordPolicy {
        minimum_password_length: 8,
        ..Default::default()
    });
    let fails = (password.chars().count() as i64) < policy.minimum_password_length
        || (policy.require_symbols && password.chars().all(|c| c.is_alphanumeric()))
        || (policy.require_numbers && !password.chars().any(|c| c.is_ascii_digit()))
        || (policy.require_uppercase_characters && !password.chars().any(|c| c.is_uppercase()))
        || (policy.require_lowercase_characters && !password.chars().any(|c| c.is_lowercase()));
    if fails {
        return Err(AwsError::new(
            "PasswordPolicyViolation",
            "Password does not conform to the account password policy.",
        ));
    }
    Ok(())
}

pub fn get_account_summary(_: &Context, _: Empty) -> Result<Value, AwsError> {
    let users = USERS.values("")?;
    let roles = ROLES.values("")?;
    let groups = GROUPS.values("")?;
    let policies = POLICIES.values("")?;
    let versions: usize = policies.iter().map(|p| p.versions.len()).sum();
    let mfa = MFA_DEVICES.values("")?;
    let root_keys = ACCESS_KEYS.values("")?.iter().any(|k| k.user.is_empty());
    let map = json!({
        "Users": users.len(), "UsersQuota": 5000,
        "Groups": groups.len(), "GroupsQuota": 300,
        "Roles": roles.len(), "RolesQuota": 1000,
        "Policies": policies.len(), "PoliciesQuota": 1500,
        "PolicyVersionsInUse": versions, "PolicyVersionsInUseQuota": 10000,
        "AttachedPoliciesPerUserQuota": 10, "AttachedPoliciesPerGroupQuota": 10,
        "AttachedPoliciesPerRoleQuota": 10, "PolicySizeQuota": 6144,
        "GroupsPerUserQuota": 10, "GroupPolicySizeQuota": 5120,
        "UserPolicySizeQuota": 2048, "RolePolicySizeQuota": 10240,
        "AccessKeysPerUserQuota": 2, "SigningCertificatesPerUserQuota": 2,
        "ServerCertificates": crate::certs::SERVER_CERTS.count(&Scan::all()), "ServerCertificatesQuota": 20,
        "InstanceProfiles": PROFILES.count(&Scan::all()), "InstanceProfilesQuota": 1000,
        "Providers": crate::providers::count()?,
        "MFADevices": mfa.len(),
        "MFADevicesInUse": mfa.iter().filter(|d| d.user.is_some()).count(),
        "AccountMFAEnabled": 0,
        "AccountAccessKeysPresent": u8::from(root_keys),
        "AccountSigningCertificatesPresent": u8::from(!crate::certs::user_signing_certs("")?.is_empty()),
        "GlobalEndpointTokenVersion": ACCOUNT.get("sts-preferences")?.and_then(|v| v.as_i64()).unwrap_or(1),
        "VersionsPerPolicyQuota": 5,
        "AssumeRolePolicySizeQuota": 2048,
        "AccountPasswordPresent": 0,
    });
    Ok(json!({"SummaryMap": map}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetailsRequest {
    #[serde(default)]
    filter: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn inline_list(inline: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    inline
        .iter()
        .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": url_encode(d)}))
        .collect()
}

pub fn get_account_authorization_details(
    _: &Context,
    input: AuthorizationDetailsRequest,
) -> Result<Value, AwsError> {
    let wants = |f: &str| input.filter.is_empty() || input.filter.iter().any(|x| x == f);
    let mut items: Vec<(String, (&str, Value))> = Vec::new();
    if wants("User") {
        for (k, u) in USERS.scan(&Scan::all())? {
            let mut v = u.brief();
            v["UserPolicyList"] = json!(inline_list(&u.inline));
            v["GroupList"] = json!(u.groups);
            v["AttachedManagedPolicies"] = json!(
                u.attached
                    .iter()
                    .map(|a| entities::attached_shape(a))
                    .collect::<Vec<_>>()
            );
            put_opt(
                &mut v,
                "PermissionsBoundary",
                permissions_boundary(&u.boundary),
            );
            v["Tags"] = json!(u.tags);
            items.push((format!("1{k}"), ("UserDetailList", v)));
        }
    }
    if wants("Group") {
        for (k, g) in GROUPS.scan(&Scan::all())? {
            let mut v = g.shape();
            v["GroupPolicyList"] = json!(inline_list(&g.inline));
            v["AttachedManagedPolicies"] = json!(
                g.attached
                    .iter()
                    .map(|a| entities::attached_shape(a))
                    .collect::<Vec<_>>()
            );
            items.push((format!("2{k}"), ("GroupDetailList", v)));
        }
    }
    if wants("Role") {
        let profiles = PROFILES.values("")?;
        for (k, r) in ROLES.scan(&Scan::all())? {
            let mut v = r.brief();
            v["RolePolicyList"] = json!(inline_list(&r.inline));
            v["AttachedManagedPolicies"] = json!(
                r.attached
                    .iter()
                    .map(|a| entities::attached_shape(a))
                    .collect::<Vec<_>>()
            );
            let mut ips = Vec::new();
            for p in profiles
                .iter()
                .filter(|p| p.roles.iter().any(|n| n.eq_ignore_ascii_case(&r.name)))
            {
                ips.push(p.shape()?);
            }
            v["InstanceProfileList"] = json!(ips);
            put_opt(
                &mut v,
                "PermissionsBoundary",
                permissions_boundary(&r.boundary),
            );
            v["Tags"] = json!(r.tags);
            v["RoleLastUsed"] = json!({});
            items.push((format!("3{k}"), ("RoleDetailList", v)));
        }
    }
    let local = wants("LocalManagedPolicy");
    let aws = wants("AWSManagedPolicy");
    let mut policies = Vec::new();
    let usages = entities::all_usage()?;
    if local {
        policies.extend(POLICIES.values("")?);
    }
    if aws {
        // AWS managed policies appear when something in the account uses them.
        for p in managed::all() {
            if usages.contains_key(&p.arn) {
                policies.push(p);
            }
        }
    }
    let none = entities::Usage::default();
    for p in policies {
        let usage = usages.get(&p.arn).unwrap_or(&none);
        let mut v = p.shape(usage);
        v["PolicyVersionList"] = json!(
            p.versions
                .iter()
                .map(|ver| p.version_shape(ver, true))
                .collect::<Vec<_>>()
        );
        items.push((
            format!("4{}{}", p.name.to_lowercase(), p.arn),
            ("Policies", v),
        ));
    }
    let listing = page(items, input.marker.as_deref(), input.max_items)?;
    let mut out = json!({
        "UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": [],
        "IsTruncated": listing.is_truncated,
    });
    for (member, v) in listing.items {
        out[member].as_array_mut().unwrap().push(v);
    }
    if let Some(m) = listing.marker {
        out["Marker"] = json!(m);
    }
    Ok(out)
}

pub fn generate_credential_report(ctx: &Context, _: Empty) -> Result<Value, AwsError> {
    let existed = ACCOUNT.contains("credential-report");
    let mut lines = vec![
        "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated".to_string(),
    ];
    let iso = |t: f64| {
        time::iso8601(t as u64)
            .replace(".000Z", "+00:00")
            .replace('Z', "+00:00")
    };
    let keys = ACCESS_KEYS.values("")?;
    let root_keys: Vec<_> = keys.iter().filter(|k| k.user.is_empty()).collect();
    let key_cols = |ks: &[&credentials::AccessKey]| -> Vec<String> {
        let mut cols = Vec::new();
        for i in 0..2 {
            match ks.get(i) {
                Some(k) => cols.extend([
                    (k.status == "Active").to_string(),
                    iso(k.created),
                    "N/A".into(),
                    "N/A".into(),
                    "N/A".into(),
                ]),
                None => cols.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(String::from)),
            }
        }
        cols
    };
    let mut root = vec![
        "<root_account>".to_string(),
        format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account),
        "N/A".into(),
        "not_supported".into(),
        "no_information".into(),
        "not_supported".into(),
        "not_supported".into(),
        "false".into(),
    ];
    root.extend(key_cols(&root_keys));
    root.extend(["false", "N/A", "false", "N/A"].map(String::from));
    lines.push(root.join(","));
    let mfa = MFA_DEVICES.values("")?;
    for u in USERS.values("")? {
        let user_keys: Vec<_> = keys
            .iter()
            .filter(|k| k.user.eq_ignore_ascii_case(&u.name))
            .collect();
        let profile = LOGIN_PROFILES.get(&key(&u.name))?;
        let mut row = vec![
            u.name.clone(),
            u.arn.clone(),
            iso(u.created),
            profile.is_some().to_string(),
            u.password_last_used
                .map(iso)
                .unwrap_or_else(|| "N/A".into()),
            profile
                .as_ref()
                .map(|p| iso(p.created))
                .unwrap_or_else(|| "N/A".into()),
            "N/A".into(),
            mfa.iter()
                .any(|d| {
                    d.user
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&u.name))
                })
                .to_string(),
        ];
        row.extend(key_cols(&user_keys));
        row.extend(["false", "N/A", "false", "N/A"].map(String::from));
        lines.push(row.join(","));
    }
    ACCOUNT.put(
        "credential-report",
        &json!({"content": lines.join("\n"), "generated": time::now()}),
    )?;
    Ok(json!({
        "State": if existed { "COMPLETE" } else { "STARTED" },
        "Description": if existed { "Report generated" } else { "No report exists. Starting a new report generation task" },
    }))
}

pub fn get_credential_report(_: &Context, _: Empty) -> Result<Value, AwsError> {
    let report = ACCOUNT.get("credential-report")?.ok_or_else(|| {
        AwsError::new(
            "ReportNotPresent",
            "Credential report not present. Generate a new report with GenerateCredentialReport.",
        )
    })?;
    Ok(json!({
        "Content": base64_encode(report["content"].as_str().unwrap_or_default().as_bytes()),
        "ReportFormat": "text/csv",
        "GeneratedTime": report["generated"],
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StsPreferencesRequest {
    global_endpoint_token_version: String,
}

pub fn set_security_token_service_preferences(
    _: &Context,
    input: StsPreferencesRequest,
) -> Result<Empty, AwsError> {
    let version = match input.global_endpoint_token_version.as_str() {
        "v1Token" => 1,
        "v2Token" => 2,
        other => {
            return Err(AwsError::validation_error(format!(
                "1 validation error detected: Value '{other}' at 'globalEndpointTokenVersion' failed to satisfy constraint: Member must satisfy enum value set: [v1Token, v2Token]"
            )));
        }
    };
    ACCOUNT.put("sts-preferences", &json!(version))?;
    Ok(Empty {})
}

/// FeatureEnabled (409) / FeatureDisabled (404), statuses from the model.
fn feature_error(code: &str, message: &str) -> AwsError {
    AwsError::new(code, message)
}

/// The issuer of the account's outbound web identity tokens.
fn issuer(ctx: &Context) -> String {
    let digest = ministack_sdk::hash::sha256_hex(ctx.account.as_bytes());
    format!("https://{}.tokens.sts.global.api.aws", &digest[..36])
}

pub fn enable_outbound_web_identity_federation(ctx: &Context, _: Empty) -> Result<Value, AwsError> {
    if ACCOUNT.contains("outbound-federation") {
        return Err(feature_error(
            "FeatureEnabled",
            "Outbound web identity federation is already enabled for this account.",
        ));
    }
    ACCOUNT.put("outbound-federation", &json!(true))?;
    Ok(json!({"IssuerIdentifier": issuer(ctx)}))
}

pub fn disable_outbound_web_identity_federation(_: &Context, _: Empty) -> Result<Empty, AwsError> {
    if !ACCOUNT.delete("outbound-federation") {
        return Err(feature_error(
            "FeatureDisabled",
            "Outbound web identity federation is disabled for this account.",
        ));
    }
    Ok(Empty {})
}

pub fn get_outbound_web_identity_federation_info(
    ctx: &Context,
    _: Empty,
) -> Result<Value, AwsError> {
    if !ACCOUNT.contains("outbound-federation") {
        return Err(feature_error(
            "FeatureDisabled",
            "Outbound web identity federation is disabled for this account.",
        ));
    }
    Ok(json!({"IssuerIdentifier": issuer(ctx), "JwtVendingEnabled": true}))
}
