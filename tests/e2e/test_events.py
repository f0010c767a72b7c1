"""EventBridge through the whole gateway with boto3: buses, rules, targets,
PutEvents delivered to SQS for every pattern operator (matching and not),
TestEventPattern, InputPath/Input/InputTransformer, a FIFO target, a failing
target retried then dead-lettered, cross-bus delivery, an API destination,
archives and replays, a rate(1 minute) schedule, AWS's errors.

One test (`test_rate_schedule_fires_on_the_minute`) waits for the next
minute boundary: up to 61 s."""

import hashlib
import http.server
import json
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"
OTHER = "111111111111"


@pytest.fixture
def events(gateway):
    return gateway.client("events")


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def make_queue(sqs, name=None, **attrs):
    name = name or f"q-{uid()}"
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def receive(sqs, url, count=1, wait=5.0, **kw):
    """Up to `count` messages, waiting at most `wait` seconds."""
    got = []
    deadline = time.time() + wait
    while len(got) < count and time.time() < deadline:
        left = max(0, min(20, int(deadline - time.time() + 0.999)))
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=left, **kw)
        for m in r.get("Messages", []):
            got.append(m)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return got


def entry(source, detail, bus=None, **kw):
    e = {"Source": source, "DetailType": "test", "Detail": json.dumps(detail), **kw}
    if bus:
        e["EventBusName"] = bus
    return e


def rule_to_queue(events, sqs, pattern, bus="default", **target):
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(pattern))
    url, arn = make_queue(sqs)
    r = events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn, **target}])
    assert r["FailedEntryCount"] == 0, r
    return name, url


# ---------------------------------------------------------------- buses


