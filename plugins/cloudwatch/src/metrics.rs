//! Metrics: PutMetricData, ListMetrics, GetMetricStatistics, GetMetricData
//! (with metric math and SEARCH) and the store behind them.
//!
//! Storage: one `metrics` row per metric (namespace, name, dimensions; when
//! it last received data) and one `points` row per metric and bucket: a
//! second for high-resolution data (`StorageResolution` 1), a minute
//! otherwise. A bucket holds per unit the count, sum, min, max and the raw
//! values (for percentiles). Queries scan one metric's buckets in a time
//! range and fold them into periods. Buckets older than the retention
//! (`METRIC_RETENTION_DAYS`, default 15) are purged hourly.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{pagination, tasks, time};

use crate::expr::{self, Env, Points, Series, Val};
use crate::shapes::{
    Datapoint, Dimension, DimensionFilter, GetMetricDataInput, GetMetricDataOutput,
    GetMetricStatisticsInput, GetMetricStatisticsOutput, InvalidParameterCombinationException,
    InvalidParameterValueException, ListMetricsInput, ListMetricsOutput, Metric, MetricDataQuery,
    MetricDataResult, MissingRequiredParameterException, PutMetricDataInput, StandardUnit,
    StatusCode,
};
use crate::stats::{self, Agg};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MetricMeta {
    pub ns: String,
    pub name: String,
    pub dims: Vec<(String, String)>,
    /// Epoch seconds of the last PutMetricData (updated at most once a minute).
    pub last: u64,
}

/// unit → aggregate of one metric's bucket.
pub type Bucket = BTreeMap<String, Agg>;

pub const METRICS: Table<MetricMeta> = Table::new("metrics");
pub const POINTS: Table<Bucket> = Table::new("points");

pub fn invalid(msg: impl Into<String>) -> AwsError {
    InvalidParameterValueException::new(msg.into()).into()
}

/// The key of a metric: namespace, name and sorted dimensions.
pub fn metric_key(ns: &str, name: &str, dims: &[(String, String)]) -> String {
    let mut d: Vec<&(String, String)> = dims.iter().collect();
    d.sort();
    let dims: Vec<String> = d.iter().map(|(k, v)| format!("{k}\u{1d}{v}")).collect();
    format!("{ns}\u{1f}{name}\u{1f}{}", dims.join("\u{1e}"))
}

fn point_key(mkey: &str, ts: i64) -> String {
    keys::join(&[mkey, &keys::u64(ts.max(0) as u64)])
}

pub fn dims_of(d: &Option<Vec<Dimension>>) -> Vec<(String, String)> {
    d.iter()
        .flatten()
        .map(|d| (d.name.clone(), d.value.clone()))
        .collect()
}

pub fn dims_out(d: &[(String, String)]) -> Vec<Dimension> {
    d.iter()
        .map(|(k, v)| Dimension {
            name: k.clone(),
            value: v.clone(),
        })
        .collect()
}

fn check_dims(dims: &[(String, String)]) -> Result<(), AwsError> {
    if dims.len() > 30 {
        return Err(invalid(
            "The collection Dimensions must not have a size greater than 30.",
        ));
    }
    for (i, (k, v)) in dims.iter().enumerate() {
        if k.is_empty() || k.len() > 255 || v.is_empty() || v.len() > 1024 {
            return Err(invalid(format!(
                "The dimension {k:?} must have a name of 1 to 255 characters and a value of 1 to 1024 characters."
            )));
        }
        if dims[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(InvalidParameterCombinationException::new(format!(
                "No metric may have duplicate dimension names: {k}"
            ))
            .into());
        }
    }
    Ok(())
}

/// One value to store (already bucketed).
enum Sample {
    Values(Vec<(f64, f64)>),
    Set {
        n: f64,
        sum: f64,
        min: f64,
        max: f64,
    },
}

