//! GetKeyLastUsage: the last cryptographic operation each key performed.
//!
//! Recorded with a blind write (no read) so concurrent uses of one key never
//! conflict; the last request to commit wins, as "last usage" means.

use ministack_sdk::prelude::*;
use ministack_sdk::time;
use serde_json::{Value, json};

use crate::keys::{self, Key};

const USAGE: Table<Usage> = Table::new("key-usage");

#[derive(Serialize, Deserialize)]
struct Usage {
    operation: String,
    timestamp: f64,
    request_id: String,
}

/// Notes that `key` just performed `operation` for this request.
pub fn record(ctx: &Context, key: &Key, operation: &str) -> Result<(), AwsError> {
    USAGE.put(
        &key.key_id,
        &Usage {
            operation: operation.to_string(),
            timestamp: time::now(),
            request_id: ctx.request_id.clone(),
        },
    )
}

pub fn get_key_last_usage(ctx: &Context, input: keys::KeyIdRequest) -> Result<Value, AwsError> {
    let key = keys::find(ctx, &input.key_id)?;
    let mut out = json!({
        "KeyId": key.arn,
        "TrackingStartDate": key.created,
        "KeyCreationDate": key.created,
    });
    if let Some(u) = USAGE.get(&key.key_id)? {
        out["KeyLastUsage"] = json!({
            "Operation": u.operation,
            "Timestamp": u.timestamp,
            "KmsRequestId": u.request_id,
        });
    }
    Ok(out)
}
