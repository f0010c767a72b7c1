//! Service metrics (`AWS/Lambda`, `AWS/DynamoDB`, ...) a plugin emits to
//! CloudWatch: [`emit`] hands datums to the host (`metrics.put`), which
//! folds them in its own memory into statistic sets per account, region,
//! namespace, metric, dimensions and second, and sends them once a second
//! as `PutMetricData` to the CloudWatch plugin. A request never waits for
//! CloudWatch, and emitting writes nothing to the plugin's store, so a
//! read-only request (a DynamoDB GetItem) stays read-only.
//!
//! Datums count when the request's unit commits or it answers an AWS
//! error; a crash of the gateway loses at most the last second of them
//! (docs/decisions.md).

use crate::store::RawTable;
use crate::{AwsError, Context};

/// The flush task of SDK builds before the host aggregated metrics: a
/// record of it may still be stored (PERSIST_STATE=1); the router runs it
/// to drop the pending rows those builds left.
pub const FLUSH_TASK: &str = "ministack:metrics-flush";

/// Put before an `AWS/...` namespace in the host's PutMetricData: the
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

/// Hands the datums to the host, timestamped now. Equal datums cross
/// once, with their count (`metrics.put-counted`): ten events matching a
/// rule are one `MatchedEvents` datum counted ten times, and CloudWatch
/// still sees ten samples. Never fails today (the `Result` keeps callers
/// written for the store-backed batch compiling).
pub fn emit(data: &[Datum]) -> Result<(), AwsError> {
    put(&counted(data));
    Ok(())
}

/// Hands datums already counted: `(datum, n)` is `n` samples of the
/// datum (what [`emit`] hands for `n` equal datums), for a caller that
/// counts its own cheaper than building and comparing each one.
pub fn emit_counted(sets: &[(Datum, u32)]) -> Result<(), AwsError> {
    let sets: Vec<(&Datum, u32)> = sets
        .iter()
        .filter(|s| s.1 > 0)
        .map(|(d, n)| (d, *n))
        .collect();
    put(&sets);
    Ok(())
}

fn put(sets: &[(&Datum, u32)]) {
    #[cfg(not(target_arch = "wasm32"))]
    let _ = sets;
    #[cfg(target_arch = "wasm32")]
    if !sets.is_empty() {
        use crate::generated::ministack::plugin::metrics as wit;
        let data: Vec<(wit::Datum, u32)> = sets
            .iter()
            .map(|&(d, count)| {
                let datum = wit::Datum {
                    namespace: d.namespace.to_string(),
                    metric_name: d.name.to_string(),
                    dimensions: d
                        .dimensions
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect(),
                    value: d.value,
                    unit: d.unit.to_string(),
                };
                (datum, count)
            })
            .collect();
        wit::put_counted(&data);
    }
}

impl Datum<'_> {
    fn same(&self, o: &Datum) -> bool {
        self.value.to_bits() == o.value.to_bits()
            && same_str(self.name, o.name)
            && same_str(self.namespace, o.namespace)
            && same_str(self.unit, o.unit)
            && self.dimensions.len() == o.dimensions.len()
            && self
                .dimensions
                .iter()
                .zip(o.dimensions)
                .all(|(a, b)| same_str(a.0, b.0) && same_str(a.1, b.1))
    }
}

/// Equal strings; the same literal or the same borrowed name (the usual
/// case here) without a `memcmp` call: a PutEvents of ten entries
/// compared ~80 of them.
fn same_str(a: &str, b: &str) -> bool {
    std::ptr::eq(a, b) || a == b
}

/// The distinct datums of `data`, in first-seen order, each with how many
/// times it occurs. A linear search per datum: a request emits a few
/// distinct ones.
fn counted<'d, 'a>(data: &'d [Datum<'a>]) -> Vec<(&'d Datum<'a>, u32)> {
    let mut out: Vec<(&Datum, u32)> = Vec::new();
    for d in data {
        match out.iter_mut().find(|(o, _)| o.same(d)) {
            Some((_, n)) => *n += 1,
            None => out.push((d, 1)),
        }
    }
    out
}

const LEGACY_PENDING: RawTable = RawTable::new("ministack-metrics-pending");
const LEGACY_SHARDS: u64 = 16;

/// [`FLUSH_TASK`]: deletes the rows an older build left pending (at most a
/// second of metrics from before the upgrade; not worth converting).
pub(crate) fn drop_legacy_batch(_: &Context) -> Result<(), AwsError> {
    for n in 0..LEGACY_SHARDS {
        let key = format!("pending-{n}");
        if LEGACY_PENDING.get(key.as_bytes()).is_some() {
            LEGACY_PENDING.delete(key.as_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_datums_are_counted_once_in_first_seen_order() {
        let r1 = [("RuleName", "r1")];
        let r2 = [("RuleName", "r2")];
        let m = |name, dims, value| Datum {
            value,
            ..Datum::count("AWS/Events", name, dims)
        };
        let data = [
            m("MatchedEvents", &r1, 1.0),
            m("Invocations", &r1, 1.0),
            m("MatchedEvents", &r2, 1.0),
            m("MatchedEvents", &r1, 1.0),
            m("MatchedEvents", &r1, 2.0),
            m("Invocations", &r1, 1.0),
        ];
        let got: Vec<(&str, &str, f64, u32)> = counted(&data)
            .into_iter()
            .map(|(d, n)| (d.name, d.dimensions[0].1, d.value, n))
            .collect();
        assert_eq!(
            got,
            [
                ("MatchedEvents", "r1", 1.0, 2),
                ("Invocations", "r1", 1.0, 2),
                ("MatchedEvents", "r2", 1.0, 1),
                ("MatchedEvents", "r1", 2.0, 1),
            ]
        );
    }
}
