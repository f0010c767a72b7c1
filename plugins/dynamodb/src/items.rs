//! Items: PutItem, GetItem, UpdateItem, DeleteItem, and what the batch and
//! transaction operations share with them.

use ministack_sdk::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::capacity::{self, Capacity};
use crate::db::{Tbl, check_size, clean_item, clean_value, str_field, to_item, validation};
use crate::expr::{self, Action, Cmp, Cond, Ctx, Item, Operand, Path, Step};

/// The expressions of one request, parsed against its attribute maps.
#[derive(Default)]
pub struct Parsed {
    pub condition: Option<Cond>,
    pub update: Option<Vec<Action>>,
    pub projection: Option<Vec<Path>>,
    pub key: Option<Cond>,
    pub filter: Option<Cond>,
}

/// The legacy (non-expression) parameters.
const LEGACY_MEMBERS: &[&str] = &[
    "AttributesToGet",
    "AttributeUpdates",
    "ConditionalOperator",
    "Expected",
    "KeyConditions",
    "QueryFilter",
    "ScanFilter",
];
/// The expressions, which never mix with [`LEGACY_MEMBERS`].
const EXPRESSIONS: &[&str] = &[
    "ConditionExpression",
    "FilterExpression",
    "KeyConditionExpression",
    "ProjectionExpression",
    "UpdateExpression",
];
/// What the expressions name: with these and the two lists above, every
/// member [`parse`] reads. A request with none of them (a plain PutItem or
/// GetItem) has nothing to parse.
const EXPRESSION_VALUES: &[&str] = &["ExpressionAttributeNames", "ExpressionAttributeValues"];

pub fn parse(input: &Value) -> Result<Parsed, AwsError> {
    // The request's few members against the list (not the list's fourteen
    // names each hashed into the request's map).
    if let Some(m) = input.as_object()
        && !m.keys().any(|k| {
            [LEGACY_MEMBERS, EXPRESSIONS, EXPRESSION_VALUES]
                .iter()
                .any(|list| list.contains(&k.as_str()))
        })
    {
        return Ok(Parsed::default());
    }
    // Legacy (non-expression) and expression parameters never mix.
    let present = |fields: &[&'static str]| -> Vec<&'static str> {
        fields
            .iter()
            .copied()
            .filter(|f| input.member(f).is_some_and(|v| !v.is_null()))
            .collect()
    };
    let legacy = present(LEGACY_MEMBERS);
    let expressions = present(EXPRESSIONS);
    if !legacy.is_empty() && !expressions.is_empty() {
        return Err(validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            legacy.join(", "),
            expressions.join(", ")
        )));
    }
    let names = input
        .member("ExpressionAttributeNames")
        .and_then(|v| v.as_object());
    let raw_values = input
        .member("ExpressionAttributeValues")
        .and_then(|v| v.as_object());
    if raw_values.is_some_and(|m| m.is_empty()) {
        return Err(validation("ExpressionAttributeValues must not be empty"));
    }
    if names.is_some_and(|m| m.is_empty()) {
        return Err(validation("ExpressionAttributeNames must not be empty"));
    }
    let values: Option<Map<String, Value>> = match raw_values {
        Some(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(
                    k.clone(),
                    clean_value(v).map_err(|e| {
                        validation(format!(
                            "ExpressionAttributeValues contains invalid value: {} for key {k}",
                            e.message
                        ))
                    })?,
                );
            }
            Some(out)
        }
        None => None,
    };
    let mut ctx = Ctx::new(names, values.as_ref());
    let mut p = Parsed::default();
    let mut any = false;
    fn wrap(which: &'static str) -> impl Fn(String) -> AwsError {
        move |e: String| validation(format!("Invalid {which}: {e}"))
    }
    if let Some(s) = str_field(input, "ConditionExpression") {
        any = true;
        p.condition =
            Some(expr::parse_condition(s, &mut ctx).map_err(wrap("ConditionExpression"))?);
    }
    if let Some(s) = str_field(input, "UpdateExpression") {
        any = true;
        p.update = Some(expr::parse_update(s, &mut ctx).map_err(wrap("UpdateExpression"))?);
    }
    if let Some(s) = str_field(input, "ProjectionExpression") {
        any = true;
        p.projection =
            Some(expr::parse_projection(s, &mut ctx).map_err(wrap("ProjectionExpression"))?);
    }
    if let Some(s) = str_field(input, "KeyConditionExpression") {
        any = true;
        p.key = Some(expr::parse_condition(s, &mut ctx).map_err(wrap("KeyConditionExpression"))?);
    }
    if let Some(s) = str_field(input, "FilterExpression") {
        any = true;
        p.filter = Some(expr::parse_condition(s, &mut ctx).map_err(wrap("FilterExpression"))?);
    }
    if !any {
        if raw_values.is_some() {
            return Err(validation(
                "ExpressionAttributeValues can only be specified when using expressions",
            ));
        }
        if names.is_some() {
            return Err(validation(
                "ExpressionAttributeNames can only be specified when using expressions",
            ));
        }
    }
    ctx.check_unused().map_err(validation)?;
    // Legacy parameters.
    if let Some(list) = input.member("AttributesToGet").and_then(|v| v.as_array()) {
        if p.projection.is_some() {
            return Err(validation(
                "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}",
            ));
        }
        p.projection = Some(
            list.iter()
                .filter_map(|v| v.as_str())
                .map(|s| vec![Step::Attr(s.to_string())])
                .collect(),
        );
    }
    for (field, slot) in [("Expected", 0), ("QueryFilter", 1), ("ScanFilter", 1)] {
        if let Some(m) = input.get(field).and_then(|v| v.as_object()) {
            let c = legacy_condition(m, str_field(input, "ConditionalOperator").unwrap_or("AND"))?;
            if slot == 0 {
                p.condition = c;
            } else {
                p.filter = c;
            }
        }
    }
    if let Some(m) = input.member("KeyConditions").and_then(|v| v.as_object()) {
        p.key = legacy_condition(m, "AND")?;
    }
    if let Some(m) = input.member("AttributeUpdates").and_then(|v| v.as_object()) {
        let mut actions = Vec::new();
        for (k, u) in m {
            let path = vec![Step::Attr(k.clone())];
            let v = u.member("Value").map(clean_value).transpose()?;
            match (str_field(u, "Action").unwrap_or("PUT"), v) {
                ("PUT", Some(v)) => actions.push(Action::Set(path, Operand::Value(v))),
                ("ADD", Some(v)) => actions.push(Action::Add(path, v)),
                ("DELETE", Some(v)) => actions.push(Action::Delete(path, v)),
                ("DELETE", None) => actions.push(Action::Remove(path)),
                _ => {
                    return Err(validation(
                        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified",
                    ));
                }
            }
        }
        p.update = Some(actions);
    }
    Ok(p)
}

