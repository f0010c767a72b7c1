"""SNS through the whole gateway with boto3 (query protocol) and a few aws
CLI calls: topics, subscriptions, publish and fan-out to SQS (raw and
envelope, FIFO, two accounts), filter policies operator by operator, an
HTTP subscriber with the confirmation flow, platform endpoints, SMS, errors."""

import base64
import http.server
import json
import queue as queuelib
import threading
import time
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"
OTHER = "111111111111"


@pytest.fixture
def sns(gateway):
    return gateway.client("sns")


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def new_topic(sns, suffix="", **attrs):
    name = f"t-{uid()}{suffix}"
    return sns.create_topic(Name=name, Attributes=attrs)["TopicArn"]


def new_queue(sqs, suffix="", **attrs):
    url = sqs.create_queue(QueueName=f"q-{uid()}{suffix}", Attributes=attrs)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def drain(sqs, url, wait=0):
    out = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not got:
            return out
        out += got
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        wait = 0


def deliveries(gateway, **params):
    r = requests.get(gateway.url + "/_ministack/sns/messages", params=params)
    assert r.status_code == 200
    return r.json()["messages"].get(ACCOUNT, {}).get("us-east-1", [])


# --- topics ---------------------------------------------------------------


def test_topic_lifecycle_attributes_and_idempotent_create(sns):
    name = f"t-{uid()}"
    arn = sns.create_topic(Name=name)["TopicArn"]
    assert arn == f"arn:aws:sns:us-east-1:{ACCOUNT}:{name}"
    assert sns.create_topic(Name=name)["TopicArn"] == arn
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn and attrs["Owner"] == ACCOUNT
    policy = json.loads(attrs["Policy"])
    assert policy["Statement"][0]["Sid"] == "__default_statement_ID"
    assert policy["Statement"][0]["Resource"] == arn
    assert attrs["SubscriptionsConfirmed"] == "0" and attrs["SubscriptionsPending"] == "0"
    assert attrs["SubscriptionsDeleted"] == "0"
    assert "EffectiveDeliveryPolicy" in attrs and "FifoTopic" not in attrs

    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Orders")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="TracingConfig", AttributeValue="Active")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="KmsMasterKeyId", AttributeValue="alias/aws/sns")
    dp = json.dumps({"http": {"defaultHealthyRetryPolicy": {"numRetries": 5}}})
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DeliveryPolicy", AttributeValue=dp)
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Orders" and attrs["TracingConfig"] == "Active"
    assert attrs["SignatureVersion"] == "2" and attrs["KmsMasterKeyId"] == "alias/aws/sns"
    assert attrs["DeliveryPolicy"] == dp and attrs["EffectiveDeliveryPolicy"] == dp

    # Same attributes: same topic; different ones: InvalidParameter.
    assert sns.create_topic(Name=name, Attributes={"DisplayName": "Orders"})["TopicArn"] == arn
    err = error_of(sns.create_topic, Name=name, Attributes={"DisplayName": "Other"})
    assert err["Error"]["Code"] == "InvalidParameter"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 400

    for bad in [("SignatureVersion", "3"), ("TracingConfig", "Sometimes"), ("Policy", "{nope"), ("Colour", "x")]:
        err = error_of(sns.set_topic_attributes, TopicArn=arn, AttributeName=bad[0], AttributeValue=bad[1])
        assert err["Error"]["Code"] == "InvalidParameter", bad

    sns.delete_topic(TopicArn=arn)
    err = error_of(sns.get_topic_attributes, TopicArn=arn)
    assert err["Error"]["Code"] == "NotFound"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 404
    sns.delete_topic(TopicArn=arn)  # deleting again succeeds, as in AWS


def test_fifo_topics_and_topic_names(sns):
    arn = new_topic(sns, ".fifo", FifoTopic="true", ContentBasedDeduplication="true")
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "true"
    sns.set_topic_attributes(TopicArn=arn, AttributeName="ContentBasedDeduplication", AttributeValue="false")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["ContentBasedDeduplication"] == "false"

    for name, attrs in [
        (f"n-{uid()}.fifo", {}),  # .fifo needs FifoTopic
        (f"n-{uid()}", {"FifoTopic": "true"}),  # FifoTopic needs .fifo
        ("bad name!", {}),
        ("x" * 257, {}),
    ]:
        err = error_of(sns.create_topic, Name=name, Attributes=attrs)
        assert err["Error"]["Code"] == "InvalidParameter", name
    std = new_topic(sns)
    err = error_of(sns.set_topic_attributes, TopicArn=std, AttributeName="ContentBasedDeduplication", AttributeValue="true")
    assert err["Error"]["Code"] == "InvalidParameter"


