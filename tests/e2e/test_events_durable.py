"""EventBridge and Scheduler schedules survive a `kill -9` (PERSIST_STATE=1):
their fire tasks are durable task records in each plugin's database, re-armed
when the gateway starts. One gateway: a Scheduler at() schedule and rate()
schedule, and an EventBridge rate(1 minute) rule, created, the gateway
killed and restarted, and every message still arriving in SQS on time; an
archive replay cut off by the kill completes after the restart.

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


def test_a_replay_cut_off_by_kill_9_completes_after_the_restart(persistent):
    g = persistent
    events, sqs = g.client("events"), g.client("sqs")
    bus = f"bus-{uid()}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive_arn = events.create_archive(ArchiveName=f"a-{uid()}", EventSourceArn=bus_arn)["ArchiveArn"]
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=1)
    n = 1500
    for i in range(0, n, 10):
        events.put_events(Entries=[{"Source": "archived", "DetailType": "t", "Detail": json.dumps({"n": j}),
                                    "EventBusName": bus} for j in range(i, i + 10)])
    time.sleep(1.1)
    end = datetime.now(timezone.utc)
    # The rule comes after the events: only the replay reaches its queue.
    rule = f"r-{uid()}"
    events.put_rule(Name=rule, EventBusName=bus, EventPattern='{"source": ["archived"]}')
    url, arn = make_queue(sqs)
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    replay = f"rp-{uid()}"
    events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=end,
                        Destination={"Arn": bus_arn})
    time.sleep(0.15)
    state_at_kill = events.describe_replay(ReplayName=replay)["State"]
    g.kill()
    g.start()
    events, sqs = g.client("events"), g.client("sqs")
    deadline = time.time() + 30
    while events.describe_replay(ReplayName=replay)["State"] != "COMPLETED" and time.time() < deadline:
        time.sleep(0.2)
    assert events.describe_replay(ReplayName=replay)["State"] == "COMPLETED"
    seen = set()
    deadline = time.time() + 20
    while len(seen) < n and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for m in r.get("Messages", []):
            e = json.loads(m["Body"])
            assert e["replay-name"] == replay
            seen.add(e["detail"]["n"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert seen == set(range(n)), f"{n - len(seen)} events missing (replay was {state_at_kill} at the kill)"
    print(f"replay was {state_at_kill} at the kill; all {n} events arrived after the restart")


def test_a_delivery_cut_off_by_kill_9_is_made_after_the_restart(make_gateway, tmp_path):
    import http.server
    import threading
    from pathlib import Path

    got = []

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            got.append((time.time(), body["id"]))
            if len(got) == 1:
                time.sleep(3)  # the gateway is killed meanwhile
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    wasm = Path(__file__).resolve().parents[2] / "target/wasm32-wasip2/plugin/events.wasm"
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(f'[plugins.events]\npath = "{wasm}"\ncapabilities = ["http"]\n'
                       '[plugins.events.settings]\nEVENTS_DELIVERY_STAND_IN_SECS = "2"\n')
    try:
        g = make_gateway(env={"PERSIST_STATE": "1"}, plugins_file=plugins)
        events = g.client("events")
        conn = events.create_connection(Name=f"c-{uid()}", AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
        dest = events.create_api_destination(Name=f"d-{uid()}", ConnectionArn=conn, HttpMethod="POST",
                                             InvocationEndpoint=f"http://127.0.0.1:{server.server_port}/")["ApiDestinationArn"]
        # The SNS target is invoked first (target ids in order): its call
        # commits the task's first unit, which takes the task's record.
        topic = g.client("sns").create_topic(Name=f"t-{uid()}")["TopicArn"]
        events.put_rule(Name="slow", EventPattern='{"source": ["slow.app"]}')
        events.put_targets(Rule="slow", Targets=[{"Id": "a-sns", "Arn": topic}, {"Id": "b-api", "Arn": dest}])
        sent = time.time()
        events.put_events(Entries=[{"Source": "slow.app", "DetailType": "t", "Detail": "{}"}])
        deadline = time.time() + 5
        while not got and time.time() < deadline:
            time.sleep(0.02)
        assert got, "the first delivery did not start"
        g.kill()
        g.start()
        deadline = time.time() + 10
        while len(got) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert len(got) == 2, "the cut-off delivery was not made again"
        assert got[0][1] == got[1][1]
        # By the stand-in record, due 2 s after the delivery began.
        assert got[1][0] - sent >= 1.9, got[1][0] - sent
        print(f"delivered again {got[1][0] - sent:.2f} s after PutEvents")
    finally:
        server.shutdown()
