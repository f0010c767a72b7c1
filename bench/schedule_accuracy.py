"""Schedule firing accuracy against a running gateway: seconds late, p50/p99.

    python3 bench/schedule_accuracy.py http://127.0.0.1:4566 [schedules] [rules]

EventBridge Scheduler: `schedules` at() schedules (default 60), two per
second over the next 30 s, all to one SQS queue;
each message's lateness is its receive time minus the scheduled second.
EventBridge: `rules` rate(1 minute) rules (default 10, 0 to skip) firing at
the next minute boundary (waits for it); lateness against the boundary.
Receive times are taken by long-polling ReceiveMessage, so they include the
SQS round trip (a few ms)."""

import json
import sys
import time
import uuid
from datetime import datetime, timezone

import boto3
from botocore.config import Config

url = sys.argv[1]
n_schedules = int(sys.argv[2]) if len(sys.argv) > 2 else 60
n_rules = int(sys.argv[3]) if len(sys.argv) > 3 else 10
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
          aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
sqs = boto3.client("sqs", **kw)
tag = uuid.uuid4().hex[:8]
ROLE = "arn:aws:iam::000000000000:role/bench"


def queue(name):
    q = sqs.create_queue(QueueName=f"{name}-{tag}")["QueueUrl"]
    return q, sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def collect(q, want, deadline, due_of):
    late = []
    while len(late) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        now = time.time()
        for m in r.get("Messages", []):
            late.append(now - due_of(m["Body"]))
            sqs.delete_message(QueueUrl=q, ReceiptHandle=m["ReceiptHandle"])
    return late


def report(what, late, want):
    late.sort()
    if not late:
        print(f"{what}: nothing arrived (0/{want})")
        return
    pick = lambda p: late[min(len(late) - 1, int(p * len(late)))]
    print(f"{what}: {len(late)}/{want} fired; late p50 {pick(0.5):.3f} s, p99 {pick(0.99):.3f} s, "
          f"max {late[-1]:.3f} s, min {late[0]:.3f} s")


if n_schedules:
    scheduler = boto3.client("scheduler", **kw)
    q, arn = queue("sched")
    start = int(time.time()) + 5
    for i in range(n_schedules):
        due = start + i // 2
        when = datetime.fromtimestamp(due, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        scheduler.create_schedule(
            Name=f"acc-{tag}-{i}", ScheduleExpression=f"at({when})", FlexibleTimeWindow={"Mode": "OFF"},
            Target={"Arn": arn, "RoleArn": ROLE, "Input": json.dumps({"due": due})},
        )
    if time.time() > start:
        print("warning: creating the schedules took past the first due time")
    late = collect(q, n_schedules, start + n_schedules // 2 + 30, lambda b: json.loads(b)["due"])
    report("Scheduler at()", late, n_schedules)

if n_rules:
    events = boto3.client("events", **kw)
    if time.time() % 60 > 55:
        time.sleep(60 - time.time() % 60 + 0.5)
    q, arn = queue("rules")
    for i in range(n_rules):
        events.put_rule(Name=f"acc-{tag}-{i}", ScheduleExpression="rate(1 minute)")
        events.put_targets(Rule=f"acc-{tag}-{i}", Targets=[{"Id": "q", "Arn": arn}])
    boundary = (int(time.time()) // 60 + 1) * 60
    late = collect(q, n_rules, boundary + 30,
                   lambda b: datetime.strptime(json.loads(b)["time"], "%Y-%m-%dT%H:%M:%SZ")
                   .replace(tzinfo=timezone.utc).timestamp())
    report("EventBridge rate(1 minute) rules", late, n_rules)
    for i in range(n_rules):
        events.remove_targets(Rule=f"acc-{tag}-{i}", Ids=["q"])
        events.delete_rule(Name=f"acc-{tag}-{i}")
