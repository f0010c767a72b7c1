//! Metric and composite alarms.
//!
//! A metric alarm is evaluated by a durable task every `Period` seconds, a
//! grace second after each multiple of the period since the epoch (the task
//! carries the alarm's generation, so replacing or deleting the alarm
//! retires the old chain). Each evaluation looks at the last
//! `EvaluationPeriods` periods ending at that boundary (contiguous windows
//! from one evaluation to the next, so every datapoint is judged), applies
//! `TreatMissingData` and `DatapointsToAlarm` (M of N) and moves the state.
//! A change is recorded in the history, runs the state's actions (SNS
//! Publish with AWS's alarm JSON, Lambda Invoke with the alarm event),
//! sends "CloudWatch Alarm State Change" to EventBridge (ignored when it is
//! not loaded) and re-evaluates the composite alarms whose rule names it.

use std::collections::BTreeMap;
use std::time::Duration;

use ministack_sdk::prelude::*;
use ministack_sdk::services::{self, Target};
use ministack_sdk::{encoding, ids, pagination, tasks, time};
use serde_json::{Value, json};

use crate::expr::{Series, Val};
use crate::metrics::{self, Evaluation, dims_of, invalid};
use crate::rule;
use crate::shapes::{
    AlarmHistoryItem, AlarmType, CompositeAlarm, DeleteAlarmsInput, DescribeAlarmHistoryInput,
    DescribeAlarmHistoryOutput, DescribeAlarmsForMetricInput, DescribeAlarmsForMetricOutput,
    DescribeAlarmsInput, DescribeAlarmsOutput, DisableAlarmActionsInput, EnableAlarmActionsInput,
    HistoryItemType, InvalidFormatFault, Metric, MetricAlarm, MetricDataQuery, MetricStat,
    PutCompositeAlarmInput, PutMetricAlarmInput, ResourceNotFound, SetAlarmStateInput, StateValue,
};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct AlarmRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricAlarm>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composite: Option<CompositeAlarm>,
    /// Bumped on every PutMetricAlarm: evaluation tasks of an older one stop.
    pub generation: u64,
}

impl AlarmRecord {
    fn state(&self) -> String {
        self.metric
            .as_ref()
            .and_then(|m| m.state_value.as_ref())
            .or_else(|| self.composite.as_ref().and_then(|c| c.state_value.as_ref()))
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|| "INSUFFICIENT_DATA".into())
    }
    fn arn(&self) -> String {
        self.metric
            .as_ref()
            .and_then(|m| m.alarm_arn.clone())
            .or_else(|| self.composite.as_ref().and_then(|c| c.alarm_arn.clone()))
            .unwrap_or_default()
    }
    fn actions(&self) -> (bool, Vec<String>, Vec<String>, Vec<String>) {
        if let Some(m) = &self.metric {
            (
                m.actions_enabled.unwrap_or(true),
                m.ok_actions.clone().unwrap_or_default(),
                m.alarm_actions.clone().unwrap_or_default(),
                m.insufficient_data_actions.clone().unwrap_or_default(),
            )
        } else if let Some(c) = &self.composite {
            (
                c.actions_enabled.unwrap_or(true),
                c.ok_actions.clone().unwrap_or_default(),
                c.alarm_actions.clone().unwrap_or_default(),
                c.insufficient_data_actions.clone().unwrap_or_default(),
            )
        } else {
            (false, vec![], vec![], vec![])
        }
    }
}

pub const ALARMS: Table<AlarmRecord> = Table::new("alarms");
const HISTORY: Table<AlarmHistoryItem> = Table::new("alarm-history");
pub const EVALUATE_TASK: &str = "evaluate";

#[derive(Serialize, Deserialize)]
pub struct EvaluateTask {
    pub name: String,
    pub generation: u64,
}

fn alarm_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("cloudwatch", &format!("alarm:{name}")).to_string()
}

fn check_actions(lists: &[&Option<Vec<String>>]) -> Result<(), AwsError> {
    for list in lists.iter().copied().flatten() {
        if list.len() > 5 {
            return Err(invalid("At most 5 actions may be set per state."));
        }
        for a in list {
            if !a.starts_with("arn:") {
                return Err(invalid(format!("Invalid arn syntax: {a}")));
            }
        }
    }
    Ok(())
}

fn history(
    name: &str,
    kind: &str,
    alarm_type: &str,
    summary: String,
    data: Value,
) -> Result<(), AwsError> {
    let now = time::now();
    let key = keys::join(&[&keys::u64((now * 1000.0) as u64), name, &ids::hex(8)]);
    HISTORY.put(
        &key,
        &AlarmHistoryItem {
            alarm_name: Some(name.to_string()),
            alarm_type: Some(AlarmType::from(alarm_type)),
            timestamp: Some(now),
            history_item_type: Some(HistoryItemType::from(kind)),
            history_summary: Some(summary),
            history_data: Some(data.to_string()),
            ..Default::default()
        },
    )
}

