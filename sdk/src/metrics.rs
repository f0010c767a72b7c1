//! Service metrics (`AWS/Lambda`, `AWS/DynamoDB`, ...) a plugin emits to
//! CloudWatch, batched: [`emit`] folds datums into one of the plugin's
//! pending rows, picked at random (in the request's unit: one read and one
//! write; sharded so concurrent requests rarely touch the same row), as
//! statistic sets per metric and second, and the first datum of a batch
//! schedules a flush task a second later that sends the whole batch as
//! `PutMetricData` (one `services.call` per namespace and 1,000 datums).
//! So a busy plugin makes about one cross-plugin call a second, not one
//! per request, and a request never waits for CloudWatch. It still makes
//! a read-only request a writer: a host-side aggregator (no store row at
//! all) is the better home, noted in docs/performance.md.
//!
//! The router runs [`FLUSH_TASK`] itself: a plugin only calls [`emit`].

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::services::{self, Target};
use crate::{AwsError, Context, Table, tasks, time};

/// The flush task's name (handled by every plugin's router).
pub const FLUSH_TASK: &str = "ministack:metrics-flush";

/// Put before an `AWS/...` namespace in the flush's PutMetricData: the
/// CloudWatch plugin accepts the reserved `AWS/` prefix only so marked
/// (clients get AWS's refusal).
pub const SERVICE_NAMESPACE_MARK: &str = "ministack-service:";

/// One value of one metric.
pub struct Datum<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub dimensions: &'a [(&'a str, &'a str)],
    pub value: f64,
    /// CloudWatch's unit name: `Count`, `Milliseconds`, ...
    pub unit: &'a str,
}

impl<'a> Datum<'a> {
    pub fn count(namespace: &'a str, name: &'a str, dimensions: &'a [(&'a str, &'a str)]) -> Self {
        Datum {
            namespace,
            name,
            dimensions,
            value: 1.0,
            unit: "Count",
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct StatSet {
    n: f64,
    sum: f64,
    min: f64,
    max: f64,
}

/// Key of a statistic set: namespace, name, unit, second, then the
/// dimensions as name/value pairs, `\u{1}`-separated.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Pending {
    sets: BTreeMap<String, StatSet>,
}

const PENDING: Table<Pending> = Table::new("ministack-metrics-pending");
/// The pending batch is spread over this many rows, one picked at random
/// per emit: every request of a busy plugin writes a pending row, and one
/// shared row would make concurrent requests conflict and re-run.
const SHARDS: u64 = 16;

fn shard_key(n: u64) -> String {
    format!("pending-{n}")
}
const SEP: char = '\u{1}';

/// Adds the datums to the pending batch (flushed a second after its first
/// datum). Errors of the store end the request as any store error would.
pub fn emit(data: &[Datum]) -> Result<(), AwsError> {
    if data.is_empty() {
        return Ok(());
    }
    let second = time::now_secs();
    let mut fresh = false;
    PENDING.update(&shard_key(crate::rand::below(SHARDS)), |old| {
        fresh = old.as_ref().is_none_or(|p| p.sets.is_empty());
        let mut p = old.unwrap_or_default();
        for d in data {
            let mut key = format!("{}{SEP}{}{SEP}{}{SEP}{second}", d.namespace, d.name, d.unit);
            for (n, v) in d.dimensions {
                key.push(SEP);
                key.push_str(n);
                key.push(SEP);
                key.push_str(v);
            }
            let s = p.sets.entry(key).or_insert(StatSet {
                n: 0.0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
            });
            s.n += 1.0;
            s.sum += d.value;
            s.min = s.min.min(d.value);
            s.max = s.max.max(d.value);
        }
        Ok(p)
    })?;
    if fresh {
        tasks::schedule(Duration::from_secs(1), FLUSH_TASK, &())?;
    }
    Ok(())
}

/// Sends the pending batch to CloudWatch (`cloudwatch`, else `monitoring`).
/// Without a CloudWatch plugin the batch is dropped with a warning.
pub(crate) fn flush(ctx: &Context) -> Result<(), AwsError> {
    let mut sets: Vec<(String, StatSet)> = Vec::new();
    for n in 0..SHARDS {
        let key = shard_key(n);
        if let Some(p) = PENDING.get(&key)? {
            PENDING.delete(&key);
            sets.extend(p.sets);
        }
    }
    if sets.is_empty() {
        return Ok(());
    }
    let mut by_ns: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for (key, s) in sets {
        let parts: Vec<&str> = key.split(SEP).collect();
        if parts.len() < 4 {
            continue;
        }
        let dims: Vec<serde_json::Value> = parts[4..]
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| serde_json::json!({"Name": c[0], "Value": c[1]}))
            .collect();
        let ts: f64 = parts[3].parse().unwrap_or_else(|_| time::now());
        by_ns
            .entry(parts[0].to_string())
            .or_default()
            .push(serde_json::json!({
                "MetricName": parts[1],
                "Unit": parts[2],
                "Timestamp": ts,
                "Dimensions": dims,
                "StatisticValues": {"SampleCount": s.n, "Sum": s.sum, "Minimum": s.min, "Maximum": s.max},
            }));
    }
    for (ns, data) in by_ns {
        for chunk in data.chunks(1000) {
            let input = serde_json::json!({
                "Namespace": format!("{SERVICE_NAMESPACE_MARK}{ns}"),
                "MetricData": chunk,
            })
            .to_string();
            let mut result =
                services::call_json(&Target::new("cloudwatch", ctx), "PutMetricData", &input);
            if result.is_err() {
                result =
                    services::call_json(&Target::new("monitoring", ctx), "PutMetricData", &input)
                        .or(result);
            }
            if let Err(e) = result {
                crate::log::warn(&format!(
                    "service metrics for {ns} not published: {} {}",
                    e.code, e.message
                ));
            }
        }
    }
    Ok(())
}
