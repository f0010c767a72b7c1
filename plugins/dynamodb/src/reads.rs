//! Query and Scan over the ordered store, on tables and on indexes.

use ministack_sdk::prelude::*;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::capacity::{self, Capacity};
use crate::db::{
    INDEXES, ITEMS, RawRange, Schema, Tbl, encode_attr, str_field, to_item, validation,
};
use crate::expr::{self, Cmp, Cond, Item, Operand, Step};
use crate::items::{holds, parse};
use crate::keycode;

/// A sort-key condition of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum SortCond {
    Cmp(Cmp, Value),
    Between(Value, Value),
    BeginsWith(Value),
}

fn flatten(c: &Cond, out: &mut Vec<Cond>) -> Result<(), String> {
    match c {
        Cond::And(a, b) => {
            flatten(a, out)?;
            flatten(b, out)
        }
        Cond::Or(..) => Err("Invalid operator used in KeyConditionExpression: OR".into()),
        Cond::Not(..) => Err("Invalid operator used in KeyConditionExpression: NOT".into()),
        other => {
            out.push(other.clone());
            Ok(())
        }
    }
}

fn top(op: &Operand) -> Option<&str> {
    match op {
        Operand::Path(p) if p.len() == 1 => match &p[0] {
            Step::Attr(a) => Some(a),
            _ => None,
        },
        _ => None,
    }
}

fn flip(c: Cmp) -> Cmp {
    match c {
        Cmp::Lt => Cmp::Gt,
        Cmp::Le => Cmp::Ge,
        Cmp::Gt => Cmp::Lt,
        Cmp::Ge => Cmp::Le,
        o => o,
    }
}

/// Split a key condition into the partition value and the sort condition.
pub fn key_condition(c: &Cond, schema: &Schema) -> Result<(Value, Option<SortCond>), String> {
    let mut parts = Vec::new();
    flatten(c, &mut parts)?;
    let mut hash = None;
    let mut sort = None;
    for part in parts {
        let (name, sc) = match part {
            Cond::Cmp(op, a, b) => match (top(&a), &b, top(&b), &a) {
                (Some(n), Operand::Value(v), _, _) => (n.to_string(), SortCond::Cmp(op, v.clone())),
                (_, _, Some(n), Operand::Value(v)) => (n.to_string(), SortCond::Cmp(flip(op), v.clone())),
                _ => return Err("Invalid condition in KeyConditionExpression: multiple attribute names used in one condition".into()),
            },
            Cond::Between(a, Operand::Value(lo), Operand::Value(hi)) if top(&a).is_some() => {
                (top(&a).unwrap_or("").to_string(), SortCond::Between(lo, hi))
            }
            Cond::BeginsWith(a, Operand::Value(v)) if top(&a).is_some() => {
                (top(&a).unwrap_or("").to_string(), SortCond::BeginsWith(v))
            }
            Cond::Between(..) | Cond::BeginsWith(..) => {
                return Err("Query key condition not supported".into());
            }
            other => {
                let f = match other {
                    Cond::Exists(_) => "attribute_exists",
                    Cond::NotExists(_) => "attribute_not_exists",
                    Cond::Type(..) => "attribute_type",
                    Cond::Contains(..) => "contains",
                    _ => "IN",
                };
                return Err(format!("Invalid operator used in KeyConditionExpression: {f}"));
            }
        };
        if name == schema.hash.0 {
            match sc {
                SortCond::Cmp(Cmp::Eq, v) if hash.is_none() => hash = Some(v),
                _ => return Err("Query key condition not supported".into()),
            }
        } else if schema.range.as_ref().is_some_and(|r| r.0 == name) && sort.is_none() {
            if matches!(sc, SortCond::Cmp(Cmp::Ne, _)) {
                return Err("Unsupported operator on KeyConditionExpression: operator: <>".into());
            }
            sort = Some(sc);
        } else {
            return Err(format!(
                "Query condition missed key schema element: {}",
                schema.hash.0
            )
            .replace(
                &schema.hash.0,
                if hash.is_none() && name != schema.hash.0 {
                    &schema.hash.0
                } else {
                    &name
                },
            ));
        }
    }
    let hash = hash.ok_or_else(|| {
        format!(
            "Query condition missed key schema element: {}",
            schema.hash.0
        )
    })?;
    Ok((hash, sort))
}

