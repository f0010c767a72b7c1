//! Metric stream delivery: every minute, a running stream sends the
//! previous minute's aggregate (min, max, sum, count) of each metric its
//! filters select to its Firehose delivery stream (`PutRecordBatch` through
//! `services.call`), in the JSON output format (one metric per line, up to
//! 100 lines per record). Other output formats are stored but delivered as
//! JSON; `StatisticsConfigurations` are not delivered. A missing Firehose
//! plugin or stream is logged and the next minute tried again.

use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, tasks, time};
use serde_json::json;

use crate::metrics::{METRICS, MetricMeta, periods};
use crate::misc::STREAMS;
use crate::shapes::GetMetricStreamOutput;
use crate::stats::Agg;

/// Bumped on every PutMetricStream and delete: older tick chains stop.
pub const STREAM_GENERATIONS: Table<u64> = Table::new("metric-stream-generations");
pub const TICK_TASK: &str = "metric-stream-tick";

#[derive(Serialize, Deserialize)]
pub struct StreamTick {
    pub name: String,
    pub generation: u64,
}

/// One second after the next minute boundary.
fn until_next_minute() -> Duration {
    let now = time::now_millis();
    Duration::from_millis((now / 60_000 + 1) * 60_000 + 1000 - now)
}

/// Starts a new tick chain for stream `name` (retiring any older one).
pub fn restart(name: &str) -> Result<(), AwsError> {
    let generation = STREAM_GENERATIONS.get(name)?.unwrap_or(0) + 1;
    STREAM_GENERATIONS.put(name, &generation)?;
    tasks::schedule(
        until_next_minute(),
        TICK_TASK,
        &StreamTick {
            name: name.to_string(),
            generation,
        },
    )?;
    Ok(())
}

/// Whether the stream's filters select the metric.
pub fn selects(s: &GetMetricStreamOutput, m: &MetricMeta) -> bool {
    let hit = |f: &crate::shapes::MetricStreamFilter| {
        f.namespace.as_ref().is_none_or(|n| *n == m.ns)
            && f.metric_names
                .as_ref()
                .is_none_or(|names| names.is_empty() || names.contains(&m.name))
    };
    match (&s.include_filters, &s.exclude_filters) {
        (Some(inc), _) if !inc.is_empty() => inc.iter().any(hit),
        (_, Some(exc)) if !exc.is_empty() => !exc.iter().any(hit),
        _ => true,
    }
}

/// One metric's minute as AWS's JSON output format line.
pub fn json_line(
    stream: &str,
    ctx: &Context,
    m: &MetricMeta,
    ts: i64,
    agg: &Agg,
    unit: Option<&str>,
) -> String {
    let dims: serde_json::Map<String, serde_json::Value> =
        m.dims.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
    json!({
        "metric_stream_name": stream,
        "account_id": ctx.account,
        "region": ctx.region,
        "namespace": m.ns,
        "metric_name": m.name,
        "dimensions": dims,
        "timestamp": ts * 1000,
        "value": {"max": agg.max, "min": agg.min, "sum": agg.sum, "count": agg.count},
        "unit": unit.unwrap_or("None"),
    })
    .to_string()
}

pub fn tick(ctx: &Context, t: StreamTick) -> Result<(), AwsError> {
    if STREAM_GENERATIONS.get(&t.name)? != Some(t.generation) {
        return Ok(());
    }
    let Some(stream) = STREAMS.get(&t.name)? else {
        return Ok(());
    };
    tasks::schedule(until_next_minute(), TICK_TASK, &t)?;
    if stream.state.as_deref() != Some("running") {
        return Ok(());
    }
    let end = (time::now_secs() as i64).div_euclid(60) * 60;
    let start = end - 60;
    let mut lines = Vec::new();
    for (key, m) in METRICS.scan(&Scan::all())? {
        if !selects(&stream, &m) {
            continue;
        }
        for (ts, (agg, unit)) in periods(&key, start as f64, end as f64, 60, 0, None)? {
            lines.push(json_line(&t.name, ctx, &m, ts, &agg, unit.as_deref()));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let firehose = stream.firehose_arn.clone().unwrap_or_default();
    let Ok(arn) = firehose.parse::<Arn>() else {
        return Ok(());
    };
    let delivery_stream = arn
        .resource
        .trim_start_matches("deliverystream/")
        .to_string();
    let records: Vec<serde_json::Value> = lines
        .chunks(100)
        .map(|c| json!({"Data": encoding::base64_encode((c.join("\n") + "\n").as_bytes())}))
        .collect();
    for batch in records.chunks(500) {
        let input = json!({"DeliveryStreamName": delivery_stream, "Records": batch});
        if let Err(e) = services::call_json(
            &Target::at("firehose", &arn.account, &arn.region),
            "PutRecordBatch",
            &input.to_string(),
        ) {
            ministack_sdk::warn!(
                "metric stream {} could not deliver to {firehose}: {}",
                t.name,
                e.message
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::MetricStreamFilter;

    #[test]
    fn filters_and_lines() {
        let m = MetricMeta {
            ns: "App".into(),
            name: "Latency".into(),
            dims: vec![("Api".into(), "get".into())],
            last: 0,
        };
        let filter = |ns: &str, names: Option<Vec<String>>| MetricStreamFilter {
            namespace: Some(ns.into()),
            metric_names: names,
        };
        let mut s = GetMetricStreamOutput::default();
        assert!(selects(&s, &m));
        s.include_filters = Some(vec![filter("App", Some(vec!["Errors".into()]))]);
        assert!(!selects(&s, &m));
        s.include_filters = Some(vec![filter("App", None)]);
        assert!(selects(&s, &m));
        s.include_filters = None;
        s.exclude_filters = Some(vec![filter("App", None)]);
        assert!(!selects(&s, &m));
        let mut agg = Agg::default();
        agg.add_value(2.0, 1.0);
        agg.add_value(4.0, 1.0);
        let ctx = Context::for_test("000000000000", "us-east-1");
        let line: serde_json::Value =
            serde_json::from_str(&json_line("s", &ctx, &m, 60, &agg, Some("Milliseconds")))
                .unwrap();
        assert_eq!(line["dimensions"]["Api"], "get");
        assert_eq!(line["timestamp"], 60_000);
        assert_eq!(
            line["value"],
            json!({"max": 4.0, "min": 2.0, "sum": 6.0, "count": 2.0})
        );
    }
}
