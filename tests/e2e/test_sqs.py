"""SQS through the whole gateway with boto3 (JSON protocol) and raw query
requests: queues, messages, visibility, long polling, FIFO, redrive, errors."""

import hashlib
import json
import struct
import threading
import time
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def new_queue(sqs, suffix="", **attrs):
    name = f"q-{uuid.uuid4().hex[:10]}{suffix}"
    return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"], name


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def md5_of_attributes(attrs):
    buf = b""
    for name in sorted(attrs):
        v = attrs[name]
        buf += struct.pack(">I", len(name)) + name.encode()
        buf += struct.pack(">I", len(v["DataType"])) + v["DataType"].encode()
        if "StringValue" in v:
            buf += b"\x01" + struct.pack(">I", len(v["StringValue"].encode())) + v["StringValue"].encode()
        else:
            buf += b"\x02" + struct.pack(">I", len(v["BinaryValue"])) + v["BinaryValue"]
    return hashlib.md5(buf).hexdigest()


def test_queue_lifecycle_and_urls(gateway, sqs):
    url, name = new_queue(sqs)
    assert url == f"{gateway.url}/{ACCOUNT}/{name}"  # the Host the client used
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    # Idempotent with equal attributes, QueueNameExists otherwise.
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "40"})
    assert sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "40"})["QueueUrl"] == url
    err = error_of(sqs.create_queue, QueueName=name, Attributes={"VisibilityTimeout": "41"})
    assert err["Error"]["Code"] in ("QueueAlreadyExists", "QueueNameExists")
    assert name in [u.rsplit("/", 1)[1] for u in sqs.list_queues(QueueNamePrefix=name[:8])["QueueUrls"]]
    # Any host form of the URL names the same queue.
    other = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}"
    assert sqs.get_queue_attributes(QueueUrl=other, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "40"
    }
    sqs.delete_queue(QueueUrl=url)
    err = error_of(sqs.get_queue_url, QueueName=name)
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_list_queues_pages(sqs):
    prefix = f"pg{uuid.uuid4().hex[:6]}"
    for i in range(3):
        sqs.create_queue(QueueName=f"{prefix}-{i}")
    page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(page["QueueUrls"]) == 2 and "NextToken" in page
    rest = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["QueueUrls"]) == 1 and "NextToken" not in rest
    assert rest["QueueUrls"][0].endswith(f"{prefix}-2")


def test_attributes_all_and_counters(sqs):
    url, name = new_queue(sqs, DelaySeconds="0", MessageRetentionPeriod="600")
    sqs.send_message(QueueUrl=url, MessageBody="a")
    sqs.send_message(QueueUrl=url, MessageBody="b")
    sqs.send_message(QueueUrl=url, MessageBody="c", DelaySeconds=30)
    sqs.receive_message(QueueUrl=url)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"
    assert attrs["MessageRetentionPeriod"] == "600"
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MaximumMessageSize"] == "1048576"
    assert int(attrs["CreatedTimestamp"]) > 1_600_000_000
    err = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"VisibilityTimeout": "99999"})
    assert err["Error"]["Code"] == "InvalidAttributeValue"
    # An unknown attribute name is SQS's InvalidAttributeName, not the
    # codec's enum validation (quirks/sqs.rs: open_enums).
    err = error_of(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["Nope"])
    assert err["Error"]["Code"] == "InvalidAttributeName"
    assert err["Error"]["Message"] == "Unknown Attribute Nope."
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    err = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"Nope": "1"})
    assert err["Error"]["Code"] == "InvalidAttributeName"
    err = error_of(sqs.create_queue, QueueName=f"q-{uuid.uuid4().hex[:8]}", Attributes={"Nope": "1"})
    assert err["Error"]["Code"] == "InvalidAttributeName"
    # ReceiveMessage's AttributeNames carries message attribute names, which
    # the model types with the queue attribute enum: they are accepted.
    sqs.send_message(QueueUrl=url, MessageBody="x")
    got = sqs.receive_message(QueueUrl=url, AttributeNames=["SentTimestamp", "ApproximateReceiveCount"])
    assert set(got["Messages"][0]["Attributes"]) == {"SentTimestamp", "ApproximateReceiveCount"}