fn typed(v: &Value, ty: &str) -> Result<Vec<u8>, String> {
    encode_attr(v, ty).ok_or_else(|| "One or more parameter values were invalid: Condition parameter type does not match schema type".to_string())
}

/// Inclusive start and exclusive end of a range (`None`: unbounded).
pub type Bounds = (Option<Vec<u8>>, Option<Vec<u8>>);

/// The bounds `[start, end)` of the rows a sort condition selects below `p`.
pub fn bounds(p: &[u8], sort: Option<&SortCond>, ty: &str) -> Result<Bounds, String> {
    let at = |v: &Value| -> Result<Vec<u8>, String> { Ok([p, &typed(v, ty)?].concat()) };
    let succ = |k: Vec<u8>| keycode::successor(&k);
    Ok(match sort {
        None => (None, None),
        Some(SortCond::Cmp(op, v)) => match op {
            Cmp::Eq => (Some(at(v)?), succ(at(v)?)),
            Cmp::Lt => (None, Some(at(v)?)),
            Cmp::Le => (None, succ(at(v)?)),
            Cmp::Gt => (succ(at(v)?), None),
            Cmp::Ge => (Some(at(v)?), None),
            Cmp::Ne => {
                return Err("Unsupported operator on KeyConditionExpression: operator: <>".into());
            }
        },
        Some(SortCond::Between(lo, hi)) => {
            if expr::order(lo, hi) == Some(std::cmp::Ordering::Greater) {
                return Err("Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound".into());
            }
            (Some(at(lo)?), succ(at(hi)?))
        }
        Some(SortCond::BeginsWith(v)) => {
            if ty == "N" {
                return Err("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: NUMBER".into());
            }
            let raw = match v.get(ty).and_then(|s| s.as_str()) {
                Some(s) if ty == "S" => s.as_bytes().to_vec(),
                Some(s) => ministack_sdk::encoding::base64_decode(s).unwrap_or_default(),
                None => return Err("One or more parameter values were invalid: Condition parameter type does not match schema type".into()),
            };
            let start = [p, &keycode::escape(&raw)].concat();
            let end = succ(start.clone());
            (Some(start), end)
        }
    })
}

struct Source<'a> {
    t: &'a Tbl,
    index: Option<&'a crate::db::Index>,
}

impl Source<'_> {
    fn schema(&self) -> &Schema {
        self.index.map_or(&self.t.schema, |i| &i.schema)
    }

    fn prefix(&self) -> Vec<u8> {
        match self.index {
            Some(ix) => self.t.index_prefix(&ix.name),
            None => self.t.prefix(),
        }
    }

    fn rows(&self, range: &RawRange, limit: u32) -> Vec<(Vec<u8>, Vec<u8>)> {
        if self.index.is_some() {
            INDEXES.scan(range, limit)
        } else {
            ITEMS.scan(range, limit)
        }
    }

    /// The row key of an ExclusiveStartKey.
    fn start_row(&self, esk: &Item) -> Result<Vec<u8>, AwsError> {
        let bad = || {
            validation(
                "The provided starting key is invalid: The provided key element does not match the schema",
            )
        };
        let table_key = self.t.schema.encode(esk).ok_or_else(bad)?;
        Ok(match self.index {
            Some(ix) => self
                .t
                .index_row(ix, &ix.schema.encode(esk).ok_or_else(bad)?, &table_key),
            None => self.t.row_key(&table_key),
        })
    }

    fn last_key(&self, item: &Item) -> Item {
        let mut k = self.t.schema.key_of(item);
        if let Some(ix) = self.index {
            k.extend(ix.schema.key_of(item));
        }
        k
    }
}