def test_buses(events):
    name = f"bus-{uid()}"
    arn = events.create_event_bus(Name=name, Description="orders", Tags=[{"Key": "team", "Value": "a"}])["EventBusArn"]
    assert arn == f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/{name}"
    d = events.describe_event_bus(Name=name)
    assert d["Name"] == name and d["Arn"] == arn and d["Description"] == "orders"
    assert events.describe_event_bus()["Name"] == "default"
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert "default" in names and name in names
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    events.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == []
    events.update_event_bus(Name=name, Description="new")
    assert events.describe_event_bus(Name=arn)["Description"] == "new"
    assert error_of(events.create_event_bus, Name=name)["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert error_of(events.delete_event_bus, Name="default")["Error"]["Code"] == "ValidationException"
    # Permissions make a resource policy.
    events.put_permission(EventBusName=name, Action="events:PutEvents", Principal=OTHER, StatementId="s1")
    policy = json.loads(events.describe_event_bus(Name=name)["Policy"])
    assert policy["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    events.remove_permission(EventBusName=name, StatementId="s1")
    assert "Policy" not in events.describe_event_bus(Name=name)
    assert error_of(events.remove_permission, EventBusName=name, StatementId="nope")["Error"]["Code"] == "ResourceNotFoundException"
    events.delete_event_bus(Name=name)
    err = error_of(events.describe_event_bus, Name=name)
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    assert err["Error"]["Message"] == f"Event bus {name} does not exist."


def test_rules_targets_and_paging(events, sqs):
    bus = f"bus-{uid()}"
    events.create_event_bus(Name=bus)
    for i in range(3):
        events.put_rule(Name=f"rule-{i}", EventBusName=bus, EventPattern='{"source": ["x"]}', Description=f"d{i}")
    page1 = events.list_rules(EventBusName=bus, Limit=2)
    assert [r["Name"] for r in page1["Rules"]] == ["rule-0", "rule-1"]
    page2 = events.list_rules(EventBusName=bus, Limit=2, NextToken=page1["NextToken"])
    assert [r["Name"] for r in page2["Rules"]] == ["rule-2"] and "NextToken" not in page2
    d = events.describe_rule(Name="rule-1", EventBusName=bus)
    assert d["Arn"] == f"arn:aws:events:us-east-1:{ACCOUNT}:rule/{bus}/rule-1"
    assert d["State"] == "ENABLED" and d["EventBusName"] == bus and d["CreatedBy"] == ACCOUNT
    events.disable_rule(Name="rule-1", EventBusName=bus)
    assert events.describe_rule(Name="rule-1", EventBusName=bus)["State"] == "DISABLED"
    _, arn = make_queue(sqs)
    events.put_targets(Rule="rule-1", EventBusName=bus, Targets=[{"Id": "a", "Arn": arn}, {"Id": "b", "Arn": arn, "Input": '{"k": 1}'}])
    ts = events.list_targets_by_rule(Rule="rule-1", EventBusName=bus)["Targets"]
    assert [t["Id"] for t in ts] == ["a", "b"] and ts[1]["Input"] == '{"k": 1}'
    assert events.list_rule_names_by_target(TargetArn=arn, EventBusName=bus)["RuleNames"] == ["rule-1"]
    err = error_of(events.delete_rule, Name="rule-1", EventBusName=bus)
    assert err["Error"] == {"Code": "ValidationException", "Message": "Rule can't be deleted since it has targets."}
    events.remove_targets(Rule="rule-1", EventBusName=bus, Ids=["a", "b"])
    events.delete_rule(Name="rule-1", EventBusName=bus)
    err = error_of(events.describe_rule, Name="rule-1", EventBusName=bus)
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    # Six targets: over AWS's limit of five.
    tgts = [{"Id": f"t{i}", "Arn": arn} for i in range(6)]
    assert error_of(events.put_targets, Rule="rule-0", EventBusName=bus, Targets=tgts)["Error"]["Code"] == "LimitExceededException"
    assert error_of(events.put_rule, Name="x", EventBusName="nope", EventPattern='{"a":["b"]}')["Error"]["Code"] == "ResourceNotFoundException"
    assert error_of(events.put_rule, Name="x")["Error"]["Message"] == "Parameter(s) EventPattern or ScheduleExpression must be specified."
    err = error_of(events.put_rule, Name="bad name!", EventPattern='{"a": ["b"]}')["Error"]
    assert err["Code"] == "ValidationException" and "regular expression pattern" in err["Message"]


# ------------------------------------------------- patterns, operator by operator

# (operator, detail pattern, a detail that matches, a detail that does not)
OPERATORS = [
    ("exact", {"state": ["running"]}, {"state": "running"}, {"state": "stopped"}),
    ("number", {"n": [5]}, {"n": 5}, {"n": "5"}),
    ("null", {"n": [None]}, {"n": None}, {"n": "x"}),
    ("prefix", {"k": [{"prefix": "img/"}]}, {"k": "img/a.png"}, {"k": "doc/a.png"}),
    ("suffix", {"k": [{"suffix": ".png"}]}, {"k": "a.png"}, {"k": "a.jpg"}),
    ("prefix-ic", {"k": [{"prefix": {"equals-ignore-case": "IMG/"}}]}, {"k": "img/a"}, {"k": "doc/a"}),
    ("suffix-ic", {"k": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"k": "a.png"}, {"k": "a.gif"}),
    ("equals-ic", {"k": [{"equals-ignore-case": "ALICE"}]}, {"k": "alice"}, {"k": "bob"}),
    ("anything-but", {"k": [{"anything-but": "a"}]}, {"k": "b"}, {"k": "a"}),
    ("anything-but-list", {"k": [{"anything-but": ["a", "b"]}]}, {"k": "c"}, {"k": "b"}),
    ("anything-but-prefix", {"k": [{"anything-but": {"prefix": "tmp/"}}]}, {"k": "img/x"}, {"k": "tmp/x"}),
    ("anything-but-suffix", {"k": [{"anything-but": {"suffix": ".tmp"}}]}, {"k": "a.png"}, {"k": "a.tmp"}),
    ("anything-but-wildcard", {"k": [{"anything-but": {"wildcard": "*/tmp/*"}}]}, {"k": "a/b/c"}, {"k": "a/tmp/c"}),
    ("numeric", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, {"n": 6}),
    ("numeric-eq", {"n": [{"numeric": ["=", 3.5]}]}, {"n": 3.5}, {"n": 3}),
    ("exists", {"k": [{"exists": True}]}, {"k": "v"}, {"other": "v"}),
    ("not-exists", {"k": [{"exists": False}]}, {"other": "v"}, {"k": "v"}),
    ("cidr", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.7"}, {"ip": "10.0.1.7"}),
    ("wildcard", {"k": [{"wildcard": "dir/*.png"}]}, {"k": "dir/sub/a.png"}, {"k": "dir/a.jpg"}),
    ("nested", {"a": {"b": {"c": ["x"]}}}, {"a": {"b": {"c": "x"}}}, {"a": {"b": {"c": "y"}}}),
    ("array", {"tags": ["red"]}, {"tags": ["blue", "red"]}, {"tags": ["blue"]}),
    ("or", {"$or": [{"a": ["1"]}, {"b": ["2"]}]}, {"b": "2"}, {"a": "2"}),
]


def test_every_pattern_operator_matches_and_not(events, sqs):
    bus = f"bus-{uid()}"
    events.create_event_bus(Name=bus)
    queues = {}
    for op, pattern, _, _ in OPERATORS:
        full = {"source": [f"test.{op}"], "detail": pattern}
        _, queues[op] = rule_to_queue(events, sqs, full, bus=bus)
    # Per operator one PutEvents of [match, no match, fence]: one delivery
    # task handles them in order, so once the fence (matched by every rule)
    # is in the queue, a wrongly matched "no" would be there too.
    for op, _, yes, no in OPERATORS:
        r = events.put_events(Entries=[
            entry(f"test.{op}", {**yes, "marker": "yes"}, bus=bus),
            entry(f"test.{op}", {**no, "marker": "no"}, bus=bus),
            entry(f"test.{op}", {**yes, "marker": "fence"}, bus=bus),
        ])
        assert r["FailedEntryCount"] == 0, r
    for op, _, yes, no in OPERATORS:
        got = receive(sqs, queues[op], count=2, wait=5)
        markers = sorted(json.loads(m["Body"])["detail"]["marker"] for m in got)
        assert markers == ["fence", "yes"], f"{op}: {markers}"
        # TestEventPattern agrees.
        base = {"id": "1", "account": ACCOUNT, "source": f"test.{op}", "time": "2024-01-01T00:00:00Z",
                "region": "us-east-1", "resources": [], "detail-type": "test"}
        p = json.dumps({"source": [f"test.{op}"], "detail": OPERATORS[[o[0] for o in OPERATORS].index(op)][1]})
        assert events.test_event_pattern(EventPattern=p, Event=json.dumps({**base, "detail": yes}))["Result"] is True, op
        assert events.test_event_pattern(EventPattern=p, Event=json.dumps({**base, "detail": no}))["Result"] is False, op


def test_delivered_event_envelope(events, sqs):
    _, url = rule_to_queue(events, sqs, {"source": ["test.envelope"]})
    r = events.put_events(Entries=[entry("test.envelope", {"a": 1}, Resources=["arn:aws:s3:::b"],
                                         Time=datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc))])
    (m,) = receive(sqs, url)
    e = json.loads(m["Body"])
    assert e == {
        "version": "0", "id": r["Entries"][0]["EventId"], "detail-type": "test", "source": "test.envelope",
        "account": ACCOUNT, "time": "2024-05-01T12:00:00Z", "region": "us-east-1",
        "resources": ["arn:aws:s3:::b"], "detail": {"a": 1},
    }


def test_sqs_targets_are_sent_to_within_put_events(events, sqs, gateway):
    """An SQS target has the event when PutEvents returns; a rule's other
    targets (here SNS, subscribed by a second queue) come through the
    deliver task, and neither gets the event twice."""
    sns = gateway.client("sns")
    name, direct_url = rule_to_queue(events, sqs, {"source": ["test.inline"]})
    via_url, via_arn = make_queue(sqs)
    topic = sns.create_topic(Name=f"t-{uid()}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=via_arn,
                  Attributes={"RawMessageDelivery": "true"})
    assert events.put_targets(Rule=name, Targets=[{"Id": "t", "Arn": topic}])["FailedEntryCount"] == 0
    ids = []
    for i in range(3):
        ids.append(events.put_events(Entries=[entry("test.inline", {"i": i})])["Entries"][0]["EventId"])
        r = sqs.receive_message(QueueUrl=direct_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        (m,) = r["Messages"]
        assert json.loads(m["Body"])["id"] == ids[-1]
        sqs.delete_message(QueueUrl=direct_url, ReceiptHandle=m["ReceiptHandle"])
    got = receive(sqs, via_url, count=3)
    assert sorted(json.loads(m["Body"])["id"] for m in got) == sorted(ids)
    # Nothing more arrives on either queue (the task skipped the SQS target).
    time.sleep(1.5)
    for url in (direct_url, via_url):
        assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []


def test_sqs_bodies_are_the_event_text_alone_and_in_batches(events, sqs):
    """The event reaches SQS as its JSON text, byte for byte, whether one
    event (SendMessage) or several (SendMessageBatch) go to the queue, and
    whatever its detail holds: quotes, backslashes, controls, non-ASCII.
    (The events plugin attaches the event's text to its call as it is, not
    as an escaped string: docs/services/sqs.md, `MessageBodyAttached`.)"""
    _, url = rule_to_queue(events, sqs, {"source": ["test.bodies"]})
    detail = {"q": 'say "hi"', "b": "back\\slash", "c": "tab\tline\nend\u0001",
              "u": "café ☃ 😀", "n": [1, 2.5, None, True], "o": {"": {}}}
    for count in (1, 4):
        r = events.put_events(Entries=[entry("test.bodies", dict(detail, i=i)) for i in range(count)])
        assert r["FailedEntryCount"] == 0, r
        got = receive(sqs, url, count=count)
        assert len(got) == count
        for m in got:
            e = json.loads(m["Body"])
            assert e["detail"] == dict(detail, i=e["detail"]["i"])
            assert e["id"] in [x["EventId"] for x in r["Entries"]]
            # The body is compact JSON text, and its MD5 is of that text.
            assert m["Body"] == json.dumps(e, separators=(",", ":"), ensure_ascii=False)
            assert m["MD5OfBody"] == hashlib.md5(m["Body"].encode()).hexdigest()


def test_clients_cannot_send_an_attached_body(sqs):
    """`MessageBodyAttached` is for plugins: the model does not name it, so a
    client's is dropped and the request has no body; and a request framed as
    a plugin's call with attachments (a NUL byte first) is not JSON."""
    url, _ = make_queue(sqs)
    q = sqs.meta.endpoint_url
    auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/sqs/aws4_request, "
            "SignedHeaders=host, Signature=" + "0" * 64)
    for target, body in [
        ("AmazonSQS.SendMessage", {"QueueUrl": url, "MessageBodyAttached": [0, 1]}),
        ("AmazonSQS.SendMessageBatch",
         {"QueueUrl": url, "Entries": [{"Id": "1", "MessageBodyAttached": [0, 1]}]}),
    ]:
        r = requests.post(q, data=json.dumps(body), headers={
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target,
            "Authorization": auth})
        out = r.json()
        # Refused as a request without its body.
        assert r.status_code == 400, out
        assert out["__type"] == "ValidationException", out
        assert "messageBody" in out["message"], out
    # Nor can a client ask for the failures alone: its answer lists both.
    r = requests.post(q, data=json.dumps({
        "QueueUrl": url, "ReportFailuresOnly": True,
        "Entries": [{"Id": "ok", "MessageBody": "x"}, {"Id": "bad", "MessageBody": "\u0001"}]}),
        headers={"Content-Type": "application/x-amz-json-1.0",
                 "X-Amz-Target": "AmazonSQS.SendMessageBatch", "Authorization": auth})
    out = r.json()
    assert r.status_code == 200, out
    assert [e["Id"] for e in out["Successful"]] == ["ok"], out
    assert [e["Id"] for e in out["Failed"]] == ["bad"], out
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["x"], got  # and nothing from the requests above
    framed = json.dumps({"QueueUrl": url, "MessageBodyAttached": [0, 5]})
    r = requests.post(q, data=f"\0{len(framed)}\0{framed}hello".encode(), headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage",
        "Authorization": auth})
    assert r.status_code == 400, r.text
    assert r.json()["__type"] == "SerializationException", r.text


BAD_PATTERNS = [
    '{"source": "aws.ec2"}',
    '{"source": []}',
    '{"a": [{"foo": 1}]}',
    '{"a": [{"numeric": [">", "x"]}]}',
    '{"a": [{"numeric": ["<", 1, ">", 5]}]}',
    '{"a": [{"cidr": "10.0.0.0/40"}]}',
    '{"a": [{"wildcard": "a**"}]}',
    '{"a": [{"anything-but": {"bogus": "x"}}]}',
    '{"a": [{"exists": "yes"}]}',
    "not json",
]


@pytest.mark.parametrize("pattern", BAD_PATTERNS)
def test_bad_patterns(events, pattern):
    err = error_of(events.put_rule, Name=f"r-{uid()}", EventPattern=pattern)
    assert err["Error"]["Code"] == "InvalidEventPatternException"
    assert err["Error"]["Message"].startswith("Event pattern is not valid. Reason: ")
    err = error_of(events.test_event_pattern, EventPattern=pattern, Event="{}")
    assert err["Error"]["Code"] == "InvalidEventPatternException"


# ------------------------------------------------------------- PutEvents


def test_put_events_limits_and_entry_errors(events):
    err = error_of(events.put_events, Entries=[entry("a.b", {})] * 11)
    assert err["Error"]["Code"] == "ValidationException"
    big = "x" * (130 * 1024)
    err = error_of(events.put_events, Entries=[entry("a.b", {"v": big}), entry("a.b", {"v": big})])
    assert err["Error"]["Code"] == "ValidationException"
    r = events.put_events(Entries=[
        entry("a.b", {"ok": 1}),
        {"Source": "a.b", "DetailType": "t"},
        {"Source": "a.b", "DetailType": "t", "Detail": "[1"},
        entry("a.b", {}, bus="no-such-bus"),
    ])
    assert r["FailedEntryCount"] == 3
    codes = [e.get("ErrorCode") for e in r["Entries"]]
    assert codes == [None, "InvalidArgument", "MalformedDetail", "ResourceNotFoundException"]
    assert r["Entries"][1]["ErrorMessage"] == "Parameter Detail is not valid. Reason: Detail is a required argument."
    assert r["Entries"][0]["EventId"]


def test_input_forms(events, sqs):
    name, url_path = rule_to_queue(events, sqs, {"source": ["test.inputs"]}, InputPath="$.detail")
    _, arn_const = make_queue(sqs)
    url_const = sqs.get_queue_url(QueueName=arn_const.split(":")[-1])["QueueUrl"]
    _, arn_tr = make_queue(sqs)
    url_tr = sqs.get_queue_url(QueueName=arn_tr.split(":")[-1])["QueueUrl"]
    events.put_targets(Rule=name, Targets=[
        {"Id": "const", "Arn": arn_const, "Input": '{"fixed": true}'},
        {"Id": "tr", "Arn": arn_tr, "InputTransformer": {
            "InputPathsMap": {"instance": "$.detail.instance", "state": "$.detail.state", "n": "$.detail.n"},
            "InputTemplate": '{"text": "<instance> is <state>", "instance": <instance>, "n": <n>, "rule": "<aws.events.rule-name>"}',
        }},
    ])
    events.put_events(Entries=[entry("test.inputs", {"instance": "i-1", "state": "RUNNING", "n": 3})])
    (m,) = receive(sqs, url_path)
    assert json.loads(m["Body"]) == {"instance": "i-1", "state": "RUNNING", "n": 3}
    (m,) = receive(sqs, url_const)
    assert json.loads(m["Body"]) == {"fixed": True}
    (m,) = receive(sqs, url_tr)
    assert json.loads(m["Body"]) == {"text": "i-1 is RUNNING", "instance": "i-1", "n": 3, "rule": name}
    # Two input forms at once is an error.
    err = error_of(events.put_targets, Rule=name, Targets=[{"Id": "x", "Arn": arn_tr, "Input": "{}", "InputPath": "$"}])
    assert err["Error"]["Code"] == "ValidationException"


def test_fifo_target_uses_message_group(events, sqs):
    url, arn = make_queue(sqs, f"f-{uid()}.fifo", FifoQueue="true")
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern='{"source": ["test.fifo"]}')
    err = error_of(events.put_targets, Rule=name, Targets=[{"Id": "f", "Arn": arn}])
    assert err["Error"]["Code"] == "ValidationException"
    events.put_targets(Rule=name, Targets=[{"Id": "f", "Arn": arn, "SqsParameters": {"MessageGroupId": "g1"}}])
    events.put_events(Entries=[entry("test.fifo", {"i": i}) for i in range(3)])
    got = receive(sqs, url, count=3, AttributeNames=["MessageGroupId"])
    assert [json.loads(m["Body"])["detail"]["i"] for m in got] == [0, 1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in got} == {"g1"}


