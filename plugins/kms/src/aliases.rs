//! Aliases: CreateAlias, UpdateAlias, DeleteAlias, ListAliases.
//!
//! Names are `alias/<name>`; `alias/aws/` is reserved for AWS managed keys,
//! which are made on first use (see [`crate::keys::find`]).

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::keys::{self, KEYS, ListRequest};

/// Aliases of the account and region, by name.
pub const ALIASES: Table<Alias> = Table::new("aliases");

#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct Alias {
    pub alias_name: String,
    pub target_key_id: String,
    pub created: f64,
    pub updated: f64,
}

fn check_name(name: &str) -> Result<(), AwsError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '/' | '_' | '-'));
    if !valid_chars || name.is_empty() || name.len() > 256 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{name}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )));
    }
    if !name.starts_with("alias/") || name.len() == "alias/".len() {
        return Err(AwsError::new(
            "InvalidAliasNameException",
            format!("Alias must start with the prefix \"alias/\": {name}"),
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(AwsError::new(
            "NotAuthorizedException",
            format!(
                "Alias {name} cannot begin with alias/aws/; that prefix is reserved for AWS managed keys."
            ),
        ));
    }
    Ok(())
}

/// The key an alias may point at: an existing customer key, by id or key ARN.
fn target(ctx: &Context, target_key_id: &str) -> Result<keys::Key, AwsError> {
    if target_key_id.starts_with("alias/") || target_key_id.contains(":alias/") {
        return Err(AwsError::validation(format!(
            "Aliases must refer to keys. Not aliases: {target_key_id}"
        )));
    }
    let key = keys::find(ctx, target_key_id)?;
    key.not_pending_deletion()?;
    if key.key_manager == "AWS" {
        return Err(AwsError::new(
            "NotAuthorizedException",
            "An alias cannot point at an AWS managed key.",
        ));
    }
    Ok(key)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    alias_name: String,
    target_key_id: String,
}

pub fn create_alias(ctx: &Context, input: AliasRequest) -> Result<Empty, AwsError> {
    check_name(&input.alias_name)?;
    if ALIASES.contains(&input.alias_name) {
        return Err(AwsError::new(
            "AlreadyExistsException",
            format!(
                "An alias with the name {} already exists",
                ctx.arn("kms", &input.alias_name)
            ),
        ));
    }
    let key = target(ctx, &input.target_key_id)?;
    let now = time::now();
    ALIASES.put(
        &input.alias_name,
        &Alias {
            alias_name: input.alias_name.clone(),
            target_key_id: key.key_id,
            created: now,
            updated: now,
        },
    )?;
    Ok(Empty {})
}

fn existing(ctx: &Context, name: &str) -> Result<Alias, AwsError> {
    ALIASES.get(name)?.ok_or_else(|| {
        AwsError::new(
            "NotFoundException",
            format!("Alias {} is not found.", ctx.arn("kms", name)),
        )
    })
}

pub fn update_alias(ctx: &Context, input: AliasRequest) -> Result<Empty, AwsError> {
    check_name(&input.alias_name)?;
    let mut alias = existing(ctx, &input.alias_name)?;
    let key = target(ctx, &input.target_key_id)?;
    if let Some(old) = KEYS.get(&alias.target_key_id)?
        && (old.key_usage != key.key_usage || old.key_spec.starts_with("HMAC_") != key.is_hmac())
    {
        return Err(AwsError::validation(format!(
            "Alias {} cannot be changed from a key with usage {} to a key with usage {}.",
            input.alias_name, old.key_usage, key.key_usage
        )));
    }
    alias.target_key_id = key.key_id;
    alias.updated = time::now();
    ALIASES.put(&input.alias_name, &alias)?;
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteAliasRequest {
    alias_name: String,
}

pub fn delete_alias(ctx: &Context, input: DeleteAliasRequest) -> Result<Empty, AwsError> {
    check_name(&input.alias_name)?;
    existing(ctx, &input.alias_name)?;
    ALIASES.delete(&input.alias_name);
    Ok(Empty {})
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListAliasesRequest {
    key_id: Option<String>,
    #[serde(flatten)]
    list: ListRequest,
}

pub fn list_aliases(ctx: &Context, input: ListAliasesRequest) -> Result<Value, AwsError> {
    let limit = keys::limit(input.list.limit)?;
    let target = match &input.key_id {
        Some(id) => Some(keys::find(ctx, id)?.key_id),
        None => None,
    };
    let entry = |a: &Alias| {
        json!({
            "AliasName": a.alias_name,
            "AliasArn": ctx.arn("kms", &a.alias_name).to_string(),
            "TargetKeyId": a.target_key_id,
            "CreationDate": a.created,
            "LastUpdatedDate": a.updated,
        })
    };
    // Filtering by key reads every alias of the region (few), then pages.
    let mut all: Vec<(String, Alias)> = ALIASES.scan(&Scan::all())?;
    if let Some(t) = &target {
        all.retain(|(_, a)| &a.target_key_id == t);
    }
    let start = match input.list.marker.as_deref().filter(|m| !m.is_empty()) {
        Some(m) => {
            let after = ministack_sdk::pagination::decode(m).ok_or_else(keys::invalid_marker)?;
            all.iter()
                .position(|(k, _)| *k > after)
                .unwrap_or(all.len())
        }
        None => 0,
    };
    let end = (start + limit as usize).min(all.len());
    let items: Vec<Value> = all[start..end].iter().map(|(_, a)| entry(a)).collect();
    let next = (end < all.len()).then(|| ministack_sdk::pagination::encode(&all[end - 1].0));
    Ok(keys::paged("Aliases", items, next))
}