def test_send_receive_delete_with_md5s(sqs):
    url, _ = new_queue(sqs)
    attrs = {
        "color": {"DataType": "String", "StringValue": "blue"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
        "other.x": {"DataType": "String.custom", "StringValue": "y"},
    }
    out = sqs.send_message(QueueUrl=url, MessageBody="héllo", MessageAttributes=attrs)
    assert out["MD5OfMessageBody"] == hashlib.md5("héllo".encode()).hexdigest()
    assert out["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    got = sqs.receive_message(
        QueueUrl=url,
        MessageAttributeNames=["color", "other.*"],
        MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
    )["Messages"]
    assert len(got) == 1
    m = got[0]
    assert m["Body"] == "héllo" and m["MessageId"] == out["MessageId"]
    assert set(m["MessageAttributes"]) == {"color", "other.x"}
    assert m["MD5OfMessageAttributes"] == md5_of_attributes({k: attrs[k] for k in ("color", "other.x")})
    assert m["Attributes"]["ApproximateReceiveCount"] == "1"
    assert abs(int(m["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 30
    # In flight: nothing more to receive.
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_visibility_timeout_and_stale_handles(sqs):
    url, _ = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="v")
    first = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    time.sleep(1.2)
    second = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30, AttributeNames=["All"])["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    # The first handle is stale: deleting with it removes nothing.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    # ChangeMessageVisibility to 0 makes it visible again at once.
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    err = error_of(sqs.delete_message, QueueUrl=url, ReceiptHandle="garbage!")
    assert err["Error"]["Code"] == "ReceiptHandleIsInvalid"


def test_batches_and_entry_errors(sqs):
    url, _ = new_queue(sqs)
    out = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "a", "MessageBody": "one"},
            {"Id": "b", "MessageBody": "two", "DelaySeconds": 0},
            {"Id": "bad", "MessageBody": "x", "MessageAttributes": {"aws.no": {"DataType": "String", "StringValue": "v"}}},
        ],
    )
    assert sorted(s["Id"] for s in out["Successful"]) == ["a", "b"]
    assert out["Failed"][0]["Id"] == "bad" and out["Failed"][0]["SenderFault"] is True
    assert out["Failed"][0]["Code"] == "InvalidParameterValue"
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert sorted(m["Body"] for m in msgs) == ["one", "two"]
    handles = [{"Id": f"e{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)]
    vis = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{**h, "VisibilityTimeout": 120} for h in handles]
    )
    assert len(vis["Successful"]) == 2
    deleted = sqs.delete_message_batch(QueueUrl=url, Entries=handles)
    assert sorted(s["Id"] for s in deleted["Successful"]) == ["e0", "e1"]
    err = error_of(sqs.send_message_batch, QueueUrl=url, Entries=[{"Id": "x", "MessageBody": "1"}] * 2)
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    many = [{"Id": f"i{i}", "MessageBody": "m"} for i in range(11)]
    err = error_of(sqs.send_message_batch, QueueUrl=url, Entries=many)
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"
    err = error_of(sqs.delete_message_batch, QueueUrl=url, Entries=[])
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.EmptyBatchRequest"


def test_delay_and_max_messages(sqs):
    url, _ = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=1)
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"now{i}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]
    assert len(got) == 3
    got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in got) == [f"now{i}" for i in range(5)]
    time.sleep(1.1)
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "later"
    err = error_of(sqs.receive_message, QueueUrl=url, MaxNumberOfMessages=11)
    assert err["Error"]["Code"] == "InvalidParameterValue"


