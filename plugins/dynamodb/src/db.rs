//! Tables' metadata and the item store: items under order-preserving keys,
//! secondary indexes maintained on every write.

use std::rc::Rc;

use ministack_sdk::prelude::*;
use ministack_sdk::store::ParseCache;
use serde_json::{Value, json};

use crate::expr::Item;
use crate::keycode;
use crate::num::Num;

/// A table: its description as DescribeTable answers it, tags and TTL.
#[derive(Serialize, Deserialize, Clone)]
pub struct Meta {
    pub desc: Value,
    #[serde(default)]
    pub tags: Vec<Value>,
    #[serde(default)]
    pub ttl: Option<Value>,
    /// Stored settings: `policy`, `pitr`, `insights` (per index name, "" for the table).
    #[serde(default)]
    pub extra: serde_json::Map<String, Value>,
}

pub const TABLES: Table<Meta> = Table::new("tables");
/// `table \0 key` → item JSON.
pub const ITEMS: RawTable = RawTable::new("items");
/// `table \0 index \0 index-key table-key` → projected item JSON.
pub const INDEXES: RawTable = RawTable::new("indexes");

pub fn validation(msg: impl Into<String>) -> AwsError {
    AwsError::validation(msg)
}

pub fn not_found() -> AwsError {
    AwsError::resource_not_found("Requested resource not found")
}

pub fn load(name: &str) -> Result<Meta, AwsError> {
    TABLES.get(name)?.ok_or_else(not_found)
}

pub fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.str_member(k)
}

/// A key schema: the partition key and the optional sort key, with types.
#[derive(Debug, Clone)]
pub struct Schema {
    pub hash: (String, String),
    pub range: Option<(String, String)>,
}

impl Schema {
    pub fn of(key_schema: &Value, defs: &Value) -> Schema {
        let ty = |name: &str| {
            defs.as_array()
                .into_iter()
                .flatten()
                .find(|d| str_field(d, "AttributeName") == Some(name))
                .and_then(|d| str_field(d, "AttributeType"))
                .unwrap_or("S")
                .to_string()
        };
        let mut hash = (String::new(), String::new());
        let mut range = None;
        for k in key_schema.as_array().into_iter().flatten() {
            let name = str_field(k, "AttributeName").unwrap_or("").to_string();
            let t = ty(&name);
            if str_field(k, "KeyType") == Some("RANGE") {
                range = Some((name, t));
            } else {
                hash = (name, t);
            }
        }
        Schema { hash, range }
    }

    pub fn names(&self) -> Vec<&str> {
        let mut v = vec![self.hash.0.as_str()];
        if let Some((r, _)) = &self.range {
            v.push(r);
        }
        v
    }

    /// The encoded key of an item (`None`: it lacks a key attribute or the
    /// type differs, as for items absent from a sparse index).
    pub fn encode(&self, item: &Item) -> Option<Vec<u8>> {
        let mut out = encode_attr(item.get(&self.hash.0)?, &self.hash.1)?;
        if let Some((r, t)) = &self.range {
            out.extend(encode_attr(item.get(r)?, t)?);
        }
        Some(out)
    }

    pub fn key_of(&self, item: &Item) -> Item {
        let mut k = Item::new();
        for n in self.names() {
            if let Some(v) = item.get(n) {
                k.insert(n.to_string(), v.clone());
            }
        }
        k
    }
}

pub fn encode_attr(v: &Value, ty: &str) -> Option<Vec<u8>> {
    let s = v.get(ty)?.as_str()?;
    match ty {
        "S" => Some(keycode::bytes(s.as_bytes())),
        "B" => Some(keycode::bytes(&ministack_sdk::encoding::base64_decode(s)?)),
        "N" => Some(keycode::number(&Num::parse(s).ok()?)),
        _ => None,
    }
}

pub struct Index {
    pub name: String,
    pub schema: Schema,
    pub projection: Value,
    pub global: bool,
}

pub struct Tbl {
    pub name: String,
    pub meta: Meta,
    pub schema: Schema,
    pub indexes: Vec<Index>,
}

thread_local! {
    /// Most requests name the table the previous one did, and parsing its
    /// description was a tenth of a PutItem's CPU.
    static OPENED: ParseCache<Tbl> = const { ParseCache::new() };
}

impl Tbl {
    /// The table, read in this request's unit; the parse is reused only
    /// when the stored bytes are the same ([`ParseCache`]).
    pub fn open(name: &str) -> Result<Rc<Tbl>, AwsError> {
        let bytes = TABLES.raw().get(name.as_bytes()).ok_or_else(not_found)?;
        OPENED.with(|c| {
            c.get(bytes, |b| {
                let meta: Meta = serde_json::from_slice(b).map_err(|e| {
                    AwsError::internal(format!("stored table {name} does not decode: {e}"))
                })?;
                Ok(Tbl::from_meta(meta))
            })
        })
    }

