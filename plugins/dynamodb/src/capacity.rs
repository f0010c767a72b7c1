//! ReturnConsumedCapacity: what each operation reports. Units follow
//! DynamoDB's accounting in whole requests (items here are small): a write
//! is one unit on the table and one on every index whose key the old or new
//! item carries; a read is half a unit (eventually consistent), one when
//! strongly consistent; a transaction costs twice. `INDEXES` adds the
//! breakdown by table and index.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::db::{Tbl, str_field};
use crate::expr::Item;

#[derive(Debug, Default, Clone)]
pub struct Capacity {
    /// Write units (else read units): which CloudWatch metric they feed.
    pub write: bool,
    pub table: f64,
    pub global: BTreeMap<String, f64>,
    pub local: BTreeMap<String, f64>,
}

impl Capacity {
    pub fn table(units: f64) -> Capacity {
        Capacity {
            table: units,
            ..Default::default()
        }
    }

    /// A write of `old` → `new` on `t`.
    pub fn write(t: &Tbl, old: Option<&Item>, new: Option<&Item>) -> Capacity {
        let mut c = Capacity {
            write: true,
            ..Capacity::table(1.0)
        };
        for ix in &t.indexes {
            let carries = |i: Option<&Item>| {
                i.is_some_and(|i| ix.schema.names().iter().all(|n| i.contains_key(*n)))
            };
            if carries(old) || carries(new) {
                c.index(&ix.name, ix.global, 1.0);
            }
        }
        c
    }

    /// A read through `index` (or the table).
    pub fn read(t: &Tbl, index: Option<&str>, units: f64) -> Capacity {
        let mut c = Capacity::default();
        match index.and_then(|n| t.indexes.iter().find(|ix| ix.name == n)) {
            Some(ix) => c.index(&ix.name, ix.global, units),
            None => c.table = units,
        }
        c
    }

    fn index(&mut self, name: &str, global: bool, units: f64) {
        let map = if global {
            &mut self.global
        } else {
            &mut self.local
        };
        *map.entry(name.to_string()).or_default() += units;
    }

    pub fn add(&mut self, other: &Capacity) {
        self.table += other.table;
        for (k, v) in &other.global {
            *self.global.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.local {
            *self.local.entry(k.clone()).or_default() += v;
        }
    }

    pub fn scaled(mut self, factor: f64) -> Capacity {
        self.table *= factor;
        self.global.values_mut().for_each(|v| *v *= factor);
        self.local.values_mut().for_each(|v| *v *= factor);
        self
    }

    pub fn total(&self) -> f64 {
        self.table + self.global.values().sum::<f64>() + self.local.values().sum::<f64>()
    }

    /// The ConsumedCapacity structure for `mode` (TOTAL or INDEXES);
    /// `kind` adds ReadCapacityUnits / WriteCapacityUnits (transactions).
    pub fn report(&self, table: &str, mode: &str, kind: Option<&str>) -> Value {
        let mut out = json!({"TableName": table, "CapacityUnits": self.total()});
        if let Some(k) = kind {
            out[k] = json!(self.total());
        }
        if mode == "INDEXES" {
            let units = |u: f64| match kind {
                Some(k) => json!({"CapacityUnits": u, k: u}),
                None => json!({"CapacityUnits": u}),
            };
            out["Table"] = units(self.table);
            for (field, map) in [
                ("GlobalSecondaryIndexes", &self.global),
                ("LocalSecondaryIndexes", &self.local),
            ] {
                if !map.is_empty() {
                    out[field] = map.iter().map(|(k, v)| (k.clone(), units(*v))).collect();
                }
            }
        }
        out
    }
}

/// The requested mode: `Some("TOTAL" | "INDEXES")`, `None` for NONE/absent.
pub fn mode(input: &Value) -> Option<&str> {
    str_field(input, "ReturnConsumedCapacity").filter(|m| matches!(*m, "TOTAL" | "INDEXES"))
}

/// Puts the single-table report on `out` when asked for, and counts the
/// units in `ConsumedRead/WriteCapacityUnits` (AWS/DynamoDB, per table,
/// batched by ministack_sdk::metrics).
pub fn single(input: &Value, table: &str, cap: &Capacity, out: &mut Value) {
    let name = if cap.write {
        "ConsumedWriteCapacityUnits"
    } else {
        "ConsumedReadCapacityUnits"
    };
    let dims = [("TableName", table)];
    if let Err(e) = ministack_sdk::metrics::emit(&[ministack_sdk::metrics::Datum {
        value: cap.total(),
        ..ministack_sdk::metrics::Datum::count("AWS/DynamoDB", name, &dims)
    }]) {
        ministack_sdk::warn!("capacity metrics not recorded: {}", e.message);
    }
    if let Some(m) = mode(input) {
        out["ConsumedCapacity"] = cap.report(table, m, None);
    }
}

/// Puts the per-table list (batch and transaction operations) on `out`.
pub fn list(
    input: &Value,
    per_table: &BTreeMap<String, Capacity>,
    kind: Option<&str>,
    out: &mut Value,
) {
    if let Some(m) = mode(input) {
        out["ConsumedCapacity"] = per_table
            .iter()
            .map(|(t, c)| c.report(t, m, kind))
            .collect();
    }
}