struct Opts {
    limit: u32,
    count_only: bool,
    full_items: bool,
}

fn opts(
    input: &Value,
    t: &Tbl,
    index: Option<&crate::db::Index>,
    has_projection: bool,
) -> Result<Opts, AwsError> {
    let limit = match input.member("Limit") {
        Some(l) => {
            let l = l.as_i64().unwrap_or(0);
            if l < 1 {
                return Err(AwsError::validation(format!(
                    "1 validation error detected: Value '{l}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
                )));
            }
            l as u32
        }
        None => 0,
    };
    let select = str_field(input, "Select");
    if select == Some("SPECIFIC_ATTRIBUTES") && !has_projection {
        return Err(validation(
            "1 validation error detected: SPECIFIC_ATTRIBUTES requires ProjectionExpression or AttributesToGet",
        ));
    }
    if select.is_some_and(|s| s != "SPECIFIC_ATTRIBUTES") && has_projection {
        return Err(validation(
            "Cannot specify the AttributesToGet or ProjectionExpression when choosing to get ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES or COUNT",
        )
        .with_member("message", "Cannot specify the AttributesToGet when choosing to get ALL_ATTRIBUTES"));
    }
    if select == Some("ALL_PROJECTED_ATTRIBUTES") && index.is_none() {
        return Err(validation(
            "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
        ));
    }
    if let Some(ix) = index {
        if ix.global && input.member("ConsistentRead").and_then(|v| v.as_bool()) == Some(true) {
            return Err(validation(
                "Consistent reads are not supported on global secondary indexes",
            ));
        }
        if select == Some("ALL_ATTRIBUTES")
            && ix.global
            && str_field(&ix.projection, "ProjectionType") != Some("ALL")
        {
            return Err(validation(format!(
                "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
                ix.name
            )));
        }
    }
    let _ = t;
    Ok(Opts {
        limit,
        count_only: select == Some("COUNT"),
        full_items: select == Some("ALL_ATTRIBUTES") && index.is_some(),
    })
}

/// Data a Query or Scan page reads at most (AWS's 1 MB).
pub const PAGE_BYTES: usize = 1024 * 1024;

/// A Query or Scan page: its items either parsed (filtered, projected)
/// or the stored JSON as is.
pub struct Answer {
    head: Value,
    items: Items,
}

enum Items {
    None,
    Parsed(Vec<Item>),
    Stored(Vec<Box<RawValue>>),
}

impl Serialize for Answer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let head = self.head.as_object();
        let extra = usize::from(!matches!(self.items, Items::None));
        let mut m = s.serialize_map(Some(head.map_or(0, |h| h.len()) + extra))?;
        for (k, v) in head.into_iter().flatten() {
            m.serialize_entry(k, v)?;
        }
        match &self.items {
            Items::None => {}
            Items::Parsed(items) => m.serialize_entry("Items", items)?,
            Items::Stored(items) => m.serialize_entry("Items", items)?,
        }
        m.end()
    }
}

