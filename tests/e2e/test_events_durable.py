"""EventBridge and Scheduler schedules survive a `kill -9` (PERSIST_STATE=1):
their fire tasks are durable task records in each plugin's database, re-armed
when the gateway starts. One gateway: a Scheduler at() schedule and rate()
schedule, and an EventBridge rate(1 minute) rule, created, the gateway
killed and restarted, and every message still arriving in SQS on time.

Waits for the next minute boundary (the EventBridge rule): up to 62 s."""

import json
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

ACCOUNT = "000000000000"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"


def uid():
    return uuid.uuid4().hex[:10]


def make_queue(sqs):
    url = sqs.create_queue(QueueName=f"q-{uid()}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive_one(sqs, url, deadline):
    while time.time() < deadline:
        wait = max(1, min(20, int(deadline - time.time())))
        r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait)
        if r.get("Messages"):
            m = r["Messages"][0]
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            return m, time.time()
    raise AssertionError("no message before the deadline")


@pytest.fixture
def persistent(make_gateway):
    return make_gateway(env={"PERSIST_STATE": "1"})


def test_schedules_and_scheduled_rules_fire_after_kill_9(persistent):
    g = persistent
    if time.time() % 60 > 50:  # the rule's first fire must come after the restart
        time.sleep(60 - time.time() % 60 + 0.2)
    events, scheduler, sqs = g.client("events"), g.client("scheduler"), g.client("sqs")

    at_url, at_arn = make_queue(sqs)
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=4)
    scheduler.create_schedule(
        Name=f"at-{uid()}", ScheduleExpression="at(" + due.strftime("%Y-%m-%dT%H:%M:%S") + ")",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": at_arn, "RoleArn": ROLE, "Input": json.dumps({"fired": "at"})},
    )
    rate_url, rate_arn = make_queue(sqs)
    scheduler.create_schedule(
        Name=f"rate-{uid()}", ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": rate_arn, "RoleArn": ROLE, "Input": "tick <aws.scheduler.scheduled-time>"},
    )
    rule = f"every-minute-{uid()}"
    rule_arn = events.put_rule(Name=rule, ScheduleExpression="rate(1 minute)")["RuleArn"]
    rule_url, rule_q_arn = make_queue(sqs)
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": rule_q_arn}])
    boundary = (int(time.time()) // 60 + 1) * 60

    g.kill()
    g.start()
    events, scheduler, sqs = g.client("events"), g.client("scheduler"), g.client("sqs")

    m, arrived = receive_one(sqs, at_url, due.timestamp() + 10)
    assert json.loads(m["Body"]) == {"fired": "at"}
    late = arrived - due.timestamp()
    assert -0.05 <= late < 1.5, f"at() schedule {late:.3f} s late after the restart"

    m, arrived = receive_one(sqs, rule_url, boundary + 10)
    e = json.loads(m["Body"])
    assert e["detail-type"] == "Scheduled Event" and e["resources"] == [rule_arn]
    assert boundary <= arrived < boundary + 1.5, f"rule fired {arrived - boundary:.3f} s after the minute"

    # The Scheduler's rate(1 minute) counts from the minute it was created in.
    m, arrived_rate = receive_one(sqs, rate_url, boundary + 10)
    assert m["Body"].startswith("tick " + datetime.fromtimestamp(boundary, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    assert boundary <= arrived_rate < boundary + 1.5
    print(f"at() {late:.3f} s late; rule {arrived - boundary:.3f} s and rate() schedule "
          f"{arrived_rate - boundary:.3f} s after the minute, all after kill -9")