def test_failing_target_is_retried_then_dead_lettered(events, sqs):
    gone_url, gone_arn = make_queue(sqs)
    sqs.delete_queue(QueueUrl=gone_url)
    dlq_url, dlq_arn = make_queue(sqs)
    name = f"r-{uid()}"
    rule_arn = events.put_rule(Name=name, EventPattern='{"source": ["test.dlq"]}')["RuleArn"]
    events.put_targets(Rule=name, Targets=[{
        "Id": "gone", "Arn": gone_arn,
        "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": dlq_arn},
    }])
    began = time.time()
    eid = events.put_events(Entries=[entry("test.dlq", {"x": 1})])["Entries"][0]["EventId"]
    (m,) = receive(sqs, dlq_url, wait=15, MessageAttributeNames=["All"])
    # Two retries with 1 s and 2 s backoff happened before the DLQ.
    assert time.time() - began >= 2.5
    assert json.loads(m["Body"])["id"] == eid
    attrs = {k: v["StringValue"] for k, v in m["MessageAttributes"].items()}
    assert attrs["RULE_ARN"] == rule_arn
    assert attrs["TARGET_ARN"] == gone_arn
    assert attrs["RETRY_ATTEMPTS"] == "2"
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttemptsExhausted"
    assert attrs["ERROR_CODE"] and attrs["ERROR_MESSAGE"]