pub fn put_metric_data(_: &Context, mut input: PutMetricDataInput) -> Result<Empty, AwsError> {
    // Service metrics from the bundle's plugins (ministack_sdk::metrics)
    // may use the reserved AWS/ namespaces.
    let service = match input
        .namespace
        .strip_prefix(ministack_sdk::metrics::SERVICE_NAMESPACE_MARK)
    {
        Some(ns) => {
            input.namespace = ns.to_string();
            true
        }
        None => false,
    };
    let ns = input.namespace.as_str();
    if ns.is_empty() || ns.len() > 255 {
        return Err(invalid(
            "The parameter Namespace must be 1 to 255 characters.",
        ));
    }
    if ns.starts_with("AWS/") && !service {
        return Err(invalid(format!(
            "The value {ns} for parameter Namespace is invalid: the AWS/ prefix is reserved."
        )));
    }
    let mut data = input.metric_data.clone().unwrap_or_default();
    for e in input.entity_metric_data.iter().flatten() {
        data.extend(e.metric_data.iter().flatten().cloned());
    }
    if data.is_empty() {
        return Err(MissingRequiredParameterException::new(
            "The parameter MetricData is required.".to_string(),
        )
        .into());
    }
    if data.len() > 1000 {
        return Err(invalid(
            "The collection MetricData must not have a size greater than 1000.",
        ));
    }
    let now = time::now();
    // (metric key, bucket, unit) → what arrives there, folded before the store.
    let mut updates: BTreeMap<(String, i64, String), Agg> = BTreeMap::new();
    let mut metas: HashMap<String, MetricMeta> = HashMap::new();
    for (i, d) in data.iter().enumerate() {
        let at = format!("MetricData.member.{}", i + 1);
        if d.metric_name.is_empty() || d.metric_name.len() > 255 {
            return Err(invalid(format!(
                "The parameter {at}.MetricName must be 1 to 255 characters."
            )));
        }
        let dims = dims_of(&d.dimensions);
        check_dims(&dims)?;
        let ts = d.timestamp.unwrap_or(now);
        if ts < now - 14.0 * 86400.0 || ts > now + 2.0 * 3600.0 {
            return Err(invalid(format!(
                "The parameter {at}.Timestamp must specify a time no more than two weeks in the past and two hours in the future."
            )));
        }
        let resolution = d.storage_resolution.unwrap_or(60);
        if resolution != 1 && resolution != 60 {
            return Err(invalid(format!(
                "The parameter {at}.StorageResolution must be 1 or 60."
            )));
        }
        let sample = match (&d.value, &d.statistic_values, &d.values) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                return Err(InvalidParameterCombinationException::new(format!(
                    "The parameters {at}.Value, {at}.Values and {at}.StatisticValues are mutually exclusive."
                ))
                .into());
            }
            (Some(v), None, None) => Sample::Values(vec![(*v, 1.0)]),
            (None, Some(s), None) => {
                if s.sample_count <= 0.0 || s.minimum > s.maximum {
                    return Err(invalid(format!(
                        "The parameter {at}.StatisticValues must have a positive SampleCount and Minimum <= Maximum."
                    )));
                }
                Sample::Set {
                    n: s.sample_count,
                    sum: s.sum,
                    min: s.minimum,
                    max: s.maximum,
                }
            }
            (None, None, Some(vs)) => {
                let counts = d.counts.clone().unwrap_or_else(|| vec![1.0; vs.len()]);
                if counts.len() != vs.len() {
                    return Err(InvalidParameterValueException::new(format!(
                        "The parameters {at}.Values and {at}.Counts must be of the same size."
                    ))
                    .into());
                }
                if vs.len() > 150 {
                    return Err(invalid(format!(
                        "The collection {at}.Values must not have a size greater than 150."
                    )));
                }
                Sample::Values(vs.iter().cloned().zip(counts).collect())
            }
            (None, None, None) => {
                return Err(MissingRequiredParameterException::new(format!(
                    "The parameter {at}.Value or {at}.StatisticValues or {at}.Values is required."
                ))
                .into());
            }
        };
        let all_finite = match &sample {
            Sample::Values(v) => v
                .iter()
                .all(|(x, c)| x.is_finite() && c.is_finite() && *c >= 0.0),
            Sample::Set { n, sum, min, max } => [n, sum, min, max].iter().all(|x| x.is_finite()),
        };
        if !all_finite {
            return Err(invalid(format!(
                "The value for parameter {at} contains a value that is not a finite number."
            )));
        }
        let step = if resolution == 1 { 1 } else { 60 };
        let bucket = (ts.floor() as i64).div_euclid(step) * step;
        let unit = d
            .unit
            .as_ref()
            .map(|u| u.as_str().to_string())
            .unwrap_or_else(|| "None".to_string());
        let mkey = metric_key(ns, &d.metric_name, &dims);
        metas.entry(mkey.clone()).or_insert_with(|| MetricMeta {
            ns: ns.to_string(),
            name: d.metric_name.clone(),
            dims,
            last: now as u64,
        });
        let agg = updates.entry((mkey, bucket, unit)).or_default();
        match sample {
            Sample::Values(vs) => vs.into_iter().for_each(|(v, c)| agg.add_value(v, c)),
            Sample::Set { n, sum, min, max } => agg.add_set(n, sum, min, max),
        }
    }
    store_updates(updates, false)?;
    for (key, meta) in metas {
        // Touch the metric at most once a minute (ListMetrics' RecentlyActive).
        if METRICS.get(&key)?.is_none_or(|m| m.last + 60 <= meta.last) {
            METRICS.put(&key, &meta)?;
        }
    }
    Ok(Empty {})
}

fn store_updates(
    updates: BTreeMap<(String, i64, String), Agg>,
    replace: bool,
) -> Result<(), AwsError> {
    let mut by_bucket: BTreeMap<String, Vec<(String, Agg)>> = BTreeMap::new();
    for ((mkey, bucket, unit), agg) in updates {
        by_bucket
            .entry(point_key(&mkey, bucket))
            .or_default()
            .push((unit, agg));
    }
    for (key, aggs) in by_bucket {
        POINTS.update(&key, |old| {
            let mut b = old.unwrap_or_default();
            for (unit, agg) in aggs {
                if replace {
                    b.insert(unit, agg);
                } else {
                    b.entry(unit).or_default().merge(&agg);
                }
            }
            Ok(b)
        })?;
    }
    Ok(())
}

