//! Dashboards, tags, GetMetricWidgetImage, and the resources CloudWatch
//! stores but does not act on locally: insight rules (reports are empty),
//! anomaly detectors (bands come from the metric math approximation),
//! alarm mute rules and the OTel enrichment switch; metric streams (their
//! delivery is in [`crate::streams`]).

use ministack_sdk::prelude::*;
use ministack_sdk::{encoding, time};
use serde_json::Value;

use crate::chart;
use crate::expr::{Series, Val};
use crate::metrics::{Evaluation, invalid, invalid_token};
use crate::shapes::*;

pub const TAGS: Table<Vec<Tag>> = Table::new("tags");
const DASHBOARDS: Table<Dashboard> = Table::new("dashboards");
const INSIGHT_RULES: Table<InsightRule> = Table::new("insight-rules");
const ANOMALY_DETECTORS: Table<AnomalyDetector> = Table::new("anomaly-detectors");
pub const STREAMS: Table<GetMetricStreamOutput> = Table::new("metric-streams");
const MUTE_RULES: Table<GetAlarmMuteRuleOutput> = Table::new("mute-rules");
const OTEL: Table<String> = Table::new("otel");

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Dashboard {
    body: String,
    modified: f64,
}

pub fn add_tags(arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
    TAGS.update(arn, |old| {
        let mut all = old.unwrap_or_default();
        for t in tags {
            all.retain(|x| x.key != t.key);
            all.push(t.clone());
        }
        if all.len() > 50 {
            return Err(invalid("A resource may have at most 50 tags."));
        }
        Ok(all)
    })?;
    Ok(())
}

/// Whether `arn` names a resource of this account and region that exists.
fn resource_exists(arn: &str) -> Result<bool, AwsError> {
    let parsed: Arn = arn
        .parse()
        .map_err(|_| invalid(format!("Invalid ARN {arn}")))?;
    let res = parsed.resource.as_str();
    Ok(if let Some(n) = res.strip_prefix("alarm:") {
        crate::alarms::ALARMS.contains(n)
    } else if let Some(n) = res.strip_prefix("insight-rule/") {
        INSIGHT_RULES.contains(n)
    } else if let Some(n) = res.strip_prefix("metric-stream/") {
        STREAMS.contains(n)
    } else if let Some(n) = res.strip_prefix("dashboard/") {
        DASHBOARDS.contains(n)
    } else if let Some(n) = res.strip_prefix("alarm-mute-rule:") {
        MUTE_RULES.contains(n)
    } else {
        false
    })
}

fn not_found(kind: &str, id: &str) -> AwsError {
    AwsError::not_found(
        "ResourceNotFoundException",
        format!("{kind} {id} not found"),
    )
    .with_member("ResourceType", kind)
    .with_member("ResourceId", id)
}

pub fn tag_resource(_: &Context, input: TagResourceInput) -> Result<TagResourceOutput, AwsError> {
    if !resource_exists(&input.resource_arn)? {
        return Err(not_found("Resource", &input.resource_arn));
    }
    add_tags(&input.resource_arn, &input.tags)?;
    Ok(TagResourceOutput {})
}

pub fn untag_resource(
    _: &Context,
    input: UntagResourceInput,
) -> Result<UntagResourceOutput, AwsError> {
    if !resource_exists(&input.resource_arn)? {
        return Err(not_found("Resource", &input.resource_arn));
    }
    TAGS.update(&input.resource_arn, |old| {
        let mut all = old.unwrap_or_default();
        all.retain(|t| !input.tag_keys.contains(&t.key));
        Ok(all)
    })?;
    Ok(UntagResourceOutput {})
}

