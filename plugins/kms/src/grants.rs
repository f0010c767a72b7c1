//! Grants: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant,
//! RevokeGrant. Grants are recorded and listed; like key policies they are
//! not enforced (every caller of the account may use its keys).

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, time};
use serde_json::{Value, json};

use crate::keys::{self, ListRequest};
use ministack_sdk::store::keys as skeys;

/// Grants by (key id, grant id).
pub const GRANTS: Table<Grant> = Table::new("grants");

const OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct Constraints {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Grant {
    pub key_id: String,
    pub key_arn: String,
    pub grant_id: String,
    pub token: String,
    pub name: Option<String>,
    pub created: f64,
    pub grantee: String,
    pub retiring: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    pub constraints: Option<Constraints>,
}

impl Grant {
    fn entry(&self) -> Value {
        let mut e = json!({
            "KeyId": self.key_arn,
            "GrantId": self.grant_id,
            "CreationDate": self.created,
            "GranteePrincipal": self.grantee,
            "IssuingAccount": self.issuing_account,
            "Operations": self.operations,
        });
        if let Some(n) = &self.name {
            e["Name"] = json!(n);
        }
        if let Some(r) = &self.retiring {
            e["RetiringPrincipal"] = json!(r);
        }
        if let Some(c) = &self.constraints {
            e["Constraints"] = json!(c);
        }
        e
    }
}

/// A grant token names its key and grant: `base64url(key id \0 grant id \0 random)`.
fn make_token(key_id: &str, grant_id: &str) -> String {
    let mut raw = format!("{key_id}\0{grant_id}\0").into_bytes();
    raw.extend_from_slice(&crate::crypto::random(32));
    encoding::base64url_encode(&raw)
}

fn read_token(token: &str) -> Option<(String, String)> {
    let raw = encoding::base64url_decode(token)?;
    let mut parts = raw.splitn(3, |b| *b == 0);
    let key = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let grant = String::from_utf8(parts.next()?.to_vec()).ok()?;
    parts.next()?;
    Some((key, grant))
}

fn invalid_token() -> AwsError {
    AwsError::new("InvalidGrantTokenException", "The grant token is invalid.")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateGrantRequest {
    key_id: String,
    grantee_principal: String,
    retiring_principal: Option<String>,
    operations: Vec<String>,
    constraints: Option<Constraints>,
    name: Option<String>,
    dry_run: Option<bool>,
}

pub fn create_grant(ctx: &Context, input: CreateGrantRequest) -> Result<Value, AwsError> {
    if input.operations.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    for op in &input.operations {
        if !OPERATIONS.contains(&op.as_str()) {
            return Err(AwsError::validation(format!(
                "1 validation error detected: Value '[{op}]' at 'operations' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [{}]]",
                OPERATIONS.join(", ")
            )));
        }
    }
    let key = keys::find(ctx, &input.key_id)?;
    key.not_pending_deletion()?;
    if let Some(c) = &input.constraints
        && c.encryption_context_equals.is_some()
        && c.encryption_context_subset.is_some()
    {
        return Err(AwsError::validation(
            "EncryptionContextEquals and EncryptionContextSubset cannot both be set.",
        ));
    }
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    // A grant with the same name and parameters is the same grant.
    if let Some(name) = &input.name {
        for (_, g) in GRANTS.scan(&Scan::prefix(skeys::prefix(&[&key.key_id])))? {
            if g.name.as_deref() == Some(name)
                && g.grantee == input.grantee_principal
                && g.retiring == input.retiring_principal
                && g.operations == input.operations
                && g.constraints == input.constraints
            {
                return Ok(json!({"GrantToken": g.token, "GrantId": g.grant_id}));
            }
        }
    }
    let grant_id = crate::crypto::hex(&crate::crypto::random(32));
    let token = make_token(&key.key_id, &grant_id);
    let grant = Grant {
        key_id: key.key_id.clone(),
        key_arn: key.arn.clone(),
        grant_id: grant_id.clone(),
        token: token.clone(),
        name: input.name,
        created: time::now(),
        grantee: input.grantee_principal,
        retiring: input.retiring_principal,
        issuing_account: format!("arn:{}:iam::{}:root", ctx.partition(), ctx.account),
        operations: input.operations,
        constraints: input.constraints,
    };
    GRANTS.put(&skeys::join(&[&key.key_id, &grant_id]), &grant)?;
    Ok(json!({"GrantToken": token, "GrantId": grant_id}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListGrantsRequest {
    key_id: String,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    #[serde(flatten)]
    list: ListRequest,
}

fn page_of(all: Vec<Grant>, limit: u32, marker: Option<&str>) -> Result<Value, AwsError> {
    let start = crate::index_marker(marker)?;
    let end = (start + limit as usize).min(all.len());
    let items: Vec<Value> = all[start.min(all.len())..end]
        .iter()
        .map(Grant::entry)
        .collect();
    let next = (end < all.len()).then(|| crate::index_token(end));
    Ok(keys::paged("Grants", items, next))
}

pub fn list_grants(ctx: &Context, input: ListGrantsRequest) -> Result<Value, AwsError> {
    let limit = keys::limit(input.list.limit)?;
    let key = keys::find(ctx, &input.key_id)?;
    let grants: Vec<Grant> = GRANTS
        .values(&skeys::prefix(&[&key.key_id]))?
        .into_iter()
        .filter(|g| input.grant_id.as_ref().is_none_or(|id| &g.grant_id == id))
        .filter(|g| {
            input
                .grantee_principal
                .as_ref()
                .is_none_or(|p| &g.grantee == p)
        })
        .collect();
    page_of(grants, limit, input.list.marker.as_deref())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListRetirableGrantsRequest {
    retiring_principal: String,
    #[serde(flatten)]
    list: ListRequest,
}

pub fn list_retirable_grants(
    _ctx: &Context,
    input: ListRetirableGrantsRequest,
) -> Result<Value, AwsError> {
    let limit = keys::limit(input.list.limit)?;
    let grants: Vec<Grant> = GRANTS
        .values("")?
        .into_iter()
        .filter(|g| g.retiring.as_deref() == Some(input.retiring_principal.as_str()))
        .collect();
    page_of(grants, limit, input.list.marker.as_deref())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireGrantRequest {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
    dry_run: Option<bool>,
}

pub fn retire_grant(ctx: &Context, input: RetireGrantRequest) -> Result<Empty, AwsError> {
    let row = match (&input.grant_token, &input.key_id, &input.grant_id) {
        (Some(token), _, _) => {
            let (key_id, grant_id) = read_token(token).ok_or_else(invalid_token)?;
            let row = skeys::join(&[&key_id, &grant_id]);
            match GRANTS.get(&row)? {
                Some(g) if &g.token == token => row,
                _ => return Err(invalid_token()),
            }
        }
        (None, Some(key_id), Some(grant_id)) => {
            let key = keys::find(ctx, key_id)?;
            let row = skeys::join(&[&key.key_id, grant_id]);
            if !GRANTS.contains(&row) {
                return Err(AwsError::new(
                    "NotFoundException",
                    format!("Grant ID {grant_id} not found"),
                ));
            }
            row
        }
        _ => {
            return Err(AwsError::validation(
                "Either GrantToken or both KeyId and GrantId must be specified.",
            ));
        }
    };
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    GRANTS.delete(&row);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeGrantRequest {
    key_id: String,
    grant_id: String,
    dry_run: Option<bool>,
}

pub fn revoke_grant(ctx: &Context, input: RevokeGrantRequest) -> Result<Empty, AwsError> {
    let key = keys::find(ctx, &input.key_id)?;
    let row = skeys::join(&[&key.key_id, &input.grant_id]);
    if !GRANTS.contains(&row) {
        return Err(AwsError::new(
            "InvalidGrantIdException",
            format!("Grant ID {} not found", input.grant_id),
        ));
    }
    if input.dry_run == Some(true) {
        return Err(crate::dry_run());
    }
    GRANTS.delete(&row);
    Ok(Empty {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_grant() {
        let t = make_token("k", "g");
        assert_eq!(read_token(&t), Some(("k".into(), "g".into())));
        assert_eq!(read_token("!!"), None);
    }
}
