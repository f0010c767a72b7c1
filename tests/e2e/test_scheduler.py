"""EventBridge Scheduler through the gateway with boto3 (rest-json): groups,
schedules, at() schedules delivering to SQS on time (UTC and another time
zone), a universal target calling sqs:SendMessage, ActionAfterCompletion,
a failing target dead-lettered, AWS's errors. Waits at most a few seconds."""

import json
import time
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import botocore.exceptions
import pytest

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"
OFF = {"Mode": "OFF"}


@pytest.fixture
def scheduler(gateway):
    return gateway.client("scheduler")


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response["Error"]


def make_queue(sqs):
    url = sqs.create_queue(QueueName=f"q-{uid()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, wait, **kw):
    deadline = time.time() + wait
    while time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=max(1, min(20, int(deadline - time.time()) + 1)), **kw)
        if r.get("Messages"):
            m = r["Messages"][0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return m, time.time()
    raise AssertionError("no message")


def at_expr(when, tz=timezone.utc):
    return "at(" + when.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S") + ")"


def soon(seconds=3):
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=seconds)


def test_groups(scheduler):
    name = f"g-{uid()}"
    arn = scheduler.create_schedule_group(Name=name, Tags=[{"Key": "k", "Value": "v"}])["ScheduleGroupArn"]
    assert arn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule-group/{name}"
    g = scheduler.get_schedule_group(Name=name)
    assert g["State"] == "ACTIVE" and g["Arn"] == arn
    assert scheduler.get_schedule_group(Name="default")["Name"] == "default"
    names = [x["Name"] for x in scheduler.list_schedule_groups()["ScheduleGroups"]]
    assert "default" in names and name in names
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert error_of(scheduler.create_schedule_group, Name=name)["Code"] == "ConflictException"
    assert error_of(scheduler.delete_schedule_group, Name="default")["Code"] == "ValidationException"
    scheduler.delete_schedule_group(Name=name)
    assert error_of(scheduler.get_schedule_group, Name=name)["Code"] == "ResourceNotFoundException"