def test_list_topics_pages_by_100(gateway):
    sns = gateway.client("sns", region="eu-west-3")
    names = sorted(f"p-{i:03d}-{uid()}" for i in range(105))
    for n in names:
        sns.create_topic(Name=n)
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and "NextToken" in first
    second = sns.list_topics(NextToken=first["NextToken"])
    assert "NextToken" not in second
    got = [t["TopicArn"].rsplit(":", 1)[1] for t in first["Topics"] + second["Topics"]]
    assert sorted(got) == names
    # Paginator, as SDKs use it.
    pages = list(sns.get_paginator("list_topics").paginate())
    assert sum(len(p["Topics"]) for p in pages) == 105


def test_tags_permissions_and_data_protection(sns):
    arn = new_topic(sns)
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "a"}, {"Key": "env", "Value": "dev"}])
    sns.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    missing = arn + "-missing"
    err = error_of(sns.list_tags_for_resource, ResourceArn=missing)
    assert err["Error"]["Code"] == "ResourceNotFound"
    err = error_of(sns.tag_resource, ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(51)])
    assert err["Error"]["Code"] == "TagLimitExceeded"
    # Tags at creation; a different set for an existing name is refused.
    name = f"t-{uid()}"
    tagged = sns.create_topic(Name=name, Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
    assert sns.list_tags_for_resource(ResourceArn=tagged)["Tags"] == [{"Key": "a", "Value": "1"}]
    err = error_of(sns.create_topic, Name=name, Tags=[{"Key": "a", "Value": "2"}])
    assert err["Error"]["Code"] == "InvalidParameter"

    sns.add_permission(TopicArn=arn, Label="pub", AWSAccountId=[OTHER], ActionName=["Publish"])
    stmts = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    added = [s for s in stmts if s["Sid"] == "pub"][0]
    assert added["Principal"] == {"AWS": f"arn:aws:iam::{OTHER}:root"}
    assert added["Action"] == "SNS:Publish" and added["Resource"] == arn
    err = error_of(sns.add_permission, TopicArn=arn, Label="pub", AWSAccountId=[OTHER], ActionName=["Publish"])
    assert err["Error"]["Code"] == "InvalidParameter"
    sns.remove_permission(TopicArn=arn, Label="pub")
    stmts = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])["Statement"]
    assert [s["Sid"] for s in stmts] == ["__default_statement_ID"]

    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == ""
    policy = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=policy)
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == policy
    err = error_of(sns.put_data_protection_policy, ResourceArn=arn, DataProtectionPolicy="not json")
    assert err["Error"]["Code"] == "InvalidParameter"
    err = error_of(sns.get_data_protection_policy, ResourceArn=missing)
    assert err["Error"]["Code"] == "NotFound"


# --- subscriptions ----------------------------------------------------------


def test_subscriptions_lifecycle(gateway, sns, sqs):
    topic = new_topic(sns)
    _, qarn = new_queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    # Idempotent for the same endpoint.
    assert sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"] == sub
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["Protocol"] == "sqs" and attrs["Endpoint"] == qarn and attrs["TopicArn"] == topic
    assert attrs["PendingConfirmation"] == "false" and attrs["RawMessageDelivery"] == "false"
    assert attrs["Owner"] == ACCOUNT

    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RawMessageDelivery", AttributeValue="true")
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue='{"a": ["b"]}')
    redrive = json.dumps({"deadLetterTargetArn": qarn})
    sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="RedrivePolicy", AttributeValue=redrive)
    attrs = sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    assert attrs["RawMessageDelivery"] == "true" and attrs["FilterPolicy"] == '{"a": ["b"]}'
    assert attrs["FilterPolicyScope"] == "MessageAttributes" and attrs["RedrivePolicy"] == redrive
    for name, value in [("RawMessageDelivery", "maybe"), ("FilterPolicy", '{"a": "b"}'),
                        ("FilterPolicyScope", "Body"), ("Colour", "x")]:
        err = error_of(sns.set_subscription_attributes, SubscriptionArn=sub, AttributeName=name, AttributeValue=value)
        assert err["Error"]["Code"] == "InvalidParameter", name

    # Email subscriptions are confirmed at once (a local convenience).
    email_arn = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="me@example.com")["SubscriptionArn"]
    assert email_arn.startswith(topic + ":")
    assert sns.get_subscription_attributes(SubscriptionArn=email_arn)["Attributes"]["PendingConfirmation"] == "false"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted(s["SubscriptionArn"] for s in listed) == sorted([sub, email_arn])
    assert {s["SubscriptionArn"] for s in sns.list_subscriptions()["Subscriptions"]} >= {sub}
    attrs = sns.get_topic_attributes(TopicArn=topic)["Attributes"]
    assert attrs["SubscriptionsConfirmed"] == "2" and attrs["SubscriptionsPending"] == "0"
    err = error_of(sns.confirm_subscription, TopicArn=topic, Token="0" * 10)
    assert err["Error"]["Code"] == "InvalidParameter"

    sns.unsubscribe(SubscriptionArn=sub)
    err = error_of(sns.get_subscription_attributes, SubscriptionArn=sub)
    assert err["Error"]["Code"] == "NotFound"
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["SubscriptionsDeleted"] == "1"

    for protocol, endpoint in [("carrier-pigeon", "x"), ("sqs", "not-an-arn"), ("http", "https://x.example"),
                               ("email", "nobody"), ("lambda", "f")]:
        err = error_of(sns.subscribe, TopicArn=topic, Protocol=protocol, Endpoint=endpoint)
        assert err["Error"]["Code"] == "InvalidParameter", protocol
    err = error_of(sns.subscribe, TopicArn=topic + "-missing", Protocol="sqs", Endpoint=qarn)
    assert err["Error"]["Code"] == "NotFound"
    # Deleting the topic removes its subscriptions.
    sns.delete_topic(TopicArn=topic)
    err = error_of(sns.get_subscription_attributes, SubscriptionArn=email_arn)
    assert err["Error"]["Code"] == "NotFound"