def test_a_rule_change_applies_to_the_next_put_events(events, sqs):
    # The plugin keeps a bus's parsed rules between calls: each change to a
    # rule or its targets must show in the very next PutEvents.
    a_url, a_arn = make_queue(sqs)
    b_url, b_arn = make_queue(sqs)
    bus = events.create_event_bus(Name=f"b-{uid()}")["EventBusArn"].split("/")[-1]
    name = f"r-{uid()}"

    def put(source):
        r = events.put_events(Entries=[entry(source, {"s": source}, bus=bus)])
        assert r["FailedEntryCount"] == 0

    def bodies(url, wait=2.0):
        return [json.loads(m["Body"])["source"] for m in receive(sqs, url, count=10, wait=wait)]

    events.put_rule(Name=name, EventBusName=bus, EventPattern='{"source": ["test.one"]}')
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "a", "Arn": a_arn}])
    put("test.one")
    assert bodies(a_url) == ["test.one"]
    events.put_rule(Name=name, EventBusName=bus, EventPattern='{"source": ["test.two"]}')
    put("test.one")
    put("test.two")
    assert bodies(a_url) == ["test.two"]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": "b", "Arn": b_arn}])
    put("test.two")
    assert bodies(a_url) == ["test.two"] and bodies(b_url) == ["test.two"]
    events.remove_targets(Rule=name, EventBusName=bus, Ids=["a"])
    put("test.two")
    assert bodies(b_url) == ["test.two"] and bodies(a_url, wait=1.0) == []
    events.disable_rule(Name=name, EventBusName=bus)
    put("test.two")
    assert bodies(b_url, wait=1.0) == []


