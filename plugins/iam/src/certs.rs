//! SSH public keys, server certificates, signing certificates and
//! service-specific credentials.

use ministack_sdk::encoding::{base64_decode, base64_encode};
use ministack_sdk::prelude::*;
use ministack_sdk::validate::Validator;
use ministack_sdk::{hash, ids, rand, time};
use serde_json::{Value, json};

use crate::common::*;
use crate::credentials::{self, SSH_KEYS, SshKey};
use crate::entities;

pub const SERVER_CERTS: Table<ServerCert> = Table::account("server-certificates");
pub const SIGNING_CERTS: Table<SigningCert> = Table::account("signing-certificates");
pub const SERVICE_CREDENTIALS: Table<ServiceCredential> =
    Table::account("service-specific-credentials");

fn check_status(status: &str) -> Result<(), AwsError> {
    if status != "Active" && status != "Inactive" {
        return Err(AwsError::validation_error(format!(
            "1 validation error detected: Value '{status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]"
        )));
    }
    Ok(())
}

// ---- SSH public keys ----

/// The key's MD5 fingerprint (`aa:bb:...`) when the body is an OpenSSH or
/// PEM public key.
pub fn ssh_fingerprint(body: &str) -> Option<String> {
    let body = body.trim();
    let der = if body.starts_with("-----BEGIN") {
        let inner: String = body
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        base64_decode(&inner)?
    } else {
        let mut parts = body.split_whitespace();
        let kind = parts.next()?;
        if !(kind.starts_with("ssh-") || kind.starts_with("ecdsa-")) {
            return None;
        }
        base64_decode(parts.next()?)?
    };
    if der.len() < 16 {
        return None;
    }
    let digest = hash::md5(&der);
    Some(
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SshRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default, rename = "SSHPublicKeyBody")]
    ssh_public_key_body: Option<String>,
    #[serde(default, rename = "SSHPublicKeyId")]
    ssh_public_key_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn ssh_shape(k: &SshKey, with_body: bool) -> Value {
    let mut v = json!({
        "UserName": k.user, "SSHPublicKeyId": k.id, "Status": k.status, "UploadDate": k.uploaded,
    });
    if with_body {
        v["Fingerprint"] = json!(k.fingerprint);
        v["SSHPublicKeyBody"] = json!(k.body);
    }
    v
}

pub fn upload_ssh_public_key(_: &Context, input: SshRequest) -> Result<Value, AwsError> {
    let user = entities::user(input.user_name.as_deref().unwrap_or_default())?;
    let body = input.ssh_public_key_body.unwrap_or_default();
    let fingerprint = ssh_fingerprint(&body)
        .ok_or_else(|| AwsError::new("InvalidPublicKey", "The public key is not valid."))?;
    let mine: Vec<SshKey> = SSH_KEYS
        .values("")?
        .into_iter()
        .filter(|k| k.user.eq_ignore_ascii_case(&user.name))
        .collect();
    if mine.iter().any(|k| k.fingerprint == fingerprint) {
        return Err(AwsError::new(
            "DuplicateSSHPublicKey",
            "The SSH public key is already associated with the specified IAM user.",
        ));
    }
    if mine.len() >= 5 {
        return Err(limit_exceeded(
            "Cannot exceed quota for PublicKeysPerUser: 5",
        ));
    }
    let key = SshKey {
        id: format!("APKA{}", ids::upper_alnum(16)),
        user: user.name,
        body: body.trim().to_string(),
        fingerprint,
        status: "Active".into(),
        uploaded: time::now(),
    };
    SSH_KEYS.put(&key.id, &key)?;
    Ok(json!({"SSHPublicKey": ssh_shape(&key, true)}))
}

fn ssh_key(input: &SshRequest) -> Result<SshKey, AwsError> {
    let user = entities::user(input.user_name.as_deref().unwrap_or_default())?;
    let id = input.ssh_public_key_id.clone().unwrap_or_default();
    SSH_KEYS
        .get(&id)?
        .filter(|k| k.user.eq_ignore_ascii_case(&user.name))
        .ok_or_else(|| no_such_entity(format!("The Public Key with id {id} cannot be found.")))
}