/// Expected / QueryFilter / ScanFilter / KeyConditions as a condition.
fn legacy_condition(m: &Map<String, Value>, op: &str) -> Result<Option<Cond>, AwsError> {
    let mut out: Option<Cond> = None;
    for (name, c) in m {
        let path = Operand::Path(vec![Step::Attr(name.clone())]);
        let p = vec![Step::Attr(name.clone())];
        let vals: Vec<Operand> = c["AttributeValueList"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| clean_value(v).map(Operand::Value))
            .collect::<Result<_, _>>()?;
        let v = |i: usize| {
            vals.get(i).cloned().ok_or_else(|| validation("One or more parameter values were invalid: Invalid number of argument(s) for the ComparisonOperator"))
        };
        let cond = match str_field(c, "ComparisonOperator") {
            None => match (
                c.member("Exists").and_then(|x| x.as_bool()),
                c.member("Value"),
            ) {
                (Some(false), None) => Cond::NotExists(p),
                (_, Some(val)) => Cond::Cmp(Cmp::Eq, path, Operand::Value(clean_value(val)?)),
                _ => Cond::Exists(p),
            },
            Some("EQ") => Cond::Cmp(Cmp::Eq, path, v(0)?),
            Some("NE") => Cond::Cmp(Cmp::Ne, path, v(0)?),
            Some("LT") => Cond::Cmp(Cmp::Lt, path, v(0)?),
            Some("LE") => Cond::Cmp(Cmp::Le, path, v(0)?),
            Some("GT") => Cond::Cmp(Cmp::Gt, path, v(0)?),
            Some("GE") => Cond::Cmp(Cmp::Ge, path, v(0)?),
            Some("NOT_NULL") => Cond::Exists(p),
            Some("NULL") => Cond::NotExists(p),
            Some("CONTAINS") => Cond::Contains(path, v(0)?),
            Some("NOT_CONTAINS") => Cond::And(
                Box::new(Cond::Exists(p)),
                Box::new(Cond::Not(Box::new(Cond::Contains(path, v(0)?)))),
            ),
            Some("BEGINS_WITH") => Cond::BeginsWith(path, v(0)?),
            Some("IN") => Cond::In(path, vals.clone()),
            Some("BETWEEN") => Cond::Between(path, v(0)?, v(1)?),
            Some(other) => {
                return Err(validation(format!(
                    "Unsupported ComparisonOperator: {other}"
                )));
            }
        };
        out = Some(match out {
            None => cond,
            Some(prev) if op == "OR" => Cond::Or(Box::new(prev), Box::new(cond)),
            Some(prev) => Cond::And(Box::new(prev), Box::new(cond)),
        });
    }
    Ok(out)
}