def test_an_entry_the_queue_refuses_fails_alone_in_its_batch(events, sqs):
    # Two events for one queue go in one SendMessageBatch; the queue takes
    # the small one and refuses the large one (MaximumMessageSize), which
    # goes to the dead-letter queue with SQS's error.
    url, arn = make_queue(sqs, MaximumMessageSize="1024")
    dlq_url, dlq_arn = make_queue(sqs)
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern='{"source": ["test.partial"]}')
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn, "DeadLetterConfig": {"Arn": dlq_arn}}])
    r = events.put_events(Entries=[entry("test.partial", {"n": "small"}),
                                   entry("test.partial", {"n": "x" * 2000})])
    assert r["FailedEntryCount"] == 0
    small_id, large_id = (e["EventId"] for e in r["Entries"])
    (m,) = receive(sqs, url)
    assert json.loads(m["Body"])["id"] == small_id
    (d,) = receive(sqs, dlq_url, MessageAttributeNames=["All"])
    assert json.loads(d["Body"])["id"] == large_id
    assert d["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "InvalidParameterValue"
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_target_of_a_service_not_in_the_bundle_goes_to_the_dlq(events, sqs):
    dlq_url, dlq_arn = make_queue(sqs)
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern='{"source": ["test.nobundle"]}')
    events.put_targets(Rule=name, Targets=[{
        "Id": "ecs", "Arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/c",
        "DeadLetterConfig": {"Arn": dlq_arn},
    }])
    events.put_events(Entries=[entry("test.nobundle", {})])
    (m,) = receive(sqs, dlq_url, wait=5, MessageAttributeNames=["All"])
    assert m["MessageAttributes"]["RETRY_ATTEMPTS"]["StringValue"] == "0"