    pub fn from_meta(meta: Meta) -> Tbl {
        let d = &meta.desc;
        let defs = &d["AttributeDefinitions"];
        let schema = Schema::of(&d["KeySchema"], defs);
        let mut indexes = Vec::new();
        for (field, global) in [
            ("GlobalSecondaryIndexes", true),
            ("LocalSecondaryIndexes", false),
        ] {
            for ix in d[field].as_array().into_iter().flatten() {
                indexes.push(Index {
                    name: str_field(ix, "IndexName").unwrap_or("").to_string(),
                    schema: Schema::of(&ix["KeySchema"], defs),
                    projection: ix["Projection"].clone(),
                    global,
                });
            }
        }
        Tbl {
            name: str_field(d, "TableName").unwrap_or("").to_string(),
            meta,
            schema,
            indexes,
        }
    }

    pub fn prefix(&self) -> Vec<u8> {
        let mut p = self.name.as_bytes().to_vec();
        p.push(0);
        p
    }

    pub fn index_prefix(&self, index: &str) -> Vec<u8> {
        let mut p = self.prefix();
        p.extend_from_slice(index.as_bytes());
        p.push(0);
        p
    }

    pub fn index(&self, name: &str) -> Result<&Index, AwsError> {
        self.indexes.iter().find(|i| i.name == name).ok_or_else(|| {
            validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })
    }

    /// Check a Key argument: exactly the key attributes, of the right types.
    pub fn check_key(&self, key: &Item) -> Result<Vec<u8>, AwsError> {
        let bad = || validation("The provided key element does not match the schema");
        if key.len() != self.schema.names().len() {
            return Err(bad());
        }
        for (n, t) in std::iter::once(&self.schema.hash).chain(self.schema.range.iter()) {
            let v = key.get(n).ok_or_else(bad)?;
            if v.get(t.as_str()).is_none() {
                return Err(bad());
            }
            check_key_value(n, t, v)?;
        }
        self.schema.encode(key).ok_or_else(bad)
    }

    /// Check an item's key attributes for PutItem.
    pub fn check_item_key(&self, item: &Item) -> Result<Vec<u8>, AwsError> {
        for (n, t) in std::iter::once(&self.schema.hash).chain(self.schema.range.iter()) {
            let v = item.get(n).ok_or_else(|| {
                validation(format!(
                    "One or more parameter values were invalid: Missing the key {n} in the item"
                ))
            })?;
            let actual = v
                .as_object()
                .and_then(|o| o.keys().next())
                .cloned()
                .unwrap_or_default();
            if &actual != t {
                return Err(validation(format!(
                    "One or more parameter values were invalid: Type mismatch for key {n} expected: {t} actual: {actual}"
                )));
            }
            check_key_value(n, t, v)?;
        }
        for ix in &self.indexes {
            for (n, t) in std::iter::once(&ix.schema.hash).chain(ix.schema.range.iter()) {
                if let Some(v) = item.get(n) {
                    let actual = v
                        .as_object()
                        .and_then(|o| o.keys().next())
                        .cloned()
                        .unwrap_or_default();
                    if &actual != t {
                        return Err(validation(format!(
                            "One or more parameter values were invalid: Type mismatch for Index Key {n} Expected: {t} Actual: {actual} IndexName: {}",
                            ix.name
                        )));
                    }
                }
            }
        }
        self.schema
            .encode(item)
            .ok_or_else(|| validation("The provided key element does not match the schema"))
    }

    pub fn row_key(&self, key: &[u8]) -> Vec<u8> {
        let mut k = self.prefix();
        k.extend_from_slice(key);
        k
    }

    /// Whether a write needs the item it replaces: to drop its index
    /// entries, or for a stream or Kinesis record (INSERT or MODIFY, the
    /// old image).
    pub fn writes_need_old(&self) -> bool {
        !self.indexes.is_empty()
            || crate::streams::enabled_arn(&self.meta.desc).is_some()
            || self.meta.extra.get("kinesis").is_some()
    }

    pub fn get(&self, key: &[u8]) -> Option<Item> {
        ITEMS
            .get(&self.row_key(key))
            .and_then(|b| serde_json::from_slice(&b).ok())
    }

    /// The item's stored JSON, unparsed (for answers that return it whole).
    pub fn get_stored(&self, key: &[u8]) -> Option<Box<serde_json::value::RawValue>> {
        let bytes = ITEMS.get(&self.row_key(key))?;
        serde_json::value::RawValue::from_string(String::from_utf8(bytes).ok()?).ok()
    }

