"""Topics across plugins: the `counter` test plugin (granted
`listens = ["sqs", "dynamodb"]` in tests/plugins.toml) waits on a topic of
SQS or DynamoDB with tasks.wait-on and, once woken, reads through the other
service what woke it."""

import json
import threading
import time
import uuid


def wait_for_topic(g, service, topic, timeout_ms, then=None):
    body = {"Service": service, "Topic": topic, "TimeoutMs": timeout_ms}
    if then:
        body.update(ThenService=then[0], ThenOperation=then[1], ThenInput=json.dumps(then[2]))
    return g.rest_call("POST", "/topics/wait", "counter", body=body)


def start_waiter(g, *args, **kw):
    done = {}

    def run():
        done["response"] = wait_for_topic(g, *args, **kw)
        done["at"] = time.time()

    t = threading.Thread(target=run)
    t.start()
    # The waiter is registered once its request is in the wait.
    time.sleep(0.5)
    return t, done


def test_a_waiter_wakes_on_an_sqs_send_and_sees_the_message(gateway):
    sqs = gateway.client("sqs")
    name = f"events-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    then = ("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["ApproximateNumberOfMessages"]})
    thread, done = start_waiter(gateway, "sqs", f"queue:{name}", 10_000, then)
    assert "response" not in done, "the waiter returned before anything was sent"
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    sent = time.time()
    thread.join(15)
    r = done["response"]
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["Woken"] is True
    assert out["Generation"] >= 1
    latency_ms = (done["at"] - sent) * 1000
    print(f"waiter answered {latency_ms:.1f} ms after SendMessage returned")
    assert latency_ms < 500, f"woke {latency_ms:.0f} ms after the send"
    attrs = json.loads(out["ThenOutput"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"


def test_a_waiter_wakes_on_a_dynamodb_stream_record(gateway):
    ddb = gateway.client("dynamodb")
    table = f"events-{uuid.uuid4().hex[:8]}"
    desc = ddb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    arn = desc["LatestStreamArn"]
    then = ("dynamodb", "Scan", {"TableName": table})
    thread, done = start_waiter(gateway, "dynamodb", f"stream:{arn}", 10_000, then)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    written = time.time()
    thread.join(15)
    out = done["response"].json()
    assert out["Woken"] is True, out
    assert (done["at"] - written) * 1000 < 500
    assert json.loads(out["ThenOutput"])["Count"] == 1


def test_a_write_in_another_account_does_not_wake(gateway):
    sqs = gateway.client("sqs")
    other = gateway.client("sqs", account="333333333333")
    name = f"events-{uuid.uuid4().hex[:8]}"
    sqs.create_queue(QueueName=name)
    other_url = other.create_queue(QueueName=name)["QueueUrl"]
    thread, done = start_waiter(gateway, "sqs", f"queue:{name}", 1000)
    other.send_message(QueueUrl=other_url, MessageBody="elsewhere")
    thread.join(10)
    out = done["response"].json()
    assert out["Woken"] is False
    assert out["WaitedMs"] >= 900


def test_a_wait_times_out_without_a_notify(gateway):
    r = wait_for_topic(gateway, "sqs", f"queue:none-{uuid.uuid4().hex[:6]}", 300)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["Woken"] is False
    assert 250 <= out["WaitedMs"] < 3000


def test_a_topic_without_a_grant_is_refused(gateway):
    r = wait_for_topic(gateway, "kms", "anything", 100)
    assert r.status_code == 403, r.text
    message = r.json().get("message") or r.json().get("Message")
    assert "may not listen to topics of kms" in message
    assert 'listens = ["kms"]' in message
    r = wait_for_topic(gateway, "nosuch", "anything", 100)
    assert r.status_code == 403
