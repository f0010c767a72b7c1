"""SQS fidelity (issue 25): batch size limit, the current model's default
MaximumMessageSize, RedrivePolicy validation, null tag values."""

import json
import uuid

import botocore
import pytest


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def sqs(gateway):
    return gateway.client("sqs")


def test_default_maximum_message_size_is_1_mib(sqs):
    url = sqs.create_queue(QueueName=f"fid-{uid()}")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["MaximumMessageSize"])["Attributes"]
    assert attrs["MaximumMessageSize"] == "1048576"
    sqs.send_message(QueueUrl=url, MessageBody="x" * 300_000)


def test_batch_total_is_limited_to_1_mib_whatever_the_message_size(sqs):
    url = sqs.create_queue(QueueName=f"fid-{uid()}", Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    # Ten messages of 1000 bytes: 10,000 bytes, far above 1024, under 1 MiB.
    out = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x" * 1000} for i in range(10)])
    assert len(out["Successful"]) == 10
    big = sqs.create_queue(QueueName=f"fid-{uid()}")["QueueUrl"]
    err = error_of(sqs.send_message_batch, QueueUrl=big,
                   Entries=[{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(6)])
    assert err["Error"]["Code"] in ("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong"), err
    out = sqs.send_message_batch(QueueUrl=big, Entries=[{"Id": str(i), "MessageBody": "x" * 200_000} for i in range(5)])
    assert len(out["Successful"]) == 5


@pytest.mark.parametrize("policy", [
    {"deadLetterTargetArn": "", "maxReceiveCount": 3},
    {"deadLetterTargetArn": "arn:aws:sqs:eu-west-1:000000000000:dlq", "maxReceiveCount": 3},
    {"deadLetterTargetArn": "not-an-arn", "maxReceiveCount": 3},
    {"deadLetterTargetArn": "arn:aws:sqs:us-east-1:000000000000:dlq", "maxReceiveCount": 0},
])
def test_redrive_policy_is_validated(sqs, policy):
    err = error_of(sqs.create_queue, QueueName=f"fid-{uid()}", Attributes={"RedrivePolicy": json.dumps(policy)})
    assert err["Error"]["Code"] in ("InvalidParameterValue", "InvalidAttributeValue"), err
    url = sqs.create_queue(QueueName=f"fid-{uid()}")["QueueUrl"]
    err = error_of(sqs.set_queue_attributes, QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})
    assert err["Error"]["Code"] in ("InvalidParameterValue", "InvalidAttributeValue"), err


def test_null_tag_values_are_refused_atomically(gateway, sqs):
    url = sqs.create_queue(QueueName=f"fid-{uid()}", tags={"keep": "1"})["QueueUrl"]
    r = gateway.json_call("AmazonSQS", "TagQueue", {"QueueUrl": url, "Tags": {"a": "1", "b": None}})
    assert r.status_code == 400, r.text
    assert "InvalidParameterValue" in r.json()["__type"], r.text
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"keep": "1"}
    name = f"fid-{uid()}"
    r = gateway.json_call("AmazonSQS", "CreateQueue", {"QueueName": name, "tags": {"a": None}})
    assert r.status_code == 400 and "InvalidParameterValue" in r.json()["__type"], r.text
    err = error_of(sqs.get_queue_url, QueueName=name)
    assert "NonExistentQueue" in err["Error"]["Code"]