pub fn put_metric_alarm(ctx: &Context, input: PutMetricAlarmInput) -> Result<Empty, AwsError> {
    let name = input.alarm_name.clone();
    if name.is_empty() || name.len() > 255 {
        return Err(invalid(
            "The parameter AlarmName must be 1 to 255 characters.",
        ));
    }
    let op = input
        .comparison_operator
        .clone()
        .ok_or_else(|| missing("ComparisonOperator"))?;
    let periods = input
        .evaluation_periods
        .ok_or_else(|| missing("EvaluationPeriods"))?;
    if periods < 1 {
        return Err(invalid(
            "The parameter EvaluationPeriods must be at least 1.",
        ));
    }
    if let Some(m) = input.datapoints_to_alarm
        && (m < 1 || m > periods)
    {
        return Err(invalid(
            "DatapointsToAlarm must be between 1 and EvaluationPeriods.",
        ));
    }
    let band_op = matches!(
        op.as_str(),
        "LessThanLowerOrGreaterThanUpperThreshold"
            | "LessThanLowerThreshold"
            | "GreaterThanUpperThreshold"
    );
    if band_op != input.threshold_metric_id.is_some() {
        return Err(invalid(
            "ThresholdMetricId is used with the LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold and GreaterThanUpperThreshold operators, and only with them.",
        ));
    }
    if !band_op && input.threshold.is_none() {
        return Err(missing("Threshold"));
    }
    if let Some(t) = &input.treat_missing_data
        && !matches!(
            t.as_str(),
            "breaching" | "notBreaching" | "ignore" | "missing"
        )
    {
        return Err(invalid(format!(
            "The value {t} for parameter TreatMissingData is invalid: breaching, notBreaching, ignore or missing."
        )));
    }
    check_actions(&[
        &input.ok_actions,
        &input.alarm_actions,
        &input.insufficient_data_actions,
    ])?;
    let period = match (&input.metrics, &input.metric_name) {
        (Some(_), Some(_)) => {
            return Err(crate::shapes::InvalidParameterCombinationException::new(
                "MetricName and Metrics are mutually exclusive.".to_string(),
            )
            .into());
        }
        (Some(queries), None) => {
            let returned = queries
                .iter()
                .filter(|q| q.return_data != Some(false))
                .count();
            let expected = if input.threshold_metric_id.is_some() {
                2
            } else {
                1
            };
            if returned != expected
                && queries
                    .iter()
                    .filter(|q| q.return_data == Some(true))
                    .count()
                    != 1
            {
                return Err(invalid(
                    "Exactly one element of the Metrics list must return data (ReturnData true).",
                ));
            }
            for q in queries {
                if let Some(e) = &q.expression {
                    crate::expr::parse(e)
                        .map_err(|err| invalid(format!("Invalid metrics list: {err}")))?;
                }
            }
            queries
                .iter()
                .find_map(|q| q.metric_stat.as_ref().map(|s| s.period as i64))
                .or(queries.iter().find_map(|q| q.period.map(|p| p as i64)))
                .or(input.period.map(|p| p as i64))
                .unwrap_or(60)
        }
        (None, Some(_)) => {
            if input.namespace.is_none() {
                return Err(missing("Namespace"));
            }
            match (&input.statistic, &input.extended_statistic) {
                (None, None) => {
                    return Err(missing("Statistic or ExtendedStatistic"));
                }
                (Some(_), Some(_)) => {
                    return Err(crate::shapes::InvalidParameterCombinationException::new(
                        "Statistic and ExtendedStatistic are mutually exclusive.".to_string(),
                    )
                    .into());
                }
                (None, Some(e)) if !crate::stats::is_extended(e) => {
                    return Err(invalid(format!(
                        "The value {e} for parameter ExtendedStatistic is invalid."
                    )));
                }
                _ => {}
            }
            input.period.ok_or_else(|| missing("Period"))? as i64
        }
        (None, None) => return Err(missing("MetricName or Metrics")),
    };
    if !(matches!(period, 10 | 20 | 30) || (period >= 60 && period % 60 == 0)) {
        return Err(invalid(
            "The parameter Period must be 10, 20, 30 or a multiple of 60.",
        ));
    }
    let now = time::now();
    let arn = alarm_arn(ctx, &name);
    let old = ALARMS.get(&name)?;
    if old.as_ref().is_some_and(|o| o.composite.is_some()) {
        return Err(invalid(format!("The alarm {name} is a composite alarm.")));
    }
    let prev = old.as_ref().and_then(|o| o.metric.clone());
    let alarm = MetricAlarm {
        alarm_name: Some(name.clone()),
        alarm_arn: Some(arn.clone()),
        alarm_description: input.alarm_description.clone(),
        alarm_configuration_updated_timestamp: Some(now),
        actions_enabled: Some(input.actions_enabled.unwrap_or(true)),
        ok_actions: Some(input.ok_actions.clone().unwrap_or_default()),
        alarm_actions: Some(input.alarm_actions.clone().unwrap_or_default()),
        insufficient_data_actions: Some(
            input.insufficient_data_actions.clone().unwrap_or_default(),
        ),
        state_value: Some(
            prev.as_ref()
                .and_then(|p| p.state_value.clone())
                .unwrap_or(StateValue::from("INSUFFICIENT_DATA")),
        ),
        state_reason: Some(
            prev.as_ref()
                .and_then(|p| p.state_reason.clone())
                .unwrap_or("Unchecked: Initial alarm creation".into()),
        ),
        state_reason_data: prev.as_ref().and_then(|p| p.state_reason_data.clone()),
        state_updated_timestamp: Some(
            prev.as_ref()
                .and_then(|p| p.state_updated_timestamp)
                .unwrap_or(now),
        ),
        state_transitioned_timestamp: Some(
            prev.as_ref()
                .and_then(|p| p.state_transitioned_timestamp)
                .unwrap_or(now),
        ),
        metric_name: input.metric_name.clone(),
        namespace: input.namespace.clone(),
        statistic: input.statistic.clone(),
        extended_statistic: input.extended_statistic.clone(),
        dimensions: input
            .metric_name
            .as_ref()
            .map(|_| input.dimensions.clone().unwrap_or_default()),
        period: input
            .period
            .or(input.metric_name.as_ref().map(|_| period as i32)),
        unit: input.unit.clone(),
        evaluation_periods: Some(periods),
        datapoints_to_alarm: input.datapoints_to_alarm,
        threshold: input.threshold,
        comparison_operator: Some(op),
        treat_missing_data: input.treat_missing_data.clone(),
        evaluate_low_sample_count_percentile: input.evaluate_low_sample_count_percentile.clone(),
        metrics: input.metrics.clone(),
        threshold_metric_id: input.threshold_metric_id.clone(),
        ..Default::default()
    };
    let generation = old.as_ref().map_or(0, |o| o.generation) + 1;
    ALARMS.put(
        &name,
        &AlarmRecord {
            metric: Some(alarm),
            composite: None,
            generation,
        },
    )?;
    if let Some(tags) = &input.tags {
        crate::misc::add_tags(&arn, tags)?;
    }
    history(
        &name,
        "ConfigurationUpdate",
        "MetricAlarm",
        format!(
            "Alarm \"{name}\" {}",
            if old.is_some() { "updated" } else { "created" }
        ),
        json!({"type": if old.is_some() { "Update" } else { "Create" }, "version": "1.0"}),
    )?;
    tasks::schedule(
        until_next_evaluation(period as u64),
        EVALUATE_TASK,
        &EvaluateTask { name, generation },
    )?;
    Ok(Empty {})
}