def test_list_subscriptions_pages_by_100(gateway, sqs):
    sns = gateway.client("sns", region="ap-south-1")
    topic = sns.create_topic(Name=f"many-{uid()}")["TopicArn"]
    for i in range(103):
        sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=f"+1555{i:07d}")
    first = sns.list_subscriptions_by_topic(TopicArn=topic)
    assert len(first["Subscriptions"]) == 100
    second = sns.list_subscriptions_by_topic(TopicArn=topic, NextToken=first["NextToken"])
    assert len(second["Subscriptions"]) == 3 and "NextToken" not in second
    pages = list(sns.get_paginator("list_subscriptions").paginate())
    assert sum(len(p["Subscriptions"]) for p in pages) == 103


# --- publish and delivery ----------------------------------------------------


def test_publish_to_sqs_envelope_and_raw(gateway, sns, sqs):
    topic = new_topic(sns)
    env_url, env_arn = new_queue(sqs)
    raw_url, raw_arn = new_queue(sqs)
    env_sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=env_arn)["SubscriptionArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    attrs = {
        "color": {"DataType": "String", "StringValue": "red"},
        "n": {"DataType": "Number", "StringValue": "42"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }
    mid = sns.publish(TopicArn=topic, Message="hello", Subject="Greeting", MessageAttributes=attrs)["MessageId"]
    # In the queues when Publish returns: no waiting.
    [m] = drain(sqs, env_url)
    body = json.loads(m["Body"])
    assert body["Type"] == "Notification" and body["MessageId"] == mid
    assert body["TopicArn"] == topic and body["Subject"] == "Greeting" and body["Message"] == "hello"
    assert body["SignatureVersion"] == "1" and base64.b64decode(body["Signature"])
    assert body["SigningCertURL"].startswith("https://sns.us-east-1.amazonaws.com/")
    assert body["UnsubscribeURL"].startswith(f"{gateway.url}/?Action=Unsubscribe&SubscriptionArn=")
    assert body["Timestamp"].endswith("Z")
    assert body["MessageAttributes"]["color"] == {"Type": "String", "Value": "red"}
    assert body["MessageAttributes"]["n"] == {"Type": "Number", "Value": "42"}
    assert body["MessageAttributes"]["blob"] == {"Type": "Binary", "Value": base64.b64encode(b"\x00\x01").decode()}
    [r] = drain(sqs, raw_url)
    assert r["Body"] == "hello"
    assert r["MessageAttributes"]["color"] == {"DataType": "String", "StringValue": "red"}
    assert r["MessageAttributes"]["n"] == {"DataType": "Number", "StringValue": "42"}
    assert r["MessageAttributes"]["blob"] == {"DataType": "Binary", "BinaryValue": b"\x00\x01"}

    # MessageStructure=json: each protocol its own message, `default` required.
    msg = json.dumps({"default": "plain", "sqs": "for queues", "email": "for mail"})
    sns.publish(TopicArn=topic, Message=msg, MessageStructure="json")
    assert json.loads(drain(sqs, env_url)[0]["Body"])["Message"] == "for queues"
    assert drain(sqs, raw_url)[0]["Body"] == "for queues"
    err = error_of(sns.publish, TopicArn=topic, Message=json.dumps({"sqs": "x"}), MessageStructure="json")
    assert err["Error"]["Code"] == "InvalidParameter"
    assert err["Error"]["Message"] == "Invalid parameter: Message Structure - No default entry in JSON message body"

    # Unsubscribing stops delivery.
    sns.unsubscribe(SubscriptionArn=env_sub)
    sns.publish(TopicArn=topic, Message="after")
    assert drain(sqs, env_url) == []
    assert [m["Body"] for m in drain(sqs, raw_url)] == ["after"]


def test_publish_errors(sns):
    topic = new_topic(sns)
    err = error_of(sns.publish, TopicArn=topic + "-missing", Message="x")
    assert err["Error"]["Code"] == "NotFound" and err["ResponseMetadata"]["HTTPStatusCode"] == 404
    err = error_of(sns.publish, TopicArn=topic, Message="x" * (256 * 1024 + 1))
    assert err["Error"]["Code"] == "InvalidParameter"
    assert err["Error"]["Message"] == "Invalid parameter: Message too long"
    assert sns.publish(TopicArn=topic, Message="x" * (256 * 1024))["MessageId"]
    err = error_of(sns.publish, TopicArn=topic, Message="")
    assert err["Error"]["Message"] == "Invalid parameter: Empty message"
    err = error_of(sns.publish, TopicArn=topic, Message="m", Subject="two\nlines")
    assert err["Error"]["Code"] == "InvalidParameter"
    for attr in [{"DataType": "Bogus", "StringValue": "x"}, {"DataType": "Number", "StringValue": "abc"},
                 {"DataType": "String", "StringValue": ""}]:
        err = error_of(sns.publish, TopicArn=topic, Message="m", MessageAttributes={"a": attr})
        assert err["Error"]["Code"] == "ParameterValueInvalid", attr
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    err = error_of(sns.publish, TopicArn=topic, Message="m", MessageDeduplicationId="d")
    assert err["Error"]["Code"] == "InvalidParameter"
    err = error_of(sns.publish, Message="m")
    assert err["Error"]["Code"] == "InvalidParameter"
    err = error_of(sns.publish, TopicArn="not-an-arn", Message="m")
    assert err["Error"]["Code"] == "InvalidParameter"


def test_publish_batch(sns, sqs):
    topic = new_topic(sns)
    url, qarn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok1", "Message": "one"},
        {"Id": "bad", "Message": "two", "MessageAttributes": {"a": {"DataType": "Nope", "StringValue": "x"}}},
        {"Id": "ok2", "Message": "three", "Subject": "s"},
        {"Id": "empty", "Message": ""},
    ])
    assert sorted(s["Id"] for s in out["Successful"]) == ["ok1", "ok2"]
    failed = {f["Id"]: f for f in out["Failed"]}
    assert failed["bad"]["Code"] == "ParameterValueInvalid" and failed["bad"]["SenderFault"] is True
    assert failed["empty"]["Code"] == "InvalidParameter"
    assert sorted(m["Body"] for m in drain(sqs, url)) == ["one", "three"]

    for entries, code in [
        ([], "EmptyBatchRequest"),
        ([{"Id": f"e{i}", "Message": "m"} for i in range(11)], "TooManyEntriesInBatchRequest"),
        ([{"Id": "same", "Message": "a"}, {"Id": "same", "Message": "b"}], "BatchEntryIdsNotDistinct"),
        ([{"Id": "bad id!", "Message": "a"}], "InvalidBatchEntryId"),
        ([{"Id": "a", "Message": "x" * 200_000}, {"Id": "b", "Message": "x" * 100_000}], "BatchRequestTooLong"),
    ]:
        err = error_of(sns.publish_batch, TopicArn=topic, PublishBatchRequestEntries=entries)
        assert err["Error"]["Code"] == code
    err = error_of(sns.publish_batch, TopicArn=topic + "x", PublishBatchRequestEntries=[{"Id": "a", "Message": "m"}])
    assert err["Error"]["Code"] == "NotFound"


