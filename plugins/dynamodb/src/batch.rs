//! BatchGetItem, BatchWriteItem, TransactGetItems, TransactWriteItems.
//!
//! A request is one atomic unit of the store, so a transaction is
//! all-or-nothing by construction: any failure returns an error and every
//! write of the request vanishes.

use std::collections::BTreeSet;

use ministack_sdk::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use std::collections::BTreeMap;

use crate::capacity::{self, Capacity};
use crate::db::{Tbl, str_field, to_item, validation};
use crate::expr;
use crate::items::{self, parse};

pub fn batch_get_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let req = input["RequestItems"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    let total: usize = req
        .values()
        .map(|r| r["Keys"].as_array().map_or(0, |k| k.len()))
        .sum();
    if total > 100 {
        return Err(validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    if req.is_empty() {
        return Err(AwsError::validation(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut responses = Map::new();
    let mut used: BTreeMap<String, Capacity> = BTreeMap::new();
    for (name, r) in &req {
        let t = Tbl::open(name)?;
        let p = parse(r)?;
        let units = items::read_units(r);
        let mut seen = BTreeSet::new();
        let mut items = Vec::new();
        for k in r["Keys"].as_array().into_iter().flatten() {
            let key = t.check_key(&to_item(k, "Key")?)?;
            if !seen.insert(key.clone()) {
                return Err(validation("Provided list of item keys contains duplicates"));
            }
            used.entry(name.clone())
                .or_default()
                .add(&Capacity::table(units));
            if let Some(item) = t.get(&key) {
                items.push(Value::Object(match &p.projection {
                    Some(paths) => expr::project(&item, paths),
                    None => item,
                }));
            }
        }
        responses.insert(name.clone(), Value::Array(items));
    }
    let mut out = json!({ "Responses": responses, "UnprocessedKeys": {} });
    capacity::list(&input, &used, None, &mut out);
    Ok(out)
}

/// BatchWriteItem's input, borrowed from the request's text: a batch is up
/// to 16 MB, so its write requests are parsed one at a time rather than
/// held as a tree beside the text.
#[derive(Deserialize)]
struct BatchWriteInput<'a> {
    #[serde(rename = "RequestItems", borrow, default)]
    request_items: Tables<'a>,
    #[serde(rename = "ReturnConsumedCapacity", default)]
    return_consumed_capacity: Option<String>,
}

/// `RequestItems` in the request's order: (table name or ARN, write requests).
#[derive(Default)]
struct Tables<'a>(Vec<(String, Vec<&'a RawValue>)>);

impl<'de: 'a, 'a> Deserialize<'de> for Tables<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Tables<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a map of table names to write requests")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut m: M,
            ) -> Result<Tables<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some((name, writes)) = m.next_entry::<String, Vec<&'a RawValue>>()? {
                    out.push((name, writes));
                }
                Ok(Tables(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

pub fn batch_write_item(ctx: &Context, text: &str) -> Result<Value, AwsError> {
    let input: BatchWriteInput = serde_json::from_str(text)
        .map_err(|e| validation(format!("Invalid input for BatchWriteItem: {e}")))?;
    let req = &input.request_items.0;
    let total: usize = req.iter().map(|(_, w)| w.len()).sum();
    if total > 25 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value '{{{}}}' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]",
            req.iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if total == 0 {
        return Err(AwsError::validation(
            "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let write_request = |raw: &RawValue| -> Result<Value, AwsError> {
        serde_json::from_str(raw.get()).map_err(|e| validation(e.to_string()))
    };
    let none = items::Parsed::default();
    let mut used: BTreeMap<String, Capacity> = BTreeMap::new();
    for (name, writes) in req {
        let name = crate::arns::table_name(ctx, name, "BatchWriteItem")?;
        let t = Tbl::open(&name)?;
        // Every key is checked before anything is written (the unit would
        // drop the writes anyway; this keeps AWS's choice of error).
        let mut seen = BTreeSet::new();
        for raw in writes {
            let w = write_request(raw)?;
            let key = if let Some(p) = w.get("PutRequest") {
                let item = crate::db::clean_item_of(&p["Item"], "Item")?;
                t.check_item_key(&item)?
            } else if let Some(d) = w.get("DeleteRequest") {
                t.check_key(&to_item(&d["Key"], "Key")?)?
            } else {
                return Err(validation(
                    "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                ));
            };
            if !seen.insert(key) {
                return Err(validation("Provided list of item keys contains duplicates"));
            }
        }
        for raw in writes {
            let w = write_request(raw)?;
            let cap = if let Some(p) = w.get("PutRequest") {
                let (old, new) = items::put(&t, p, &none)?;
                Capacity::write(&t, old.as_ref(), Some(&new))
            } else if let Some(d) = w.get("DeleteRequest") {
                let old = items::delete(&t, d, &none)?;
                Capacity::write(&t, old.as_ref(), None)
            } else {
                continue;
            };
            used.entry(name.clone()).or_default().add(&cap);
        }
    }
    let mut out = json!({ "UnprocessedItems": {} });
    let asked = json!({ "ReturnConsumedCapacity": input.return_consumed_capacity });
    capacity::list(&asked, &used, None, &mut out);
    Ok(out)
}

pub fn transact_get_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let list = input["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.len() > 100 {
        return Err(validation(
            "Member must have length less than or equal to 100",
        ));
    }
    let mut out = Vec::new();
    let mut used: BTreeMap<String, Capacity> = BTreeMap::new();
    for ti in &list {
        let g = &ti["Get"];
        let t = Tbl::open(str_field(g, "TableName").unwrap_or(""))?;
        // A transactional read costs twice an eventually consistent one.
        used.entry(t.name.clone())
            .or_default()
            .add(&Capacity::table(1.0));
        let p = parse(g)?;
        let key = t.check_key(&to_item(&g["Key"], "Key")?)?;
        out.push(match t.get(&key) {
            Some(item) => json!({ "Item": match &p.projection {
                Some(paths) => expr::project(&item, paths),
                None => item,
            }}),
            None => json!({}),
        });
    }
    let mut out = json!({ "Responses": out });
    capacity::list(&input, &used, Some("ReadCapacityUnits"), &mut out);
    Ok(out)
}

/// ClientRequestToken → (request fingerprint, when).
const TOKENS: Table<(String, u64)> = Table::new("transaction-tokens");

pub fn transact_write_items(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let list = input["TransactItems"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() || list.len() > 100 {
        return Err(AwsError::validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length {} 100",
            if list.is_empty() {
                "greater than or equal to 1, less than or equal to"
            } else {
                "less than or equal to"
            }
        )));
    }
    let now = ministack_sdk::time::now_secs();
    if let Some(token) = str_field(&input, "ClientRequestToken") {
        let fingerprint =
            ministack_sdk::hash::sha256_hex(input["TransactItems"].to_string().as_bytes());
        if let Some((fp, at)) = TOKENS.get(token)?
            && now < at + 600
        {
            if fp != fingerprint {
                return Err(AwsError::new(
                    "IdempotentParameterMismatchException",
                    "The request uses the same client token as a previous, but non-identical request",
                ));
            }
            return Ok(json!({}));
        }
        TOKENS.put(token, &(fingerprint, now))?;
    }
    // Parse and validate everything first; the same item twice is refused.
    let mut ops = Vec::new();
    let mut key_errors: Vec<(usize, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for ti in &list {
        let (kind, body) = ["ConditionCheck", "Put", "Update", "Delete"]
            .iter()
            .find_map(|k| ti.get(*k).map(|b| (*k, b.clone())))
            .ok_or_else(|| {
                validation("TransactItems can only contain one of Check, Put, Update or Delete")
            })?;
        let name = str_field(&body, "TableName").unwrap_or("").to_string();
        let t = Tbl::open(&name)?;
        let key = if kind == "Put" {
            t.check_item_key(&crate::db::clean_item_of(&body["Item"], "Item")?)
        } else {
            t.check_key(&to_item(&body["Key"], "Key")?)
        };
        // A key of the wrong type cancels the transaction, reported as that
        // item's cancellation reason.
        let key = match key {
            Ok(k) => k,
            Err(e) if e.code == "ValidationException" => {
                key_errors.push((ops.len() + key_errors.len(), e.message));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !seen.insert((name.clone(), key.clone())) {
            return Err(validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        if kind == "ConditionCheck" && body.get("ConditionExpression").is_none() {
            return Err(validation(
                "The ConditionExpression parameter is required for ConditionCheck",
            ));
        }
        let p = parse(&body)?;
        ops.push((kind, body, t, key, p));
    }
    if !key_errors.is_empty() {
        let reasons: Vec<Value> = (0..list.len())
            .map(|i| match key_errors.iter().find(|(at, _)| *at == i) {
                Some((_, message)) => json!({"Code": "ValidationError", "Message": message}),
                None => json!({"Code": "None"}),
            })
            .collect();
        return Err(cancelled(reasons));
    }
    let mut reasons = Vec::new();
    let mut failed = false;
    let mut used: BTreeMap<String, Capacity> = BTreeMap::new();
    for (kind, body, t, key, p) in &ops {
        let r = match *kind {
            "ConditionCheck" => {
                let old = t.get(key);
                match items::holds(
                    p.condition.as_ref().expect("checked"),
                    old.as_ref().unwrap_or(&Default::default()),
                ) {
                    Ok(true) => Ok(Capacity::table(1.0)),
                    Ok(false) => Err(items::check_failed(old.as_ref(), body)),
                    Err(e) => Err(e),
                }
            }
            "Put" => items::put(t, body, p).map(|(o, n)| Capacity::write(t, o.as_ref(), Some(&n))),
            "Update" => {
                items::update(t, body, p).map(|(o, n)| Capacity::write(t, o.as_ref(), Some(&n)))
            }
            _ => items::delete(t, body, p).map(|o| Capacity::write(t, o.as_ref(), None)),
        };
        match r {
            Ok(cap) => {
                // Transactional writes cost twice a standard write.
                used.entry(t.name.clone())
                    .or_default()
                    .add(&cap.scaled(2.0));
                reasons.push(json!({"Code": "None"}))
            }
            Err(e) if e.code == "ConditionalCheckFailedException" => {
                failed = true;
                let mut reason = json!({"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"});
                if str_field(body, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD")
                    && let Some(old) = t.get(key)
                {
                    reason["Item"] = Value::Object(old);
                }
                reasons.push(reason);
            }
            Err(e) if e.code == "ValidationException" => {
                failed = true;
                reasons.push(json!({"Code": "ValidationError", "Message": e.message}));
            }
            Err(e) => return Err(e),
        }
    }
    if failed {
        return Err(cancelled(reasons));
    }
    let mut out = json!({});
    capacity::list(&input, &used, Some("WriteCapacityUnits"), &mut out);
    Ok(out)
}

fn cancelled(reasons: Vec<Value>) -> AwsError {
    let codes: Vec<&str> = reasons
        .iter()
        .map(|r| r["Code"].as_str().unwrap_or("None"))
        .collect();
    AwsError::new(
        "TransactionCanceledException",
        format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    )
    .with_member("CancellationReasons", reasons)
}