/// Seconds after a period boundary an evaluation runs: data put just
/// before the boundary (a request in flight) still counts in its window.
const EVALUATION_GRACE_MS: u64 = 1000;

/// Until the next evaluation: one grace second after the next multiple of
/// `period` since the epoch. Evaluations judge the periods ending at the
/// last boundary, so consecutive evaluations see contiguous windows however
/// late a task runs (up to a period late).
fn until_next_evaluation(period: u64) -> Duration {
    let period_ms = period.max(1) * 1000;
    let now = time::now_millis();
    let next = (now / period_ms + 1) * period_ms + EVALUATION_GRACE_MS;
    Duration::from_millis(next - now)
}

fn missing(what: &str) -> AwsError {
    crate::shapes::MissingRequiredParameterException::new(format!(
        "The parameter {what} is required."
    ))
    .into()
}

/// One period's value (None: missing) and whether it breaches.
struct Point {
    ts: i64,
    value: Option<f64>,
    breaching: Option<bool>,
}

fn breaches(op: &str, v: f64, threshold: f64, band: Option<(f64, f64)>) -> bool {
    match (op, band) {
        ("GreaterThanOrEqualToThreshold", _) => v >= threshold,
        ("GreaterThanThreshold", _) => v > threshold,
        ("LessThanThreshold", _) => v < threshold,
        ("LessThanOrEqualToThreshold", _) => v <= threshold,
        ("LessThanLowerOrGreaterThanUpperThreshold", Some((lo, hi))) => v < lo || v > hi,
        ("LessThanLowerThreshold", Some((lo, _))) => v < lo,
        ("GreaterThanUpperThreshold", Some((_, hi))) => v > hi,
        _ => false,
    }
}

/// The alarm's new state, reason and reason data from its last periods.
pub fn evaluate_state(
    ctx: &Context,
    a: &MetricAlarm,
    current: &str,
) -> Result<(String, String, Value), AwsError> {
    let n = a.evaluation_periods.unwrap_or(1).max(1) as i64;
    let m = a.datapoints_to_alarm.unwrap_or(n as i32) as usize;
    let queries: Vec<MetricDataQuery> = match &a.metrics {
        Some(q) => q.clone(),
        None => vec![MetricDataQuery {
            id: "m1".into(),
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: a.namespace.clone(),
                    metric_name: a.metric_name.clone(),
                    dimensions: a.dimensions.clone(),
                },
                period: a.period.unwrap_or(60),
                stat: a
                    .statistic
                    .as_ref()
                    .map(|s| s.as_str().to_string())
                    .or(a.extended_statistic.clone())
                    .unwrap_or_else(|| "Average".into()),
                unit: a.unit.clone(),
            }),
            ..Default::default()
        }],
    };
    let period = a
        .period
        .map(|p| p as i64)
        .or_else(|| {
            queries
                .iter()
                .find_map(|q| q.metric_stat.as_ref().map(|s| s.period as i64))
        })
        .or_else(|| queries.iter().find_map(|q| q.period.map(|p| p as i64)))
        .unwrap_or(60);
    // The periods ending at the last boundary (see `until_next_evaluation`).
    let now = (time::now().floor() as i64).div_euclid(period) * period;
    let start = now - n * period;
    let eval = Evaluation::new(ctx, &queries, start as f64, now as f64, start);
    let results = eval.run()?;
    let value_id = queries
        .iter()
        .find(|q| q.return_data != Some(false) && Some(&q.id) != a.threshold_metric_id.as_ref())
        .map(|q| q.id.clone())
        .unwrap_or_default();
    let series: Series = match results.get(&value_id) {
        Some(Val::Series(s)) => s.clone(),
        Some(Val::Array(a)) => a.first().cloned().unwrap_or(Series {
            label: String::new(),
            points: Default::default(),
        }),
        _ => Series {
            label: String::new(),
            points: Default::default(),
        },
    };
    let band: Option<(Series, Series)> =
        a.threshold_metric_id
            .as_ref()
            .and_then(|id| match results.get(id) {
                Some(Val::Array(arr)) if arr.len() == 2 => Some((arr[0].clone(), arr[1].clone())),
                Some(Val::Series(s)) => Some((s.clone(), s.clone())),
                _ => None,
            });
    let op = a
        .comparison_operator
        .as_ref()
        .map(|o| o.as_str().to_string())
        .unwrap_or_default();
    let threshold = a.threshold.unwrap_or(0.0);
    let points: Vec<Point> = (0..n)
        .map(|k| {
            let ts = start + k * period;
            let value = series.points.get(&ts).copied();
            let b = band
                .as_ref()
                .and_then(|(lo, hi)| Some((*lo.points.get(&ts)?, *hi.points.get(&ts)?)));
            Point {
                ts,
                value,
                breaching: value.map(|v| breaches(&op, v, threshold, b)),
            }
        })
        .collect();
    let treat = a.treat_missing_data.as_deref().unwrap_or("missing");
    let present: Vec<&Point> = points.iter().filter(|p| p.value.is_some()).collect();
    let breaching = points
        .iter()
        .filter(|p| p.breaching.unwrap_or(treat == "breaching"))
        .count();
    let state = if present.is_empty() {
        match treat {
            "breaching" => "ALARM",
            "notBreaching" => "OK",
            "ignore" => current,
            _ => "INSUFFICIENT_DATA",
        }
    } else if breaching >= m {
        "ALARM"
    } else {
        "OK"
    };
    let recent: Vec<Value> = points
        .iter()
        .rev()
        .filter_map(|p| p.value.map(|v| json!(v)))
        .collect();
    let op_text = match op.as_str() {
        "GreaterThanOrEqualToThreshold" => "greater than or equal to",
        "GreaterThanThreshold" => "greater than",
        "LessThanThreshold" => "less than",
        "LessThanOrEqualToThreshold" => "less than or equal to",
        _ => "outside the band of",
    };
    let reason = if present.is_empty() {
        format!(
            "Insufficient Data: {n} datapoint{} unknown (TreatMissingData: {treat}).",
            if n == 1 { " was" } else { "s were" }
        )
    } else {
        format!(
            "Threshold Crossed: {} out of the last {n} datapoints {:?} {} {op_text} the threshold ({threshold}) (minimum {m} datapoint{} for OK -> ALARM transition).",
            breaching,
            present
                .iter()
                .rev()
                .filter_map(|p| p.value)
                .collect::<Vec<_>>(),
            if breaching == 1 { "was" } else { "were" },
            if m == 1 { "" } else { "s" },
        )
    };
    let data = json!({
        "version": "1.0",
        "queryDate": time::iso8601_millis(now as f64),
        "startDate": time::iso8601_millis(start as f64),
        "statistic": a.statistic.as_ref().map(|s| s.as_str().to_string()),
        "period": period,
        "recentDatapoints": recent,
        "threshold": threshold,
        "evaluatedDatapoints": points.iter().rev().map(|p| {
            let mut d = json!({"timestamp": time::iso8601_millis(p.ts as f64)});
            if let Some(v) = p.value { d["value"] = json!(v); }
            d
        }).collect::<Vec<_>>(),
    });
    Ok((state.to_string(), reason, data))
}