def test_receive_reaches_past_many_in_flight_messages(sqs):
    url, _ = new_queue(sqs)
    for start in range(0, 45, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"m{i}", "MessageBody": str(i)} for i in range(start, min(start + 10, 45))]
        )
    seen = []
    for _ in range(5):
        seen += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(seen, key=int) == [str(i) for i in range(45)]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_long_polling_returns_when_a_message_arrives(gateway, sqs):
    url, _ = new_queue(sqs)
    sender = gateway.client("sqs")
    sender.get_queue_url(QueueName=url.rsplit("/", 1)[1])  # warm the client up
    sent_at = []

    def send_later():
        time.sleep(1.0)
        sent_at.append(time.monotonic())
        sender.send_message(QueueUrl=url, MessageBody="wake")

    t = threading.Thread(target=send_later)
    start = time.monotonic()
    t.start()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
    done = time.monotonic()
    t.join()
    assert got["Messages"][0]["Body"] == "wake"
    assert done - sent_at[0] < 0.1, f"returned {done - sent_at[0]:.3f}s after the send"
    assert done - start < 5
    # With nothing to receive, the poll lasts its wait time; the queue's
    # ReceiveMessageWaitTimeSeconds applies when the request names none.
    start = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert 0.9 < time.monotonic() - start < 3
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ReceiveMessageWaitTimeSeconds": "1"})
    start = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    assert 0.9 < time.monotonic() - start < 3


def test_concurrent_long_pollers_get_each_message_once(gateway, sqs):
    url, _ = new_queue(sqs)
    received, errors = [], []

    def consume():
        c = gateway.client("sqs")
        try:
            while True:
                msgs = c.receive_message(QueueUrl=url, WaitTimeSeconds=2, MaxNumberOfMessages=5).get("Messages", [])
                if not msgs:
                    return
                for m in msgs:
                    received.append(m["Body"])
                    c.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    consumers = [threading.Thread(target=consume) for _ in range(4)]
    for t in consumers:
        t.start()
    producer = gateway.client("sqs")
    for i in range(60):
        producer.send_message(QueueUrl=url, MessageBody=str(i))
    for t in consumers:
        t.join()
    assert not errors, errors
    assert sorted(received, key=int) == [str(i) for i in range(60)]


def test_peek_endpoint_leaves_messages_alone(gateway, sqs):
    url, _ = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="peek me", MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    r = requests.get(f"{gateway.url}/_ministack/sqs/messages", params={"QueueUrl": url})
    assert r.status_code == 200
    queues = r.json()["messages"][ACCOUNT]["us-east-1"]
    assert list(queues) == [url]
    [m] = queues[url]
    assert m["Body"] == "peek me" and m["IsVisible"] is True and m["ReceiveCount"] == 0
    assert m["MessageAttributes"]["k"]["StringValue"] == "v"
    # Peeking changed nothing: the message is still receivable, first time.
    got = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"
    r = requests.get(f"{gateway.url}/_ministack/sqs/messages", params={"QueueUrl": url})
    assert r.json()["messages"][ACCOUNT]["us-east-1"][url][0]["IsVisible"] is False
    r = requests.get(f"{gateway.url}/_ministack/sqs/messages", params={"account": "123456789012"})
    assert r.status_code == 400


def test_aws_cli(gateway):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    url = json.loads(gateway.aws("sqs", "create-queue", "--queue-name", name).stdout)["QueueUrl"]
    assert url.endswith(f"/{ACCOUNT}/{name}")
    sent = json.loads(gateway.aws("sqs", "send-message", "--queue-url", url, "--message-body", "from cli").stdout)
    assert sent["MD5OfMessageBody"] == hashlib.md5(b"from cli").hexdigest()
    got = json.loads(gateway.aws("sqs", "receive-message", "--queue-url", url).stdout)
    assert got["Messages"][0]["Body"] == "from cli"
    failed = gateway.aws("sqs", "get-queue-url", "--queue-name", name + "-none", check=False)
    assert failed.returncode != 0
    assert "NonExistentQueue" in failed.stderr