pub fn list_tags_for_resource(
    _: &Context,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, AwsError> {
    if !resource_exists(&input.resource_arn)? {
        return Err(not_found("Resource", &input.resource_arn));
    }
    Ok(ListTagsForResourceOutput {
        tags: Some(TAGS.get(&input.resource_arn)?.unwrap_or_default()),
    })
}

fn dashboard_arn(ctx: &Context, name: &str) -> String {
    // Dashboards are global: the ARN has no region.
    format!(
        "arn:{}:cloudwatch::{}:dashboard/{name}",
        ctx.partition(),
        ctx.account
    )
}

/// The validation messages of a dashboard body (empty: valid).
fn check_dashboard(body: &str) -> Vec<DashboardValidationMessage> {
    let msg = |path: &str, m: &str| DashboardValidationMessage {
        data_path: Some(path.to_string()),
        message: Some(m.to_string()),
    };
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return vec![msg("", "The dashboard body is not valid JSON")];
    };
    let Some(obj) = v.as_object() else {
        return vec![msg("", "Should be an object")];
    };
    let mut out = Vec::new();
    match obj.get("widgets") {
        Some(Value::Array(ws)) => {
            for (i, w) in ws.iter().enumerate() {
                match w.get("type").and_then(Value::as_str) {
                    Some("metric" | "text" | "log" | "alarm" | "explorer" | "custom") => {}
                    Some(t) => out.push(msg(
                        &format!("/widgets/{i}/type"),
                        &format!("Invalid widget type {t}"),
                    )),
                    None => out.push(msg(
                        &format!("/widgets/{i}"),
                        "Should have required property 'type'",
                    )),
                }
            }
        }
        Some(_) => out.push(msg("/widgets", "Should be array")),
        None => out.push(msg("", "Should have required property 'widgets'")),
    }
    out
}

pub fn put_dashboard(
    ctx: &Context,
    input: PutDashboardInput,
) -> Result<PutDashboardOutput, AwsError> {
    let name = &input.dashboard_name;
    if name.is_empty()
        || name.len() > 255
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(invalid(
            "The value for field DashboardName contains invalid characters. It can only contain alphanumerics, dash (-) and underscore (_).",
        ));
    }
    let problems = check_dashboard(&input.dashboard_body);
    if !problems.is_empty() {
        return Err(DashboardInvalidInputError {
            message: Some("The field DashboardBody is invalid.".to_string()),
            dashboard_validation_messages: Some(problems),
        }
        .into());
    }
    DASHBOARDS.put(
        name,
        &Dashboard {
            body: input.dashboard_body.clone(),
            modified: time::now(),
        },
    )?;
    if let Some(tags) = &input.tags {
        add_tags(&dashboard_arn(ctx, name), tags)?;
    }
    Ok(PutDashboardOutput {
        dashboard_validation_messages: Some(vec![]),
    })
}

pub fn get_dashboard(
    ctx: &Context,
    input: GetDashboardInput,
) -> Result<GetDashboardOutput, AwsError> {
    let d = DASHBOARDS.get(&input.dashboard_name)?.ok_or_else(|| {
        DashboardNotFoundError::new(format!("Dashboard {} does not exist", input.dashboard_name))
    })?;
    Ok(GetDashboardOutput {
        dashboard_arn: Some(dashboard_arn(ctx, &input.dashboard_name)),
        dashboard_body: Some(d.body),
        dashboard_name: Some(input.dashboard_name),
    })
}