def test_fan_out_to_two_queues_in_two_accounts(gateway, sns, sqs):
    other_sqs = gateway.client("sqs", account=OTHER, region="eu-west-1")
    topic = new_topic(sns)
    url1, arn1 = new_queue(sqs)
    url2, arn2 = new_queue(other_sqs)
    assert f":eu-west-1:{OTHER}:" in arn2
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn1)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn2)
    mid = sns.publish(TopicArn=topic, Message="to both")["MessageId"]
    [a] = drain(sqs, url1)
    [b] = drain(other_sqs, url2)
    assert json.loads(a["Body"])["MessageId"] == mid == json.loads(b["Body"])["MessageId"]
    # Nothing landed in a same-named queue of the publisher's account.
    assert "QueueUrls" not in sqs.list_queues(QueueNamePrefix=arn2.rsplit(":", 1)[1])


def test_publish_to_a_topic_in_another_account(gateway, sqs):
    owner = gateway.client("sns", account=OTHER)
    topic = owner.create_topic(Name=f"shared-{uid()}")["TopicArn"]
    url, qarn = new_queue(sqs)
    owner.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    gateway.client("sns").publish(TopicArn=topic, Message="cross-account")
    assert [m["Body"] for m in drain(sqs, url)] == ["cross-account"]


def test_fifo_topic_to_fifo_queue_order_and_dedup(sns, sqs):
    topic = new_topic(sns, ".fifo", FifoTopic="true")
    url, qarn = new_queue(sqs, ".fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={"RawMessageDelivery": "true"})
    err = error_of(sns.publish, TopicArn=topic, Message="m", MessageDeduplicationId="d")
    assert err["Error"]["Code"] == "InvalidParameter"  # no MessageGroupId
    err = error_of(sns.publish, TopicArn=topic, Message="m", MessageGroupId="g")
    assert err["Error"]["Code"] == "InvalidParameter"  # no dedup id, no content-based dedup
    seqs = []
    for i in range(5):
        out = sns.publish(TopicArn=topic, Message=f"m{i}", MessageGroupId="g1", MessageDeduplicationId=f"d{i}")
        seqs.append(int(out["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 5
    # A duplicate inside 5 minutes: same MessageId, not delivered again.
    first = sns.publish(TopicArn=topic, Message="dup", MessageGroupId="g1", MessageDeduplicationId="dd")
    again = sns.publish(TopicArn=topic, Message="dup", MessageGroupId="g1", MessageDeduplicationId="dd")
    assert again["MessageId"] == first["MessageId"]
    got = []
    for _ in range(10):
        batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        if not batch:
            break
        for m in batch:
            got.append((m["Body"], m["Attributes"]["MessageGroupId"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    assert got == [(f"m{i}", "g1") for i in range(5)] + [("dup", "g1")]

    # Content-based deduplication.
    topic2 = new_topic(sns, ".fifo", FifoTopic="true", ContentBasedDeduplication="true")
    url2, qarn2 = new_queue(sqs, ".fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic2, Protocol="sqs", Endpoint=qarn2)
    a = sns.publish(TopicArn=topic2, Message="same", MessageGroupId="g")
    b = sns.publish(TopicArn=topic2, Message="same", MessageGroupId="g")
    assert a["MessageId"] == b["MessageId"]
    [m] = drain(sqs, url2)
    env = json.loads(m["Body"])
    assert env["Message"] == "same" and env["SequenceNumber"] == a["SequenceNumber"]
    # FIFO topics take SQS subscribers only.
    err = error_of(sns.subscribe, TopicArn=topic2, Protocol="email", Endpoint="a@example.com")
    assert err["Error"]["Code"] == "InvalidParameter"


# --- filter policies ----------------------------------------------------------

S, N, A = "String", "Number", "String.Array"
FILTER_CASES = [
    # (policy, attributes that match, attributes that do not)
    ({"color": ["red", "blue"]}, {"color": (S, "blue")}, {"color": (S, "green")}),
    ({"size": [5, 10]}, {"size": (N, "10")}, {"size": (N, "11")}),
    ({"tags": ["b"]}, {"tags": (A, '["a", "b"]')}, {"tags": (A, '["a", "c"]')}),
    ({"c": [{"prefix": "ord"}]}, {"c": (S, "order-1")}, {"c": (S, "invoice")}),
    ({"c": [{"suffix": ".png"}]}, {"c": (S, "cat.png")}, {"c": (S, "cat.jpg")}),
    ({"c": [{"anything-but": "red"}]}, {"c": (S, "blue")}, {"c": (S, "red")}),
    ({"c": [{"anything-but": ["red", "blue"]}]}, {"c": (S, "green")}, {"c": (S, "blue")}),
    ({"c": [{"anything-but": {"prefix": "tmp"}}]}, {"c": (S, "final")}, {"c": (S, "tmp-1")}),
    ({"c": [{"anything-but": {"suffix": ".tmp"}}]}, {"c": (S, "a.txt")}, {"c": (S, "a.tmp")}),
    ({"p": [{"numeric": [">=", 10, "<", 20]}]}, {"p": (N, "15")}, {"p": (N, "20")}),
    ({"p": [{"numeric": ["=", 3.5]}]}, {"p": (N, "3.5")}, {"p": (N, "3")}),
    ({"k": [{"exists": True}]}, {"k": (S, "x")}, {"other": (S, "x")}),
    ({"k": [{"exists": False}]}, {"other": (S, "x")}, {"k": (S, "x")}),
    ({"c": [{"equals-ignore-case": "RED"}]}, {"c": (S, "rEd")}, {"c": (S, "reds")}),
    ({"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": (S, "10.0.0.7")}, {"ip": (S, "10.0.1.7")}),
    ({"a": ["1"], "$or": [{"b": ["2"]}, {"c": ["3"]}]},
     {"a": (S, "1"), "c": (S, "3")}, {"a": (S, "1"), "b": (S, "9")}),
]


def attrs_of(spec):
    return {k: {"DataType": t, "StringValue": v} for k, (t, v) in spec.items()}


def test_filter_policies_operator_by_operator(sns, sqs):
    topic = new_topic(sns)
    url, qarn = new_queue(sqs)
    sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                        Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"]
    for i, (policy, good, bad) in enumerate(FILTER_CASES):
        sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy",
                                        AttributeValue=json.dumps(policy))
        sns.publish(TopicArn=topic, Message=f"match-{i}", MessageAttributes=attrs_of(good))
        sns.publish(TopicArn=topic, Message=f"miss-{i}", MessageAttributes=attrs_of(bad))
        assert [m["Body"] for m in drain(sqs, url)] == [f"match-{i}"], policy


def test_filter_policy_on_the_message_body(sns, sqs):
    topic = new_topic(sns)
    url, qarn = new_queue(sqs)
    policy = {"store": ["example_corp"], "order": {"total": [{"numeric": [">", 100]}]}}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn, Attributes={
        "RawMessageDelivery": "true",
        "FilterPolicyScope": "MessageBody",
        "FilterPolicy": json.dumps(policy),
    })
    good = json.dumps({"store": "example_corp", "order": {"total": 150}})
    for body in [good, json.dumps({"store": "example_corp", "order": {"total": 50}}),
                 json.dumps({"store": "other", "order": {"total": 500}}), "not json"]:
        sns.publish(TopicArn=topic, Message=body)
    assert [m["Body"] for m in drain(sqs, url)] == [good]


def test_malformed_and_too_complex_filter_policies(sns, sqs):
    topic = new_topic(sns)
    _, qarn = new_queue(sqs)
    values = [str(i) for i in range(20)]
    for policy in ['{"a": "b"}', "not json", '{"a": [{"unknown-op": 1}]}', '{"a": [{"numeric": ["<", 5, ">", 1]}]}',
                   json.dumps({"a": values, "b": values}),
                   json.dumps({k: ["1"] for k in "abcdef"}),
                   '{"a": {"nested": ["x"]}}']:
        err = error_of(sns.subscribe, TopicArn=topic, Protocol="sqs", Endpoint=qarn,
                       Attributes={"FilterPolicy": policy})
        assert err["Error"]["Code"] == "InvalidParameter", policy
        assert err["Error"]["Message"].startswith("Invalid parameter: FilterPolicy"), err["Error"]["Message"]


# --- HTTP subscribers ---------------------------------------------------------


class Receiver:
    """A local HTTP endpoint that records every POST."""

    def __init__(self):
        self.requests = queuelib.Queue()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.put((self.path, {k.lower(): v for k, v in self.headers.items()}, body.decode()))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next(self, timeout=10):
        return self.requests.get(timeout=timeout)

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_http_subscriber_confirms_then_receives(gateway, sns, receiver):
    topic = new_topic(sns)
    out = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url)
    assert out["SubscriptionArn"] == "pending confirmation"
    path, headers, body = receiver.next()
    assert path == "/hook"
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic
    msg = json.loads(body)
    assert msg["Type"] == "SubscriptionConfirmation" and msg["TopicArn"] == topic
    assert headers["x-amz-sns-message-id"] == msg["MessageId"]
    assert msg["Token"] and msg["Signature"] and msg["SigningCertURL"] and msg["Timestamp"]
    assert msg["SubscribeURL"].startswith(f"{gateway.url}/?Action=ConfirmSubscription&TopicArn=")
    # Nothing is delivered before confirmation.
    sns.publish(TopicArn=topic, Message="too early")
    # The SubscribeURL confirms with a plain unsigned GET, as a subscriber's code does.
    r = requests.get(msg["SubscribeURL"].replace("localhost", "127.0.0.1"))
    assert r.status_code == 200, r.text
    assert "ConfirmSubscriptionResult" in r.text and topic in r.text
    [sub] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(topic + ":")
    sns.publish(TopicArn=topic, Message="hello http", Subject="S",
                MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})
    path, headers, body = receiver.next()
    assert headers["x-amz-sns-message-type"] == "Notification"
    assert headers["x-amz-sns-subscription-arn"] == sub["SubscriptionArn"]
    assert headers["content-type"].startswith("text/plain")
    note = json.loads(body)
    assert note["Type"] == "Notification" and note["Message"] == "hello http" and note["Subject"] == "S"
    assert note["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    assert receiver.requests.empty()  # "too early" never arrived

    # Raw delivery posts the message itself.
    sns.set_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"], AttributeName="RawMessageDelivery",
                                    AttributeValue="true")
    sns.publish(TopicArn=topic, Message="raw body")
    _, headers, body = receiver.next()
    assert body == "raw body" and headers["x-amz-sns-rawdelivery"] == "true"


def test_a_slow_http_endpoint_does_not_hold_publish(sns):
    # A listener that accepts and never answers.
    import socket

    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(8)
    try:
        topic = new_topic(sns)
        began = time.time()
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.1:{lsock.getsockname()[1]}/")
        sns.publish(TopicArn=topic, Message="m")
        assert time.time() - began < 3
    finally:
        lsock.close()


# --- other protocols, platform endpoints, SMS -------------------------------------


def test_lambda_subscription_to_an_unknown_function_is_skipped(sns):
    topic = new_topic(sns)
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    assert sub.startswith(topic + ":")
    assert sns.publish(TopicArn=topic, Message="to lambda")["MessageId"]


def test_email_and_sms_deliveries_are_recorded(gateway, sns):
    topic = new_topic(sns)
    phone = f"+1555{int(time.time() * 1000) % 10**7:07d}"
    sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=phone)
    sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint=f"{uid()}@example.com")
    mid = sns.publish(TopicArn=topic, Message="note", Subject="Hi")["MessageId"]
    sms = [d for d in deliveries(gateway, protocol="sms", endpoint=phone)]
    assert [(d["Message"], d["MessageId"], d["TopicArn"]) for d in sms] == [("note", mid, topic)]
    # Direct SMS.
    direct = sns.publish(PhoneNumber="+15555550199", Message="code 1234")["MessageId"]
    assert any(d["MessageId"] == direct and d["Message"] == "code 1234"
               for d in deliveries(gateway, protocol="sms", endpoint="+15555550199"))
    err = error_of(sns.publish, PhoneNumber="not-a-number", Message="x")
    assert err["Error"]["Code"] == "InvalidParameter"


def test_platform_applications_and_endpoints(gateway, sns):
    name = f"app-{uid()}"
    app = sns.create_platform_application(Name=name, Platform="GCM",
                                          Attributes={"PlatformCredential": "secret"})["PlatformApplicationArn"]
    assert app == f"arn:aws:sns:us-east-1:{ACCOUNT}:app/GCM/{name}"
    attrs = sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"]
    assert "PlatformCredential" not in attrs and attrs["Enabled"] == "true"
    sns.set_platform_application_attributes(PlatformApplicationArn=app, Attributes={"EventEndpointCreated": "arn:x"})
    assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"]["EventEndpointCreated"] == "arn:x"
    assert app in [a["PlatformApplicationArn"] for a in sns.list_platform_applications()["PlatformApplications"]]
    err = error_of(sns.create_platform_application, Name="x", Platform="PAGER", Attributes={"PlatformCredential": "c"})
    assert err["Error"]["Code"] == "InvalidParameter"

    ep = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1", CustomUserData="u1")["EndpointArn"]
    assert ep.startswith(f"arn:aws:sns:us-east-1:{ACCOUNT}:endpoint/GCM/{name}/")
    assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="device-1", CustomUserData="u1")["EndpointArn"] == ep
    err = error_of(sns.create_platform_endpoint, PlatformApplicationArn=app, Token="device-1", CustomUserData="other")
    assert err["Error"]["Code"] == "InvalidParameter"
    attrs = sns.get_endpoint_attributes(EndpointArn=ep)["Attributes"]
    assert attrs == {"Token": "device-1", "CustomUserData": "u1", "Enabled": "true"}
    listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert [e["EndpointArn"] for e in listed] == [ep]

    mid = sns.publish(TargetArn=ep, Message=json.dumps({"default": "d", "GCM": '{"data": {"k": "v"}}'}),
                      MessageStructure="json")["MessageId"]
    [sent] = [d for d in deliveries(gateway, protocol="application", endpoint=ep)]
    assert sent["MessageId"] == mid and sent["Message"] == '{"data": {"k": "v"}}'
    assert sent["Platform"]["Attributes"]["Token"] == "device-1"
    sns.set_endpoint_attributes(EndpointArn=ep, Attributes={"Enabled": "false"})
    err = error_of(sns.publish, TargetArn=ep, Message="m")
    assert err["Error"]["Code"] == "EndpointDisabled"

    sns.delete_endpoint(EndpointArn=ep)
    err = error_of(sns.get_endpoint_attributes, EndpointArn=ep)
    assert err["Error"]["Code"] == "NotFound"
    sns.delete_platform_application(PlatformApplicationArn=app)
    err = error_of(sns.get_platform_application_attributes, PlatformApplicationArn=app)
    assert err["Error"]["Code"] == "NotFound"


def test_sms_attributes_opt_outs_and_sandbox(gateway):
    sns = gateway.client("sns", region="ca-central-1")
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional", "DefaultSenderID": "Mini"})
    assert sns.get_sms_attributes()["attributes"] == {"DefaultSMSType": "Transactional", "DefaultSenderID": "Mini"}
    assert sns.get_sms_attributes(attributes=["DefaultSenderID"])["attributes"] == {"DefaultSenderID": "Mini"}
    err = error_of(sns.set_sms_attributes, attributes={"DefaultSMSType": "Loud"})
    assert err["Error"]["Code"] == "InvalidParameter"

    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")["isOptedOut"] is False
    assert sns.list_phone_numbers_opted_out()["phoneNumbers"] == []
    sns.opt_in_phone_number(phoneNumber="+15555550100")

    assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is True
    phone = "+15555550123"
    sns.create_sms_sandbox_phone_number(PhoneNumber=phone, LanguageCode="en-US")
    assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"] == [{"PhoneNumber": phone, "Status": "Pending"}]
    err = error_of(sns.verify_sms_sandbox_phone_number, PhoneNumber=phone, OneTimePassword="000000x")
    assert err["Error"]["Code"] == "VerificationException"
    r = requests.get(gateway.url + "/_ministack/sns/messages", params={"protocol": "sms", "endpoint": phone},
                     headers={"Authorization": "AWS4-HMAC-SHA256 Credential=000000000000/20260101/ca-central-1/sns/aws4_request, SignedHeaders=host, Signature=0"})
    [otp_sms] = r.json()["messages"][ACCOUNT]["ca-central-1"]
    otp = otp_sms["Message"].rsplit(" ", 1)[1]
    sns.verify_sms_sandbox_phone_number(PhoneNumber=phone, OneTimePassword=otp)
    assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"] == [{"PhoneNumber": phone, "Status": "Verified"}]
    sns.delete_sms_sandbox_phone_number(PhoneNumber=phone)
    err = error_of(sns.delete_sms_sandbox_phone_number, PhoneNumber=phone)
    assert err["Error"]["Code"] == "ResourceNotFound"
    assert sns.list_origination_numbers()["PhoneNumbers"] == []


# --- aws CLI ----------------------------------------------------------------------------


def test_aws_cli(gateway):
    name = f"cli-{uid()}"
    arn = json.loads(gateway.aws("sns", "create-topic", "--name", name).stdout)["TopicArn"]
    assert arn.endswith(":" + name)
    topics = json.loads(gateway.aws("sns", "list-topics").stdout)["Topics"]
    assert {"TopicArn": arn} in topics
    out = json.loads(gateway.aws("sns", "publish", "--topic-arn", arn, "--message", "from the cli").stdout)
    assert out["MessageId"]
    attrs = json.loads(gateway.aws("sns", "get-topic-attributes", "--topic-arn", arn).stdout)["Attributes"]
    assert attrs["TopicArn"] == arn
    bad = gateway.aws("sns", "get-topic-attributes", "--topic-arn", arn + "-missing", check=False)
    assert bad.returncode != 0 and "NotFound" in bad.stderr


def test_unsubscribe_url_works_unsigned_across_accounts(gateway, sqs):
    owner = gateway.client("sns", account=OTHER, region="us-west-2")
    topic = owner.create_topic(Name=f"shared-{uid()}")["TopicArn"]
    url, qarn = new_queue(sqs)
    sub = owner.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)["SubscriptionArn"]
    # Subscription operations follow the ARN to its account (a regional
    # endpoint serves only its own region's ARNs).
    me = gateway.client("sns", region="us-west-2")
    assert me.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["TopicArn"] == topic
    owner.publish(TopicArn=topic, Message="bye")
    [m] = drain(sqs, url)
    unsubscribe_url = json.loads(m["Body"])["UnsubscribeURL"]
    r = requests.get(unsubscribe_url.replace("localhost", "127.0.0.1"))
    assert r.status_code == 200, r.text
    assert owner.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_the_http_capability_must_be_granted(make_gateway, tmp_path):
    from conftest import ROOT

    wasm = ROOT / "target" / "wasm32-wasip2" / "plugin" / "sns.wasm"
    manifest = tmp_path / "plugins.toml"
    manifest.write_text(f'[plugins.sns]\npath = "{wasm}"\n')
    g = make_gateway(plugins_file=manifest)
    assert "sns" not in requests.get(g.url + "/_ministack/health").json()["services"]
    logs = g.logs()
    assert "sns imports capability \"http\", which plugins.toml does not grant it" in logs, logs
