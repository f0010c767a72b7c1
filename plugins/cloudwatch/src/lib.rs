//! Amazon CloudWatch (metrics, alarms, dashboards) as a ministack plugin.
//!
//! Routed as `monitoring`; the host speaks every protocol the model lists
//! (smithy-rpc-v2-cbor, boto3's default; awsJson1_0; awsQuery), so this
//! plugin sees JSON in the generated shapes ([`shapes`]) only.
//!
//! - [`metrics`]: PutMetricData, ListMetrics, GetMetricStatistics,
//!   GetMetricData with metric math ([`expr`]) and SEARCH; SQS gauges
//!   sampled on demand as `AWS/SQS` metrics.
//! - [`alarms`]: metric and composite alarms ([`rule`]) evaluated by durable
//!   tasks every period, actions to SNS and Lambda, events to EventBridge.
//! - [`misc`]: dashboards, tags, GetMetricWidgetImage ([`chart`]), insight
//!   rules, anomaly detectors, metric streams, mute rules.
//!
//! Settings (plugins.toml `[plugins.cloudwatch.settings]`):
//! `METRIC_RETENTION_DAYS` (default 15).

use ministack_sdk::prelude::*;
use ministack_sdk::tasks;

pub mod alarms;
pub mod chart;
mod contributors;
pub mod expr;
pub mod metrics;
pub mod misc;
mod resources;
pub mod rule;
pub mod stats;
pub mod streams;

ministack_sdk::include_shapes!(pub mod shapes);

pub struct CloudWatch;

impl Service for CloudWatch {
    const NAME: &'static str = "cloudwatch";
    const MODEL: &'static str = include_str!("../model/service-2.json");

    fn router() -> Router {
        Router::new()
            .resources(resources::types())
            .op("PutMetricData", metrics::put_metric_data)
            .op("ListMetrics", metrics::list_metrics)
            .op("GetMetricStatistics", metrics::get_metric_statistics)
            .op("GetMetricData", metrics::get_metric_data)
            .op("PutMetricAlarm", alarms::put_metric_alarm)
            .op("PutCompositeAlarm", alarms::put_composite_alarm)
            .op("DescribeAlarms", alarms::describe_alarms)
            .op(
                "DescribeAlarmsForMetric",
                alarms::describe_alarms_for_metric,
            )
            .op("DescribeAlarmHistory", alarms::describe_alarm_history)
            .op("SetAlarmState", alarms::set_alarm_state)
            .op("EnableAlarmActions", alarms::enable_alarm_actions)
            .op("DisableAlarmActions", alarms::disable_alarm_actions)
            .op("DeleteAlarms", alarms::delete_alarms)
            .op(
                "DescribeAlarmContributors",
                misc::describe_alarm_contributors,
            )
            .op("PutDashboard", misc::put_dashboard)
            .op("GetDashboard", misc::get_dashboard)
            .op("ListDashboards", misc::list_dashboards)
            .op("DeleteDashboards", misc::delete_dashboards)
            .op("GetMetricWidgetImage", misc::get_metric_widget_image)
            .op("TagResource", misc::tag_resource)
            .op("UntagResource", misc::untag_resource)
            .op("ListTagsForResource", misc::list_tags_for_resource)
            .op("PutInsightRule", misc::put_insight_rule)
            .op("DescribeInsightRules", misc::describe_insight_rules)
            .op("EnableInsightRules", misc::enable_insight_rules)
            .op("DisableInsightRules", misc::disable_insight_rules)
            .op("DeleteInsightRules", misc::delete_insight_rules)
            .op("GetInsightRuleReport", misc::get_insight_rule_report)
            .op("PutManagedInsightRules", misc::put_managed_insight_rules)
            .op("ListManagedInsightRules", misc::list_managed_insight_rules)
            .op("PutAnomalyDetector", misc::put_anomaly_detector)
            .op("DeleteAnomalyDetector", misc::delete_anomaly_detector)
            .op("DescribeAnomalyDetectors", misc::describe_anomaly_detectors)
            .op("PutMetricStream", misc::put_metric_stream)
            .op("GetMetricStream", misc::get_metric_stream)
            .op("ListMetricStreams", misc::list_metric_streams)
            .op("DeleteMetricStream", misc::delete_metric_stream)
            .op("StartMetricStreams", misc::start_metric_streams)
            .op("StopMetricStreams", misc::stop_metric_streams)
            .op("PutAlarmMuteRule", misc::put_alarm_mute_rule)
            .op("GetAlarmMuteRule", misc::get_alarm_mute_rule)
            .op("ListAlarmMuteRules", misc::list_alarm_mute_rules)
            .op("DeleteAlarmMuteRule", misc::delete_alarm_mute_rule)
            .op("GetOTelEnrichment", misc::get_otel_enrichment)
            .op("StartOTelEnrichment", misc::start_otel_enrichment)
            .op("StopOTelEnrichment", misc::stop_otel_enrichment)
            .task(alarms::EVALUATE_TASK, alarms::evaluate)
            .task(alarms::RESUME_TASK, alarms::resume_alarms)
            .task(metrics::RETENTION_TASK, metrics::retention)
            .task("retention-sweep", metrics::retention_sweep)
            .task(streams::TICK_TASK, streams::tick)
            .task(tasks::START_TASK, on_start)
    }
}

export_plugin!(CloudWatch);

/// After a start or reset: resume alarm evaluation and the hourly purge.
fn on_start(_: &Context, _: ()) -> Result<(), AwsError> {
    alarms::restart_evaluations()?;
    if tasks::list("retention-sweep").is_empty() {
        tasks::schedule(std::time::Duration::from_secs(60), "retention-sweep", &())?;
    }
    Ok(())
}
