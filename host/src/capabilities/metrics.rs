//! `metrics`: service metrics (`AWS/DynamoDB`, `AWS/Lambda`, ...) a plugin
//! emits, folded in host memory into statistic sets and sent to CloudWatch
//! once a second as `PutMetricData`, through the dispatcher.
//!
//! Nothing touches the emitting plugin's store, so a read-only request
//! (DynamoDB GetItem) stays read-only: no write transaction, no fsync. A
//! request's datums wait in its pending effects and land when its unit
//! commits or it answers an AWS error (a trap or a conflicting re-run
//! drops them, so nothing is counted twice). A crash loses what was not
//! flushed yet: at most the last second; a graceful stop flushes first
//! (docs/decisions.md, "Service metrics are aggregated in host memory").
//! A batch CloudWatch refused for a passing reason (busy, throttled, a
//! server error) is folded back in and sent again on a later tick.

use ministack_protocol::FastMap;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use wasmtime::component::{HasData, Linker};

use ministack_protocol::AwsError;

use super::{CallContext, HostState, RequestState, ServiceTarget, Shared};
use crate::bindings::ministack::plugin::metrics as wit;

/// Put before an `AWS/...` namespace in the PutMetricData the host sends:
/// the CloudWatch plugin accepts the reserved `AWS/` prefix only so marked
/// (the same mark as `ministack_sdk::metrics::SERVICE_NAMESPACE_MARK`).
pub const SERVICE_NAMESPACE_MARK: &str = "ministack-service:";

/// CloudWatch's limits on a datum; larger ones are dropped with a warning
/// rather than failing the whole batch at flush time.
const MAX_NAME: usize = 255;
const MAX_DIMENSIONS: usize = 30;
/// PutMetricData takes at most 1,000 datums.
const MAX_PER_CALL: usize = 1000;
/// Sends of one set before it is dropped with a warning (one per tick).
const MAX_SENDS: u32 = 5;

pub struct MetricsView<'a>(pub &'a mut RequestState);

struct MetricsCap;
impl HasData for MetricsCap {
    type Data<'a> = MetricsView<'a>;
}

pub fn add_to_linker(
    linker: &mut Linker<HostState>,
    get: fn(&mut HostState) -> MetricsView<'_>,
) -> wasmtime::Result<()> {
    wit::add_to_linker::<HostState, MetricsCap>(linker, get)
}

/// One datum of a request, waiting for its unit.
pub struct PendingDatum {
    namespace: String,
    set: SetKey,
    value: f64,
    /// How many equal values this datum stands for.
    count: u32,
}

impl wit::Host for MetricsView<'_> {
    async fn put(&mut self, data: Vec<wit::Datum>) -> wasmtime::Result<()> {
        self.pend(data.into_iter().map(|d| (d, 1)));
        Ok(())
    }

    async fn put_counted(&mut self, data: Vec<(wit::Datum, u32)>) -> wasmtime::Result<()> {
        self.pend(data);
        Ok(())
    }
}

impl MetricsView<'_> {
    fn pend(&mut self, data: impl IntoIterator<Item = (wit::Datum, u32)>) {
        let second = now_secs();
        for (d, count) in data {
            if count == 0 {
                continue;
            }
            if !valid(&d) {
                tracing::warn!(
                    plugin = self.0.plugin.name,
                    "metric {}/{} dropped: not a valid CloudWatch datum",
                    d.namespace,
                    d.metric_name
                );
                continue;
            }
            self.0.pending.metrics.push(PendingDatum {
                namespace: d.namespace,
                set: SetKey {
                    name: d.metric_name,
                    unit: d.unit,
                    second,
                    dimensions: d.dimensions,
                },
                value: d.value,
                count,
            });
        }
    }
}

fn valid(d: &wit::Datum) -> bool {
    let name_ok = |s: &str| !s.is_empty() && s.len() <= MAX_NAME;
    name_ok(&d.namespace)
        && name_ok(&d.metric_name)
        && d.value.is_finite()
        && d.dimensions.len() <= MAX_DIMENSIONS
        && d.dimensions.iter().all(|(n, v)| name_ok(n) && name_ok(v))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Whose batch: one PutMetricData (per 1,000 datums) each.
#[derive(Clone, PartialEq, Eq, Hash)]
struct BatchKey {
    plugin: String,
    account: String,
    region: String,
    namespace: String,
}

/// One statistic set: a metric, its unit, the second and the dimensions.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct SetKey {
    name: String,
    unit: String,
    second: u64,
    dimensions: Vec<(String, String)>,
}