/// How often an alarm is evaluated: its period (or its metrics' period).
fn alarm_period(alarm: &MetricAlarm) -> u64 {
    alarm
        .period
        .map(|p| p as u64)
        .or_else(|| {
            alarm.metrics.iter().flatten().find_map(|q| {
                q.metric_stat
                    .as_ref()
                    .map(|s| s.period as u64)
                    .or(q.period.map(|p| p as u64))
            })
        })
        .unwrap_or(60)
        .max(10)
}

/// The evaluation task: evaluates, moves the state, schedules the next one.
pub fn evaluate(ctx: &Context, task: EvaluateTask) -> Result<(), AwsError> {
    let Some(rec) = ALARMS.get(&task.name)? else {
        return Ok(());
    };
    if rec.generation != task.generation {
        return Ok(());
    }
    let Some(alarm) = rec.metric.clone() else {
        return Ok(());
    };
    let period = alarm_period(&alarm);
    // Schedule the next evaluation first: it commits with the state change
    // (before any action's call), and a failed evaluation keeps the chain.
    tasks::schedule(until_next_evaluation(period), EVALUATE_TASK, &task)?;
    let current = rec.state();
    let (state, reason, data) = match evaluate_state(ctx, &alarm, &current) {
        Ok(x) => x,
        Err(e) => {
            ministack_sdk::warn!("alarm {} evaluation failed: {}", task.name, e.message);
            return Ok(());
        }
    };
    if state != current {
        transition(ctx, &task.name, &state, &reason, Some(data.to_string()))?;
    } else {
        ALARMS.update(&task.name, |r| {
            let mut r = r.unwrap_or_default();
            if let Some(m) = r.metric.as_mut() {
                m.state_updated_timestamp = Some(time::now());
                m.state_reason_data = Some(data.to_string());
            }
            Ok(r)
        })?;
    }
    Ok(())
}

/// Moves alarm `name` to `state`: record, history, then actions, EventBridge
/// and the composite alarms that depend on it.
pub fn transition(
    ctx: &Context,
    name: &str,
    state: &str,
    reason: &str,
    reason_data: Option<String>,
) -> Result<(), AwsError> {
    let Some(mut rec) = ALARMS.get(name)? else {
        return Ok(());
    };
    let old_state = rec.state();
    let now = time::now();
    let old_reason;
    let alarm_type;
    if let Some(m) = rec.metric.as_mut() {
        old_reason = m.state_reason.clone().unwrap_or_default();
        m.state_value = Some(StateValue::from(state));
        m.state_reason = Some(reason.to_string());
        m.state_reason_data = reason_data.clone();
        m.state_updated_timestamp = Some(now);
        if old_state != state {
            m.state_transitioned_timestamp = Some(now);
        }
        alarm_type = "MetricAlarm";
    } else if let Some(c) = rec.composite.as_mut() {
        old_reason = c.state_reason.clone().unwrap_or_default();
        c.state_value = Some(StateValue::from(state));
        c.state_reason = Some(reason.to_string());
        c.state_reason_data = reason_data.clone();
        c.state_updated_timestamp = Some(now);
        if old_state != state {
            c.state_transitioned_timestamp = Some(now);
        }
        alarm_type = "CompositeAlarm";
    } else {
        return Ok(());
    }
    ALARMS.put(name, &rec)?;
    let reason_data_json: Value = reason_data
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .unwrap_or(Value::Null);
    history(
        name,
        "StateUpdate",
        alarm_type,
        format!("Alarm updated from {old_state} to {state}"),
        json!({
            "version": "1.0",
            "oldState": {"stateValue": old_state, "stateReason": old_reason},
            "newState": {"stateValue": state, "stateReason": reason, "stateReasonData": reason_data_json},
        }),
    )?;
    let (enabled, ok, alarm, insufficient) = rec.actions();
    let actions = match state {
        "ALARM" => alarm,
        "OK" => ok,
        _ => insufficient,
    };
    // Everything above commits with the first call below.
    if old_state != state {
        if enabled {
            for action in &actions {
                let result = run_action(
                    ctx,
                    &rec,
                    action,
                    &old_state,
                    state,
                    reason,
                    &reason_data_json,
                );
                let (summary, ok) = match &result {
                    Ok(()) => (format!("Successfully executed action {action}"), true),
                    Err(e) => (
                        format!("Failed to execute action {action}: {}", e.message),
                        false,
                    ),
                };
                history(
                    name,
                    "Action",
                    alarm_type,
                    summary,
                    json!({"actionState": if ok { "Succeeded" } else { "Failed" }, "notificationResource": action}),
                )?;
            }
        }
        let detail = alarm_event_detail(
            &rec,
            &old_state,
            &old_reason,
            state,
            reason,
            &reason_data_json,
        );
        let entry = json!({"Entries": [{
            "Source": "aws.cloudwatch",
            "DetailType": "CloudWatch Alarm State Change",
            "Detail": detail.to_string(),
            "Resources": [rec.arn()],
        }]});
        // No EventBridge plugin (or no bus): nothing to tell.
        let _ = services::call_json(&Target::new("events", ctx), "PutEvents", &entry.to_string());
        if alarm_type == "MetricAlarm" {
            evaluate_composites(ctx, name)?;
        }
    }
    Ok(())
}

