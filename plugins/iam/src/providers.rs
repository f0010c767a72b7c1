//! OpenID Connect and SAML identity providers, and virtual MFA devices.

use ministack_sdk::encoding::base64_encode;
use ministack_sdk::prelude::*;
use ministack_sdk::{rand, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::credentials::{MFA_DEVICES, MfaDevice};
use crate::entities;

const OIDC: Table<Oidc> = Table::account("oidc-providers");
const SAML: Table<Saml> = Table::account("saml-providers");

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Oidc {
    pub arn: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Saml {
    pub arn: String,
    pub metadata: String,
    pub created: f64,
    pub valid_until: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

pub fn count() -> Result<u64, AwsError> {
    Ok(OIDC.count(&Scan::all()) + SAML.count(&Scan::all()))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OidcRequest {
    #[serde(default, rename = "Url")]
    url: Option<String>,
    #[serde(default, rename = "ClientIDList")]
    client_id_list: Vec<String>,
    #[serde(default)]
    thumbprint_list: Vec<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(default)]
    open_i_d_connect_provider_arn: Option<String>,
    #[serde(default, rename = "ClientID")]
    client_id: Option<String>,
}

fn host_of(url: &str) -> String {
    url.trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

pub fn create_open_id_connect_provider(
    ctx: &Context,
    input: OidcRequest,
) -> Result<Value, AwsError> {
    let url = input.url.unwrap_or_default();
    if !url.starts_with("https://") {
        return Err(invalid_input("Invalid Open ID Connect Provider URL"));
    }
    let arn = format!(
        "arn:{}:iam::{}:oidc-provider/{}",
        ctx.partition(),
        ctx.account,
        host_of(&url)
    );
    if OIDC.contains(&arn) {
        return Err(already_exists(format!(
            "Provider with url {url} already exists."
        )));
    }
    let p = Oidc {
        arn: arn.clone(),
        url: host_of(&url),
        client_ids: input.client_id_list,
        thumbprints: input.thumbprint_list,
        created: time::now(),
        tags: input.tags.clone(),
    };
    OIDC.put(&arn, &p)?;
    Ok(json!({"OpenIDConnectProviderArn": arn, "Tags": input.tags}))
}

fn oidc(arn: &Option<String>) -> Result<Oidc, AwsError> {
    let arn = arn.clone().unwrap_or_default();
    OIDC.get(&arn)?
        .ok_or_else(|| no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}")))
}

pub fn get_open_id_connect_provider(_: &Context, input: OidcRequest) -> Result<Value, AwsError> {
    let p = oidc(&input.open_i_d_connect_provider_arn)?;
    Ok(json!({
        "Url": p.url, "ClientIDList": p.client_ids, "ThumbprintList": p.thumbprints,
        "CreateDate": p.created, "Tags": p.tags,
    }))
}

pub fn delete_open_id_connect_provider(_: &Context, input: OidcRequest) -> Result<Empty, AwsError> {
    let p = oidc(&input.open_i_d_connect_provider_arn)?;
    OIDC.delete(&p.arn);
    Ok(Empty {})
}

pub fn list_open_id_connect_providers(_: &Context, _: Empty) -> Result<Value, AwsError> {
    let list: Vec<Value> = OIDC
        .values("")?
        .into_iter()
        .map(|p| json!({"Arn": p.arn}))
        .collect();
    Ok(json!({"OpenIDConnectProviderList": list}))
}

pub fn add_client_id_to_open_id_connect_provider(
    _: &Context,
    input: OidcRequest,
) -> Result<Empty, AwsError> {
    let mut p = oidc(&input.open_i_d_connect_provider_arn)?;
    let id = input.client_id.unwrap_or_default();
    if !p.client_ids.contains(&id) {
        p.client_ids.push(id);
    }
    OIDC.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn remove_client_id_from_open_id_connect_provider(
    _: &Context,
    input: OidcRequest,
) -> Result<Empty, AwsError> {
    let mut p = oidc(&input.open_i_d_connect_provider_arn)?;
    let id = input.client_id.unwrap_or_default();
    p.client_ids.retain(|c| c != &id);
    OIDC.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn update_open_id_connect_provider_thumbprint(
    _: &Context,
    input: OidcRequest,
) -> Result<Empty, AwsError> {
    let mut p = oidc(&input.open_i_d_connect_provider_arn)?;
    p.thumbprints = input.thumbprint_list;
    OIDC.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn tag_open_id_connect_provider(_: &Context, input: OidcRequest) -> Result<Empty, AwsError> {
    let mut p = oidc(&input.open_i_d_connect_provider_arn)?;
    merge_tags(&mut p.tags, input.tags)?;
    OIDC.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn untag_open_id_connect_provider(_: &Context, input: OidcRequest) -> Result<Empty, AwsError> {
    let mut p = oidc(&input.open_i_d_connect_provider_arn)?;
    remove_tags(&mut p.tags, &input.tag_keys);
    OIDC.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn list_open_id_connect_provider_tags(
    _: &Context,
    input: OidcRequest,
) -> Result<Value, AwsError> {
    let p = oidc(&input.open_i_d_connect_provider_arn)?;
    Ok(json!({"Tags": p.tags, "IsTruncated": false}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SamlRequest {
    #[serde(default, rename = "SAMLMetadataDocument")]
    saml_metadata_document: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "SAMLProviderArn")]
    saml_provider_arn: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

pub fn create_saml_provider(ctx: &Context, input: SamlRequest) -> Result<Value, AwsError> {
    let name = input.name.unwrap_or_default();
    let mut v = ministack_sdk::validate::Validator::new();
    check_name(&mut v, "name", &name, 128);
    let metadata = input.saml_metadata_document.unwrap_or_default();
    v.length("sAMLMetadataDocument", &metadata, 1000, 10_000_000);
    v.finish(AwsError::validation_error)?;
    let arn = format!(
        "arn:{}:iam::{}:saml-provider/{name}",
        ctx.partition(),
        ctx.account
    );
    if SAML.contains(&arn) {
        return Err(already_exists(format!(
            "SAMLProvider {name} already exists"
        )));
    }
    let now = time::now();
    SAML.put(
        &arn,
        &Saml {
            arn: arn.clone(),
            metadata,
            created: now,
            valid_until: now + 100.0 * 365.0 * 86400.0,
            tags: input.tags.clone(),
        },
    )?;
    Ok(json!({"SAMLProviderArn": arn, "Tags": input.tags}))
}

fn saml(arn: &Option<String>) -> Result<Saml, AwsError> {
    let arn = arn.clone().unwrap_or_default();
    SAML.get(&arn)?
        .ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))
}

pub fn get_saml_provider(_: &Context, input: SamlRequest) -> Result<Value, AwsError> {
    let p = saml(&input.saml_provider_arn)?;
    Ok(json!({
        "SAMLMetadataDocument": p.metadata, "CreateDate": p.created,
        "ValidUntil": p.valid_until, "Tags": p.tags,
    }))
}

pub fn update_saml_provider(_: &Context, input: SamlRequest) -> Result<Value, AwsError> {
    let mut p = saml(&input.saml_provider_arn)?;
    if let Some(m) = input.saml_metadata_document {
        p.metadata = m;
    }
    SAML.put(&p.arn.clone(), &p)?;
    Ok(json!({"SAMLProviderArn": p.arn}))
}

pub fn delete_saml_provider(_: &Context, input: SamlRequest) -> Result<Empty, AwsError> {
    let p = saml(&input.saml_provider_arn)?;
    SAML.delete(&p.arn);
    Ok(Empty {})
}

pub fn tag_saml_provider(_: &Context, input: SamlRequest) -> Result<Empty, AwsError> {
    let mut p = saml(&input.saml_provider_arn)?;
    merge_tags(&mut p.tags, input.tags)?;
    SAML.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn untag_saml_provider(_: &Context, input: SamlRequest) -> Result<Empty, AwsError> {
    let mut p = saml(&input.saml_provider_arn)?;
    remove_tags(&mut p.tags, &input.tag_keys);
    SAML.put(&p.arn.clone(), &p)?;
    Ok(Empty {})
}

pub fn list_saml_provider_tags(_: &Context, input: SamlRequest) -> Result<Value, AwsError> {
    let p = saml(&input.saml_provider_arn)?;
    Ok(json!({"Tags": p.tags, "IsTruncated": false}))
}

pub fn list_saml_providers(_: &Context, _: Empty) -> Result<Value, AwsError> {
    let list: Vec<Value> = SAML
        .values("")?
        .into_iter()
        .map(|p| json!({"Arn": p.arn, "ValidUntil": p.valid_until, "CreateDate": p.created}))
        .collect();
    Ok(json!({"SAMLProviderList": list}))
}

// ---- virtual MFA devices ----

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MfaRequest {
    #[serde(default)]
    virtual_m_f_a_device_name: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    serial_number: Option<String>,
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    authentication_code1: Option<String>,
    #[serde(default)]
    authentication_code2: Option<String>,
    #[serde(default)]
    assignment_status: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn create_virtual_mfa_device(ctx: &Context, input: MfaRequest) -> Result<Value, AwsError> {
    let name = input.virtual_m_f_a_device_name.unwrap_or_default();
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = ministack_sdk::validate::Validator::new();
    check_name(&mut v, "virtualMFADeviceName", &name, 226);
    check_path(&mut v, "path", &path);
    v.finish(AwsError::validation_error)?;
    let serial = arn(ctx, "mfa", &path, &name);
    if MFA_DEVICES.contains(&serial) {
        return Err(already_exists(
            "MFADevice entity at the same path and name already exists.",
        ));
    }
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let seed: String = rand::bytes(64)
        .iter()
        .map(|b| B32[(*b as usize) % 32] as char)
        .collect();
    let d = MfaDevice {
        serial: serial.clone(),
        seed: seed.clone(),
        user: None,
        enabled: None,
        path,
        name,
        tags: input.tags.clone(),
    };
    MFA_DEVICES.put(&serial, &d)?;
    let qr = base64_encode(
        format!("otpauth://totp/{}@{}?secret={seed}", d.name, ctx.account).as_bytes(),
    );
    Ok(json!({"VirtualMFADevice": {
        "SerialNumber": serial,
        "Base32StringSeed": base64_encode(seed.as_bytes()),
        "QRCodePNG": qr,
        "Tags": input.tags,
    }}))
}

fn device(serial: &Option<String>) -> Result<MfaDevice, AwsError> {
    let s = serial.clone().unwrap_or_default();
    MFA_DEVICES
        .get(&s)?
        .ok_or_else(|| no_such_entity(format!("MFA Device with serial number {s} does not exist.")))
}

fn check_codes(a: &Option<String>, b: &Option<String>) -> Result<(), AwsError> {
    let ok = |c: &Option<String>| {
        c.as_deref()
            .is_some_and(|c| c.len() == 6 && c.chars().all(|d| d.is_ascii_digit()))
    };
    if !ok(a) || !ok(b) {
        return Err(AwsError::new(
            "InvalidAuthenticationCode",
            "Authentication code for device is not valid.",
        ));
    }
    Ok(())
}

pub fn enable_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    let user = entities::user(input.user_name.as_deref().unwrap_or_default())?;
    let mut d = device(&input.serial_number)?;
    check_codes(&input.authentication_code1, &input.authentication_code2)?;
    if d.user.is_some() {
        return Err(already_exists("MFA Device is already in use."));
    }
    d.user = Some(user.name);
    d.enabled = Some(time::now());
    MFA_DEVICES.put(&d.serial.clone(), &d)?;
    Ok(Empty {})
}

pub fn deactivate_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    let mut d = device(&input.serial_number)?;
    let user = input.user_name.unwrap_or_default();
    if !d
        .user
        .as_deref()
        .is_some_and(|u| u.eq_ignore_ascii_case(&user))
    {
        return Err(no_such_entity(format!(
            "MFA Device with serial number {} not found for user {user}.",
            d.serial
        )));
    }
    d.user = None;
    d.enabled = None;
    MFA_DEVICES.put(&d.serial.clone(), &d)?;
    Ok(Empty {})
}

pub fn resync_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    entities::user(input.user_name.as_deref().unwrap_or_default())?;
    device(&input.serial_number)?;
    check_codes(&input.authentication_code1, &input.authentication_code2).map(|_| Empty {})
}

pub fn delete_virtual_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    let d = device(&input.serial_number)?;
    if d.user.is_some() {
        return Err(delete_conflict(
            "MFA device is still in use. Deactivate it first.",
        ));
    }
    MFA_DEVICES.delete(&d.serial);
    Ok(Empty {})
}

pub fn get_mfa_device(_: &Context, input: MfaRequest) -> Result<Value, AwsError> {
    let d = device(&input.serial_number)?;
    if let Some(u) = &input.user_name
        && !d.user.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(u))
    {
        return Err(no_such_entity(format!(
            "MFA Device with serial number {} not found for user {u}.",
            d.serial
        )));
    }
    let mut out = json!({"SerialNumber": d.serial});
    if let Some(u) = &d.user {
        out["UserName"] = json!(u);
        out["EnableDate"] = json!(d.enabled);
    }
    Ok(out)
}

pub fn tag_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    let mut v = ministack_sdk::validate::Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    let mut d = device(&input.serial_number)?;
    merge_tags(&mut d.tags, input.tags)?;
    MFA_DEVICES.put(&d.serial.clone(), &d)?;
    Ok(Empty {})
}

pub fn untag_mfa_device(_: &Context, input: MfaRequest) -> Result<Empty, AwsError> {
    let mut d = device(&input.serial_number)?;
    remove_tags(&mut d.tags, &input.tag_keys);
    MFA_DEVICES.put(&d.serial.clone(), &d)?;
    Ok(Empty {})
}

pub fn list_mfa_device_tags(_: &Context, input: MfaRequest) -> Result<Value, AwsError> {
    let d = device(&input.serial_number)?;
    crate::users::tags_page(d.tags, input.marker.as_deref(), input.max_items)
}

pub fn list_mfa_devices(ctx: &Context, input: MfaRequest) -> Result<Value, AwsError> {
    let user = crate::credentials::user_or_caller(ctx, input.user_name)?
        .map(|u| u.name)
        .unwrap_or_default();
    let items = MFA_DEVICES
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, d)| {
            d.user
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(&user))
        })
        .map(|(k, d)| {
            (
                k,
                json!({"UserName": d.user, "SerialNumber": d.serial, "EnableDate": d.enabled}),
            )
        })
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("MFADevices"))
}

pub fn list_virtual_mfa_devices(_: &Context, input: MfaRequest) -> Result<Value, AwsError> {
    let status = input.assignment_status.as_deref().unwrap_or("Any");
    let mut items = Vec::new();
    for (k, d) in MFA_DEVICES.scan(&Scan::all())? {
        let assigned = d.user.is_some();
        if (status == "Assigned" && !assigned) || (status == "Unassigned" && assigned) {
            continue;
        }
        let mut v = json!({"SerialNumber": d.serial});
        if let Some(u) = &d.user
            && let Ok(user) = entities::user(u)
        {
            v["User"] = user.brief();
            v["EnableDate"] = json!(d.enabled);
        }
        if !d.tags.is_empty() {
            v["Tags"] = json!(d.tags);
        }
        items.push((k, v));
    }
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("VirtualMFADevices"))
}