/// Stores the current SQS queue gauges as `AWS/SQS` datapoints (one per
/// queue and second, the latest sample of a second wins). Absent SQS is no
/// error.
pub fn sample_sqs(ctx: &Context) {
    let target = Target::new("sqs", ctx);
    let Ok(list) = services::call_json(&target, "ListQueues", "{}") else {
        return;
    };
    let list: serde_json::Value = serde_json::from_str(&list).unwrap_or_default();
    let now = time::now();
    // A per-second sample: an alarm of any period sees the samples taken in it.
    let bucket = now as i64;
    let mut updates = BTreeMap::new();
    let mut metas = Vec::new();
    for url in list["QueueUrls"].as_array().into_iter().flatten() {
        let Some(url) = url.as_str() else { continue };
        let input = serde_json::json!({"QueueUrl": url, "AttributeNames": ["All"]}).to_string();
        let Ok(out) = services::call_json(&target, "GetQueueAttributes", &input) else {
            continue;
        };
        let out: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let name = url.rsplit('/').next().unwrap_or(url).to_string();
        let attrs = &out["Attributes"];
        for (metric, attr) in [
            (
                "ApproximateNumberOfMessagesVisible",
                "ApproximateNumberOfMessages",
            ),
            (
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesNotVisible",
            ),
            (
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesDelayed",
            ),
        ] {
            let Some(v) = attrs[attr].as_str().and_then(|s| s.parse::<f64>().ok()) else {
                continue;
            };
            let dims = vec![("QueueName".to_string(), name.clone())];
            let mkey = metric_key("AWS/SQS", metric, &dims);
            let mut agg = Agg::default();
            agg.add_value(v, 1.0);
            updates.insert((mkey.clone(), bucket, "Count".to_string()), agg);
            metas.push((
                mkey,
                MetricMeta {
                    ns: "AWS/SQS".into(),
                    name: metric.into(),
                    dims,
                    last: now as u64,
                },
            ));
        }
    }
    let _ = store_updates(updates, true);
    for (k, m) in metas {
        let _ = METRICS.put(&k, &m);
    }
}

/// The buckets of one metric in `[start, end)` folded into periods that
/// begin at `origin + k * period`.
pub fn periods(
    mkey: &str,
    start: f64,
    end: f64,
    period: i64,
    origin: i64,
    unit: Option<&str>,
) -> Result<BTreeMap<i64, (Agg, Option<String>)>, AwsError> {
    let period = period.max(1);
    let lo = start.ceil() as i64;
    let hi = end.ceil() as i64;
    // A bucket counts in the period holding its start (a minute bucket
    // does not straddle a period boundary at periods of a minute or more).
    let scan = Scan::prefix(keys::prefix(&[mkey]))
        .from(point_key(mkey, lo))
        .to(point_key(mkey, hi));
    let mut out: BTreeMap<i64, (Agg, Option<String>)> = BTreeMap::new();
    for (key, bucket) in POINTS.scan(&scan)? {
        let Some(ts) = keys::parse_u64(keys::last(&key), false).map(|t| t as i64) else {
            continue;
        };
        let bin = origin + (ts - origin).div_euclid(period) * period;
        for (u, agg) in &bucket {
            if unit.is_some_and(|want| want != u) {
                continue;
            }
            let e = out
                .entry(bin)
                .or_insert_with(|| (Agg::default(), Some(u.clone())));
            if e.1.as_deref() != Some(u.as_str()) {
                e.1 = None;
            }
            e.0.merge(agg);
        }
    }
    Ok(out)
}

fn check_period(period: i64, name: &str) -> Result<(), AwsError> {
    if period <= 0 || !(matches!(period, 1 | 5 | 10 | 20 | 30) || period % 60 == 0) {
        return Err(invalid(format!(
            "The parameter {name} must be 1, 5, 10, 20, 30 or a multiple of 60."
        )));
    }
    Ok(())
}

