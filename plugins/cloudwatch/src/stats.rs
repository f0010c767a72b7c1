//! Aggregates of stored datapoints and the statistics CloudWatch computes
//! from them: `SampleCount`, `Sum`, `Average`, `Minimum`, `Maximum` and the
//! extended ones (`p99`, `p99.9`, `tm90`, `tm(10%:90%)`, `wm90`, `tc90`,
//! `ts90`, `IQM`). Pure functions, unit tested natively.

use serde::{Deserialize, Serialize};

/// Values one bucket of one metric holds (one unit). `values` keeps the
/// raw values with their counts for percentiles; a statistic set
/// (`StatisticValues`) adds to the totals only, as in AWS (percentiles need
/// raw values).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Agg {
    #[serde(rename = "n")]
    pub count: f64,
    #[serde(rename = "s")]
    pub sum: f64,
    #[serde(rename = "lo")]
    pub min: f64,
    #[serde(rename = "hi")]
    pub max: f64,
    /// (value, count) pairs; empty when only statistic sets arrived.
    #[serde(rename = "v", default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<(f64, f64)>,
}

/// Most raw values one bucket keeps for percentiles (beyond it, values
/// still count in the totals).
pub const MAX_RAW_VALUES: usize = 10_000;

impl Agg {
    pub fn add_value(&mut self, value: f64, count: f64) {
        self.add_set(count, value * count, value, value);
        if self.values.len() < MAX_RAW_VALUES {
            if let Some(v) = self.values.iter_mut().find(|(v, _)| *v == value) {
                v.1 += count;
            } else {
                self.values.push((value, count));
            }
        }
    }

    pub fn add_set(&mut self, count: f64, sum: f64, min: f64, max: f64) {
        if self.count == 0.0 {
            self.min = min;
            self.max = max;
        } else {
            self.min = self.min.min(min);
            self.max = self.max.max(max);
        }
        self.count += count;
        self.sum += sum;
    }

    pub fn merge(&mut self, other: &Agg) {
        if other.count == 0.0 && other.values.is_empty() {
            return;
        }
        self.add_set(other.count, other.sum, other.min, other.max);
        for &(v, c) in &other.values {
            if self.values.len() >= MAX_RAW_VALUES {
                break;
            }
            if let Some(x) = self.values.iter_mut().find(|(x, _)| *x == v) {
                x.1 += c;
            } else {
                self.values.push((v, c));
            }
        }
    }

    /// A statistic by its CloudWatch name; `None` when it cannot be
    /// computed (no raw values for a percentile, empty bucket, bad name).
    pub fn stat(&self, name: &str) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        match name {
            "SampleCount" => Some(self.count),
            "Sum" => Some(self.sum),
            "Average" => Some(self.sum / self.count),
            "Minimum" => Some(self.min),
            "Maximum" => Some(self.max),
            _ => self.extended(name),
        }
    }

    fn sorted(&self) -> Vec<(f64, f64)> {
        let mut v = self.values.clone();
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        v
    }

    fn extended(&self, name: &str) -> Option<f64> {
        let stat = ExtendedStat::parse(name)?;
        if self.values.is_empty() {
            return None;
        }
        let sorted = self.sorted();
        let total: f64 = sorted.iter().map(|x| x.1).sum();
        match stat {
            ExtendedStat::Percentile(p) => Some(percentile(&sorted, total, p)),
            ExtendedStat::Trimmed { kind, lo, hi } => {
                let lo_v = percentile(&sorted, total, lo);
                let hi_v = percentile(&sorted, total, hi);
                let (mut n, mut s) = (0.0, 0.0);
                for &(v, c) in &sorted {
                    let v = if kind == 'w' { v.clamp(lo_v, hi_v) } else { v };
                    // (lower, upper]: tm(10%:90%) drops the lowest and the highest 10 %.
                    let above_lower = lo == 0.0 || v > lo_v;
                    if kind == 'w' || (above_lower && v <= hi_v) {
                        n += c;
                        s += v * c;
                    }
                }
                match kind {
                    'c' => Some(n),
                    's' => Some(s),
                    _ if n > 0.0 => Some(s / n),
                    _ => None,
                }
            }
        }
    }
}