#[derive(Clone, Copy)]
struct StatSet {
    n: f64,
    sum: f64,
    min: f64,
    max: f64,
}

impl StatSet {
    /// `count` samples of `value`.
    fn of(value: f64, count: u32) -> Self {
        Self {
            n: f64::from(count),
            sum: value * f64::from(count),
            min: value,
            max: value,
        }
    }

    fn add(&mut self, value: f64, count: u32) {
        self.n += f64::from(count);
        self.sum += value * f64::from(count);
        self.min = self.min.min(value);
        self.max = self.max.max(value);
    }

    fn merge(&mut self, other: StatSet) {
        self.n += other.n;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

/// The sets of one batch, and how often sending them has failed.
#[derive(Default)]
struct Batch {
    sets: BTreeMap<SetKey, StatSet>,
    failed_sends: u32,
}

type Batches = FastMap<BatchKey, Batch>;

/// The statistic sets not yet sent (one short lock per committing unit
/// that emitted anything).
#[derive(Default)]
pub struct Aggregator {
    batches: Mutex<Batches>,
}

impl Aggregator {
    /// Folds a committed unit's datums in.
    pub fn add(&self, plugin: &str, ctx: &CallContext, data: Vec<PendingDatum>) {
        if data.is_empty() {
            return;
        }
        let mut batches = self.batches.lock().unwrap();
        for d in data {
            let key = BatchKey {
                plugin: plugin.to_string(),
                account: ctx.account.clone(),
                region: ctx.region.clone(),
                namespace: d.namespace,
            };
            batches
                .entry(key)
                .or_default()
                .sets
                .entry(d.set)
                .and_modify(|s| s.add(d.value, d.count))
                .or_insert_with(|| StatSet::of(d.value, d.count));
        }
    }

    /// Forgets what is pending (a reset: of one plugin, or of everything).
    pub fn clear(&self, plugin: Option<&str>) {
        let mut batches = self.batches.lock().unwrap();
        match plugin {
            Some(p) => batches.retain(|k, _| k.plugin != p),
            None => batches.clear(),
        }
    }

    fn take(&self) -> Batches {
        std::mem::take(&mut *self.batches.lock().unwrap())
    }

    /// Folds sets whose send failed back in, to go with the next flush;
    /// merged with what arrived meanwhile, they keep the larger count of
    /// failed sends.
    fn put_back(&self, key: BatchKey, sets: Vec<(SetKey, StatSet)>, failed_sends: u32) {
        let mut batches = self.batches.lock().unwrap();
        let batch = batches.entry(key).or_default();
        batch.failed_sends = batch.failed_sends.max(failed_sends);
        for (k, s) in sets {
            batch
                .sets
                .entry(k)
                .and_modify(|have| have.merge(s))
                .or_insert(s);
        }
    }
}

/// Flushes the aggregator once a second while the host lives.
pub fn spawn_flusher(shared: &Arc<Shared>) {
    let weak: Weak<Shared> = Arc::downgrade(shared);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(shared) = weak.upgrade() else {
                return;
            };
            flush(&shared).await;
        }
    });
}

/// Sends every pending statistic set as PutMetricData to `cloudwatch` (else
/// `monitoring`) in its account and region. A passing failure puts the
/// batch back for a later tick, up to [`MAX_SENDS`]; one refused for good
/// (or still failing then, as without a CloudWatch plugin) is dropped with
/// a warning.
pub async fn flush(shared: &Shared) {
    for (key, batch) in shared.metrics.take() {
        let mut ctx = CallContext::host(&shared.config, &uuid::Uuid::new_v4().to_string());
        ctx.account = key.account.clone();
        ctx.region = key.region.clone();
        let mut sets = batch.sets.into_iter().peekable();
        while sets.peek().is_some() {
            let chunk: Vec<(SetKey, StatSet)> = sets.by_ref().take(MAX_PER_CALL).collect();
            let input = json!({
                "Namespace": format!("{SERVICE_NAMESPACE_MARK}{}", key.namespace),
                "MetricData": chunk.iter().map(|(k, s)| datum_json(k, s)).collect::<Vec<_>>(),
            })
            .to_string();
            let Err(e) = put_metric_data(shared, &key.plugin, &ctx, &input).await else {
                continue;
            };
            let failed_sends = batch.failed_sends + 1;
            if passing(&e) && failed_sends < MAX_SENDS {
                tracing::debug!(
                    plugin = key.plugin,
                    "service metrics for {} sent again next tick: {} {}",
                    key.namespace,
                    e.code,
                    e.message
                );
                shared.metrics.put_back(key.clone(), chunk, failed_sends);
                continue;
            }
            tracing::warn!(
                plugin = key.plugin,
                "service metrics for {} not published: {} {}",
                key.namespace,
                e.code,
                e.message
            );
        }
    }
}

