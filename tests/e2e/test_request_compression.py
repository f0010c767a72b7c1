"""Request bodies compressed by the client (`Content-Encoding: gzip`, what
botocore does for operations with the `requestcompression` trait such as
CloudWatch PutMetricData): the host inflates them before routing and
decoding, in every protocol."""

import gzip
import json
import uuid
import xml.etree.ElementTree as ET

import requests

ACCOUNT = "000000000000"


def auth(service):
    return (
        f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


def test_gzip_json_request(gateway):
    name = f"gz-{uuid.uuid4().hex[:8]}"
    r = requests.post(
        gateway.url + "/",
        data=gzip.compress(json.dumps({"QueueName": name}).encode()),
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "Content-Encoding": "gzip",
            "X-Amz-Target": "AmazonSQS.CreateQueue",
            "Authorization": auth("sqs"),
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["QueueUrl"].endswith(f"/{ACCOUNT}/{name}")


def test_gzip_query_form_unsigned(gateway):
    # Unsigned: the router has to read Action= from the inflated body.
    name = f"gzq-{uuid.uuid4().hex[:8]}"
    body = f"Action=CreateQueue&Version=2012-11-05&QueueName={name}".encode()
    r = requests.post(
        gateway.url + "/",
        data=gzip.compress(body),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert ET.fromstring(r.content).tag.endswith("CreateQueueResponse")


def test_gzip_query_request_sts(gateway):
    r = requests.post(
        gateway.url + "/",
        data=gzip.compress(b"Action=GetCallerIdentity&Version=2011-06-15"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Content-Encoding": "gzip",
            "Authorization": auth("sts"),
        },
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert b"<Account>" + ACCOUNT.encode() + b"</Account>" in r.content


def test_a_body_that_is_not_gzip_is_a_400(gateway):
    r = requests.post(
        gateway.url + "/",
        data=b"definitely not gzip",
        headers={
            "Content-Type": "application/x-amz-json-1.0",
            "Content-Encoding": "gzip",
            "X-Amz-Target": "AmazonSQS.ListQueues",
            "Authorization": auth("sqs"),
        },
        timeout=30,
    )
    assert r.status_code == 400
    assert b"IncompleteBody" in r.content