fn answer(
    input: &Value,
    src: &Source,
    rows: Vec<(Vec<u8>, Vec<u8>)>,
    o: &Opts,
    filter: Option<&Cond>,
    projection: Option<&Vec<expr::Path>>,
) -> Result<Answer, AwsError> {
    // Nothing looks inside the items: they go out as stored, unparsed. A
    // stored item's JSON is never shorter than its DynamoDB size, so rows
    // under 1 MB of JSON cannot reach the page's size cut.
    let stored_bytes: usize = rows.iter().map(|(_, v)| v.len()).sum();
    if filter.is_none() && projection.is_none() && !o.full_items && stored_bytes < PAGE_BYTES {
        return stored_answer(input, src, rows, o);
    }

    let mut scanned = 0;
    let mut read = 0;
    let mut size_cut = false;
    let mut items = Vec::new();
    let mut last = None;
    for (i, (_, v)) in rows.iter().enumerate() {
        let Ok(mut item) = serde_json::from_slice::<Item>(v) else {
            continue;
        };
        scanned += 1;
        last = Some(src.last_key(&item));
        // AWS stops a page once it has read 1 MB of data (before the filter).
        read += crate::db::item_size(&item);
        if read >= PAGE_BYTES && i + 1 < rows.len() {
            size_cut = true;
        }
        if o.full_items
            && let Some(k) = src.t.schema.encode(&item)
            && let Some(full) = src.t.get(&k)
        {
            item = full;
        }
        let keep = match filter {
            Some(f) => holds(f, &item)?,
            None => true,
        };
        if keep {
            items.push(item);
        }
        if size_cut {
            break;
        }
    }
    let mut head = json!({ "Count": items.len(), "ScannedCount": scanned });
    let items = if o.count_only {
        Items::None
    } else {
        Items::Parsed(
            items
                .into_iter()
                .map(|i| match projection {
                    Some(p) => expr::project(&i, p),
                    None => i,
                })
                .collect(),
        )
    };
    if (size_cut || (o.limit > 0 && scanned as u32 >= o.limit))
        && let Some(k) = last
    {
        head["LastEvaluatedKey"] = Value::Object(k);
    }
    consumed(input, src, scanned, &mut head);
    Ok(Answer { head, items })
}

/// [`answer`] for items that go out as stored.
fn stored_answer(
    input: &Value,
    src: &Source,
    rows: Vec<(Vec<u8>, Vec<u8>)>,
    o: &Opts,
) -> Result<Answer, AwsError> {
    // A row that does not decode is skipped, as `answer` skips it.
    let items: Vec<Box<RawValue>> = rows
        .into_iter()
        .filter_map(|(_, v)| RawValue::from_string(String::from_utf8(v).ok()?).ok())
        .collect();
    let scanned = items.len();
    let mut head = json!({ "Count": scanned, "ScannedCount": scanned });
    if o.limit > 0
        && scanned as u32 >= o.limit
        && let Some(item) = items.last()
        && let Ok(item) = serde_json::from_str::<Item>(item.get())
    {
        head["LastEvaluatedKey"] = Value::Object(src.last_key(&item));
    }
    consumed(input, src, scanned, &mut head);
    Ok(Answer {
        head,
        items: if o.count_only {
            Items::None
        } else {
            Items::Stored(items)
        },
    })
}

/// Read units: half or one per item read, at least one read's worth.
fn consumed(input: &Value, src: &Source, scanned: usize, out: &mut Value) {
    let per_read = crate::items::read_units(input);
    let units = (scanned as f64 * per_read).max(per_read);
    let cap = Capacity::read(src.t, src.index.map(|ix| ix.name.as_str()), units);
    capacity::single(input, &src.t.name, &cap, out);
}

