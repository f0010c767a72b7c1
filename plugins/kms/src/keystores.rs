//! Custom key stores. This KMS has no CloudHSM clusters or external key
//! store proxies, so no custom key store can exist: DescribeCustomKeyStores
//! lists none, and naming one is `CustomKeyStoreNotFoundException`.
//! CreateCustomKeyStore is not implemented (the host answers 501).

use ministack_sdk::prelude::*;
use serde_json::{Value, json};

use crate::keys;

fn not_found(id: &str) -> AwsError {
    AwsError::new(
        "CustomKeyStoreNotFoundException",
        format!("Custom key store {id} does not exist."),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeCustomKeyStoresRequest {
    custom_key_store_id: Option<String>,
    custom_key_store_name: Option<String>,
    #[serde(flatten)]
    list: keys::ListRequest,
}

pub fn describe_custom_key_stores(
    _ctx: &Context,
    input: DescribeCustomKeyStoresRequest,
) -> Result<Value, AwsError> {
    keys::limit(input.list.limit)?;
    crate::index_marker(input.list.marker.as_deref())?;
    if let Some(name) = input
        .custom_key_store_id
        .as_deref()
        .or(input.custom_key_store_name.as_deref())
    {
        return Err(not_found(name));
    }
    Ok(json!({"CustomKeyStores": [], "Truncated": false}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CustomKeyStoreRequest {
    custom_key_store_id: String,
}

pub fn connect_custom_key_store(
    _ctx: &Context,
    input: CustomKeyStoreRequest,
) -> Result<Empty, AwsError> {
    Err(not_found(&input.custom_key_store_id))
}

pub fn disconnect_custom_key_store(
    _ctx: &Context,
    input: CustomKeyStoreRequest,
) -> Result<Empty, AwsError> {
    Err(not_found(&input.custom_key_store_id))
}

pub fn delete_custom_key_store(
    _ctx: &Context,
    input: CustomKeyStoreRequest,
) -> Result<Empty, AwsError> {
    Err(not_found(&input.custom_key_store_id))
}

pub fn update_custom_key_store(
    _ctx: &Context,
    input: CustomKeyStoreRequest,
) -> Result<Empty, AwsError> {
    Err(not_found(&input.custom_key_store_id))
}