pub fn get_ssh_public_key(_: &Context, input: SshRequest) -> Result<Value, AwsError> {
    Ok(json!({"SSHPublicKey": ssh_shape(&ssh_key(&input)?, true)}))
}

pub fn update_ssh_public_key(_: &Context, input: SshRequest) -> Result<Empty, AwsError> {
    let status = input.status.clone().unwrap_or_default();
    check_status(&status)?;
    let mut k = ssh_key(&input)?;
    k.status = status;
    SSH_KEYS.put(&k.id.clone(), &k)?;
    Ok(Empty {})
}

pub fn delete_ssh_public_key(_: &Context, input: SshRequest) -> Result<Empty, AwsError> {
    let k = ssh_key(&input)?;
    SSH_KEYS.delete(&k.id);
    Ok(Empty {})
}

pub fn list_ssh_public_keys(ctx: &Context, input: SshRequest) -> Result<Value, AwsError> {
    let user = credentials::user_or_caller(ctx, input.user_name)?
        .map(|u| u.name)
        .unwrap_or_default();
    let items = SSH_KEYS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, k)| k.user.eq_ignore_ascii_case(&user))
        .map(|(id, k)| (id, ssh_shape(&k, false)))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("SSHPublicKeys"))
}

// ---- server certificates ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServerCert {
    pub name: String,
    pub path: String,
    pub id: String,
    pub arn: String,
    pub body: String,
    #[serde(default)]
    pub chain: Option<String>,
    pub uploaded: f64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl ServerCert {
    fn metadata(&self) -> Value {
        json!({
            "Path": self.path, "ServerCertificateName": self.name,
            "ServerCertificateId": self.id, "Arn": self.arn, "UploadDate": self.uploaded,
        })
    }
}

fn is_pem(text: &str, what: &str) -> bool {
    let t = text.trim();
    t.starts_with("-----BEGIN ") && t.contains(what) && t.ends_with("-----")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServerCertRequest {
    #[serde(default)]
    server_certificate_name: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    certificate_body: Option<String>,
    #[serde(default)]
    private_key: Option<String>,
    #[serde(default)]
    certificate_chain: Option<String>,
    #[serde(default)]
    new_path: Option<String>,
    #[serde(default)]
    new_server_certificate_name: Option<String>,
    #[serde(default)]
    path_prefix: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

pub fn upload_server_certificate(
    ctx: &Context,
    input: ServerCertRequest,
) -> Result<Value, AwsError> {
    let name = input.server_certificate_name.unwrap_or_default();
    let path = input.path.unwrap_or_else(|| "/".into());
    let mut v = Validator::new();
    check_name(&mut v, "serverCertificateName", &name, 128);
    check_path(&mut v, "path", &path);
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    let body = input.certificate_body.unwrap_or_default();
    if !is_pem(&body, "CERTIFICATE") {
        return Err(AwsError::new(
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ));
    }
    if !is_pem(
        input.private_key.as_deref().unwrap_or_default(),
        "PRIVATE KEY",
    ) {
        return Err(AwsError::new(
            "MalformedCertificate",
            "Unable to parse private key. Please ensure the private key is in PEM format.",
        ));
    }
    if SERVER_CERTS.contains(&key(&name)) {
        return Err(already_exists(format!(
            "The Server Certificate with name {name} already exists."
        )));
    }
    let cert = ServerCert {
        arn: arn(ctx, "server-certificate", &path, &name),
        name,
        path,
        id: format!("ASCA{}", ids::upper_alnum(17)),
        body: body.trim().to_string(),
        chain: input.certificate_chain,
        uploaded: time::now(),
        tags: input.tags,
    };
    SERVER_CERTS.put(&key(&cert.name), &cert)?;
    let mut out = json!({"ServerCertificateMetadata": cert.metadata()});
    if !cert.tags.is_empty() {
        out["Tags"] = json!(cert.tags);
    }
    Ok(out)
}

fn server_cert(name: &Option<String>) -> Result<ServerCert, AwsError> {
    let name = name.clone().unwrap_or_default();
    SERVER_CERTS.get(&key(&name))?.ok_or_else(|| {
        no_such_entity(format!(
            "The Server Certificate with name {name} cannot be found."
        ))
    })
}

pub fn get_server_certificate(_: &Context, input: ServerCertRequest) -> Result<Value, AwsError> {
    let c = server_cert(&input.server_certificate_name)?;
    let mut out = json!({"ServerCertificateMetadata": c.metadata(), "CertificateBody": c.body, "Tags": c.tags});
    if let Some(chain) = &c.chain {
        out["CertificateChain"] = json!(chain);
    }
    Ok(json!({"ServerCertificate": out}))
}

pub fn list_server_certificates(_: &Context, input: ServerCertRequest) -> Result<Value, AwsError> {
    let items = SERVER_CERTS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, c)| path_matches(&c.path, input.path_prefix.as_deref()))
        .map(|(k, c)| (k, c.metadata()))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?
        .into_json("ServerCertificateMetadataList"))
}

