"""Terraform (AWS provider v5): a log group with a metric filter and a
subscription filter to a Kinesis stream, a metric alarm and a dashboard —
applied, checked with boto3 (a log line becomes the filter's metric),
planned again (no changes), destroyed. Skipped, saying so, without
terraform or the provider mirror (as test_terraform.py)."""

import time

from test_terraform import terraform_in


def test_logs_stack(tmp_path, gateway):
    tf = terraform_in(tmp_path, "terraform_logs", ["-var", f"endpoint={gateway.url}"])
    tf("apply", "-auto-approve")
    logs, cw = gateway.client("logs"), gateway.client("cloudwatch")
    g = logs.describe_log_groups(logGroupNamePrefix="/tf/app")["logGroups"][0]
    assert g["retentionInDays"] == 14
    assert logs.describe_metric_filters(logGroupName="/tf/app")["metricFilters"][0]["filterName"] == "tf-errors"
    sub = logs.describe_subscription_filters(logGroupName="/tf/app")["subscriptionFilters"][0]
    assert sub["destinationArn"].endswith(":stream/tf-log-records")
    assert cw.describe_alarms(AlarmNames=["tf-errors"])["MetricAlarms"][0]["Threshold"] == 0
    assert "ErrorCount" in cw.get_dashboard(DashboardName="tf-main")["DashboardBody"]

    logs.create_log_stream(logGroupName="/tf/app", logStreamName="s")
    logs.put_log_events(logGroupName="/tf/app", logStreamName="s",
                        logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR x"}])
    deadline, total = time.time() + 30, 0
    while time.time() < deadline and total < 1:
        pts = cw.get_metric_statistics(Namespace="TfApp", MetricName="ErrorCount", StartTime=time.time() - 600,
                                       EndTime=time.time() + 60, Period=60, Statistics=["Sum"])["Datapoints"]
        total = sum(p["Sum"] for p in pts)
        time.sleep(0.2)
    assert total == 1

    plan = tf("plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout[-4000:]

    tf("destroy", "-auto-approve")
    assert not logs.describe_log_groups(logGroupNamePrefix="/tf/app")["logGroups"]
    assert not cw.describe_alarms(AlarmNames=["tf-errors"])["MetricAlarms"]
    assert not cw.list_dashboards(DashboardNamePrefix="tf-main")["DashboardEntries"]