pub fn get_metric_statistics(
    ctx: &Context,
    input: GetMetricStatisticsInput,
) -> Result<GetMetricStatisticsOutput, AwsError> {
    let stats: Vec<String> = input
        .statistics
        .iter()
        .flatten()
        .map(|s| s.as_str().to_string())
        .collect();
    let ext: Vec<String> = input.extended_statistics.clone().unwrap_or_default();
    if stats.is_empty() && ext.is_empty() {
        return Err(MissingRequiredParameterException::new(
            "Must specify either Statistics or ExtendedStatistics.".to_string(),
        )
        .into());
    }
    for s in &stats {
        if !matches!(
            s.as_str(),
            "SampleCount" | "Sum" | "Average" | "Minimum" | "Maximum"
        ) {
            return Err(invalid(format!(
                "The value {s} for parameter Statistics is invalid."
            )));
        }
    }
    for e in &ext {
        if !stats::is_extended(e) {
            return Err(invalid(format!(
                "The value {e} for parameter ExtendedStatistics is not supported."
            )));
        }
    }
    if stats.len() + ext.len() > 10 {
        return Err(invalid("At most 10 statistics may be requested."));
    }
    let period = input.period as i64;
    check_period(period, "Period")?;
    if input.end_time <= input.start_time {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    if (input.end_time - input.start_time) / period as f64 > 1440.0 {
        return Err(InvalidParameterCombinationException::new(
            "You have requested up to 1,440 datapoints, which exceeds the limit of 1,440. You may reduce the datapoints requested by increasing Period, or decreasing the time range.".to_string(),
        )
        .into());
    }
    if input.namespace == "AWS/SQS" {
        sample_sqs(ctx);
    }
    let dims = dims_of(&input.dimensions);
    let mkey = metric_key(&input.namespace, &input.metric_name, &dims);
    let unit = input.unit.as_ref().map(|u| u.as_str().to_string());
    let bins = periods(
        &mkey,
        input.start_time,
        input.end_time,
        period,
        0,
        unit.as_deref(),
    )?;
    let datapoints = bins
        .into_iter()
        .map(|(ts, (agg, unit))| {
            let get = |name: &str| {
                stats
                    .iter()
                    .any(|s| s == name)
                    .then(|| agg.stat(name))
                    .flatten()
            };
            let extended: BTreeMap<String, f64> = ext
                .iter()
                .filter_map(|e| agg.stat(e).map(|v| (e.clone(), v)))
                .collect();
            Datapoint {
                timestamp: Some(ts as f64),
                sample_count: get("SampleCount"),
                average: get("Average"),
                sum: get("Sum"),
                minimum: get("Minimum"),
                maximum: get("Maximum"),
                unit: Some(StandardUnit::from(unit.as_deref().unwrap_or("None"))),
                extended_statistics: (!ext.is_empty()).then_some(extended),
            }
        })
        .collect();
    Ok(GetMetricStatisticsOutput {
        label: Some(input.metric_name),
        datapoints: Some(datapoints),
    })
}

pub fn list_metrics(ctx: &Context, input: ListMetricsInput) -> Result<ListMetricsOutput, AwsError> {
    if input.namespace.as_deref() == Some("AWS/SQS") {
        sample_sqs(ctx);
    }
    let prefix = input
        .namespace
        .as_ref()
        .map(|n| format!("{n}\u{1f}"))
        .unwrap_or_default();
    let filters: Vec<DimensionFilter> = input.dimensions.clone().unwrap_or_default();
    let recent = input.recently_active.is_some();
    let now = time::now_secs();
    let mut scan = Scan::prefix(prefix);
    if let Some(t) = input.next_token.as_deref().filter(|t| !t.is_empty()) {
        scan = scan.start_after(pagination::decode(t).ok_or_else(invalid_token)?);
    }
    const PAGE: usize = 500;
    let mut metrics = Vec::new();
    let mut next = None;
    for (key, m) in METRICS.scan(&scan)? {
        if input.metric_name.as_ref().is_some_and(|n| *n != m.name)
            || (recent && m.last + 3 * 3600 < now)
            || !filters.iter().all(|f| {
                m.dims
                    .iter()
                    .any(|(k, v)| *k == f.name && f.value.as_ref().is_none_or(|fv| fv == v))
            })
        {
            continue;
        }
        if metrics.len() == PAGE {
            next = Some(pagination::encode(&key));
            break;
        }
        metrics.push((key, m));
    }
    if next.is_some() {
        // The token names the last metric of this page.
        next = metrics.last().map(|(k, _)| pagination::encode(k));
    }
    Ok(ListMetricsOutput {
        metrics: Some(
            metrics
                .into_iter()
                .map(|(_, m)| Metric {
                    namespace: Some(m.ns),
                    metric_name: Some(m.name),
                    dimensions: Some(dims_out(&m.dims)),
                })
                .collect(),
        ),
        next_token: next,
        owning_accounts: None,
    })
}

pub fn invalid_token() -> AwsError {
    crate::shapes::InvalidNextToken::new("The NextToken is not valid.".to_string()).into()
}

/// A metric-stat query's series.
pub fn stat_series(
    metric: &Metric,
    stat: &str,
    unit: Option<&str>,
    start: f64,
    end: f64,
    period: i64,
    origin: i64,
) -> Result<Points, AwsError> {
    let dims = dims_of(&metric.dimensions);
    let mkey = metric_key(
        metric.namespace.as_deref().unwrap_or(""),
        metric.metric_name.as_deref().unwrap_or(""),
        &dims,
    );
    Ok(periods(&mkey, start, end, period, origin, unit)?
        .into_iter()
        .filter_map(|(t, (agg, _))| agg.stat(stat).map(|v| (t, v)))
        .collect())
}

/// The default label of a metric: its name and dimension values.
pub fn metric_label(m: &Metric) -> String {
    m.metric_name.clone().unwrap_or_default()
}

/// The evaluation of a set of metric data queries over one time range.
pub struct Evaluation<'a> {
    pub ctx: &'a Context,
    pub start: f64,
    pub end: f64,
    /// Periods begin at `origin + k * period` (0 for epoch-aligned).
    pub origin: i64,
    pub queries: &'a [MetricDataQuery],
    results: RefCell<HashMap<String, Val>>,
    current: RefCell<String>,
    sqs_sampled: Cell<bool>,
    error: RefCell<Option<AwsError>>,
}