def test_unknown_target_arns(events):
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern='{"source": ["x"]}')
    err = error_of(events.put_targets, Rule=name, Targets=[{"Id": "a", "Arn": "not-an-arn"}])
    assert err["Error"]["Code"] == "ValidationException"
    assert "Provided Arn is not in correct format" in err["Error"]["Message"]
    r = events.put_targets(Rule=name, Targets=[{"Id": "iam", "Arn": f"arn:aws:iam::{ACCOUNT}:role/x"}])
    assert r["FailedEntryCount"] == 1 and r["FailedEntries"][0]["TargetId"] == "iam"
    assert events.list_targets_by_rule(Rule=name)["Targets"] == []
    err = error_of(events.put_targets, Rule="no-such-rule", Targets=[{"Id": "a", "Arn": "arn:aws:sqs:us-east-1:0:q"}])
    assert err["Error"]["Code"] == "ResourceNotFoundException"


def test_cross_bus_and_cross_account(events, sqs, gateway):
    other_events = gateway.client("events", account=OTHER)
    other_sqs = gateway.client("sqs", account=OTHER)
    # OTHER: bus "inbox" with a rule into a queue.
    inbox = f"inbox-{uid()}"
    inbox_arn = other_events.create_event_bus(Name=inbox)["EventBusArn"]
    _, url = rule_to_queue(other_events, other_sqs, {"source": ["test.cross"]}, bus=inbox)
    # Ours: default bus → OTHER's inbox.
    name = f"r-{uid()}"
    events.put_rule(Name=name, EventPattern='{"source": ["test.cross"]}')
    events.put_targets(Rule=name, Targets=[{"Id": "bus", "Arn": inbox_arn}])
    events.put_events(Entries=[entry("test.cross", {"hop": 1})])
    (m,) = receive(other_sqs, url)
    e = json.loads(m["Body"])
    assert e["detail"] == {"hop": 1} and e["source"] == "test.cross"


class Recorder(http.server.BaseHTTPRequestHandler):
    got = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.got.append((self.path, dict(self.headers), body, time.time()))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *a):
        pass


def test_api_destination(events):
    server = http.server.HTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cname = f"c-{uid()}"
        conn = events.create_connection(Name=cname, AuthorizationType="API_KEY", AuthParameters={
            "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}})
        assert conn["ConnectionState"] == "AUTHORIZED"
        d = events.describe_connection(Name=cname)
        assert d["AuthParameters"]["ApiKeyAuthParameters"] == {"ApiKeyName": "x-api-key"}
        dest_name = f"d-{uid()}"
        dest = events.create_api_destination(
            Name=dest_name, ConnectionArn=conn["ConnectionArn"], HttpMethod="POST",
            InvocationEndpoint=f"http://127.0.0.1:{server.server_port}/hook/*")
        name = f"r-{uid()}"
        events.put_rule(Name=name, EventPattern='{"source": ["test.api"]}')
        events.put_targets(Rule=name, Targets=[{"Id": "api", "Arn": dest["ApiDestinationArn"],
                                                "HttpParameters": {"PathParameterValues": ["orders"]}}])
        events.put_events(Entries=[entry("test.api", {"n": 7})])
        deadline = time.time() + 5
        while not Recorder.got and time.time() < deadline:
            time.sleep(0.05)
        path, headers, body, _ = Recorder.got[0]
        assert path == "/hook/orders"
        assert headers["x-api-key"] == "s3cret"
        assert json.loads(body)["detail"] == {"n": 7}

        # InvocationRateLimitPerSecond 2: four events go out 0.5 s apart.
        Recorder.got.clear()
        events.update_api_destination(Name=dest_name, InvocationRateLimitPerSecond=2)
        events.put_events(Entries=[entry("test.api", {"n": i}) for i in range(4)])
        deadline = time.time() + 6
        while len(Recorder.got) < 4 and time.time() < deadline:
            time.sleep(0.05)
        times = sorted(t for *_, t in Recorder.got)
        assert len(times) == 4
        assert times[-1] - times[0] >= 1.3, times
    finally:
        server.shutdown()


def test_aws_sources_rejected_when_strict(make_gateway, tmp_path):
    plugins = tmp_path / "plugins.toml"
    wasm = Path(__file__).resolve().parents[2] / "target/wasm32-wasip2/plugin/events.wasm"
    plugins.write_text(f'[plugins.events]\npath = "{wasm}"\ncapabilities = ["http"]\n[plugins.events.settings]\nreject_aws_sources = "true"\n')
    g = make_gateway(plugins_file=plugins)
    r = g.client("events").put_events(Entries=[entry("aws.ec2", {}), entry("my.app", {})])
    assert r["FailedEntryCount"] == 1
    assert r["Entries"][0] == {"ErrorCode": "NotAuthorizedForSourceException", "ErrorMessage": "Not authorized for the source."}


def test_s3_object_events_reach_the_default_bus(gateway, events, sqs):
    s3 = gateway.client("s3")
    bucket = f"b-{uid()}"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"EventBridgeConfiguration": {}})
    _, url = rule_to_queue(events, sqs, {"source": ["aws.s3"], "detail": {"bucket": {"name": [bucket]}}})
    s3.put_object(Bucket=bucket, Key="photos/cat.png", Body=b"meow")
    s3.delete_object(Bucket=bucket, Key="photos/cat.png")
    # Two PutEvents, two delivery tasks: EventBridge does not order them.
    got = sorted((json.loads(m["Body"]) for m in receive(sqs, url, count=2)), key=lambda e: e["detail-type"])
    assert [e["detail-type"] for e in got] == ["Object Created", "Object Deleted"]
    assert got[0]["detail"]["object"]["key"] == "photos/cat.png"
    assert got[0]["resources"] == [f"arn:aws:s3:::{bucket}"]
    assert got[0]["detail"]["reason"] == "PutObject" and got[0]["detail"]["object"]["size"] == 4
    assert got[1]["detail"]["reason"] == "DeleteObject"
    assert got[1]["detail"]["deletion-type"] == "Permanently Deleted"