fn region_name(region: &str) -> &str {
    match region {
        "us-east-1" => "US East (N. Virginia)",
        "us-east-2" => "US East (Ohio)",
        "us-west-1" => "US West (N. California)",
        "us-west-2" => "US West (Oregon)",
        "eu-west-1" => "EU (Ireland)",
        "eu-west-2" => "EU (London)",
        "eu-central-1" => "EU (Frankfurt)",
        "ap-southeast-1" => "Asia Pacific (Singapore)",
        "ap-southeast-2" => "Asia Pacific (Sydney)",
        "ap-northeast-1" => "Asia Pacific (Tokyo)",
        other => other,
    }
}

/// The SNS message CloudWatch publishes for an alarm.
fn sns_message(ctx: &Context, rec: &AlarmRecord, old: &str, new: &str, reason: &str) -> Value {
    let (enabled, ok, alarm, insufficient) = rec.actions();
    let _ = enabled;
    let mut msg = json!({
        "AWSAccountId": ctx.account,
        "NewStateValue": new,
        "NewStateReason": reason,
        "StateChangeTime": time::iso8601_millis(time::now()).replace('Z', "+0000"),
        "Region": region_name(&ctx.region),
        "AlarmArn": rec.arn(),
        "OldStateValue": old,
        "OKActions": ok,
        "AlarmActions": alarm,
        "InsufficientDataActions": insufficient,
    });
    if let Some(m) = &rec.metric {
        msg["AlarmName"] = json!(m.alarm_name);
        msg["AlarmDescription"] = json!(m.alarm_description);
        msg["AlarmConfigurationUpdatedTimestamp"] = json!(
            m.alarm_configuration_updated_timestamp
                .map(|t| time::iso8601_millis(t).replace('Z', "+0000"))
        );
        let mut trigger = json!({
            "Period": m.period,
            "EvaluationPeriods": m.evaluation_periods,
            "DatapointsToAlarm": m.datapoints_to_alarm.or(m.evaluation_periods),
            "ComparisonOperator": m.comparison_operator.as_ref().map(|c| c.as_str().to_string()),
            "Threshold": m.threshold,
            "TreatMissingData": m.treat_missing_data.clone().unwrap_or_else(|| "missing".into()),
            "EvaluateLowSampleCountPercentile": m.evaluate_low_sample_count_percentile.clone().unwrap_or_default(),
        });
        if let Some(name) = &m.metric_name {
            trigger["MetricName"] = json!(name);
            trigger["Namespace"] = json!(m.namespace);
            trigger["StatisticType"] = json!(if m.statistic.is_some() {
                "Statistic"
            } else {
                "ExtendedStatistic"
            });
            trigger["Statistic"] = json!(m.statistic.as_ref().map(|s| s.as_str().to_uppercase()));
            if let Some(e) = &m.extended_statistic {
                trigger["ExtendedStatistic"] = json!(e);
            }
            trigger["Unit"] = json!(m.unit.as_ref().map(|u| u.as_str().to_string()));
            trigger["Dimensions"] = json!(
                dims_of(&m.dimensions)
                    .iter()
                    .map(|(k, v)| json!({"value": v, "name": k}))
                    .collect::<Vec<_>>()
            );
        } else {
            trigger["Metrics"] = serde_json::to_value(&m.metrics).unwrap_or_default();
        }
        msg["Trigger"] = trigger;
    } else if let Some(c) = &rec.composite {
        msg["AlarmName"] = json!(c.alarm_name);
        msg["AlarmDescription"] = json!(c.alarm_description);
        msg["AlarmRule"] = json!(c.alarm_rule);
    }
    msg
}

fn alarm_event_detail(
    rec: &AlarmRecord,
    old: &str,
    old_reason: &str,
    new: &str,
    reason: &str,
    data: &Value,
) -> Value {
    let name = rec
        .metric
        .as_ref()
        .and_then(|m| m.alarm_name.clone())
        .or_else(|| rec.composite.as_ref().and_then(|c| c.alarm_name.clone()));
    let now = time::iso8601_millis(time::now()).replace('Z', "+0000");
    let mut configuration = json!({});
    if let Some(m) = &rec.metric {
        configuration["description"] = json!(m.alarm_description);
        configuration["metrics"] = match &m.metric_name {
            Some(metric) => json!([{
                "id": "m1",
                "metricStat": {
                    "metric": {
                        "namespace": m.namespace,
                        "name": metric,
                        "dimensions": dims_of(&m.dimensions).into_iter().collect::<BTreeMap<_, _>>(),
                    },
                    "period": m.period,
                    "stat": m.statistic.as_ref().map(|s| s.as_str().to_string()).or(m.extended_statistic.clone()),
                },
                "returnData": true,
            }]),
            None => serde_json::to_value(&m.metrics).unwrap_or_default(),
        };
    } else if let Some(c) = &rec.composite {
        configuration["alarmRule"] = json!(c.alarm_rule);
        configuration["description"] = json!(c.alarm_description);
    }
    json!({
        "alarmName": name,
        "state": {"value": new, "reason": reason, "reasonData": data.to_string(), "timestamp": now},
        "previousState": {"value": old, "reason": old_reason},
        "configuration": configuration,
    })
}