pub fn query(_ctx: &Context, input: Value) -> Result<Answer, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let index = match str_field(&input, "IndexName") {
        Some(n) => Some(t.index(n)?),
        None => None,
    };
    let p = parse(&input)?;
    let o = opts(&input, &t, index, p.projection.is_some())?;
    let src = Source { t: &t, index };
    let key = p.key.as_ref().ok_or_else(|| {
        validation("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
    })?;
    let schema = src.schema();
    let wrap = |e: String| {
        if e.starts_with("Invalid") || e.starts_with("One or more") || e.starts_with("Query") {
            validation(e)
        } else {
            validation(format!("Invalid KeyConditionExpression: {e}"))
        }
    };
    let (hash, sort) = key_condition(key, schema).map_err(wrap)?;
    let sort_values: Vec<&Value> = match &sort {
        Some(SortCond::Cmp(_, v)) | Some(SortCond::BeginsWith(v)) => vec![v],
        Some(SortCond::Between(lo, hi)) => vec![lo, hi],
        None => vec![],
    };
    for (v, name) in std::iter::once((&hash, &schema.hash.0)).chain(
        sort_values
            .into_iter()
            .zip(schema.range.iter().map(|r| &r.0).cycle()),
    ) {
        if v.member("S").and_then(Value::as_str) == Some("")
            || v.member("B").and_then(Value::as_str) == Some("")
        {
            return Err(validation(format!(
                "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}"
            )));
        }
    }
    let mut prefix = src.prefix();
    prefix.extend(typed(&hash, &schema.hash.1).map_err(validation)?);
    let sort_ty = schema.range.as_ref().map_or("S", |r| r.1.as_str());
    let (mut start, mut end) = bounds(&prefix, sort.as_ref(), sort_ty).map_err(wrap)?;
    let forward = input
        .member("ScanIndexForward")
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    if let Some(esk) = input.member("ExclusiveStartKey") {
        let row = src.start_row(&to_item(esk, "ExclusiveStartKey")?)?;
        let outside = !row.starts_with(&prefix)
            || start.as_ref().is_some_and(|s| row < *s)
            || end.as_ref().is_some_and(|e| row >= *e);
        if outside {
            return Err(validation(
                "The provided starting key is outside query boundaries based on provided conditions",
            ));
        }
        if forward {
            let after = [row.as_slice(), &[0]].concat();
            start = Some(match start {
                Some(s) if s > after => s,
                _ => after,
            });
        } else {
            end = Some(match end {
                Some(e) if e < row => e,
                _ => row,
            });
        }
    }
    let range = RawRange {
        prefix,
        start,
        end,
        reverse: !forward,
    };
    let rows = src.rows(&range, o.limit);
    answer(
        &input,
        &src,
        rows,
        &o,
        p.filter.as_ref(),
        p.projection.as_ref(),
    )
}

fn segment_of(key: &[u8], total: u64) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h % total
}