/// The value at percentile `p` (0-100) of sorted (value, count) pairs:
/// nearest rank, as CloudWatch reports observed values.
pub fn percentile(sorted: &[(f64, f64)], total: f64, p: f64) -> f64 {
    // The epsilon keeps 99.9 % of 1000 at rank 999 despite binary rounding.
    let rank = (p / 100.0 * total - 1e-9).ceil().max(1.0);
    let mut seen = 0.0;
    for &(v, c) in sorted {
        seen += c;
        if seen >= rank {
            return v;
        }
    }
    sorted.last().map(|x| x.0).unwrap_or(0.0)
}

#[derive(Debug, PartialEq)]
enum ExtendedStat {
    Percentile(f64),
    /// `kind`: 'm' trimmed mean, 'w' winsorized mean, 'c' trimmed count,
    /// 's' trimmed sum; bounds as percentiles.
    Trimmed {
        kind: char,
        lo: f64,
        hi: f64,
    },
}

impl ExtendedStat {
    fn parse(name: &str) -> Option<ExtendedStat> {
        if name == "IQM" {
            return Some(ExtendedStat::Trimmed {
                kind: 'm',
                lo: 25.0,
                hi: 75.0,
            });
        }
        if let Some(p) = name.strip_prefix('p') {
            let p: f64 = p.parse().ok()?;
            return (0.0..=100.0)
                .contains(&p)
                .then_some(ExtendedStat::Percentile(p));
        }
        let kind = match name.get(..2)? {
            "tm" => 'm',
            "wm" => 'w',
            "tc" => 'c',
            "ts" => 's',
            _ => return None,
        };
        let rest = &name[2..];
        let (lo, hi) = if let Some(range) = rest.strip_prefix('(').and_then(|r| r.strip_suffix(')'))
        {
            let (a, b) = range.split_once(':')?;
            let pct = |s: &str| -> Option<f64> {
                let s = s.trim().trim_end_matches('%');
                if s.is_empty() { None } else { s.parse().ok() }
            };
            (pct(a).unwrap_or(0.0), pct(b).unwrap_or(100.0))
        } else {
            (0.0, rest.parse().ok()?)
        };
        (0.0 <= lo && lo < hi && hi <= 100.0).then_some(ExtendedStat::Trimmed { kind, lo, hi })
    }
}

/// Whether `name` is a statistic CloudWatch knows.
pub fn is_statistic(name: &str) -> bool {
    matches!(
        name,
        "SampleCount" | "Sum" | "Average" | "Minimum" | "Maximum"
    ) || ExtendedStat::parse(name).is_some()
}

/// Whether `name` is an extended statistic (for GetMetricStatistics'
/// `ExtendedStatistics`).
pub fn is_extended(name: &str) -> bool {
    ExtendedStat::parse(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(values: &[f64]) -> Agg {
        let mut a = Agg::default();
        for &v in values {
            a.add_value(v, 1.0);
        }
        a
    }

    #[test]
    fn basic_statistics() {
        let a = agg(&[1.0, 2.0, 3.0, 10.0]);
        assert_eq!(a.stat("Sum"), Some(16.0));
        assert_eq!(a.stat("Average"), Some(4.0));
        assert_eq!(a.stat("Minimum"), Some(1.0));
        assert_eq!(a.stat("Maximum"), Some(10.0));
        assert_eq!(a.stat("SampleCount"), Some(4.0));
    }

    #[test]
    fn percentiles_and_trimmed() {
        let a = agg(&(1..=100).map(f64::from).collect::<Vec<_>>());
        assert_eq!(a.stat("p99"), Some(99.0));
        assert_eq!(a.stat("p50"), Some(50.0));
        assert_eq!(a.stat("p100"), Some(100.0));
        assert_eq!(a.stat("tm(10%:90%)"), Some(50.5));
        assert_eq!(a.stat("tc90"), Some(90.0));
        assert_eq!(a.stat("IQM"), Some(50.5));
        assert_eq!(a.stat("p101"), None);
        assert_eq!(a.stat("bogus"), None);
        assert!(is_statistic("p99.9") && is_statistic("tm90") && !is_statistic("x"));
    }

    #[test]
    fn statistic_sets_have_no_percentiles() {
        let mut a = Agg::default();
        a.add_set(4.0, 20.0, 1.0, 9.0);
        assert_eq!(a.stat("Average"), Some(5.0));
        assert_eq!(a.stat("p90"), None);
    }
}