pub fn holds(c: &Cond, item: &Item) -> Result<bool, AwsError> {
    expr::test(c, item).map_err(validation)
}

pub fn check_failed(old: Option<&Item>, input: &Value) -> AwsError {
    let mut e = AwsError::new(
        "ConditionalCheckFailedException",
        "The conditional request failed",
    );
    if str_field(input, "ReturnValuesOnConditionCheckFailure") == Some("ALL_OLD")
        && let Some(o) = old
    {
        e = e.with_member("Item", o);
    }
    e
}

/// Half a unit per eventually consistent read, one when strongly consistent.
pub fn read_units(input: &Value) -> f64 {
    if input.member("ConsistentRead").and_then(Value::as_bool) == Some(true) {
        1.0
    } else {
        0.5
    }
}

fn returns(input: &Value, allowed: &[&str]) -> Result<String, AwsError> {
    let rv = str_field(input, "ReturnValues")
        .unwrap_or("NONE")
        .to_string();
    if !allowed.contains(&rv.as_str()) {
        return Err(validation("Return values set to invalid value"));
    }
    Ok(rv)
}

/// PutItem's work, shared with BatchWriteItem and TransactWriteItems
/// (`Err(None)` is a failed condition).
pub fn put(t: &Tbl, input: &Value, p: &Parsed) -> Result<(Option<Item>, Item), AwsError> {
    put_with(t, input, p, true)
}

/// [`put`]; `want_old`: the caller uses the replaced item. Without that, a
/// condition, an index, a stream or a Kinesis destination (whose writes
/// need it), the replaced item is not read and parsed, and `None` is
/// returned for it.
fn put_with(
    t: &Tbl,
    input: &Value,
    p: &Parsed,
    want_old: bool,
) -> Result<(Option<Item>, Item), AwsError> {
    let item = crate::db::clean_item_of(&input["Item"], "Item")?;
    let key = t.check_item_key(&item)?;
    check_size(&item)?;
    let old = if want_old || p.condition.is_some() || t.writes_need_old() {
        t.get(&key)
    } else {
        None
    };
    if let Some(c) = &p.condition
        && !holds(c, old.as_ref().unwrap_or(&Item::new()))?
    {
        return Err(check_failed(old.as_ref(), input));
    }
    t.write(&key, old.as_ref(), Some(&item));
    Ok((old, item))
}

pub fn put_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let rv = returns(&input, &["NONE", "ALL_OLD"])?;
    let p = parse(&input)?;
    let (old, new) = put_with(&t, &input, &p, rv == "ALL_OLD")?;
    let mut out = json!({});
    capacity::single(
        &input,
        &t.name,
        &Capacity::write(&t, old.as_ref(), Some(&new)),
        &mut out,
    );
    if rv == "ALL_OLD"
        && let Some(o) = old
    {
        out["Attributes"] = Value::Object(o);
    }
    Ok(out)
}

/// GetItem's answer: without a projection the item goes out as stored.
pub struct GetOutput {
    head: Value,
    stored: Option<Box<RawValue>>,
}