/// One PutMetricData, to `cloudwatch` or else its alias `monitoring`.
async fn put_metric_data(
    shared: &Shared,
    plugin: &str,
    ctx: &CallContext,
    input: &str,
) -> Result<(), AwsError> {
    let mut first_error = None;
    for service in ["cloudwatch", "monitoring"] {
        let target = ServiceTarget {
            service: service.to_string(),
            account: String::new(),
            region: String::new(),
        };
        match shared
            .call_service(plugin, ctx, target, "PutMetricData", input)
            .await
        {
            Ok(_) => return Ok(()),
            // The first error says more (monitoring is an alias).
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    Err(first_error.expect("two services were tried"))
}

/// Whether a failed send may succeed later: the gateway was busy, a
/// throttle, or a failure on CloudWatch's side, not a refusal of the data.
/// (A missing CloudWatch plugin answers 503 too: its batch is tried
/// [`MAX_SENDS`] times, then dropped with the same warning.)
fn passing(e: &AwsError) -> bool {
    let status_passes = match e.status {
        Some(s) => s >= 500 || s == 429,
        None => !e.sender_fault,
    };
    status_passes || e.code.contains("Throttl")
}

fn datum_json(k: &SetKey, s: &StatSet) -> Value {
    let dims: Vec<Value> = k
        .dimensions
        .iter()
        .map(|(n, v)| json!({"Name": n, "Value": v}))
        .collect();
    json!({
        "MetricName": k.name,
        "Unit": k.unit,
        "Timestamp": k.second as f64,
        "Dimensions": dims,
        "StatisticValues": {"SampleCount": s.n, "Sum": s.sum, "Minimum": s.min, "Maximum": s.max},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(ns: &str, name: &str, dims: &[(&str, &str)], value: f64, second: u64) -> PendingDatum {
        PendingDatum {
            namespace: ns.into(),
            set: SetKey {
                name: name.into(),
                unit: "Count".into(),
                second,
                dimensions: dims
                    .iter()
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect(),
            },
            value,
            count: 1,
        }
    }

    fn ctx(account: &str) -> CallContext {
        CallContext {
            account: account.into(),
            region: "us-east-1".into(),
            request_id: "r".into(),
            access_key_id: String::new(),
            caller_arn: String::new(),
            depth: 0,
            endpoint: None,
        }
    }

    #[test]
    fn datums_fold_into_sets_per_account_metric_dimensions_and_second() {
        let agg = Aggregator::default();
        let t = [("TableName", "t")];
        agg.add(
            "dynamodb",
            &ctx("111111111111"),
            vec![
                datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", &t, 0.5, 10),
                datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", &t, 2.0, 10),
                datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", &t, 1.0, 11),
                datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", &[], 1.0, 10),
            ],
        );
        agg.add(
            "dynamodb",
            &ctx("222222222222"),
            vec![datum(
                "AWS/DynamoDB",
                "ConsumedReadCapacityUnits",
                &t,
                4.0,
                10,
            )],
        );
        let batches = agg.take();
        assert_eq!(batches.len(), 2, "one batch per account");
        let mine = batches
            .iter()
            .find(|(k, _)| k.account == "111111111111")
            .unwrap()
            .1;
        let mine = &mine.sets;
        assert_eq!(mine.len(), 3, "per second and per dimension set");
        let (_, s) = mine
            .iter()
            .find(|(k, _)| k.second == 10 && !k.dimensions.is_empty())
            .unwrap();
        assert_eq!((s.n, s.sum, s.min, s.max), (2.0, 2.5, 0.5, 2.0));
        assert!(agg.take().is_empty(), "taken once");
    }

    #[test]
    fn reset_forgets_one_plugin_or_all() {
        let agg = Aggregator::default();
        agg.add(
            "lambda",
            &ctx("1"),
            vec![datum("AWS/Lambda", "Invocations", &[], 1.0, 1)],
        );
        agg.add(
            "events",
            &ctx("1"),
            vec![datum("AWS/Events", "Invocations", &[], 1.0, 1)],
        );
        agg.clear(Some("lambda"));
        let left: Vec<String> = agg.take().into_keys().map(|k| k.plugin).collect();
        assert_eq!(left, ["events"]);
        agg.add(
            "lambda",
            &ctx("1"),
            vec![datum("AWS/Lambda", "Invocations", &[], 1.0, 1)],
        );
        agg.clear(None);
        assert!(agg.take().is_empty());
    }

    #[test]
    fn invalid_datums_are_refused() {
        let ok = wit::Datum {
            namespace: "AWS/Lambda".into(),
            metric_name: "Duration".into(),
            dimensions: vec![("FunctionName".into(), "f".into())],
            value: 1.5,
            unit: "Milliseconds".into(),
        };
        assert!(valid(&ok));
        assert!(!valid(&wit::Datum {
            value: f64::NAN,
            ..ok.clone()
        }));
        assert!(!valid(&wit::Datum {
            namespace: String::new(),
            ..ok.clone()
        }));
        assert!(!valid(&wit::Datum {
            dimensions: vec![("a".into(), "b".into()); 31],
            ..ok
        }));
    }

    #[test]
    fn a_set_becomes_a_statistic_values_datum() {
        let d = datum("AWS/Lambda", "Duration", &[("FunctionName", "f")], 3.0, 7);
        let mut s = StatSet::of(3.0, 1);
        s.add(1.0, 1);
        let v = datum_json(&d.set, &s);
        assert_eq!(v["Timestamp"], 7.0);
        assert_eq!(v["Dimensions"][0]["Value"], "f");
        assert_eq!(v["StatisticValues"]["SampleCount"], 2.0);
        assert_eq!(v["StatisticValues"]["Minimum"], 1.0);
    }

    #[test]
    fn a_batch_put_back_merges_with_what_came_since() {
        let agg = Aggregator::default();
        let t = [("TableName", "t")];
        let read = |v, s| datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", &t, v, s);
        agg.add("dynamodb", &ctx("1"), vec![read(0.5, 10), read(1.0, 11)]);
        let (key, batch) = agg.take().into_iter().next().unwrap();
        assert_eq!(batch.failed_sends, 0);
        agg.add("dynamodb", &ctx("1"), vec![read(2.0, 11), read(0.5, 12)]);
        agg.put_back(key, batch.sets.into_iter().collect(), 1);
        let batches = agg.take();
        let batch = batches.values().next().unwrap();
        assert_eq!(batch.failed_sends, 1, "the failure is remembered");
        let sums: Vec<(u64, f64, f64)> = batch
            .sets
            .iter()
            .map(|(k, s)| (k.second, s.n, s.sum))
            .collect();
        assert_eq!(sums, [(10, 1.0, 0.5), (11, 2.0, 3.0), (12, 1.0, 0.5)]);
    }

    #[test]
    fn only_passing_failures_are_sent_again() {
        let busy = AwsError::new(
            "ServiceUnavailable",
            "too many requests in flight; raise MINISTACK_MAX_INSTANCES",
            503,
        );
        assert!(passing(&busy));
        assert!(passing(&AwsError::new("InternalFailure", "x", 500)));
        assert!(passing(&AwsError::new(
            "ThrottlingException",
            "Rate exceeded",
            400
        )));
        assert!(!passing(&AwsError::new(
            "InvalidParameterValue",
            "bad datum",
            400
        )));
        let mut sender = AwsError::new("ValidationError", "bad", 400);
        sender.status = None;
        sender.sender_fault = true;
        assert!(!passing(&sender), "a sender fault with no status");
    }

    #[test]
    fn a_counted_datum_is_that_many_samples() {
        let agg = Aggregator::default();
        let d = |value, count| PendingDatum {
            count,
            ..datum(
                "AWS/Events",
                "MatchedEvents",
                &[("RuleName", "r")],
                value,
                5,
            )
        };
        agg.add("events", &ctx("1"), vec![d(1.0, 10), d(1.0, 1), d(2.0, 3)]);
        let batches = agg.take();
        let (_, s) = batches.values().next().unwrap().sets.iter().next().unwrap();
        assert_eq!((s.n, s.sum, s.min, s.max), (14.0, 17.0, 1.0, 2.0));
    }
}
