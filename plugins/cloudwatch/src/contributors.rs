//! Contributor Insights over CloudWatch Logs: a `CloudWatchLogRule` rule's
//! report, computed by reading its log groups' events in the window
//! (`FilterLogEvents` of the `logs` plugin through `services.call`),
//! keeping the JSON events its `Filters` pass, and aggregating `Count` or
//! `Sum` of `ValueOf` per `Keys` tuple and per period. Only `LogFormat`
//! JSON (the default) is read; CLF rules report no contributors.

use std::collections::BTreeMap;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use serde_json::{Value, json};

use crate::shapes::*;

/// `$.a.b` of a JSON event.
fn path<'a>(event: &'a Value, p: &str) -> Option<&'a Value> {
    let mut cur = event;
    for part in p.trim_start_matches('$').trim_start_matches('.').split('.') {
        if part.is_empty() {
            continue;
        }
        cur = cur.get(part)?;
    }
    Some(cur)
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => text(a) == text(b),
    }
}

/// A rule's filter: `{"Match": "$.f", "In": [...]}` and its other
/// operators (`NotIn`, `StartsWith`, `GreaterThan`, `LessThan`,
/// `EqualTo`, `NotEqualTo`, `IsPresent`).
fn passes(filter: &Value, event: &Value) -> bool {
    let Some(m) = filter["Match"].as_str() else {
        return true;
    };
    let v = path(event, m);
    if let Some(want) = filter.get("IsPresent").and_then(Value::as_bool) {
        return v.is_some() == want;
    }
    let Some(v) = v else {
        return false;
    };
    let list = |k: &str| filter.get(k).and_then(Value::as_array);
    if let Some(l) = list("In")
        && !l.iter().any(|x| same(x, v))
    {
        return false;
    }
    if let Some(l) = list("NotIn")
        && l.iter().any(|x| same(x, v))
    {
        return false;
    }
    if let Some(l) = list("StartsWith")
        && !l.iter().any(|x| text(v).starts_with(&text(x)))
    {
        return false;
    }
    let num = v.as_f64().or_else(|| text(v).parse().ok());
    if let Some(t) = filter.get("GreaterThan").and_then(Value::as_f64)
        && num.is_none_or(|n| n <= t)
    {
        return false;
    }
    if let Some(t) = filter.get("LessThan").and_then(Value::as_f64)
        && num.is_none_or(|n| n >= t)
    {
        return false;
    }
    if let Some(t) = filter.get("EqualTo")
        && !same(t, v)
    {
        return false;
    }
    if let Some(t) = filter.get("NotEqualTo")
        && same(t, v)
    {
        return false;
    }
    true
}

/// The events (ms timestamp, message) of a group in `[start, end)`.
fn events(ctx: &Context, group: &str, start: i64, end: i64) -> Vec<(i64, String)> {
    let target = Target::new("logs", ctx);
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut input = json!({"logGroupName": group, "startTime": start, "endTime": end - 1});
        if let Some(t) = &token {
            input["nextToken"] = json!(t);
        }
        let Ok(text) = services::call_json(&target, "FilterLogEvents", &input.to_string()) else {
            return out;
        };
        let page: Value = serde_json::from_str(&text).unwrap_or_default();
        for e in page["events"].as_array().into_iter().flatten() {
            if let (Some(ts), Some(m)) = (e["timestamp"].as_i64(), e["message"].as_str()) {
                out.push((ts, m.to_string()));
            }
        }
        match page["nextToken"].as_str() {
            Some(t) if out.len() < 1_000_000 => token = Some(t.to_string()),
            _ => return out,
        }
    }
}

pub fn report(
    ctx: &Context,
    def: &Value,
    input: &GetInsightRuleReportInput,
) -> (
    Vec<InsightRuleContributor>,
    Vec<InsightRuleMetricDatapoint>,
    f64,
    i64,
) {
    let keys: Vec<&str> = def["Contribution"]["Keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let filters: Vec<Value> = def["Contribution"]["Filters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sum = def["AggregateOn"].as_str() == Some("Sum");
    let value_of = def["Contribution"]["ValueOf"].as_str();
    let json_format = def["LogFormat"].as_str().is_none_or(|f| f == "JSON");
    let period = (input.period.max(1) as i64) * 1000;
    let start = (input.start_time * 1000.0) as i64;
    let end = (input.end_time * 1000.0) as i64;
    // contributor keys → period start → value
    let mut by_key: BTreeMap<Vec<String>, BTreeMap<i64, f64>> = BTreeMap::new();
    if json_format {
        for g in def["LogGroupNames"].as_array().into_iter().flatten() {
            let Some(g) = g.as_str() else { continue };
            for (ts, msg) in events(ctx, g, start, end) {
                let Ok(ev) = serde_json::from_str::<Value>(&msg) else {
                    continue;
                };
                if !filters.iter().all(|f| passes(f, &ev)) {
                    continue;
                }
                let Some(k) = keys
                    .iter()
                    .map(|k| path(&ev, k).map(text))
                    .collect::<Option<Vec<String>>>()
                else {
                    continue;
                };
                let v = if sum {
                    match value_of.and_then(|p| path(&ev, p)) {
                        Some(v) => v.as_f64().or_else(|| text(v).parse().ok()).unwrap_or(0.0),
                        None => continue,
                    }
                } else {
                    1.0
                };
                let bucket = start + (ts - start) / period * period;
                *by_key.entry(k).or_default().entry(bucket).or_default() += v;
            }
        }
    }
    let unique = by_key.len() as i64;
    let mut contributors: Vec<InsightRuleContributor> = by_key
        .iter()
        .map(|(k, points)| InsightRuleContributor {
            keys: k.clone(),
            approximate_aggregate_value: points.values().sum(),
            datapoints: points
                .iter()
                .map(|(t, v)| InsightRuleContributorDatapoint {
                    timestamp: *t as f64 / 1000.0,
                    approximate_value: *v,
                })
                .collect(),
        })
        .collect();
    let ascending = input.order_by.as_deref() == Some("Minimum");
    contributors.sort_by(|a, b| {
        let o = b
            .approximate_aggregate_value
            .total_cmp(&a.approximate_aggregate_value);
        if ascending { o.reverse() } else { o }
    });
    let total: f64 = contributors
        .iter()
        .map(|c| c.approximate_aggregate_value)
        .sum();
    contributors.truncate(input.max_contributor_count.unwrap_or(10).clamp(1, 100) as usize);
    // Per period: unique contributors, the top contributor's value, and
    // the statistics over every contribution of the period.
    let mut periods: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for points in by_key.values() {
        for (t, v) in points {
            periods.entry(*t).or_default().push(*v);
        }
    }
    let datapoints = periods
        .into_iter()
        .map(|(t, vs)| {
            let s: f64 = vs.iter().sum();
            let max = vs.iter().cloned().fold(f64::MIN, f64::max);
            InsightRuleMetricDatapoint {
                timestamp: t as f64 / 1000.0,
                unique_contributors: Some(vs.len() as f64),
                max_contributor_value: Some(max),
                sample_count: Some(vs.len() as f64),
                average: Some(s / vs.len() as f64),
                sum: Some(s),
                minimum: Some(vs.iter().cloned().fold(f64::MAX, f64::min)),
                maximum: Some(max),
            }
        })
        .collect();
    (contributors, datapoints, total, unique)
}