pub fn update_server_certificate(
    ctx: &Context,
    input: ServerCertRequest,
) -> Result<Empty, AwsError> {
    let mut c = server_cert(&input.server_certificate_name)?;
    let old = key(&c.name);
    if let Some(p) = input.new_path {
        let mut v = Validator::new();
        check_path(&mut v, "newPath", &p);
        v.finish(AwsError::validation_error)?;
        c.path = p;
    }
    if let Some(n) = input.new_server_certificate_name {
        if key(&n) != old && SERVER_CERTS.contains(&key(&n)) {
            return Err(already_exists(format!(
                "The Server Certificate with name {n} already exists."
            )));
        }
        c.name = n;
    }
    c.arn = arn(ctx, "server-certificate", &c.path, &c.name);
    SERVER_CERTS.delete(&old);
    SERVER_CERTS.put(&key(&c.name), &c)?;
    Ok(Empty {})
}

pub fn delete_server_certificate(_: &Context, input: ServerCertRequest) -> Result<Empty, AwsError> {
    let c = server_cert(&input.server_certificate_name)?;
    SERVER_CERTS.delete(&key(&c.name));
    Ok(Empty {})
}

pub fn tag_server_certificate(_: &Context, input: ServerCertRequest) -> Result<Empty, AwsError> {
    let mut v = Validator::new();
    check_tags(&mut v, &input.tags);
    v.finish(AwsError::validation_error)?;
    let mut c = server_cert(&input.server_certificate_name)?;
    merge_tags(&mut c.tags, input.tags)?;
    SERVER_CERTS.put(&key(&c.name), &c)?;
    Ok(Empty {})
}

pub fn untag_server_certificate(_: &Context, input: ServerCertRequest) -> Result<Empty, AwsError> {
    let mut c = server_cert(&input.server_certificate_name)?;
    remove_tags(&mut c.tags, &input.tag_keys);
    SERVER_CERTS.put(&key(&c.name), &c)?;
    Ok(Empty {})
}

pub fn list_server_certificate_tags(
    _: &Context,
    input: ServerCertRequest,
) -> Result<Value, AwsError> {
    let c = server_cert(&input.server_certificate_name)?;
    crate::users::tags_page(c.tags, input.marker.as_deref(), input.max_items)
}

// ---- signing certificates ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningCert {
    pub id: String,
    pub user: String,
    pub body: String,
    pub status: String,
    pub uploaded: f64,
}