impl<'a> Evaluation<'a> {
    pub fn new(
        ctx: &'a Context,
        queries: &'a [MetricDataQuery],
        start: f64,
        end: f64,
        origin: i64,
    ) -> Self {
        Evaluation {
            ctx,
            start,
            end,
            origin,
            queries,
            results: RefCell::default(),
            current: RefCell::default(),
            sqs_sampled: Cell::new(false),
            error: RefCell::default(),
        }
    }

    fn query_period(&self, q: &MetricDataQuery) -> i64 {
        q.metric_stat
            .as_ref()
            .map(|s| s.period as i64)
            .or(q.period.map(|p| p as i64))
            .unwrap_or_else(|| self.default_period())
    }

    fn default_period(&self) -> i64 {
        self.queries
            .iter()
            .find_map(|q| q.metric_stat.as_ref().map(|s| s.period as i64))
            .or_else(|| self.queries.iter().find_map(|q| q.period.map(|p| p as i64)))
            .unwrap_or(60)
    }

    fn sample_if_sqs(&self, ns: &str) {
        if ns == "AWS/SQS" && !self.sqs_sampled.get() {
            self.sqs_sampled.set(true);
            sample_sqs(self.ctx);
        }
    }

    /// Validates the queries and computes every one; returns id → value.
    pub fn run(&self) -> Result<HashMap<String, Val>, AwsError> {
        let mut seen = Vec::new();
        for q in self.queries {
            let id_ok = q.id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && q.id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !id_ok {
                return Err(invalid(format!(
                    "The value {} for parameter MetricDataQueries.Id is invalid: it must start with a lowercase letter and hold only letters, numbers and underscores.",
                    q.id
                )));
            }
            if seen.contains(&q.id) {
                return Err(invalid(format!(
                    "The value {} for parameter MetricDataQueries.Id is duplicated.",
                    q.id
                )));
            }
            seen.push(q.id.clone());
            match (&q.metric_stat, &q.expression) {
                (Some(_), Some(_)) | (None, None) => {
                    return Err(invalid(format!(
                        "The parameter MetricDataQueries.member.{}: exactly one of MetricStat and Expression must be set.",
                        q.id
                    )));
                }
                (Some(s), None) => {
                    check_period(s.period as i64, "MetricStat.Period")?;
                    if !stats::is_statistic(&s.stat) {
                        return Err(invalid(format!(
                            "The value {} for parameter MetricStat.Stat is invalid.",
                            s.stat
                        )));
                    }
                }
                (None, Some(_)) => {}
            }
        }
        // Metric stats first, then expressions as their inputs become ready.
        for q in self.queries {
            if let Some(s) = &q.metric_stat {
                self.sample_if_sqs(s.metric.namespace.as_deref().unwrap_or(""));
                let points = stat_series(
                    &s.metric,
                    &s.stat,
                    s.unit.as_ref().map(|u| u.as_str()),
                    self.start,
                    self.end,
                    s.period as i64,
                    self.origin,
                )?;
                let label = q.label.clone().unwrap_or_else(|| metric_label(&s.metric));
                self.results
                    .borrow_mut()
                    .insert(q.id.clone(), Val::Series(Series { label, points }));
            }
        }
        let mut pending: Vec<(&MetricDataQuery, expr::Ast)> = Vec::new();
        for q in self.queries {
            if let Some(text) = &q.expression {
                let ast = expr::parse(text)
                    .map_err(|e| invalid(format!("Error in expression '{}': {e}", q.id)))?;
                pending.push((q, ast));
            }
        }
        while !pending.is_empty() {
            let ready = pending.iter().position(|(q, ast)| {
                let mut refs = Vec::new();
                expr::references(ast, &mut refs);
                let done = self.results.borrow();
                refs.iter().all(|r| {
                    done.contains_key(r) || !self.queries.iter().any(|x| &x.id == r) || r == &q.id
                })
            });
            let Some(i) = ready else {
                return Err(invalid(format!(
                    "Circular dependency between the expressions {}.",
                    pending
                        .iter()
                        .map(|(q, _)| q.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            let (q, ast) = pending.remove(i);
            *self.current.borrow_mut() = q.id.clone();
            let v = expr::eval(&ast, self).map_err(|e| {
                self.error
                    .borrow_mut()
                    .take()
                    .unwrap_or_else(|| invalid(format!("Error in expression '{}': {e}", q.id)))
            })?;
            let v = match v {
                Val::Series(mut s) => {
                    s.label = q.label.clone().unwrap_or(q.id.clone());
                    Val::Series(s)
                }
                Val::Num(n) => Val::Series(Series {
                    label: q.label.clone().unwrap_or(q.id.clone()),
                    points: self
                        .grid_of(self.query_period(q))
                        .into_iter()
                        .map(|t| (t, n))
                        .collect(),
                }),
                Val::Array(a) => Val::Array(a),
                Val::Str(_) | Val::Word(_) => {
                    return Err(invalid(format!(
                        "Error in expression '{}': the expression must produce a time series.",
                        q.id
                    )));
                }
            };
            self.results.borrow_mut().insert(q.id.clone(), v);
        }
        Ok(self.results.borrow().clone())
    }

    fn grid_of(&self, period: i64) -> Vec<i64> {
        let period = period.max(1);
        let first =
            self.origin + ((self.start.ceil() as i64) - self.origin).div_euclid(period) * period;
        let mut t = first;
        let mut out = Vec::new();
        while (t as f64) < self.end && out.len() < 100_800 {
            if t as f64 >= self.start.floor() - period as f64 {
                out.push(t);
            }
            t += period;
        }
        out
    }
}

impl Env for Evaluation<'_> {
    fn lookup(&self, id: &str) -> Option<Val> {
        self.results.borrow().get(id).cloned()
    }

    fn metrics(&self, filter: Option<&str>) -> Vec<Series> {
        let current = self.current.borrow().clone();
        let results = self.results.borrow();
        self.queries
            .iter()
            .filter(|q| q.metric_stat.is_some() && q.id != current)
            .filter(|q| filter.is_none_or(|f| q.id.contains(f)))
            .filter_map(|q| results.get(&q.id))
            .flat_map(|v| match v {
                Val::Series(s) => vec![s.clone()],
                Val::Array(a) => a.clone(),
                _ => vec![],
            })
            .collect()
    }

    fn search(&self, query: &str, stat: &str, period: i64) -> Result<Vec<Series>, String> {
        if !stats::is_statistic(stat) {
            return Err(format!("unknown statistic {stat}"));
        }
        let search = SearchExpr::parse(query)?;
        if search.namespace.as_deref() == Some("AWS/SQS") || query.contains("AWS/SQS") {
            self.sample_if_sqs("AWS/SQS");
        }
        let metrics = METRICS.scan(&Scan::all()).map_err(|e| {
            let msg = e.message.clone();
            *self.error.borrow_mut() = Some(e);
            msg
        })?;
        let mut out = Vec::new();
        for (_, m) in metrics
            .into_iter()
            .filter(|(_, m)| search.matches(m))
            .take(500)
        {
            let metric = Metric {
                namespace: Some(m.ns.clone()),
                metric_name: Some(m.name.clone()),
                dimensions: Some(dims_out(&m.dims)),
            };
            let points = stat_series(
                &metric,
                stat,
                None,
                self.start,
                self.end,
                period,
                self.origin,
            )
            .map_err(|e| e.message.clone())?;
            let mut label = vec![m.name.clone()];
            label.extend(m.dims.iter().map(|(_, v)| v.clone()));
            out.push(Series {
                label: label.join(" "),
                points,
            });
        }
        Ok(out)
    }

    fn grid(&self) -> Vec<i64> {
        self.grid_of(self.default_period())
    }

    fn period(&self) -> i64 {
        self.default_period()
    }
}

/// A SEARCH expression: an optional schema `{Namespace,Dim1,Dim2}` (the
/// metric must be in that namespace with exactly those dimensions), then
/// terms all of which must match: `Name=value` / `Name="value"` (a
/// property: `Namespace`, `MetricName` or a dimension name), a bare or
/// quoted term (matching any part of the namespace, metric name, dimension
/// names or values) and `NOT term`. `AND` is implied and binds tighter than
/// `OR`; parentheses are not supported.
#[derive(Debug, Default)]
struct SearchExpr {
    namespace: Option<String>,
    schema_dims: Option<Vec<String>>,
    /// Alternatives (`OR`), each a list of terms that must all match.
    groups: Vec<Vec<SearchTerm>>,
}

/// (negated, property, value, quoted).
type SearchTerm = (bool, Option<String>, String, bool);

impl SearchExpr {
    fn parse(q: &str) -> Result<SearchExpr, String> {
        let mut s = SearchExpr::default();
        let mut rest = q.trim();
        if let Some(r) = rest.strip_prefix('{') {
            let end = r.find('}').ok_or("unterminated schema")?;
            let parts: Vec<String> = r[..end]
                .split(',')
                .map(|p| p.trim().trim_matches('"').to_string())
                .collect();
            s.namespace = parts.first().cloned();
            s.schema_dims = Some(parts[1..].to_vec());
            rest = &r[end + 1..];
        }
        let chars: Vec<char> = rest.chars().collect();
        let mut i = 0;
        let mut negate = false;
        s.groups.push(Vec::new());
        let read = |i: &mut usize| -> (String, bool) {
            if chars.get(*i) == Some(&'"') {
                let mut t = String::new();
                *i += 1;
                while *i < chars.len() && chars[*i] != '"' {
                    t.push(chars[*i]);
                    *i += 1;
                }
                *i += 1;
                (t, true)
            } else {
                let mut t = String::new();
                while *i < chars.len() && !chars[*i].is_whitespace() && chars[*i] != '=' {
                    t.push(chars[*i]);
                    *i += 1;
                }
                (t, false)
            }
        };
        while i < chars.len() {
            if chars[i].is_whitespace() {
                i += 1;
                continue;
            }
            let (word, quoted) = read(&mut i);
            if chars.get(i) == Some(&'=') {
                i += 1;
                let (value, q2) = read(&mut i);
                s.groups
                    .last_mut()
                    .expect("one group")
                    .push((negate, Some(word), value, q2));
                negate = false;
                continue;
            }
            if !quoted && word == "AND" {
                continue;
            }
            if !quoted && word == "NOT" {
                negate = true;
                continue;
            }
            if !quoted && word == "OR" {
                s.groups.push(Vec::new());
                continue;
            }
            if word.is_empty() {
                i += 1;
                continue;
            }
            s.groups
                .last_mut()
                .expect("one group")
                .push((negate, None, word, quoted));
            negate = false;
        }
        if s.groups.len() > 1 && s.groups.iter().any(Vec::is_empty) {
            return Err("OR needs a term on each side".into());
        }
        Ok(s)
    }

    fn matches(&self, m: &MetricMeta) -> bool {
        if let Some(ns) = &self.namespace
            && *ns != m.ns
        {
            return false;
        }
        if let Some(dims) = &self.schema_dims {
            let mut want: Vec<&String> = dims.iter().filter(|d| !d.is_empty()).collect();
            let mut have: Vec<&String> = m.dims.iter().map(|(k, _)| k).collect();
            want.sort();
            have.sort();
            if want != have {
                return false;
            }
        }
        self.groups.iter().any(|terms| {
            terms.iter().all(|(negate, prop, value, quoted)| {
                let hit = |text: &str| {
                    if *quoted {
                        text == value
                    } else {
                        text.to_lowercase().contains(&value.to_lowercase())
                    }
                };
                let found = match prop.as_deref() {
                    Some("Namespace") => hit(&m.ns),
                    Some("MetricName") => hit(&m.name),
                    Some(dim) => m.dims.iter().any(|(k, v)| k == dim && hit(v)),
                    None => {
                        hit(&m.ns) || hit(&m.name) || m.dims.iter().any(|(k, v)| hit(k) || hit(v))
                    }
                };
                found != *negate
            })
        })
    }
}

pub fn get_metric_data(
    ctx: &Context,
    input: GetMetricDataInput,
) -> Result<GetMetricDataOutput, AwsError> {
    if input.metric_data_queries.is_empty() || input.metric_data_queries.len() > 500 {
        return Err(invalid(
            "The collection MetricDataQueries must have 1 to 500 members.",
        ));
    }
    if input.end_time <= input.start_time {
        return Err(invalid(
            "The parameter StartTime must be less than the parameter EndTime.",
        ));
    }
    // A token is how many datapoints earlier pages held (each page
    // recomputes the answer and skips them).
    let skip: usize = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => pagination::decode(t)
            .and_then(|n| n.parse().ok())
            .ok_or_else(invalid_token)?,
        None => 0,
    };
    let eval = Evaluation::new(
        ctx,
        &input.metric_data_queries,
        input.start_time,
        input.end_time,
        0,
    );
    let results = eval.run()?;
    let ascending = input
        .scan_by
        .as_ref()
        .is_some_and(|s| s.as_str() == "TimestampAscending");
    let max = input.max_datapoints.unwrap_or(100_800).max(1) as usize;
    // `seen`: datapoints before this one in answer order; `taken`: on this page.
    let (mut seen, mut taken) = (0usize, 0usize);
    let mut more = false;
    let mut out = Vec::new();
    for q in &input.metric_data_queries {
        if q.return_data == Some(false) {
            continue;
        }
        let series = match results.get(&q.id) {
            Some(Val::Series(s)) => vec![s.clone()],
            Some(Val::Array(a)) => a.clone(),
            _ => vec![],
        };
        for s in series {
            let label = dynamic_label(&s, q);
            let mut pts: Vec<(i64, f64)> = s.points.into_iter().collect();
            if !ascending {
                pts.reverse();
            }
            let len = pts.len();
            let first = skip.saturating_sub(seen).min(len);
            seen += len;
            if first == len && (len > 0 || skip > 0) {
                continue;
            }
            let room = max - taken;
            if room == 0 {
                more = true;
                continue;
            }
            let page: Vec<(i64, f64)> = pts.into_iter().skip(first).take(room).collect();
            let partial = first + page.len() < len;
            more |= partial;
            taken += page.len();
            out.push(MetricDataResult {
                id: Some(q.id.clone()),
                label: Some(label),
                timestamps: Some(page.iter().map(|p| p.0 as f64).collect()),
                values: Some(page.iter().map(|p| p.1).collect()),
                status_code: Some(StatusCode::from(if partial {
                    "PartialData"
                } else {
                    "Complete"
                })),
                messages: None,
            });
        }
    }
    let next_token =
        (more || seen > skip + taken).then(|| pagination::encode(&(skip + taken).to_string()));
    Ok(GetMetricDataOutput {
        metric_data_results: Some(out),
        next_token,
        messages: Some(vec![]),
    })
}

/// A label with its dynamic values filled in: `${LABEL}`, `${AVG}`,
/// `${MAX}`, `${MIN}`, `${SUM}`, `${FIRST}`, `${LAST}` (of the whole
/// series) and, for a metric-stat query, `${PROP('Namespace')}`,
/// `${PROP('MetricName')}`, `${PROP('Period')}`, `${PROP('Stat')}`,
/// `${PROP('Dim.<name>')}`.
pub fn dynamic_label(s: &Series, q: &MetricDataQuery) -> String {
    if !s.label.contains("${") {
        return s.label.clone();
    }
    let values: Vec<f64> = s.points.values().copied().collect();
    let fmt = |v: Option<f64>| v.map(|v| format!("{v}")).unwrap_or_default();
    let default = q
        .metric_stat
        .as_ref()
        .map(|m| metric_label(&m.metric))
        .unwrap_or_else(|| q.id.clone());
    let mut out = s
        .label
        .replace("${LABEL}", &default)
        .replace(
            "${AVG}",
            &fmt((!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)),
        )
        .replace("${MAX}", &fmt(values.iter().copied().reduce(f64::max)))
        .replace("${MIN}", &fmt(values.iter().copied().reduce(f64::min)))
        .replace(
            "${SUM}",
            &fmt((!values.is_empty()).then(|| values.iter().sum())),
        )
        .replace("${FIRST}", &fmt(values.first().copied()))
        .replace("${LAST}", &fmt(values.last().copied()));
    if let Some(m) = &q.metric_stat {
        let mut props = vec![
            (
                "Namespace".to_string(),
                m.metric.namespace.clone().unwrap_or_default(),
            ),
            (
                "MetricName".to_string(),
                m.metric.metric_name.clone().unwrap_or_default(),
            ),
            ("Period".to_string(), m.period.to_string()),
            ("Stat".to_string(), m.stat.clone()),
        ];
        props.extend(
            dims_of(&m.metric.dimensions)
                .into_iter()
                .map(|(k, v)| (format!("Dim.{k}"), v)),
        );
        for (k, v) in props {
            out = out.replace(&format!("${{PROP('{k}')}}"), &v);
        }
    }
    out
}

/// Hourly purge of buckets older than the retention, per account and region.
pub const RETENTION_TASK: &str = "retention";

pub fn retention(ctx: &Context, _: ()) -> Result<(), AwsError> {
    let days: u64 = ctx
        .setting("METRIC_RETENTION_DAYS")
        .and_then(|d| d.parse().ok())
        .unwrap_or(15);
    let cutoff = time::now_secs().saturating_sub(days * 86400);
    for (key, m) in METRICS.scan(&Scan::all())? {
        POINTS.delete_range(
            &Scan::prefix(keys::prefix(&[&key]))
                .from(keys::prefix(&[&key]))
                .to(point_key(&key, cutoff as i64)),
        );
        if m.last < cutoff {
            METRICS.delete(&key);
        }
    }
    Ok(())
}

/// Schedules the purge in every account and region holding metrics, then again in an hour.
pub fn retention_sweep(_: &Context, _: ()) -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(METRICS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RETENTION_TASK, &())?;
    }
    tasks::schedule(Duration::from_secs(3600), "retention-sweep", &())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(ns: &str, name: &str, dims: &[(&str, &str)]) -> MetricMeta {
        MetricMeta {
            ns: ns.into(),
            name: name.into(),
            dims: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            last: 0,
        }
    }

    #[test]
    fn search_expressions() {
        let m = meta("AWS/EC2", "CPUUtilization", &[("InstanceId", "i-123")]);
        let hit = |q: &str| SearchExpr::parse(q).unwrap().matches(&m);
        assert!(hit("{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\""));
        assert!(hit("cpu"));
        assert!(hit("InstanceId=i-123 NOT Disk"));
        assert!(
            !hit("{AWS/EC2} CPUUtilization"),
            "schema without the dimension"
        );
        assert!(!hit("\"cpu\""), "quoted terms match exactly");
        assert!(!hit("{AWS/Lambda,InstanceId}"));
        assert!(hit("Disk OR cpu"));
        assert!(!hit("Disk OR NOT cpu"));
        assert!(SearchExpr::parse("a OR").is_err());
    }

    #[test]
    fn dynamic_labels() {
        let q = MetricDataQuery {
            id: "m1".into(),
            metric_stat: Some(crate::shapes::MetricStat {
                metric: Metric {
                    namespace: Some("App".into()),
                    metric_name: Some("Lat".into()),
                    dimensions: Some(dims_out(&[("Api".into(), "get".into())])),
                },
                period: 60,
                stat: "p99".into(),
                unit: None,
            }),
            ..Default::default()
        };
        let s = Series {
            label: "${PROP('Dim.Api')} ${PROP('Stat')} max ${MAX} last ${LAST} (${LABEL})".into(),
            points: [(0, 1.0), (60, 5.0), (120, 2.0)].into_iter().collect(),
        };
        assert_eq!(dynamic_label(&s, &q), "get p99 max 5 last 2 (Lat)");
    }

    #[test]
    fn metric_keys_ignore_dimension_order() {
        let a = metric_key(
            "N",
            "m",
            &[("b".into(), "2".into()), ("a".into(), "1".into())],
        );
        let b = metric_key(
            "N",
            "m",
            &[("a".into(), "1".into()), ("b".into(), "2".into())],
        );
        assert_eq!(a, b);
        assert_ne!(a, metric_key("N", "m", &[("a".into(), "1".into())]));
    }
}