fn run_action(
    ctx: &Context,
    rec: &AlarmRecord,
    action: &str,
    old: &str,
    new: &str,
    reason: &str,
    data: &Value,
) -> Result<(), AwsError> {
    let arn: Arn = action
        .parse()
        .map_err(|_| invalid(format!("Invalid action ARN {action}")))?;
    match arn.service.as_str() {
        "sns" => {
            let name = rec
                .metric
                .as_ref()
                .and_then(|m| m.alarm_name.clone())
                .or_else(|| rec.composite.as_ref().and_then(|c| c.alarm_name.clone()))
                .unwrap_or_default();
            let subject = format!("{new}: \"{name}\" in {}", region_name(&ctx.region));
            let subject: String = subject.chars().take(100).collect();
            let message = sns_message(ctx, rec, old, new, reason);
            services::call_json(
                &Target::at("sns", &arn.account, &arn.region),
                "Publish",
                &json!({"TopicArn": action, "Subject": subject, "Message": message.to_string()})
                    .to_string(),
            )
            .map(|_| ())
        }
        "lambda" => {
            let detail = alarm_event_detail(rec, old, "", new, reason, data);
            let event = json!({
                "source": "aws.cloudwatch",
                "alarmArn": rec.arn(),
                "accountId": ctx.account,
                "time": time::iso8601_millis(time::now()).replace('Z', "+0000"),
                "region": ctx.region,
                "alarmData": detail,
            });
            services::call_json(
                &Target::at("lambda", &arn.account, &arn.region),
                "Invoke",
                &json!({"FunctionName": action, "InvocationType": "Event",
                        "Payload": encoding::base64_encode(event.to_string().as_bytes())})
                .to_string(),
            )
            .map(|_| ())
        }
        other => Err(AwsError::not_implemented(format!(
            "{other} alarm actions are not supported locally"
        ))),
    }
}

pub fn put_composite_alarm(
    ctx: &Context,
    input: PutCompositeAlarmInput,
) -> Result<Empty, AwsError> {
    let name = input.alarm_name.clone();
    if name.is_empty() || name.len() > 255 {
        return Err(invalid(
            "The parameter AlarmName must be 1 to 255 characters.",
        ));
    }
    if input.alarm_rule.len() > 10240 {
        return Err(invalid(
            "The parameter AlarmRule must be at most 10240 characters.",
        ));
    }
    let parsed =
        rule::parse(&input.alarm_rule).map_err(|e| invalid(format!("Invalid AlarmRule: {e}")))?;
    let mut names = Vec::new();
    parsed.alarm_names(&mut names);
    if names.contains(&name) {
        return Err(invalid("A composite alarm cannot refer to itself."));
    }
    for n in &names {
        if !ALARMS.contains(n) {
            return Err(invalid(format!(
                "Could not save the composite alarm as alarms [{n}] in the alarm rule do not exist"
            )));
        }
    }
    check_actions(&[
        &input.ok_actions,
        &input.alarm_actions,
        &input.insufficient_data_actions,
    ])?;
    let old = ALARMS.get(&name)?;
    if old.as_ref().is_some_and(|o| o.metric.is_some()) {
        return Err(invalid(format!("The alarm {name} is a metric alarm.")));
    }
    let prev = old.as_ref().and_then(|o| o.composite.clone());
    let now = time::now();
    let arn = alarm_arn(ctx, &name);
    let alarm = CompositeAlarm {
        actions_enabled: Some(input.actions_enabled.unwrap_or(true)),
        alarm_actions: Some(input.alarm_actions.clone().unwrap_or_default()),
        alarm_arn: Some(arn.clone()),
        alarm_configuration_updated_timestamp: Some(now),
        alarm_description: input.alarm_description.clone(),
        alarm_name: Some(name.clone()),
        alarm_rule: Some(input.alarm_rule.clone()),
        insufficient_data_actions: Some(
            input.insufficient_data_actions.clone().unwrap_or_default(),
        ),
        ok_actions: Some(input.ok_actions.clone().unwrap_or_default()),
        state_reason: Some(
            prev.as_ref()
                .and_then(|p| p.state_reason.clone())
                .unwrap_or("Unchecked: Initial alarm creation".into()),
        ),
        state_updated_timestamp: Some(now),
        state_value: Some(
            prev.as_ref()
                .and_then(|p| p.state_value.clone())
                .unwrap_or(StateValue::from("INSUFFICIENT_DATA")),
        ),
        state_transitioned_timestamp: Some(
            prev.as_ref()
                .and_then(|p| p.state_transitioned_timestamp)
                .unwrap_or(now),
        ),
        actions_suppressor: input.actions_suppressor.clone(),
        actions_suppressor_wait_period: input.actions_suppressor_wait_period,
        actions_suppressor_extension_period: input.actions_suppressor_extension_period,
        ..Default::default()
    };
    ALARMS.put(
        &name,
        &AlarmRecord {
            metric: None,
            composite: Some(alarm),
            generation: old.as_ref().map_or(0, |o| o.generation) + 1,
        },
    )?;
    if let Some(tags) = &input.tags {
        crate::misc::add_tags(&arn, tags)?;
    }
    history(
        &name,
        "ConfigurationUpdate",
        "CompositeAlarm",
        format!(
            "Alarm \"{name}\" {}",
            if old.is_some() { "updated" } else { "created" }
        ),
        json!({"type": if old.is_some() { "Update" } else { "Create" }, "version": "1.0"}),
    )?;
    evaluate_composite(ctx, &name)?;
    Ok(Empty {})
}

fn evaluate_composite(ctx: &Context, name: &str) -> Result<(), AwsError> {
    let Some(rec) = ALARMS.get(name)? else {
        return Ok(());
    };
    let Some(c) = &rec.composite else {
        return Ok(());
    };
    let Ok(parsed) = rule::parse(c.alarm_rule.as_deref().unwrap_or("FALSE")) else {
        return Ok(());
    };
    let state_of = |n: &str| ALARMS.get(n).ok().flatten().map(|r| r.state());
    let state = if parsed.eval(&state_of) {
        "ALARM"
    } else {
        "OK"
    };
    if state != rec.state() {
        let reason = format!(
            "{} alarm rule evaluated to {}",
            c.alarm_rule.as_deref().unwrap_or(""),
            if state == "ALARM" { "TRUE" } else { "FALSE" }
        );
        transition(ctx, name, state, &reason, None)?;
    }
    Ok(())
}