pub fn list_dashboards(
    ctx: &Context,
    input: ListDashboardsInput,
) -> Result<ListDashboardsOutput, AwsError> {
    let page = DASHBOARDS
        .page(
            &Scan::prefix(input.dashboard_name_prefix.clone().unwrap_or_default()),
            input.next_token.as_deref(),
            1000,
        )
        .map_err(|_| invalid("The value for parameter NextToken is invalid."))?;
    Ok(ListDashboardsOutput {
        dashboard_entries: Some(
            page.items
                .into_iter()
                .map(|(name, d)| DashboardEntry {
                    dashboard_arn: Some(dashboard_arn(ctx, &name)),
                    last_modified: Some(d.modified),
                    size: Some(d.body.len() as i64),
                    dashboard_name: Some(name),
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

pub fn delete_dashboards(
    ctx: &Context,
    input: DeleteDashboardsInput,
) -> Result<DeleteDashboardsOutput, AwsError> {
    for name in &input.dashboard_names {
        if !DASHBOARDS.contains(name) {
            return Err(
                DashboardNotFoundError::new(format!("Dashboard {name} does not exist")).into(),
            );
        }
    }
    for name in &input.dashboard_names {
        DASHBOARDS.delete(name);
        TAGS.delete(&dashboard_arn(ctx, name));
    }
    Ok(DeleteDashboardsOutput {})
}

/// A relative (`-PT3H`, `-P1D`) or absolute (ISO 8601) widget time.
fn widget_time(v: Option<&Value>, now: f64, default: f64) -> Result<f64, AwsError> {
    let Some(s) = v.and_then(Value::as_str) else {
        return Ok(default);
    };
    if let Some(d) = s.strip_prefix('-').or(s.strip_prefix('P').map(|_| s)) {
        let d = d
            .strip_prefix('P')
            .ok_or_else(|| invalid(format!("Invalid time {s}")))?;
        let mut secs = 0.0;
        let mut num = String::new();
        let mut in_time = false;
        for c in d.chars() {
            match c {
                'T' => in_time = true,
                c if c.is_ascii_digit() || c == '.' => num.push(c),
                unit => {
                    let n: f64 = num
                        .parse()
                        .map_err(|_| invalid(format!("Invalid time {s}")))?;
                    num.clear();
                    secs += n * match (unit, in_time) {
                        ('W', false) => 604800.0,
                        ('D', false) => 86400.0,
                        ('H', true) => 3600.0,
                        ('M', true) => 60.0,
                        ('S', true) => 1.0,
                        _ => return Err(invalid(format!("Invalid time {s}"))),
                    };
                }
            }
        }
        return Ok(now - secs);
    }
    time::parse_iso8601(s).ok_or_else(|| invalid(format!("Invalid time {s}")))
}

pub fn get_metric_widget_image(
    ctx: &Context,
    input: GetMetricWidgetImageInput,
) -> Result<GetMetricWidgetImageOutput, AwsError> {
    let format = input.output_format.clone().unwrap_or_else(|| "png".into());
    if format != "png" {
        return Err(invalid(format!(
            "The output format {format} is not supported locally: only png."
        )));
    }
    let w: Value = serde_json::from_str(&input.metric_widget)
        .map_err(|e| invalid(format!("The MetricWidget is not valid JSON: {e}")))?;
    let now = time::now();
    let start = widget_time(w.get("start"), now, now - 3.0 * 3600.0)?;
    let end = widget_time(w.get("end"), now, now)?;
    if end <= start {
        return Err(invalid("The widget's start must be before its end."));
    }
    let period = w
        .get("period")
        .and_then(Value::as_i64)
        .unwrap_or(300)
        .max(1);
    let stat = w
        .get("stat")
        .and_then(Value::as_str)
        .unwrap_or("Average")
        .to_string();
    let queries = widget_queries(&w, period, &stat)?;
    let eval = Evaluation::new(ctx, &queries, start, end, 0);
    let results = eval.run()?;
    let mut series: Vec<Series> = Vec::new();
    for q in &queries {
        if q.return_data == Some(false) {
            continue;
        }
        match results.get(&q.id) {
            Some(Val::Series(s)) => series.push(s.clone()),
            Some(Val::Array(a)) => series.extend(a.iter().cloned()),
            _ => {}
        }
    }
    let width = w.get("width").and_then(Value::as_u64).unwrap_or(600) as u32;
    let height = w.get("height").and_then(Value::as_u64).unwrap_or(395) as u32;
    let png = chart::render(width, height, start as i64, end as i64, &series)
        .map_err(AwsError::internal)?;
    Ok(GetMetricWidgetImageOutput {
        metric_widget_image: Some(encoding::base64_encode(&png)),
    })
}

/// A widget's `metrics` array as metric data queries: each row is
/// `[Namespace, MetricName, DimName, DimValue, ..., {options}]` (`"."` repeats
/// the row above) or `[{"expression": "...", "id": ...}]`.
fn widget_queries(w: &Value, period: i64, stat: &str) -> Result<Vec<MetricDataQuery>, AwsError> {
    let rows = w
        .get("metrics")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("The MetricWidget must have a metrics array."))?;
    let mut out = Vec::new();
    let mut prev: Vec<String> = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let row = row
            .as_array()
            .ok_or_else(|| invalid("Each metrics row is an array."))?;
        let opts = row
            .last()
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let id = opts
            .get("id")
            .and_then(Value::as_str)
            .map(String::from)
            .unwrap_or_else(|| format!("m{}", i + 1));
        let label = opts.get("label").and_then(Value::as_str).map(String::from);
        let visible = opts.get("visible").and_then(Value::as_bool).unwrap_or(true);
        if let Some(e) = opts.get("expression").and_then(Value::as_str) {
            out.push(MetricDataQuery {
                id,
                expression: Some(e.to_string()),
                label,
                return_data: Some(visible),
                period: Some(period as i32),
                ..Default::default()
            });
            continue;
        }
        let parts: Vec<String> = row
            .iter()
            .filter_map(Value::as_str)
            .enumerate()
            .map(|(j, s)| {
                if s == "." {
                    prev.get(j).cloned().unwrap_or_default()
                } else {
                    s.to_string()
                }
            })
            .collect();
        if parts.len() < 2 || !parts.len().is_multiple_of(2) {
            return Err(invalid(format!(
                "The metrics row {i} must be [Namespace, MetricName, DimName, DimValue, ...]."
            )));
        }
        prev = parts.clone();
        let dims: Vec<Dimension> = parts[2..]
            .chunks(2)
            .map(|c| Dimension {
                name: c[0].clone(),
                value: c[1].clone(),
            })
            .collect();
        out.push(MetricDataQuery {
            id,
            metric_stat: Some(MetricStat {
                metric: Metric {
                    namespace: Some(parts[0].clone()),
                    metric_name: Some(parts[1].clone()),
                    dimensions: Some(dims),
                },
                period: opts.get("period").and_then(Value::as_i64).unwrap_or(period) as i32,
                stat: opts
                    .get("stat")
                    .and_then(Value::as_str)
                    .unwrap_or(stat)
                    .to_string(),
                unit: None,
            }),
            label,
            return_data: Some(visible),
            ..Default::default()
        });
    }
    Ok(out)
}

// --- insight rules -------------------------------------------------------

fn insight_arn(ctx: &Context, name: &str) -> String {
    ctx.arn("cloudwatch", &format!("insight-rule/{name}"))
        .to_string()
}

pub fn put_insight_rule(
    ctx: &Context,
    input: PutInsightRuleInput,
) -> Result<PutInsightRuleOutput, AwsError> {
    let def: Value = serde_json::from_str(&input.rule_definition)
        .map_err(|_| invalid("The rule definition is not valid JSON."))?;
    let schema = def
        .get("Schema")
        .map(|s| {
            format!(
                "{}/{}",
                s["Name"].as_str().unwrap_or("CloudWatchLogRule"),
                s["Version"].as_i64().unwrap_or(1)
            )
        })
        .unwrap_or_else(|| "CloudWatchLogRule/1".into());
    INSIGHT_RULES.put(
        &input.rule_name,
        &InsightRule {
            name: input.rule_name.clone(),
            state: input.rule_state.clone().unwrap_or_else(|| "ENABLED".into()),
            schema,
            definition: input.rule_definition.clone(),
            managed_rule: Some(false),
            apply_on_transformed_logs: input.apply_on_transformed_logs,
        },
    )?;
    if let Some(tags) = &input.tags {
        add_tags(&insight_arn(ctx, &input.rule_name), tags)?;
    }
    Ok(PutInsightRuleOutput {})
}

pub fn describe_insight_rules(
    _: &Context,
    input: DescribeInsightRulesInput,
) -> Result<DescribeInsightRulesOutput, AwsError> {
    let page = INSIGHT_RULES
        .page(
            &Scan::all(),
            input.next_token.as_deref(),
            input.max_results.unwrap_or(500) as u32,
        )
        .map_err(|_| invalid_token())?;
    Ok(DescribeInsightRulesOutput {
        insight_rules: Some(page.items.into_iter().map(|(_, r)| r).collect()),
        next_token: page.next_token,
    })
}

fn each_rule(
    names: &[String],
    f: impl Fn(&str) -> Result<(), AwsError>,
) -> Result<Vec<PartialFailure>, AwsError> {
    let mut failures = Vec::new();
    for n in names {
        if !INSIGHT_RULES.contains(n) {
            failures.push(PartialFailure {
                failure_resource: Some(n.clone()),
                exception_type: Some("ResourceNotFoundException".into()),
                failure_code: Some("404".into()),
                failure_description: Some(format!("Rule {n} does not exist")),
            });
            continue;
        }
        f(n)?;
    }
    Ok(failures)
}

fn set_rule_state(names: &[String], state: &str) -> Result<Vec<PartialFailure>, AwsError> {
    each_rule(names, |n| {
        INSIGHT_RULES.update(n, |r| {
            let mut r = r.unwrap_or_default();
            r.state = state.into();
            Ok(r)
        })?;
        Ok(())
    })
}

pub fn enable_insight_rules(
    _: &Context,
    input: EnableInsightRulesInput,
) -> Result<EnableInsightRulesOutput, AwsError> {
    Ok(EnableInsightRulesOutput {
        failures: Some(set_rule_state(&input.rule_names, "ENABLED")?),
    })
}

pub fn disable_insight_rules(
    _: &Context,
    input: DisableInsightRulesInput,
) -> Result<DisableInsightRulesOutput, AwsError> {
    Ok(DisableInsightRulesOutput {
        failures: Some(set_rule_state(&input.rule_names, "DISABLED")?),
    })
}

pub fn delete_insight_rules(
    ctx: &Context,
    input: DeleteInsightRulesInput,
) -> Result<DeleteInsightRulesOutput, AwsError> {
    let failures = each_rule(&input.rule_names, |n| {
        INSIGHT_RULES.delete(n);
        TAGS.delete(&insight_arn(ctx, n));
        Ok(())
    })?;
    Ok(DeleteInsightRulesOutput {
        failures: Some(failures),
    })
}

pub fn get_insight_rule_report(
    ctx: &Context,
    input: GetInsightRuleReportInput,
) -> Result<GetInsightRuleReportOutput, AwsError> {
    let rule = INSIGHT_RULES
        .get(&input.rule_name)?
        .ok_or_else(|| not_found("InsightRule", &input.rule_name))?;
    if input.end_time <= input.start_time || input.period < 1 {
        return Err(invalid(
            "EndTime must be after StartTime and Period at least 1 second.",
        ));
    }
    let def: Value = serde_json::from_str(&rule.definition).unwrap_or_default();
    let keys: Vec<String> = def["Contribution"]["Keys"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|k| k.as_str().map(String::from))
        .collect();
    let (contributors, datapoints, total, unique) = crate::contributors::report(ctx, &def, &input);
    Ok(GetInsightRuleReportOutput {
        key_labels: Some(keys),
        aggregation_statistic: Some(def["AggregateOn"].as_str().unwrap_or("Count").to_string()),
        aggregate_value: Some(total),
        approximate_unique_count: Some(unique),
        contributors: Some(contributors),
        metric_datapoints: Some(datapoints),
    })
}

pub fn put_managed_insight_rules(
    ctx: &Context,
    input: PutManagedInsightRulesInput,
) -> Result<PutManagedInsightRulesOutput, AwsError> {
    for r in &input.managed_rules {
        let name = format!(
            "{}-{}",
            r.template_name,
            r.resource_arn.rsplit([':', '/']).next().unwrap_or("")
        );
        INSIGHT_RULES.put(
            &name,
            &InsightRule {
                name: name.clone(),
                state: "ENABLED".into(),
                schema: "CloudWatchLogRule/1".into(),
                definition: serde_json::json!({"TemplateName": r.template_name, "ResourceARN": r.resource_arn}).to_string(),
                managed_rule: Some(true),
                apply_on_transformed_logs: None,
            },
        )?;
        if let Some(tags) = &r.tags {
            add_tags(&insight_arn(ctx, &name), tags)?;
        }
    }
    Ok(PutManagedInsightRulesOutput {
        failures: Some(vec![]),
    })
}

pub fn list_managed_insight_rules(
    _: &Context,
    input: ListManagedInsightRulesInput,
) -> Result<ListManagedInsightRulesOutput, AwsError> {
    let rules = INSIGHT_RULES
        .scan(&Scan::all())?
        .into_iter()
        .filter(|(_, r)| r.managed_rule == Some(true))
        .filter_map(|(_, r)| {
            let def: Value = serde_json::from_str(&r.definition).ok()?;
            (def["ResourceARN"].as_str() == Some(input.resource_arn.as_str())).then(|| {
                ManagedRuleDescription {
                    template_name: def["TemplateName"].as_str().map(String::from),
                    resource_arn: Some(input.resource_arn.clone()),
                    rule_state: Some(ManagedRuleState {
                        rule_name: r.name.clone(),
                        state: r.state.clone(),
                    }),
                }
            })
        })
        .collect();
    Ok(ListManagedInsightRulesOutput {
        managed_rules: Some(rules),
        next_token: None,
    })
}

// --- anomaly detectors ---------------------------------------------------

fn detector_key(d: &AnomalyDetector) -> String {
    serde_json::to_string(&(
        &d.namespace,
        &d.metric_name,
        &d.dimensions,
        &d.stat,
        &d.single_metric_anomaly_detector,
        &d.metric_math_anomaly_detector,
    ))
    .unwrap_or_default()
}

fn detector_of(
    namespace: Option<String>,
    metric_name: Option<String>,
    dimensions: Option<Vec<Dimension>>,
    stat: Option<String>,
    single: Option<SingleMetricAnomalyDetector>,
    math: Option<MetricMathAnomalyDetector>,
) -> AnomalyDetector {
    // The legacy top-level members and SingleMetricAnomalyDetector name the same detector.
    let single = single.or_else(|| {
        metric_name.as_ref().map(|_| SingleMetricAnomalyDetector {
            account_id: None,
            namespace: namespace.clone(),
            metric_name: metric_name.clone(),
            dimensions: dimensions.clone(),
            stat: stat.clone(),
        })
    });
    AnomalyDetector {
        single_metric_anomaly_detector: single,
        metric_math_anomaly_detector: math,
        ..Default::default()
    }
}

pub fn put_anomaly_detector(
    _: &Context,
    input: PutAnomalyDetectorInput,
) -> Result<PutAnomalyDetectorOutput, AwsError> {
    let mut d = detector_of(
        input.namespace,
        input.metric_name,
        input.dimensions,
        input.stat,
        input.single_metric_anomaly_detector,
        input.metric_math_anomaly_detector,
    );
    if d.single_metric_anomaly_detector.is_none() && d.metric_math_anomaly_detector.is_none() {
        return Err(MissingRequiredParameterException::new(
            "SingleMetricAnomalyDetector or MetricMathAnomalyDetector is required.".to_string(),
        )
        .into());
    }
    let key = detector_key(&d);
    d.configuration = input.configuration;
    d.metric_characteristics = input.metric_characteristics;
    d.state_value = Some(AnomalyDetectorStateValue::from("TRAINED"));
    if let Some(s) = &d.single_metric_anomaly_detector {
        d.namespace = s.namespace.clone();
        d.metric_name = s.metric_name.clone();
        d.dimensions = s.dimensions.clone();
        d.stat = s.stat.clone();
    }
    ANOMALY_DETECTORS.put(&key, &d)?;
    Ok(PutAnomalyDetectorOutput {})
}

pub fn delete_anomaly_detector(
    _: &Context,
    input: DeleteAnomalyDetectorInput,
) -> Result<DeleteAnomalyDetectorOutput, AwsError> {
    let d = detector_of(
        input.namespace,
        input.metric_name,
        input.dimensions,
        input.stat,
        input.single_metric_anomaly_detector,
        input.metric_math_anomaly_detector,
    );
    if !ANOMALY_DETECTORS.delete(&detector_key(&d)) {
        return Err(not_found("AnomalyDetector", "the anomaly detector"));
    }
    Ok(DeleteAnomalyDetectorOutput {})
}

pub fn describe_anomaly_detectors(
    _: &Context,
    input: DescribeAnomalyDetectorsInput,
) -> Result<DescribeAnomalyDetectorsOutput, AwsError> {
    let page = ANOMALY_DETECTORS
        .page(
            &Scan::all(),
            input.next_token.as_deref(),
            input.max_results.unwrap_or(100).clamp(1, 100) as u32,
        )
        .map_err(|_| invalid_token())?;
    let list = page
        .items
        .into_iter()
        .map(|(_, d)| d)
        .filter(|d| {
            input
                .namespace
                .as_ref()
                .is_none_or(|n| d.namespace.as_ref() == Some(n))
                && input
                    .metric_name
                    .as_ref()
                    .is_none_or(|n| d.metric_name.as_ref() == Some(n))
                && input
                    .dimensions
                    .as_ref()
                    .is_none_or(|ds| d.dimensions.as_ref() == Some(ds))
                && input.anomaly_detector_types.as_ref().is_none_or(|ts| {
                    ts.is_empty()
                        || ts.iter().any(|t| {
                            (t.as_str() == "SINGLE_METRIC")
                                == d.single_metric_anomaly_detector.is_some()
                        })
                })
        })
        .collect();
    Ok(DescribeAnomalyDetectorsOutput {
        anomaly_detectors: Some(list),
        next_token: page.next_token,
    })
}

// --- metric streams ------------------------------------------------------

pub fn put_metric_stream(
    ctx: &Context,
    input: PutMetricStreamInput,
) -> Result<PutMetricStreamOutput, AwsError> {
    if input
        .include_filters
        .as_ref()
        .is_some_and(|f| !f.is_empty())
        && input
            .exclude_filters
            .as_ref()
            .is_some_and(|f| !f.is_empty())
    {
        return Err(InvalidParameterCombinationException::new(
            "IncludeFilters and ExcludeFilters are mutually exclusive.".to_string(),
        )
        .into());
    }
    let arn = ctx
        .arn("cloudwatch", &format!("metric-stream/{}", input.name))
        .to_string();
    let now = time::now();
    let old = STREAMS.get(&input.name)?;
    STREAMS.put(
        &input.name,
        &GetMetricStreamOutput {
            arn: Some(arn.clone()),
            name: Some(input.name.clone()),
            include_filters: input.include_filters,
            exclude_filters: input.exclude_filters,
            firehose_arn: Some(input.firehose_arn),
            role_arn: Some(input.role_arn),
            state: Some(
                old.as_ref()
                    .and_then(|o| o.state.clone())
                    .unwrap_or_else(|| "running".into()),
            ),
            creation_date: Some(old.as_ref().and_then(|o| o.creation_date).unwrap_or(now)),
            last_update_date: Some(now),
            output_format: Some(input.output_format),
            statistics_configurations: input.statistics_configurations,
            include_linked_accounts_metrics: input.include_linked_accounts_metrics,
        },
    )?;
    if let Some(tags) = &input.tags {
        add_tags(&arn, tags)?;
    }
    crate::streams::restart(&input.name)?;
    Ok(PutMetricStreamOutput { arn: Some(arn) })
}

pub fn get_metric_stream(
    _: &Context,
    input: GetMetricStreamInput,
) -> Result<GetMetricStreamOutput, AwsError> {
    STREAMS
        .get(&input.name)?
        .ok_or_else(|| not_found("MetricStream", &input.name))
}

pub fn list_metric_streams(
    _: &Context,
    input: ListMetricStreamsInput,
) -> Result<ListMetricStreamsOutput, AwsError> {
    let page = STREAMS
        .page(
            &Scan::all(),
            input.next_token.as_deref(),
            input.max_results.unwrap_or(500).clamp(1, 500) as u32,
        )
        .map_err(|_| invalid_token())?;
    Ok(ListMetricStreamsOutput {
        entries: Some(
            page.items
                .into_iter()
                .map(|(_, s)| MetricStreamEntry {
                    arn: s.arn,
                    creation_date: s.creation_date,
                    last_update_date: s.last_update_date,
                    name: s.name,
                    firehose_arn: s.firehose_arn,
                    state: s.state,
                    output_format: s.output_format,
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

pub fn delete_metric_stream(
    _: &Context,
    input: DeleteMetricStreamInput,
) -> Result<DeleteMetricStreamOutput, AwsError> {
    if let Some(s) = STREAMS.get(&input.name)? {
        TAGS.delete(s.arn.as_deref().unwrap_or(""));
    }
    STREAMS.delete(&input.name);
    crate::streams::STREAM_GENERATIONS.delete(&input.name);
    Ok(DeleteMetricStreamOutput {})
}

fn set_stream_state(names: &[String], state: &str) -> Result<(), AwsError> {
    for n in names {
        if STREAMS.contains(n) {
            STREAMS.update(n, |s| {
                let mut s = s.unwrap_or_default();
                s.state = Some(state.into());
                s.last_update_date = Some(time::now());
                Ok(s)
            })?;
        }
    }
    Ok(())
}

pub fn start_metric_streams(
    _: &Context,
    input: StartMetricStreamsInput,
) -> Result<StartMetricStreamsOutput, AwsError> {
    set_stream_state(&input.names, "running")?;
    Ok(StartMetricStreamsOutput {})
}

pub fn stop_metric_streams(
    _: &Context,
    input: StopMetricStreamsInput,
) -> Result<StopMetricStreamsOutput, AwsError> {
    set_stream_state(&input.names, "stopped")?;
    Ok(StopMetricStreamsOutput {})
}

// --- alarm mute rules, contributors, OTel enrichment ------------------------

pub fn put_alarm_mute_rule(ctx: &Context, input: PutAlarmMuteRuleInput) -> Result<Empty, AwsError> {
    let arn = ctx
        .arn("cloudwatch", &format!("alarm-mute-rule:{}", input.name))
        .to_string();
    let now = time::now();
    let status = match (input.start_date, input.expire_date) {
        (_, Some(e)) if e <= now => "EXPIRED",
        (Some(s), _) if s > now => "SCHEDULED",
        _ => "ACTIVE",
    };
    MUTE_RULES.put(
        &input.name,
        &GetAlarmMuteRuleOutput {
            name: Some(input.name.clone()),
            alarm_mute_rule_arn: Some(arn.clone()),
            description: input.description,
            rule: Some(input.rule),
            mute_targets: input.mute_targets,
            start_date: input.start_date,
            expire_date: input.expire_date,
            status: Some(AlarmMuteRuleStatus::from(status)),
            last_updated_timestamp: Some(now),
            mute_type: None,
        },
    )?;
    if let Some(tags) = &input.tags {
        add_tags(&arn, tags)?;
    }
    Ok(Empty {})
}

pub fn get_alarm_mute_rule(
    _: &Context,
    input: GetAlarmMuteRuleInput,
) -> Result<GetAlarmMuteRuleOutput, AwsError> {
    MUTE_RULES
        .get(&input.alarm_mute_rule_name)?
        .ok_or_else(|| not_found("AlarmMuteRule", &input.alarm_mute_rule_name))
}

pub fn list_alarm_mute_rules(
    _: &Context,
    input: ListAlarmMuteRulesInput,
) -> Result<ListAlarmMuteRulesOutput, AwsError> {
    let page = MUTE_RULES
        .page(
            &Scan::all(),
            input.next_token.as_deref(),
            input.max_records.unwrap_or(100).clamp(1, 100) as u32,
        )
        .map_err(|_| invalid_token())?;
    Ok(ListAlarmMuteRulesOutput {
        alarm_mute_rule_summaries: Some(
            page.items
                .into_iter()
                .filter(|(_, r)| {
                    input.statuses.as_ref().is_none_or(|s| {
                        s.is_empty() || r.status.as_ref().is_some_and(|x| s.contains(x))
                    })
                })
                .map(|(_, r)| AlarmMuteRuleSummary {
                    alarm_mute_rule_arn: r.alarm_mute_rule_arn,
                    expire_date: r.expire_date,
                    status: r.status,
                    mute_type: r.mute_type,
                    last_updated_timestamp: r.last_updated_timestamp,
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

pub fn delete_alarm_mute_rule(
    _: &Context,
    input: DeleteAlarmMuteRuleInput,
) -> Result<Empty, AwsError> {
    MUTE_RULES.delete(&input.alarm_mute_rule_name);
    Ok(Empty {})
}

pub fn describe_alarm_contributors(
    _: &Context,
    input: DescribeAlarmContributorsInput,
) -> Result<DescribeAlarmContributorsOutput, AwsError> {
    if !crate::alarms::ALARMS.contains(&input.alarm_name) {
        return Err(not_found("Alarm", &input.alarm_name));
    }
    // Multi-contributor (Contributor Insights) alarms are not evaluated locally.
    Ok(DescribeAlarmContributorsOutput {
        alarm_contributors: vec![],
        next_token: None,
    })
}

pub fn get_otel_enrichment(_: &Context, _: Empty) -> Result<GetOTelEnrichmentOutput, AwsError> {
    Ok(GetOTelEnrichmentOutput {
        status: OTelEnrichmentStatus::from(
            OTEL.get("status")?
                .unwrap_or_else(|| "Stopped".into())
                .as_str(),
        ),
    })
}

pub fn start_otel_enrichment(_: &Context, _: Empty) -> Result<StartOTelEnrichmentOutput, AwsError> {
    OTEL.put("status", &"Running".to_string())?;
    Ok(StartOTelEnrichmentOutput {})
}

pub fn stop_otel_enrichment(_: &Context, _: Empty) -> Result<StopOTelEnrichmentOutput, AwsError> {
    OTEL.put("status", &"Stopped".to_string())?;
    Ok(StopOTelEnrichmentOutput {})
}