# -------------------------------------------------------- archives, replays


def test_archive_and_replay(events, sqs):
    bus = f"bus-{uid()}"
    bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
    archive = f"a-{uid()}"
    archive_arn = events.create_archive(ArchiveName=archive, EventSourceArn=bus_arn,
                                        EventPattern='{"source": ["test.archive"]}')["ArchiveArn"]
    name, url = rule_to_queue(events, sqs, {"source": ["test.archive"]}, bus=bus)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    time.sleep(1)
    events.put_events(Entries=[entry("test.archive", {"n": 1}, bus=bus), entry("test.other", {"n": 2}, bus=bus)])
    (m,) = receive(sqs, url)
    assert "replay-name" not in json.loads(m["Body"])
    d = events.describe_archive(ArchiveName=archive)
    assert d["EventCount"] == 1 and d["State"] == "ENABLED" and d["SizeBytes"] > 0
    time.sleep(1)
    end = datetime.now(timezone.utc)
    rule_arn = events.describe_rule(Name=name, EventBusName=bus)["Arn"]
    replay = f"rp-{uid()}"
    r = events.start_replay(ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start, EventEndTime=end,
                            Destination={"Arn": bus_arn, "FilterArns": [rule_arn]})
    assert r["State"] == "STARTING"
    (m,) = receive(sqs, url)
    e = json.loads(m["Body"])
    assert e["replay-name"] == replay and e["detail"] == {"n": 1}
    deadline = time.time() + 5
    while events.describe_replay(ReplayName=replay)["State"] != "COMPLETED" and time.time() < deadline:
        time.sleep(0.1)
    assert events.describe_replay(ReplayName=replay)["State"] == "COMPLETED"
    assert [x["ReplayName"] for x in events.list_replays(NamePrefix=replay)["Replays"]] == [replay]
    assert error_of(events.start_replay, ReplayName=replay, EventSourceArn=archive_arn, EventStartTime=start,
                    EventEndTime=end, Destination={"Arn": bus_arn})["Error"]["Code"] == "ResourceAlreadyExistsException"
    assert error_of(events.cancel_replay, ReplayName=replay)["Error"]["Code"] == "IllegalStatusException"
    assert error_of(events.create_archive, ArchiveName=archive, EventSourceArn=bus_arn)["Error"]["Code"] == "ResourceAlreadyExistsException"
    events.delete_archive(ArchiveName=archive)
    assert error_of(events.describe_archive, ArchiveName=archive)["Error"]["Code"] == "ResourceNotFoundException"


# ---------------------------------------------------------------- schedules

BAD_SCHEDULES = [
    "rate(1 minutes)", "rate(0 minutes)", "rate(5 seconds)", "cron(* * * * *)", "cron(0 0 * * * *)",
    "cron(0 0 ? * ? *)", "cron(61 0 * * ? *)", "cron(0 0 ? * 9 *)", "every day",
]


@pytest.mark.parametrize("expr", BAD_SCHEDULES)
def test_bad_schedule_expressions(events, expr):
    err = error_of(events.put_rule, Name=f"r-{uid()}", ScheduleExpression=expr)
    assert err["Error"] == {"Code": "ValidationException", "Message": "Parameter ScheduleExpression is not valid."}