impl SigningCert {
    fn shape(&self) -> Value {
        json!({
            "UserName": self.user, "CertificateId": self.id, "CertificateBody": self.body,
            "Status": self.status, "UploadDate": self.uploaded,
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SigningCertRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    certificate_body: Option<String>,
    #[serde(default)]
    certificate_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn signing_owner(ctx: &Context, name: Option<String>) -> Result<String, AwsError> {
    Ok(credentials::user_or_caller(ctx, name)?
        .map(|u| u.name)
        .unwrap_or_default())
}

pub fn user_signing_certs(user: &str) -> Result<Vec<SigningCert>, AwsError> {
    Ok(SIGNING_CERTS
        .values("")?
        .into_iter()
        .filter(|c| c.user.eq_ignore_ascii_case(user))
        .collect())
}

pub fn upload_signing_certificate(
    ctx: &Context,
    input: SigningCertRequest,
) -> Result<Value, AwsError> {
    let user = signing_owner(ctx, input.user_name)?;
    let body = input.certificate_body.unwrap_or_default();
    if !is_pem(&body, "CERTIFICATE") {
        return Err(AwsError::new(
            "MalformedCertificate",
            "Unable to parse certificate. Please ensure the certificate is in PEM format.",
        ));
    }
    let mine = user_signing_certs(&user)?;
    if mine.iter().any(|c| c.body == body.trim()) {
        return Err(AwsError::new(
            "DuplicateCertificate",
            "The certificate is already registered.",
        ));
    }
    if mine.len() >= 2 {
        return Err(limit_exceeded(
            "Cannot exceed quota for SigningCertificatesPerUser: 2",
        ));
    }
    let cert = SigningCert {
        id: ids::upper_alnum(32),
        user,
        body: body.trim().to_string(),
        status: "Active".into(),
        uploaded: time::now(),
    };
    SIGNING_CERTS.put(&cert.id, &cert)?;
    Ok(json!({"Certificate": cert.shape()}))
}

fn signing_cert(ctx: &Context, input: &SigningCertRequest) -> Result<SigningCert, AwsError> {
    let user = signing_owner(ctx, input.user_name.clone())?;
    let id = input.certificate_id.clone().unwrap_or_default();
    SIGNING_CERTS
        .get(&id)?
        .filter(|c| c.user.eq_ignore_ascii_case(&user))
        .ok_or_else(|| no_such_entity(format!("The Certificate with id {id} cannot be found.")))
}

pub fn update_signing_certificate(
    ctx: &Context,
    input: SigningCertRequest,
) -> Result<Empty, AwsError> {
    let status = input.status.clone().unwrap_or_default();
    check_status(&status)?;
    let mut c = signing_cert(ctx, &input)?;
    c.status = status;
    SIGNING_CERTS.put(&c.id.clone(), &c)?;
    Ok(Empty {})
}

pub fn delete_signing_certificate(
    ctx: &Context,
    input: SigningCertRequest,
) -> Result<Empty, AwsError> {
    let c = signing_cert(ctx, &input)?;
    SIGNING_CERTS.delete(&c.id);
    Ok(Empty {})
}

pub fn list_signing_certificates(
    ctx: &Context,
    input: SigningCertRequest,
) -> Result<Value, AwsError> {
    let user = signing_owner(ctx, input.user_name)?;
    let items = user_signing_certs(&user)?
        .into_iter()
        .map(|c| (c.id.clone(), c.shape()))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?.into_json("Certificates"))
}

// ---- service-specific credentials ----

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ServiceCredential {
    pub id: String,
    pub user: String,
    pub service: String,
    pub service_user_name: String,
    pub password: String,
    pub status: String,
    pub created: f64,
    #[serde(default)]
    pub expires: Option<f64>,
}

impl ServiceCredential {
    fn shape(&self, with_password: bool) -> Value {
        let mut v = json!({
            "UserName": self.user, "Status": self.status, "ServiceUserName": self.service_user_name,
            "CreateDate": self.created, "ServiceSpecificCredentialId": self.id,
            "ServiceName": self.service,
        });
        if let Some(e) = self.expires {
            v["ExpirationDate"] = json!(e);
        }
        if with_password {
            v["ServicePassword"] = json!(self.password);
        }
        v
    }
}

const CREDENTIAL_SERVICES: &[&str] = &[
    "codecommit.amazonaws.com",
    "cassandra.amazonaws.com",
    "bedrock.amazonaws.com",
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServiceCredentialRequest {
    #[serde(default)]
    user_name: Option<String>,
    #[serde(default)]
    service_name: Option<String>,
    #[serde(default)]
    credential_age_days: Option<i64>,
    #[serde(default)]
    service_specific_credential_id: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    all_users: Option<bool>,
    #[serde(default)]
    marker: Option<String>,
    #[serde(default)]
    max_items: Option<i64>,
}

fn new_password() -> String {
    base64_encode(&rand::bytes(33))
}

pub fn create_service_specific_credential(
    ctx: &Context,
    input: ServiceCredentialRequest,
) -> Result<Value, AwsError> {
    let user = entities::user(input.user_name.as_deref().unwrap_or_default())?;
    let service = input.service_name.unwrap_or_default();
    if !CREDENTIAL_SERVICES.contains(&service.as_str()) {
        return Err(AwsError::new(
            "NotSupportedService",
            format!("Service {service} is not supported for service-specific credentials."),
        ));
    }
    let existing = SERVICE_CREDENTIALS
        .values("")?
        .into_iter()
        .filter(|c| c.user.eq_ignore_ascii_case(&user.name) && c.service == service)
        .count();
    if existing >= 2 {
        return Err(limit_exceeded(
            "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2",
        ));
    }
    let now = time::now();
    let cred = ServiceCredential {
        id: format!("ACCA{}", ids::upper_alnum(17)),
        service_user_name: format!("{}-at-{}", user.name, ctx.account),
        user: user.name,
        service,
        password: new_password(),
        status: "Active".into(),
        created: now,
        expires: input.credential_age_days.map(|d| now + d as f64 * 86400.0),
    };
    SERVICE_CREDENTIALS.put(&cred.id, &cred)?;
    Ok(json!({"ServiceSpecificCredential": cred.shape(true)}))
}

fn service_credential(input: &ServiceCredentialRequest) -> Result<ServiceCredential, AwsError> {
    let id = input
        .service_specific_credential_id
        .clone()
        .unwrap_or_default();
    SERVICE_CREDENTIALS
        .get(&id)?
        .filter(|c| {
            input
                .user_name
                .as_deref()
                .is_none_or(|u| c.user.eq_ignore_ascii_case(u))
        })
        .ok_or_else(|| {
            no_such_entity(format!(
                "No such credential {id} exists for the specified user."
            ))
        })
}

pub fn reset_service_specific_credential(
    _: &Context,
    input: ServiceCredentialRequest,
) -> Result<Value, AwsError> {
    let mut c = service_credential(&input)?;
    c.password = new_password();
    SERVICE_CREDENTIALS.put(&c.id.clone(), &c)?;
    Ok(json!({"ServiceSpecificCredential": c.shape(true)}))
}

pub fn update_service_specific_credential(
    _: &Context,
    input: ServiceCredentialRequest,
) -> Result<Empty, AwsError> {
    let status = input.status.clone().unwrap_or_default();
    check_status(&status)?;
    let mut c = service_credential(&input)?;
    c.status = status;
    SERVICE_CREDENTIALS.put(&c.id.clone(), &c)?;
    Ok(Empty {})
}

pub fn delete_service_specific_credential(
    _: &Context,
    input: ServiceCredentialRequest,
) -> Result<Empty, AwsError> {
    let c = service_credential(&input)?;
    SERVICE_CREDENTIALS.delete(&c.id);
    Ok(Empty {})
}

pub fn list_service_specific_credentials(
    ctx: &Context,
    input: ServiceCredentialRequest,
) -> Result<Value, AwsError> {
    let user = if input.all_users == Some(true) {
        None
    } else {
        Some(signing_owner(ctx, input.user_name)?)
    };
    let items = SERVICE_CREDENTIALS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, c)| {
            user.as_deref()
                .is_none_or(|u| c.user.eq_ignore_ascii_case(u))
        })
        .filter(|(_, c)| input.service_name.as_deref().is_none_or(|s| c.service == s))
        .map(|(k, c)| (k, c.shape(false)))
        .collect();
    Ok(page(items, input.marker.as_deref(), input.max_items)?
        .into_json("ServiceSpecificCredentials"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_fingerprints() {
        let key = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDhVuBkKSuU2qGJpWZVmS3Kr4HqzzuKm5lNhHsCv8ebY4PI user@host";
        let fp = ssh_fingerprint(key).unwrap();
        assert_eq!(fp.len(), 47);
        assert!(ssh_fingerprint("not a key").is_none());
        assert!(ssh_fingerprint("ssh-rsa !!!").is_none());
    }
}
