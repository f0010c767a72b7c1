//! MaxResults / NextToken over a list already built in an output: the
//! token is the offset of the next item (opaque to the client).

use ministack_sdk::pagination;
use ministack_sdk::prelude::*;
use serde_json::{Value, json};

/// Keeps one page of `output[list]`; `default` when MaxResults is absent.
pub fn page(
    mut output: Value,
    list: &str,
    input: &Value,
    default: usize,
) -> Result<Value, AwsError> {
    let start = match input.get("NextToken").and_then(Value::as_str) {
        Some(t) if !t.is_empty() => pagination::decode(t)
            .and_then(|s| s.parse::<usize>().ok())
            .ok_or_else(|| AwsError::new("InvalidNextToken", "The specified token isn't valid."))?,
        _ => 0,
    };
    let max = input["MaxResults"]
        .as_u64()
        .map_or(default, |m| m.max(1) as usize);
    let items = output[list].as_array().cloned().unwrap_or_default();
    let end = (start + max).min(items.len());
    let slice: Vec<Value> = items
        .get(start..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    output[list] = json!(slice);
    if end < items.len() {
        output["NextToken"] = json!(pagination::encode(&end.to_string()));
    }
    Ok(output)
}
