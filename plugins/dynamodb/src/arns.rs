//! Table ARNs in place of table names. DynamoDB accepts a table's ARN
//! wherever it takes a `TableName` of an existing table (and in
//! `RequestItems` keys and transaction items); a regional endpoint serves
//! only its own region's tables, and another account's table needs a
//! resource policy, which is not evaluated locally.

use ministack_sdk::prelude::*;
use serde_json::Value;

/// The table name an ARN designates, checked against the caller's region
/// and account; a plain name is returned as is.
pub fn table_name(ctx: &Context, name_or_arn: &str, operation: &str) -> Result<String, AwsError> {
    if !name_or_arn.starts_with("arn:") {
        return Ok(name_or_arn.to_string());
    }
    let arn = Arn::parse(name_or_arn)
        .filter(|a| a.service == "dynamodb" && a.resource_type() == "table")
        .ok_or_else(|| invalid_arn(name_or_arn))?;
    check_scope(ctx, &arn, name_or_arn, operation)?;
    let name = arn.resource_id();
    if name.is_empty() || name.contains('/') {
        return Err(invalid_arn(name_or_arn));
    }
    Ok(name.to_string())
}

/// The region and account of any DynamoDB ARN (tables, indexes, streams,
/// backups) against the caller's.
pub fn check_scope(ctx: &Context, arn: &Arn, raw: &str, operation: &str) -> Result<(), AwsError> {
    if arn.region != ctx.region {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Invalid AWS region in '{raw}'"
        )));
    }
    if arn.account != ctx.account {
        let caller = if ctx.caller_arn.is_empty() {
            format!("arn:aws:iam::{}:root", ctx.account)
        } else {
            ctx.caller_arn.clone()
        };
        return Err(AwsError::access_denied_exception(format!(
            "User: {caller} is not authorized to perform: dynamodb:{operation} on resource: {raw} because no resource-based policy allows the dynamodb:{operation} action"
        )));
    }
    Ok(())
}

fn invalid_arn(raw: &str) -> AwsError {
    AwsError::validation(format!("Invalid TableName: {raw} is not a valid table ARN"))
}

/// Rewrites the table ARNs of a request into names (`TableName`,
/// `RequestItems` keys, `TransactItems[*].<op>.TableName`); a `ResourceArn`
/// is only checked for its region and account.
pub fn resolve_input(ctx: &Context, operation: &str, input: &mut Value) -> Result<(), AwsError> {
    // Which of the four members the request has, from one look at its few
    // keys (not four hashed lookups per request, and no rewrite of a plain
    // TableName, by far the most common case).
    let (mut arn_name, mut resource, mut request_items, mut transact) =
        (false, false, false, false);
    for (k, v) in input.as_object().into_iter().flatten() {
        match k.as_str() {
            "TableName" => arn_name = v.as_str().is_some_and(|n| n.starts_with("arn:")),
            "ResourceArn" => resource = true,
            "RequestItems" => request_items = true,
            "TransactItems" => transact = true,
            _ => {}
        }
    }
    if arn_name && let Some(name) = input.get("TableName").and_then(Value::as_str) {
        let plain = table_name(ctx, name, operation)?;
        input["TableName"] = Value::String(plain);
    }
    if resource
        && let Some(raw) = input.get("ResourceArn").and_then(Value::as_str)
        && let Some(arn) = Arn::parse(raw)
    {
        check_scope(ctx, &arn, raw, operation)?;
    }
    if !request_items && !transact {
        return Ok(());
    }
    if let Some(items) = input.get_mut("RequestItems").and_then(Value::as_object_mut) {
        let mut renamed = serde_json::Map::new();
        for (name, v) in std::mem::take(items) {
            renamed.insert(table_name(ctx, &name, operation)?, v);
        }
        *items = renamed;
    }
    if let Some(list) = input.get_mut("TransactItems").and_then(Value::as_array_mut) {
        for item in list {
            for (_, body) in item.as_object_mut().into_iter().flatten() {
                if let Some(name) = body.get("TableName").and_then(Value::as_str) {
                    let plain = table_name(ctx, name, operation)?;
                    body["TableName"] = Value::String(plain);
                }
            }
        }
    }
    Ok(())
}

/// A handler that sees table names where the request had table ARNs.
pub fn by_name<Out: 'static>(
    operation: &'static str,
    handler: fn(&Context, Value) -> Result<Out, AwsError>,
) -> impl Fn(&Context, Value) -> Result<Out, AwsError> + Send + Sync + 'static {
    move |ctx: &Context, mut input: Value| {
        resolve_input(ctx, operation, &mut input)?;
        handler(ctx, input)
    }
}