    /// Write (`Some`) or delete (`None`) an item, keeping the indexes and
    /// appending the stream record when the table's stream is on.
    pub fn write(&self, key: &[u8], old: Option<&Item>, new: Option<&Item>) {
        self.write_as(key, old, new, false)
    }

    /// [`Tbl::write`]; `by_service`: a deletion by DynamoDB itself (TTL),
    /// marked so in its stream record.
    pub fn write_as(&self, key: &[u8], old: Option<&Item>, new: Option<&Item>, by_service: bool) {
        if let Err(e) = crate::streams::record(self, old, new, by_service) {
            ministack_sdk::warn!("stream record of {} not written: {}", self.name, e.message);
        }
        if let Err(e) = crate::streams::to_kinesis(self, old, new, by_service) {
            ministack_sdk::warn!("Kinesis records of {} not queued: {}", self.name, e.message);
        }
        let row = self.row_key(key);
        match new {
            Some(item) => ITEMS.put(&row, &serde_json::to_vec(item).unwrap_or_default()),
            None => {
                ITEMS.delete(&row);
            }
        }
        for ix in &self.indexes {
            if let Some(o) = old
                && let Some(ik) = ix.schema.encode(o)
            {
                INDEXES.delete(&self.index_row(ix, &ik, key));
            }
            if let Some(n) = new
                && let Some(ik) = ix.schema.encode(n)
            {
                let projected = self.project_for(ix, n);
                INDEXES.put(
                    &self.index_row(ix, &ik, key),
                    &serde_json::to_vec(&projected).unwrap_or_default(),
                );
            }
        }
    }

    pub fn index_row(&self, ix: &Index, index_key: &[u8], key: &[u8]) -> Vec<u8> {
        let mut k = self.index_prefix(&ix.name);
        k.extend_from_slice(index_key);
        k.extend_from_slice(key);
        k
    }