impl Serialize for GetOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let head = self.head.as_object();
        let len = head.map_or(0, |h| h.len()) + usize::from(self.stored.is_some());
        let mut m = s.serialize_map(Some(len))?;
        for (k, v) in head.into_iter().flatten() {
            m.serialize_entry(k, v)?;
        }
        if let Some(item) = &self.stored {
            m.serialize_entry("Item", item)?;
        }
        m.end()
    }
}

pub fn get_item(_ctx: &Context, input: Value) -> Result<GetOutput, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let p = parse(&input)?;
    let key = match input["Key"].as_object() {
        Some(k) => t.check_key(k)?,
        None => t.check_key(&to_item(&input["Key"], "Key")?)?,
    };
    let mut out = json!({});
    let mut stored = None;
    match &p.projection {
        Some(paths) => {
            if let Some(item) = t.get(&key) {
                out["Item"] = Value::Object(expr::project(&item, paths));
            }
        }
        None => stored = t.get_stored(&key),
    }
    capacity::single(
        &input,
        &t.name,
        &Capacity::table(read_units(&input)),
        &mut out,
    );
    Ok(GetOutput { head: out, stored })
}

pub fn delete(t: &Tbl, input: &Value, p: &Parsed) -> Result<Option<Item>, AwsError> {
    let key = t.check_key(&to_item(&input["Key"], "Key")?)?;
    let old = t.get(&key);
    if let Some(c) = &p.condition
        && !holds(c, old.as_ref().unwrap_or(&Item::new()))?
    {
        return Err(check_failed(old.as_ref(), input));
    }
    if old.is_some() {
        t.write(&key, old.as_ref(), None);
    }
    Ok(old)
}

pub fn delete_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let rv = returns(&input, &["NONE", "ALL_OLD"])?;
    let p = parse(&input)?;
    let old = delete(&t, &input, &p)?;
    let mut out = json!({});
    capacity::single(
        &input,
        &t.name,
        &Capacity::write(&t, old.as_ref(), None),
        &mut out,
    );
    if rv == "ALL_OLD"
        && let Some(o) = old
    {
        out["Attributes"] = Value::Object(o);
    }
    Ok(out)
}

fn action_path(a: &Action) -> &Path {
    match a {
        Action::Set(p, _) | Action::Remove(p) | Action::Add(p, _) | Action::Delete(p, _) => p,
    }
}

pub fn update(t: &Tbl, input: &Value, p: &Parsed) -> Result<(Option<Item>, Item), AwsError> {
    let key_item = to_item(&input["Key"], "Key")?;
    let key = t.check_key(&key_item)?;
    let old = t.get(&key);
    if let Some(c) = &p.condition
        && !holds(c, old.as_ref().unwrap_or(&Item::new()))?
    {
        return Err(check_failed(old.as_ref(), input));
    }
    let mut new = old.clone().unwrap_or_else(|| key_item.clone());
    if let Some(actions) = &p.update {
        for a in actions {
            if let Some(Step::Attr(first)) = action_path(a).first()
                && t.schema.names().contains(&first.as_str())
            {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Cannot update attribute {first}. This attribute is part of the key"
                )));
            }
        }
        expr::apply(actions, &mut new).map_err(validation)?;
    }
    let new = clean_item(&new)?;
    t.check_item_key(&new)?;
    check_size(&new)?;
    t.write(&key, old.as_ref(), Some(&new));
    Ok((old, new))
}

pub fn update_item(_ctx: &Context, input: Value) -> Result<Value, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let rv = returns(
        &input,
        &["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"],
    )?;
    let p = parse(&input)?;
    let (old, new) = update(&t, &input, &p)?;
    let cap = Capacity::write(&t, old.as_ref(), Some(&new));
    let paths: Vec<Path> = p
        .update
        .iter()
        .flatten()
        .map(|a| action_path(a).clone())
        .collect();
    let attrs = match rv.as_str() {
        "ALL_OLD" => old,
        "ALL_NEW" => Some(new),
        "UPDATED_OLD" => old.map(|o| expr::project(&o, &paths)),
        "UPDATED_NEW" => Some(expr::project(&new, &paths)),
        _ => None,
    };
    let mut out = json!({});
    if let Some(a) = attrs.filter(|a| !a.is_empty()) {
        out["Attributes"] = Value::Object(a);
    }
    capacity::single(&input, &t.name, &cap, &mut out);
    Ok(out)
}