/// Re-evaluates the composite alarms whose rule names `child`.
fn evaluate_composites(ctx: &Context, child: &str) -> Result<(), AwsError> {
    let parents: Vec<String> = ALARMS
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, r)| {
            r.composite.as_ref().is_some_and(|c| {
                let mut names = Vec::new();
                if let Ok(p) = rule::parse(c.alarm_rule.as_deref().unwrap_or("")) {
                    p.alarm_names(&mut names);
                }
                names.iter().any(|n| n == child)
            })
        })
        .map(|(k, _)| k)
        .collect();
    for p in parents {
        evaluate_composite(ctx, &p)?;
    }
    Ok(())
}

pub fn set_alarm_state(ctx: &Context, input: SetAlarmStateInput) -> Result<Empty, AwsError> {
    if !ALARMS.contains(&input.alarm_name) {
        return Err(ResourceNotFound::new(format!("Alarm {} not found", input.alarm_name)).into());
    }
    if let Some(d) = &input.state_reason_data
        && serde_json::from_str::<Value>(d).is_err()
    {
        return Err(InvalidFormatFault::new("Invalid JSON in StateReasonData".to_string()).into());
    }
    let state = input.state_value.as_str().to_string();
    if !matches!(state.as_str(), "OK" | "ALARM" | "INSUFFICIENT_DATA") {
        return Err(invalid(format!(
            "The value {state} for parameter StateValue is invalid."
        )));
    }
    transition(
        ctx,
        &input.alarm_name,
        &state,
        &input.state_reason,
        input.state_reason_data.clone(),
    )?;
    Ok(Empty {})
}

fn matches_filters(
    name: &str,
    r: &AlarmRecord,
    input: &DescribeAlarmsInput,
    parents_children: &Option<Vec<String>>,
) -> bool {
    if let Some(names) = &input.alarm_names
        && !names.iter().any(|n| n == name)
    {
        return false;
    }
    if let Some(p) = &input.alarm_name_prefix
        && !name.starts_with(p.as_str())
    {
        return false;
    }
    if let Some(s) = &input.state_value
        && s.as_str() != r.state()
    {
        return false;
    }
    if let Some(prefix) = &input.action_prefix {
        let (_, ok, alarm, ins) = r.actions();
        if !ok
            .iter()
            .chain(&alarm)
            .chain(&ins)
            .any(|a| a.starts_with(prefix.as_str()))
        {
            return false;
        }
    }
    if let Some(allowed) = parents_children
        && !allowed.iter().any(|n| n == name)
    {
        return false;
    }
    true
}

pub fn describe_alarms(
    _: &Context,
    input: DescribeAlarmsInput,
) -> Result<DescribeAlarmsOutput, AwsError> {
    let max = input.max_records.unwrap_or(50);
    if !(1..=100).contains(&max) {
        return Err(invalid(
            "The parameter MaxRecords must be between 1 and 100.",
        ));
    }
    if input.alarm_names.is_some() && input.alarm_name_prefix.is_some() {
        return Err(crate::shapes::InvalidParameterCombinationException::new(
            "AlarmNames and AlarmNamePrefix are mutually exclusive.".to_string(),
        )
        .into());
    }
    let types: Vec<String> = match &input.alarm_types {
        Some(t) if !t.is_empty() => t.iter().map(|t| t.as_str().to_string()).collect(),
        // Without AlarmTypes AWS returns metric alarms only (children/parents filters: composites too).
        _ if input.children_of_alarm_name.is_some() || input.parents_of_alarm_name.is_some() => {
            vec!["MetricAlarm".into(), "CompositeAlarm".into()]
        }
        _ => vec!["MetricAlarm".into()],
    };
    let related: Option<Vec<String>> = if let Some(parent) = &input.children_of_alarm_name {
        let mut names = Vec::new();
        if let Some(c) = ALARMS.get(parent)?.and_then(|r| r.composite)
            && let Ok(p) = rule::parse(c.alarm_rule.as_deref().unwrap_or(""))
        {
            p.alarm_names(&mut names);
        }
        Some(names)
    } else if let Some(child) = &input.parents_of_alarm_name {
        Some(
            ALARMS
                .scan(&Scan::all())?
                .into_iter()
                .filter(|(_, r)| {
                    r.composite.as_ref().is_some_and(|c| {
                        let mut names = Vec::new();
                        if let Ok(p) = rule::parse(c.alarm_rule.as_deref().unwrap_or("")) {
                            p.alarm_names(&mut names);
                        }
                        names.contains(child)
                    })
                })
                .map(|(k, _)| k)
                .collect(),
        )
    } else {
        None
    };
    let mut scan = Scan::all();
    if let Some(t) = input.next_token.as_deref().filter(|t| !t.is_empty()) {
        scan = scan.start_after(pagination::decode(t).ok_or_else(metrics::invalid_token)?);
    }
    let (mut metric_alarms, mut composites) = (Vec::new(), Vec::new());
    let mut last = None;
    let mut next = None;
    for (name, r) in ALARMS.scan(&scan)? {
        let kind = if r.metric.is_some() {
            "MetricAlarm"
        } else {
            "CompositeAlarm"
        };
        if !types.iter().any(|t| t == kind) || !matches_filters(&name, &r, &input, &related) {
            continue;
        }
        if metric_alarms.len() + composites.len() == max as usize {
            next = last.clone().map(|k: String| pagination::encode(&k));
            break;
        }
        last = Some(name.clone());
        if let Some(m) = r.metric {
            metric_alarms.push(m);
        } else if let Some(c) = r.composite {
            composites.push(c);
        }
    }
    Ok(DescribeAlarmsOutput {
        composite_alarms: Some(composites),
        metric_alarms: Some(metric_alarms),
        next_token: next,
    })
}