def test_schedule_crud_and_errors(scheduler, sqs):
    _, arn = make_queue(sqs)
    name = f"s-{uid()}"
    target = {"Arn": arn, "RoleArn": ROLE, "Input": "hi"}
    sarn = scheduler.create_schedule(Name=name, ScheduleExpression="cron(0 8 * * ? *)",
                                     ScheduleExpressionTimezone="Europe/Paris", FlexibleTimeWindow=OFF,
                                     Target=target)["ScheduleArn"]
    assert sarn == f"arn:aws:scheduler:us-east-1:{ACCOUNT}:schedule/default/{name}"
    s = scheduler.get_schedule(Name=name)
    assert s["State"] == "ENABLED" and s["GroupName"] == "default" and s["Target"]["Input"] == "hi"
    assert s["ScheduleExpressionTimezone"] == "Europe/Paris"
    scheduler.update_schedule(Name=name, ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow=OFF,
                              Target=target, State="DISABLED")
    assert scheduler.get_schedule(Name=name)["State"] == "DISABLED"
    listed = scheduler.list_schedules(NamePrefix=name)["Schedules"]
    assert [(x["Name"], x["Target"]["Arn"]) for x in listed] == [(name, arn)]
    assert error_of(scheduler.create_schedule, Name=name, ScheduleExpression="rate(5 minutes)",
                    FlexibleTimeWindow=OFF, Target=target)["Code"] == "ConflictException"
    # The same ClientToken again is the same request: the same answer.
    token = uid()
    again = dict(Name=f"t-{uid()}", ScheduleExpression="rate(5 minutes)", FlexibleTimeWindow=OFF,
                 Target=target, ClientToken=token)
    assert scheduler.create_schedule(**again)["ScheduleArn"] == scheduler.create_schedule(**again)["ScheduleArn"]
    assert error_of(scheduler.create_schedule_group, Name="bad name!")["Code"] == "ValidationException"
    for expr in ["rate(1 minutes)", "cron(* * * * *)", "at(2030-02-30T00:00:00)", "every day"]:
        err = error_of(scheduler.create_schedule, Name=f"b-{uid()}", ScheduleExpression=expr,
                       FlexibleTimeWindow=OFF, Target=target)
        assert err["Code"] == "ValidationException", expr
    err = error_of(scheduler.create_schedule, Name=f"b-{uid()}", ScheduleExpression="rate(5 minutes)",
                   ScheduleExpressionTimezone="Mars/Olympus", FlexibleTimeWindow=OFF, Target=target)
    assert err["Code"] == "ValidationException"
    err = error_of(scheduler.create_schedule, Name=f"b-{uid()}", ScheduleExpression="rate(5 minutes)",
                   GroupName="nope", FlexibleTimeWindow=OFF, Target=target)
    assert err["Code"] == "ResourceNotFoundException"
    err = error_of(scheduler.create_schedule, Name=f"b-{uid()}", ScheduleExpression="rate(5 minutes)",
                   FlexibleTimeWindow={"Mode": "FLEXIBLE"}, Target=target)
    assert err["Code"] == "ValidationException"
    scheduler.delete_schedule(Name=name)
    assert error_of(scheduler.get_schedule, Name=name)["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_at_schedule_delivers_on_time(scheduler, sqs, zone):
    url, arn = make_queue(sqs)
    when = soon(3)
    name = f"once-{uid()}"
    scheduler.create_schedule(
        Name=name, ScheduleExpression=at_expr(when, ZoneInfo(zone)), ScheduleExpressionTimezone=zone,
        FlexibleTimeWindow=OFF, ActionAfterCompletion="DELETE",
        Target={"Arn": arn, "RoleArn": ROLE, "Input": '{"at": "<aws.scheduler.scheduled-time>"}'})
    m, arrived = receive(sqs, url, wait=8)
    assert json.loads(m["Body"]) == {"at": when.strftime("%Y-%m-%dT%H:%M:%SZ")}
    assert when.timestamp() <= arrived < when.timestamp() + 1.5
    # ActionAfterCompletion DELETE: gone after its only fire.
    time.sleep(0.2)
    assert error_of(scheduler.get_schedule, Name=name)["Code"] == "ResourceNotFoundException"


def test_universal_target_calls_sqs_send_message(scheduler, sqs):
    url, _ = make_queue(sqs)
    when = soon(2)
    scheduler.create_schedule(
        Name=f"u-{uid()}", ScheduleExpression=at_expr(when), FlexibleTimeWindow=OFF,
        Target={"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": ROLE,
                "Input": json.dumps({"QueueUrl": url, "MessageBody": "from a universal target"})})
    m, _ = receive(sqs, url, wait=6)
    assert m["Body"] == "from a universal target"


def test_failing_target_dead_lettered(scheduler, sqs):
    gone_url, gone_arn = make_queue(sqs)
    sqs.delete_queue(QueueUrl=gone_url)
    dlq_url, dlq_arn = make_queue(sqs)
    when = soon(2)
    sarn = scheduler.create_schedule(
        Name=f"f-{uid()}", ScheduleExpression=at_expr(when), FlexibleTimeWindow=OFF,
        Target={"Arn": gone_arn, "RoleArn": ROLE, "Input": "payload",
                "RetryPolicy": {"MaximumRetryAttempts": 1, "MaximumEventAgeInSeconds": 60},
                "DeadLetterConfig": {"Arn": dlq_arn}})["ScheduleArn"]
    m, _ = receive(sqs, dlq_url, wait=10, MessageAttributeNames=["All"])
    attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
    assert m["Body"] == "payload"
    assert attrs["SCHEDULE_ARN"] == sarn and attrs["TARGET_ARN"] == gone_arn
    assert attrs["RETRY_ATTEMPTS"] == "1" and attrs["ERROR_CODE"]


def test_rate_schedule_with_start_date_to_an_event_bus(scheduler, sqs, gateway):
    """rate() from a StartDate 2 s ahead, targeting the default event bus;
    a rule there forwards to SQS."""
    events = gateway.client("events")
    url, qarn = make_queue(sqs)
    rule = f"from-scheduler-{uid()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({"source": ["my.scheduler"], "detail-type": ["Tick"]}))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": qarn}])
    start = soon(2)
    name = f"tick-{uid()}"
    sarn = scheduler.create_schedule(
        Name=name, ScheduleExpression="rate(5 minutes)", StartDate=start, FlexibleTimeWindow=OFF,
        Target={"Arn": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default", "RoleArn": ROLE,
                "Input": '{"n": 1}', "EventBridgeParameters": {"Source": "my.scheduler", "DetailType": "Tick"}},
    )["ScheduleArn"]
    m, arrived = receive(sqs, url, wait=8)
    e = json.loads(m["Body"])
    assert e["detail"] == {"n": 1} and e["resources"] == [sarn]
    assert start.timestamp() <= arrived < start.timestamp() + 1.5
    scheduler.delete_schedule(Name=name)