    pub fn project_for(&self, ix: &Index, item: &Item) -> Item {
        match str_field(&ix.projection, "ProjectionType") {
            Some("ALL") | None => item.clone(),
            t => {
                let mut keep: Vec<String> = self
                    .schema
                    .names()
                    .iter()
                    .chain(ix.schema.names().iter())
                    .map(|s| s.to_string())
                    .collect();
                if t == Some("INCLUDE") {
                    keep.extend(
                        ix.projection["NonKeyAttributes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str().map(String::from)),
                    );
                }
                item.iter()
                    .filter(|(k, _)| keep.contains(k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            }
        }
    }

    /// Fill a new index from the table's items (UpdateTable backfill).
    pub fn backfill(&self, ix: &Index) {
        let range = RawRange {
            prefix: self.prefix(),
            start: None,
            end: None,
            reverse: false,
        };
        let plen = self.prefix().len();
        for (k, v) in ITEMS.scan(&range, 0) {
            let Ok(item) = serde_json::from_slice::<Item>(&v) else {
                continue;
            };
            // Index rows of other tables whose name extends this one share
            // the prefix only up to the zero byte, so `k` is ours.
            let key = &k[plen..];
            if let Some(ik) = ix.schema.encode(&item) {
                let projected = self.project_for(ix, &item);
                INDEXES.put(
                    &self.index_row(ix, &ik, key),
                    &serde_json::to_vec(&projected).unwrap_or_default(),
                );
            }
        }
    }

    pub fn arn(&self) -> String {
        str_field(&self.meta.desc, "TableArn")
            .unwrap_or("")
            .to_string()
    }
}

pub use ministack_sdk::store::RawRange;

fn check_key_value(n: &str, t: &str, v: &Value) -> Result<(), AwsError> {
    if v.get(t).and_then(|s| s.as_str()) == Some("") {
        let what = if t == "B" { "binary" } else { "string" };
        return Err(validation(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {what} value. Key: {n}"
        )));
    }
    Ok(())
}

/// Validate an attribute value and normalise its numbers.
pub fn clean_value(v: &Value) -> Result<Value, AwsError> {
    let Some(o) = v.as_object() else {
        return Err(validation(
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
        ));
    };
    let set: Vec<(&String, &Value)> = o.iter().filter(|(_, x)| !x.is_null()).collect();
    if set.len() != 1 {
        return Err(validation(if set.is_empty() {
            "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"
        } else {
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
        }));
    }
    let (t, x) = set[0];
    let num = |s: &Value| -> Result<String, AwsError> {
        let text = s.as_str().unwrap_or("");
        Num::parse(text).map(|n| n.to_string()).map_err(validation)
    };
    Ok(match t.as_str() {
        "N" => json!({"N": num(x)?}),
        "NS" | "SS" | "BS" => {
            let arr = x.as_array().cloned().unwrap_or_default();
            if arr.is_empty() {
                return Err(validation(
                    "One or more parameter values were invalid: An number set  may not be empty"
                        .replace(
                            "number",
                            match t.as_str() {
                                "SS" => "string",
                                "BS" => "binary",
                                _ => "number",
                            },
                        ),
                ));
            }
            let norm: Vec<Value> = if t == "NS" {
                arr.iter()
                    .map(|e| num(e).map(Value::String))
                    .collect::<Result<_, _>>()?
            } else {
                arr.clone()
            };
            let mut seen = std::collections::BTreeSet::new();
            for e in &norm {
                if !seen.insert(e.as_str().unwrap_or("").to_string()) {
                    let shown: Vec<&str> = arr.iter().map(|e| e.as_str().unwrap_or("")).collect();
                    return Err(validation(format!(
                        "Input collection [{}] contains duplicates.",
                        shown.join(", ")
                    )));
                }
            }
            json!({ t: norm })
        }
        "L" => {
            let l: Vec<Value> = x
                .as_array()
                .into_iter()
                .flatten()
                .map(clean_value)
                .collect::<Result<_, _>>()?;
            json!({ "L": l })
        }
        "M" => {
            let mut m = serde_json::Map::new();
            for (k, e) in x.as_object().into_iter().flatten() {
                m.insert(k.clone(), clean_value(e)?);
            }
            json!({ "M": m })
        }
        "S" | "B" | "BOOL" | "NULL" => v.clone(),
        other => {
            return Err(validation(format!(
                "Supplied AttributeValue has an unknown datatype: {other}"
            )));
        }
    })
}

pub fn clean_item(item: &Item) -> Result<Item, AwsError> {
    let mut out = Item::new();
    for (k, v) in item {
        if k.is_empty() {
            return Err(validation(
                "One or more parameter values were invalid: An AttributeValue may not contain an empty string",
            ));
        }
        out.insert(k.clone(), clean_value(v)?);
    }
    Ok(out)
}

/// DynamoDB's item size: names plus values, roughly as AWS counts them.
pub fn item_size(item: &Item) -> usize {
    fn size(v: &Value) -> usize {
        match v {
            Value::Object(o) => o
                .iter()
                .map(|(t, x)| match t.as_str() {
                    "S" => x.as_str().map_or(0, str::len),
                    "B" => x.as_str().map_or(0, |s| s.len() * 3 / 4),
                    "N" => x.as_str().map_or(1, |s| s.len() / 2 + 1),
                    "BOOL" | "NULL" => 1,
                    "M" => {
                        3 + x
                            .as_object()
                            .map_or(0, |m| m.iter().map(|(k, e)| k.len() + size(e) + 1).sum())
                    }
                    _ => {
                        3 + x.as_array().map_or(0, |a| {
                            a.iter().map(|e| size(&json!({ &t[..1]: e })) + 1).sum()
                        })
                    }
                })
                .sum(),
            _ => 0,
        }
    }
    item.iter().map(|(k, v)| k.len() + size(v)).sum()
}

pub fn check_size(item: &Item) -> Result<(), AwsError> {
    if item_size(item) > 400 * 1024 {
        return Err(validation(
            "Item size has exceeded the maximum allowed size",
        ));
    }
    if item.values().any(|v| nesting(v) > MAX_NESTING) {
        return Err(validation("Nesting Levels have exceeded supported limits"));
    }
    Ok(())
}

/// DynamoDB's limit on nested attributes: 32 levels of maps and lists.
const MAX_NESTING: usize = 32;

/// Levels of `M`/`L` in an attribute value (0 for a scalar).
fn nesting(v: &Value) -> usize {
    let Some(o) = v.as_object() else {
        return 0;
    };
    let inner = |x: &Value| -> usize {
        match x {
            Value::Object(m) => m.values().map(nesting).max().unwrap_or(0),
            Value::Array(a) => a.iter().map(nesting).max().unwrap_or(0),
            _ => 0,
        }
    };
    o.iter()
        .map(|(t, x)| match t.as_str() {
            "M" | "L" => 1 + inner(x),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}

/// [`clean_item`] of a request's item map, read where it lies: a large item
/// is copied once, not cloned first (a 15 MB body's item took 3 copies in
/// the plugin's memory).
pub fn clean_item_of(v: &Value, what: &str) -> Result<Item, AwsError> {
    v.as_object()
        .ok_or_else(|| validation(format!("{what} must be a map")))
        .and_then(clean_item)
}

pub fn to_item(v: &Value, what: &str) -> Result<Item, AwsError> {
    v.as_object()
        .cloned()
        .ok_or_else(|| validation(format!("{what} must be a map")))
}