pub fn describe_alarms_for_metric(
    _: &Context,
    input: DescribeAlarmsForMetricInput,
) -> Result<DescribeAlarmsForMetricOutput, AwsError> {
    let dims = input.dimensions.as_ref().map(|d| {
        let mut v = dims_of(&Some(d.clone()));
        v.sort();
        v
    });
    let alarms = ALARMS
        .scan(&Scan::all())?
        .into_iter()
        .filter_map(|(_, r)| r.metric)
        .filter(|m| {
            m.metric_name.as_deref() == Some(input.metric_name.as_str())
                && m.namespace.as_deref() == Some(input.namespace.as_str())
                && input
                    .statistic
                    .as_ref()
                    .is_none_or(|s| m.statistic.as_ref() == Some(s))
                && input
                    .extended_statistic
                    .as_ref()
                    .is_none_or(|s| m.extended_statistic.as_ref() == Some(s))
                && input.period.is_none_or(|p| m.period == Some(p))
                && input
                    .unit
                    .as_ref()
                    .is_none_or(|u| m.unit.as_ref() == Some(u))
                && dims.as_ref().is_none_or(|want| {
                    let mut have = dims_of(&m.dimensions);
                    have.sort();
                    &have == want
                })
        })
        .collect();
    Ok(DescribeAlarmsForMetricOutput {
        metric_alarms: Some(alarms),
    })
}

pub fn delete_alarms(_: &Context, input: DeleteAlarmsInput) -> Result<Empty, AwsError> {
    for name in &input.alarm_names {
        if !ALARMS.contains(name) {
            return Err(ResourceNotFound::new(format!("Alarm {name} not found")).into());
        }
    }
    for name in &input.alarm_names {
        if let Some(r) = ALARMS.get(name)? {
            crate::misc::TAGS.delete(&r.arn());
        }
        ALARMS.delete(name);
    }
    Ok(Empty {})
}

fn set_actions_enabled(names: &[String], enabled: bool) -> Result<(), AwsError> {
    for name in names {
        if ALARMS.contains(name) {
            ALARMS.update(name, |r| {
                let mut r = r.unwrap_or_default();
                if let Some(m) = r.metric.as_mut() {
                    m.actions_enabled = Some(enabled);
                }
                if let Some(c) = r.composite.as_mut() {
                    c.actions_enabled = Some(enabled);
                }
                Ok(r)
            })?;
        }
    }
    Ok(())
}

pub fn enable_alarm_actions(
    _: &Context,
    input: EnableAlarmActionsInput,
) -> Result<Empty, AwsError> {
    set_actions_enabled(&input.alarm_names, true)?;
    Ok(Empty {})
}

pub fn disable_alarm_actions(
    _: &Context,
    input: DisableAlarmActionsInput,
) -> Result<Empty, AwsError> {
    set_actions_enabled(&input.alarm_names, false)?;
    Ok(Empty {})
}

pub fn describe_alarm_history(
    _: &Context,
    input: DescribeAlarmHistoryInput,
) -> Result<DescribeAlarmHistoryOutput, AwsError> {
    let max = input.max_records.unwrap_or(100).clamp(1, 100) as usize;
    let ascending = input
        .scan_by
        .as_ref()
        .is_some_and(|s| s.as_str() == "TimestampAscending");
    let mut items: Vec<(String, AlarmHistoryItem)> = HISTORY
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, h)| {
            input
                .alarm_name
                .as_ref()
                .is_none_or(|n| h.alarm_name.as_ref() == Some(n))
                && input
                    .history_item_type
                    .as_ref()
                    .is_none_or(|t| h.history_item_type.as_ref() == Some(t))
                && input.alarm_types.as_ref().is_none_or(|ts| {
                    ts.is_empty() || h.alarm_type.as_ref().is_some_and(|a| ts.contains(a))
                })
                && input
                    .start_date
                    .is_none_or(|s| h.timestamp.unwrap_or(0.0) >= s)
                && input
                    .end_date
                    .is_none_or(|e| h.timestamp.unwrap_or(0.0) <= e)
        })
        .collect();
    if !ascending {
        items.reverse();
    }
    let skip = match input.next_token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => {
            let key = pagination::decode(t).ok_or_else(metrics::invalid_token)?;
            items
                .iter()
                .position(|(k, _)| *k == key)
                .map(|i| i + 1)
                .ok_or_else(metrics::invalid_token)?
        }
        None => 0,
    };
    let page: Vec<(String, AlarmHistoryItem)> =
        items.iter().skip(skip).take(max).cloned().collect();
    let next = (items.len() > skip + max)
        .then(|| pagination::encode(&page.last().map(|p| p.0.clone()).unwrap_or_default()));
    Ok(DescribeAlarmHistoryOutput {
        alarm_history_items: Some(page.into_iter().map(|(_, h)| h).collect()),
        next_token: next,
    })
}

/// On start: resume alarm evaluation in every account and region that has
/// alarms (tasks scheduled before a restart without persistence are gone).
pub fn restart_evaluations() -> Result<(), AwsError> {
    for (account, region) in tasks::contexts(ALARMS.name()) {
        tasks::schedule_in(&account, &region, Duration::ZERO, RESUME_TASK, &())?;
    }
    Ok(())
}

pub const RESUME_TASK: &str = "resume-alarms";

/// In one account and region: an evaluation task for each metric alarm that has none.
pub fn resume_alarms(ctx: &Context, _: ()) -> Result<(), AwsError> {
    let pending: Vec<String> = tasks::list(EVALUATE_TASK)
        .into_iter()
        .filter(|t| t.account == ctx.account && t.region == ctx.region)
        .map(|t| t.payload)
        .collect();
    for (name, r) in ALARMS.scan(&Scan::all())? {
        let Some(alarm) = &r.metric else {
            continue;
        };
        let task = EvaluateTask {
            name,
            generation: r.generation,
        };
        let payload = serde_json::to_string(&task).unwrap_or_default();
        if !pending.contains(&payload) {
            let period = alarm_period(alarm);
            tasks::schedule(until_next_evaluation(period), EVALUATE_TASK, &task)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons() {
        assert!(breaches("GreaterThanThreshold", 5.0, 1.0, None));
        assert!(!breaches("GreaterThanThreshold", 1.0, 1.0, None));
        assert!(breaches("GreaterThanOrEqualToThreshold", 1.0, 1.0, None));
        assert!(breaches(
            "LessThanLowerOrGreaterThanUpperThreshold",
            9.0,
            0.0,
            Some((1.0, 5.0))
        ));
        assert!(!breaches(
            "LessThanLowerThreshold",
            3.0,
            0.0,
            Some((1.0, 5.0))
        ));
    }
}