def test_schedule_only_on_default_bus(events):
    bus = f"bus-{uid()}"
    events.create_event_bus(Name=bus)
    err = error_of(events.put_rule, Name="s", EventBusName=bus, ScheduleExpression="rate(5 minutes)")
    assert err["Error"]["Code"] == "ValidationException"
    events.put_rule(Name=f"c-{uid()}", ScheduleExpression="cron(0 12 ? * MON-FRI *)")


def test_rate_schedule_fires_on_the_minute(events, sqs):
    """Waits for the next minute boundary (up to 61 s)."""
    name = f"every-minute-{uid()}"
    if time.time() % 60 > 57:  # too close to the boundary to set up in time
        time.sleep(60 - time.time() % 60 + 0.2)
    rule_arn = events.put_rule(Name=name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    url, arn = make_queue(sqs)
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    boundary = (int(time.time()) // 60 + 1) * 60
    (m,) = receive(sqs, url, wait=boundary - time.time() + 5)
    arrived = time.time()
    e = json.loads(m["Body"])
    assert e["source"] == "aws.events" and e["detail-type"] == "Scheduled Event"
    assert e["resources"] == [rule_arn] and e["detail"] == {}
    assert e["time"] == datetime.fromtimestamp(boundary, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert boundary <= arrived < boundary + 1.5, f"{arrived - boundary:.3f} s after the minute"
    events.disable_rule(Name=name)


# -------------------------------------------------- sources, endpoints, misc


def test_partner_sources_and_endpoints(events, gateway):
    partner = gateway.client("events", account=OTHER)
    src = f"aws.partner/example.com/{uid()}/orders"
    partner.create_partner_event_source(Name=src, Account=ACCOUNT)
    assert events.describe_event_source(Name=src)["State"] == "PENDING"
    events.activate_event_source(Name=src)
    assert events.describe_event_source(Name=src)["State"] == "ACTIVE"
    assert error_of(events.activate_event_source, Name=src)["Error"]["Code"] == "InvalidStateException"
    assert [a["Account"] for a in partner.list_partner_event_source_accounts(EventSourceName=src)["PartnerEventSourceAccounts"]] == [ACCOUNT]
    events.create_event_bus(Name=src, EventSourceName=src)
    r = partner.put_partner_events(Entries=[{"Source": src, "DetailType": "order", "Detail": "{}"}])
    assert r["FailedEntryCount"] == 0
    partner.delete_partner_event_source(Name=src, Account=ACCOUNT)
    assert error_of(events.describe_event_source, Name=src)["Error"]["Code"] == "ResourceNotFoundException"

    name = f"ep-{uid()}"
    buses = [{"EventBusArn": f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"},
             {"EventBusArn": f"arn:aws:events:us-west-2:{ACCOUNT}:event-bus/default"}]
    routing = {"FailoverConfig": {"Primary": {"HealthCheck": "arn:aws:route53:::healthcheck/x"},
                                  "Secondary": {"Route": "us-west-2"}}}
    ep = events.create_endpoint(Name=name, RoutingConfig=routing, EventBuses=buses)
    assert ep["State"] == "ACTIVE"
    d = events.describe_endpoint(Name=name)
    assert d["EndpointId"] and d["EndpointUrl"].startswith("https://")
    assert name in [e["Name"] for e in events.list_endpoints()["Endpoints"]]
    events.delete_endpoint(Name=name)
    assert error_of(events.describe_endpoint, Name=name)["Error"]["Code"] == "ResourceNotFoundException"


def test_unknown_resources(events):
    assert error_of(events.describe_connection, Name="nope")["Error"]["Code"] == "ResourceNotFoundException"
    assert error_of(events.describe_api_destination, Name="nope")["Error"]["Code"] == "ResourceNotFoundException"
    assert error_of(events.describe_replay, ReplayName="nope")["Error"]["Code"] == "ResourceNotFoundException"
    assert error_of(events.list_tags_for_resource, ResourceARN=f"arn:aws:events:us-east-1:{ACCOUNT}:rule/nope")["Error"]["Code"] == "ResourceNotFoundException"
    assert error_of(events.list_rules, NextToken="garbage")["Error"]["Code"] == "ValidationException"


def test_aws_cli(gateway):
    name = f"cli-{uid()}"
    out = gateway.aws("events", "put-rule", "--name", name, "--event-pattern", '{"source": ["cli.test"]}')
    assert json.loads(out.stdout)["RuleArn"].endswith(f":rule/{name}")
    rules = json.loads(gateway.aws("events", "list-rules", "--name-prefix", name).stdout)["Rules"]
    assert [r["Name"] for r in rules] == [name]
    out = gateway.aws("events", "put-events", "--entries", json.dumps([{"Source": "cli.test", "DetailType": "t", "Detail": "{}"}]))
    assert json.loads(out.stdout)["FailedEntryCount"] == 0
    bad = gateway.aws("events", "put-rule", "--name", name, "--schedule-expression", "rate(1 minutes)", check=False)
    assert bad.returncode != 0 and "Parameter ScheduleExpression is not valid." in bad.stderr