pub fn scan(_ctx: &Context, input: Value) -> Result<Answer, AwsError> {
    let t = Tbl::open(str_field(&input, "TableName").unwrap_or(""))?;
    let index = match str_field(&input, "IndexName") {
        Some(n) => Some(t.index(n)?),
        None => None,
    };
    let p = parse(&input)?;
    let o = opts(&input, &t, index, p.projection.is_some())?;
    let src = Source { t: &t, index };
    let segment = input.member("Segment").and_then(|v| v.as_u64());
    let total = input.member("TotalSegments").and_then(|v| v.as_u64());
    let seg = match (segment, total) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        (Some(s), Some(n)) => {
            if s >= n {
                return Err(validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {n}"
                )));
            }
            Some((s, n))
        }
    };
    let mut start = None;
    if let Some(esk) = input.member("ExclusiveStartKey") {
        let row = src.start_row(&to_item(esk, "ExclusiveStartKey")?)?;
        start = Some([row.as_slice(), &[0]].concat());
    }
    let range = RawRange {
        prefix: src.prefix(),
        start,
        end: None,
        reverse: false,
    };
    let rows = match seg {
        None => src.rows(&range, o.limit),
        Some((s, n)) => {
            let plen = src.prefix().len();
            let hash_ty = &t.schema.hash.1;
            let mut rows: Vec<(Vec<u8>, Vec<u8>)> = src
                .rows(&range, 0)
                .into_iter()
                .filter(|(_, v)| {
                    let item: Item = serde_json::from_slice(v).unwrap_or_default();
                    let k = item
                        .get(&t.schema.hash.0)
                        .and_then(|h| encode_attr(h, hash_ty))
                        .unwrap_or_default();
                    segment_of(&k, n) == s
                })
                .collect();
            let _ = plen;
            if o.limit > 0 {
                rows.truncate(o.limit as usize);
            }
            rows
        }
    };
    answer(
        &input,
        &src,
        rows,
        &o,
        p.filter.as_ref(),
        p.projection.as_ref(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expr::{Ctx, parse_condition};

    fn schema() -> Schema {
        Schema::of(
            &json!([{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}]),
            &json!([{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}]),
        )
    }

    fn kc(src: &str, values: Value) -> Result<(Value, Option<SortCond>), String> {
        let v = values.as_object().cloned();
        let mut ctx = Ctx::new(None, v.as_ref());
        let c = parse_condition(src, &mut ctx)?;
        key_condition(&c, &schema())
    }

    #[test]
    fn splits_key_conditions() {
        let (h, s) = kc(
            "pk = :p AND sk BETWEEN :a AND :b",
            json!({":p": {"S": "x"}, ":a": {"N": "1"}, ":b": {"N": "5"}}),
        )
        .unwrap();
        assert_eq!(h, json!({"S": "x"}));
        assert_eq!(
            s,
            Some(SortCond::Between(json!({"N": "1"}), json!({"N": "5"})))
        );
        let (_, s) = kc(
            ":a < sk AND pk = :p",
            json!({":p": {"S": "x"}, ":a": {"N": "1"}}),
        )
        .unwrap();
        assert_eq!(s, Some(SortCond::Cmp(Cmp::Gt, json!({"N": "1"}))));
        assert!(
            kc("sk = :a", json!({":a": {"N": "1"}}))
                .unwrap_err()
                .contains("missed key schema element: pk")
        );
        assert!(
            kc(
                "pk = :p OR sk = :a",
                json!({":p": {"S": "x"}, ":a": {"N": "1"}})
            )
            .unwrap_err()
            .contains("OR")
        );
        assert!(
            kc(
                "pk = :p AND other = :a",
                json!({":p": {"S": "x"}, ":a": {"N": "1"}})
            )
            .is_err()
        );
    }

    #[test]
    fn bounds_select_the_right_rows() {
        let p = b"t\0".to_vec();
        let row = |n: &str| {
            [
                p.clone(),
                keycode::number(&crate::num::Num::parse(n).unwrap()),
            ]
            .concat()
        };
        let within = |b: &Bounds, k: &Vec<u8>| {
            b.0.as_ref().is_none_or(|s| k >= s) && b.1.as_ref().is_none_or(|e| k < e)
        };
        let lt = bounds(&p, Some(&SortCond::Cmp(Cmp::Lt, json!({"N": "5"}))), "N").unwrap();
        assert!(within(&lt, &row("4.99")) && !within(&lt, &row("5")) && within(&lt, &row("-100")));
        let le = bounds(&p, Some(&SortCond::Cmp(Cmp::Le, json!({"N": "5"}))), "N").unwrap();
        assert!(within(&le, &row("5")) && !within(&le, &row("5.01")));
        let gt = bounds(&p, Some(&SortCond::Cmp(Cmp::Gt, json!({"N": "5"}))), "N").unwrap();
        assert!(!within(&gt, &row("5")) && within(&gt, &row("50")));
        let bt = bounds(
            &p,
            Some(&SortCond::Between(json!({"N": "-1"}), json!({"N": "10"}))),
            "N",
        )
        .unwrap();
        assert!(
            within(&bt, &row("-1"))
                && within(&bt, &row("10"))
                && !within(&bt, &row("10.5"))
                && !within(&bt, &row("-2"))
        );
        let bw = bounds(&p, Some(&SortCond::BeginsWith(json!({"S": "ab"}))), "S").unwrap();
        let srow = |s: &str| [p.clone(), keycode::bytes(s.as_bytes())].concat();
        assert!(
            within(&bw, &srow("ab"))
                && within(&bw, &srow("abz"))
                && !within(&bw, &srow("ac"))
                && !within(&bw, &srow("a"))
        );
        assert!(bounds(&p, Some(&SortCond::Cmp(Cmp::Eq, json!({"S": "x"}))), "N").is_err());
    }
}