def test_purge_and_tags(sqs):
    url, name = new_queue(sqs)
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    sqs.tag_queue(QueueUrl=url, Tags={"team": "a", "env": "dev"})
    sqs.untag_queue(QueueUrl=url, TagKeys=["env"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a"}
    created = sqs.create_queue(QueueName=name + "t", tags={"k": "v"})["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=created)["Tags"] == {"k": "v"}


def test_fifo_order_groups_and_dedup(sqs):
    url, _ = new_queue(sqs, ".fifo", FifoQueue="true")
    seqs = []
    for i in range(3):
        r = sqs.send_message(QueueUrl=url, MessageBody=f"g1-{i}", MessageGroupId="g1", MessageDeduplicationId=f"d{i}")
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    dup = sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g1", MessageDeduplicationId="d0")
    sqs.send_message(QueueUrl=url, MessageBody="g2-0", MessageGroupId="g2", MessageDeduplicationId="e0")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in first] == ["g1-0", "g1-1"]
    assert first[0]["MessageId"] == dup["MessageId"]
    assert first[0]["Attributes"]["MessageGroupId"] == "g1"
    assert first[0]["Attributes"]["SequenceNumber"] == str(seqs[0])
    # g1 is blocked while its messages are in flight; g2 is not.
    nxt = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in nxt] == ["g2-0"]
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["g1-2"]
    err = error_of(sqs.send_message, QueueUrl=url, MessageBody="x")
    assert err["Error"]["Code"] == "MissingParameter"
    err = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g")
    assert err["Error"]["Code"] == "InvalidParameterValue"
    # Per-message delays are a standard-queue feature.
    err = error_of(
        sqs.send_message, QueueUrl=url, MessageBody="x", MessageGroupId="g", MessageDeduplicationId="z", DelaySeconds=5
    )
    assert err["Error"]["Code"] == "InvalidParameterValue"
    # A FIFO queue's name must end .fifo.
    err = error_of(sqs.create_queue, QueueName=f"nf-{uuid.uuid4().hex[:6]}", Attributes={"FifoQueue": "true"})
    assert err["Error"]["Code"] == "InvalidParameterValue"


def test_fifo_content_based_dedup(sqs):
    url, _ = new_queue(sqs, ".fifo", FifoQueue="true", ContentBasedDeduplication="true")
    a = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    b = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "1"
    assert attrs["FifoQueue"] == "true" and attrs["ContentBasedDeduplication"] == "true"


def test_redrive_to_dead_letter_queue(sqs):
    dlq_url, dlq_name = new_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url, _ = new_queue(sqs, RedrivePolicy=policy)
    sent = sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]["Body"] == "poison"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    moved = sqs.receive_message(QueueUrl=dlq_url)["Messages"][0]
    assert moved["MessageId"] == sent["MessageId"]
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq_url)["queueUrls"] == [url]


def test_permissions(sqs):
    url, _ = new_queue(sqs)
    sqs.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111111111111"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert policy["Statement"][0]["Sid"] == "l1"
    assert policy["Statement"][0]["Action"] == "SQS:SendMessage"
    sqs.remove_permission(QueueUrl=url, Label="l1")
    assert "Policy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    err = error_of(sqs.remove_permission, QueueUrl=url, Label="l1")
    assert err["Error"]["Code"] == "InvalidParameterValue"


