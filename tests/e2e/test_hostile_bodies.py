"""Bounded bodies (security issue): a body above its service's limit is
refused with that service's error before it is buffered, and a large body
costs neither a 500 nor a multiple of its size in memory. Peak RSS
(VmHWM) of a fresh gateway is read from /proc."""

import json
import os

import pytest
import requests

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{svc}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)


def ddb_put(g, item_value_bytes):
    body = json.dumps({"TableName": "hostile-bodies",
                       "Item": {"pk": {"S": "k"}, "v": {"S": "x" * item_value_bytes}}})
    return requests.post(g.url + "/", data=body.encode(), timeout=120, headers={
        "X-Amz-Target": "DynamoDB_20120810.PutItem",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": AUTH.format(svc="dynamodb"), "X-Amz-Date": "20260101T000000Z"})


@pytest.fixture
def fresh(make_gateway):
    g = make_gateway()
    g.client("dynamodb").create_table(
        TableName="hostile-bodies", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return g


@pytest.mark.parametrize("mb", [50, 200])
def test_huge_dynamodb_body_is_a_validation_error_in_flat_memory(fresh, mb):
    pid = fresh.proc.pid
    before = vm_kib(pid, "VmHWM")
    r = ddb_put(fresh, mb << 20)
    assert r.status_code == 400, r.text
    assert r.json()["__type"].endswith("ValidationException")
    peak = vm_kib(pid, "VmHWM")
    grew_mib = (peak - before) / 1024
    print(f"{mb} MB DynamoDB body: peak RSS {before // 1024} -> {peak // 1024} MiB")
    # Refused from its Content-Length and drained: memory does not follow the body.
    assert grew_mib < 32, grew_mib


def test_large_legal_dynamodb_body_costs_a_small_multiple(fresh):
    """15 MB, under the 16 MB request limit: the plugin's item-size check
    answers (400 KB items). The peak is still a few times the body (the
    host's text, the plugin's parse and its cleaned item: docs/security.md);
    this bounds it. ~4x here; CI's machine has read up to ~1x more."""
    pid = fresh.proc.pid
    before = vm_kib(pid, "VmHWM")
    r = ddb_put(fresh, 15 << 20)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == "Item size has exceeded the maximum allowed size"
    grew_mib = (vm_kib(pid, "VmHWM") - before) / 1024
    print(f"15 MB DynamoDB body: peak RSS {before // 1024} -> {vm_kib(pid, 'VmHWM') // 1024} MiB, grew {grew_mib:.0f} MiB")
    assert grew_mib < 15 * 6, grew_mib


def test_sqs_body_over_limit_is_refused(gateway):
    sqs = gateway.client("sqs")
    url = sqs.create_queue(QueueName="hostile-bodies")["QueueUrl"]
    with pytest.raises(sqs.exceptions.ClientError) as e:
        sqs.send_message(QueueUrl=url, MessageBody="m" * (5 << 20))
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_sqs_query_body_over_limit_is_query_xml(gateway):
    r = requests.post(gateway.url + "/", data=b"Action=SendMessage&MessageBody=" + b"m" * (5 << 20), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": AUTH.format(svc="sqs"), "X-Amz-Date": "20260101T000000Z"}, timeout=60)
    assert r.status_code == 400, r.text
    assert "<ErrorResponse" in r.text and "<Code>InvalidParameterValue</Code>" in r.text
