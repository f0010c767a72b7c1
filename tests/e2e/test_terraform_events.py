"""Terraform (AWS provider v5): EventBridge buses, rules (pattern and
schedule), targets with an input transformer and retry policy, an archive,
a Scheduler group and schedule, an EventBridge pipe — applied, checked with boto3, planned again
(no changes), destroyed. Skipped, saying so, without terraform or the
provider mirror (as test_terraform.py)."""

import pytest
from botocore.exceptions import ClientError

from test_terraform import terraform_in


def test_events_and_scheduler_stack(tmp_path, gateway):
    tf = terraform_in(tmp_path, "terraform_events", ["-var", f"endpoint={gateway.url}"])
    gateway.client("sqs").create_queue(QueueName="tf-pipe-source")  # the pipe's source
    tf("apply", "-auto-approve")
    events = gateway.client("events")
    rule = events.describe_rule(Name="tf-order-paid", EventBusName="tf-orders")
    assert rule["Description"] == "orders that were paid"
    (target,) = events.list_targets_by_rule(Rule="tf-order-paid", EventBusName="tf-orders")["Targets"]
    assert target["InputTransformer"]["InputPathsMap"] == {"id": "$.detail.id"}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 600}
    assert events.describe_rule(Name="tf-nightly")["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert events.describe_archive(ArchiveName="tf-orders-archive")["RetentionDays"] == 7
    sched = gateway.client("scheduler").get_schedule(Name="tf-report", GroupName="tf-jobs")
    assert sched["ScheduleExpressionTimezone"] == "Europe/Paris"

    pipe = gateway.client("pipes").describe_pipe(Name="tf-orders-pipe")
    assert pipe["CurrentState"] == "RUNNING" and pipe["Tags"] == {"team": "shop"}
    assert pipe["SourceParameters"]["SqsQueueParameters"]["BatchSize"] == 5

    plan = tf("plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout[-4000:]

    tf("destroy", "-auto-approve")
    with pytest.raises(ClientError) as e:
        events.describe_event_bus(Name="tf-orders")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        gateway.client("scheduler").get_schedule_group(Name="tf-jobs")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        gateway.client("pipes").describe_pipe(Name="tf-orders-pipe")
    assert e.value.response["Error"]["Code"] == "NotFoundException"