def test_queues_are_per_account_and_urls_reach_the_owner(gateway):
    a = gateway.client("sqs", account="111111111111")
    b = gateway.client("sqs", account="222222222222")
    name = f"acct-{uuid.uuid4().hex[:8]}"
    url = a.create_queue(QueueName=name)["QueueUrl"]
    assert "/111111111111/" in url
    assert error_of(b.get_queue_url, QueueName=name)["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    assert b.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="111111111111")["QueueUrl"] == url
    # Account B sends to A's queue by URL; the message lands in A's queue.
    b.send_message(QueueUrl=url, MessageBody="from b")
    assert a.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "from b"
    err = error_of(b.send_message, QueueUrl=url + "-missing", MessageBody="x")
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"


def test_bad_input(sqs):
    url, _ = new_queue(sqs)
    err = error_of(sqs.send_message, QueueUrl=url, MessageBody="x" * (1_048_576 + 1))
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(sqs.send_message, QueueUrl=url, MessageBody="x", MessageAttributes={"a": {"DataType": "Weird", "StringValue": "v"}})
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(sqs.send_message, QueueUrl=url, MessageBody="bad\x01char")
    assert err["Error"]["Code"] == "InvalidMessageContents"
    err = error_of(sqs.send_message, QueueUrl=url + "-missing", MessageBody="x")
    assert err["Error"]["Code"] == "AWS.SimpleQueueService.NonExistentQueue"
    err = error_of(sqs.create_queue, QueueName="bad name!")
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(sqs.create_queue, QueueName="q" + uuid.uuid4().hex[:6], Attributes={"Bogus": "1"})
    assert err["Error"]["Code"] == "InvalidAttributeName"


def test_json_error_shape_and_query_header(gateway):
    r = requests.post(
        gateway.url,
        data=json.dumps({"QueueUrl": f"{gateway.url}/{ACCOUNT}/nope-{uuid.uuid4().hex[:6]}"}),
        headers={
            "X-Amz-Target": "AmazonSQS.GetQueueAttributes",
            "Content-Type": "application/x-amz-json-1.0",
            "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x",
        },
    )
    assert r.status_code == 400
    assert r.json()["__type"].endswith("QueueDoesNotExist")
    assert r.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"


def test_message_move_task_redrives_back_to_the_source(sqs):
    dlq_url, _ = new_queue(sqs)
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src_url, _ = new_queue(sqs, RedrivePolicy=json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"}))
    for body in ("m1", "m2"):
        sqs.send_message(QueueUrl=src_url, MessageBody=body)
    sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=src_url, MaxNumberOfMessages=10)
    dlq_attrs = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["ApproximateNumberOfMessages"])
    assert dlq_attrs["Attributes"]["ApproximateNumberOfMessages"] == "2"
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert tasks[0]["TaskHandle"] == handle
    assert tasks[0]["Status"] == "COMPLETED" and tasks[0]["ApproximateNumberOfMessagesMoved"] == 2
    back = sqs.receive_message(
        QueueUrl=src_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["ApproximateReceiveCount"]
    )
    assert sorted(m["Body"] for m in back["Messages"]) == ["m1", "m2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in back["Messages"]} == {"1"}
    err = error_of(sqs.cancel_message_move_task, TaskHandle=handle)
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    # A queue that is nobody's dead-letter queue cannot be a source.
    err = error_of(sqs.start_message_move_task, SourceArn=dlq_arn.replace(dlq_arn.rsplit(":", 1)[1], src_url.rsplit("/", 1)[1]))
    assert err["Error"]["Code"] == "InvalidParameterValue"
    err = error_of(sqs.list_message_move_tasks, SourceArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing-q")
    assert err["Error"]["Code"] == "ResourceNotFoundException"


def test_a_batch_is_received_in_entry_order(sqs):
    # A batch reads the clock once and gives each entry the next microsecond,
    # so the messages of two batches still come back in the order sent.
    url, _ = new_queue(sqs)
    for b in range(2):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{b * 10 + i}"} for i in range(10)]
        )
    got = []
    for _ in range(2):
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
        got += [int(m["Body"]) for m in msgs]
    assert got == list(range(20))


def test_message_ids_are_distinct_random_uuids(sqs):
    # Ids come from a pool of random bytes the plugin draws from the host 256
    # at a time (16 UUIDs); 130 of them cross it eight times, in batches and
    # alone. A pool refilled wrong (or not at all: it is zeroed as it is
    # used) repeats ids or loses their randomness.
    q, _ = new_queue(sqs)
    ids = []
    for _ in range(9):
        r = sqs.send_message_batch(
            QueueUrl=q, Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(10)]
        )
        assert not r.get("Failed")
        ids += [e["MessageId"] for e in r["Successful"]]
    ids += [sqs.send_message(QueueUrl=q, MessageBody="s")["MessageId"] for _ in range(40)]
    assert len(ids) == 130 and len(set(ids)) == 130
    parsed = [uuid.UUID(i) for i in ids]
    assert all(u.version == 4 and str(u) == i for u, i in zip(parsed, ids))
    # Random bits, not a counter or zeros: each of the 122 random bits is set
    # in some ids and clear in others.
    values = [u.int for u in parsed]
    for bit in range(128):
        if bit in range(76, 80) or bit in (62, 63):  # version and variant bits
            continue
        ones = sum(v >> bit & 1 for v in values)
        assert 0 < ones < len(values), bit
