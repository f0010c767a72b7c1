"""SQS over the query protocol, as old SDKs speak it: botocore 1.31.56 (the
last release whose SQS model is `query`) drives the gateway in a subprocess,
and raw form POSTs / GETs check the wire. The SQS model is awsJson with
`awsQueryCompatible`; the codec answers query requests with query XML and
the query error codes (docs/protocol.md, "awsQueryCompatible")."""

import hashlib
import json
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
OLDBOTO = ROOT / "target" / "oldboto"
# The same line is in the Makefile's `test` target; kept here so that running
# this file alone on a clean machine works too (one pip install, then cached).
OLDBOTO_PINS = ["botocore==1.31.56", "boto3==1.28.56"]
ACCOUNT = "000000000000"
NS = {"q": "http://queue.amazonaws.com/doc/2012-11-05/"}


@pytest.fixture(scope="module")
def oldboto():
    if not (OLDBOTO / "botocore-1.31.56.dist-info").exists():
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--target", str(OLDBOTO), *OLDBOTO_PINS],
            check=True, timeout=300,
        )
    return OLDBOTO


def signed(service="sqs"):
    return (
        f"AWS4-HMAC-SHA256 Credential={ACCOUNT}/20260101/us-east-1/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    )


def test_old_botocore_speaks_query(gateway, oldboto):
    run = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("sqs_query_client.py")), str(oldboto), gateway.url],
        capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0, run.stderr + gateway.logs()[-3000:]
    out = json.loads(run.stdout)
    url = out["queue_url"]
    assert url.endswith(f"/{ACCOUNT}/old-sdk")
    assert out["tags"] == {"team": "a"}
    assert out["send"]["MD5OfMessageBody"] == hashlib.md5(b"hello query").hexdigest()
    assert out["send"]["MessageId"] and len(out["send"]["MD5OfMessageAttributes"]) == 32
    assert out["batch_ok"] == ["a", "b"]
    assert out["batch_failed"] == [["c", "InvalidParameterValue", True]]
    got = {m["Body"]: m for m in out["received"]}
    assert sorted(got) == ["hello query", "one", "two"]
    hello = got["hello query"]
    assert hello["MD5OfBody"] == hashlib.md5(b"hello query").hexdigest()
    assert hello["MessageAttributes"] == {
        "color": {"DataType": "String", "StringValue": "blue"},
        "count": {"DataType": "Number", "StringValue": "7"},
        "raw": {"DataType": "Binary", "BinaryValue": "\x00\x01bin"},
    }
    assert hello["MD5OfMessageAttributes"] == out["send"]["MD5OfMessageAttributes"]
    assert {"SentTimestamp", "ApproximateReceiveCount", "SenderId"} <= set(hello["Attributes"])
    assert hello["ReceiveCount"] == "1"
    assert got["two"]["MessageAttributes"] == {"k": {"DataType": "String", "StringValue": "v"}}
    attrs = out["attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["QueueArn"] == f"arn:aws:sqs:us-east-1:{ACCOUNT}:old-sdk"
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "0"  # c was refused
    assert out["one_attribute"] == {"VisibilityTimeout": "45"}
    assert out["after_set"] == {"DelaySeconds": "3"}
    assert sorted(u.rsplit("/", 1)[1] for u in out["list"]) == ["old-sdk", "old-sdk-2"]
    assert out["get_url"] == url
    assert out["error"] == {
        "code": "AWS.SimpleQueueService.NonExistentQueue",
        "type": "Sender",
        "status": 400,
        "message": out["error"]["message"],
        "modeled": "QueueDoesNotExist",
    }
    assert out["error"]["message"]
    assert out["send_error"] == "AWS.SimpleQueueService.NonExistentQueue"


def form(gateway, path="/", auth=True, **params):
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if auth:
        headers["Authorization"] = signed()
    return requests.post(gateway.url + path, data={"Version": "2012-11-05", **params}, headers=headers, timeout=30)


def test_raw_form_posts(gateway):
    name = f"raw-{uuid.uuid4().hex[:8]}"
    # Unsigned, like curl: the router finds SQS by the Action.
    r = form(gateway, auth=False, Action="CreateQueue", QueueName=name,
             **{"Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "0",
                "Tag.1.Key": "env", "Tag.1.Value": "test"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/xml")
    doc = ET.fromstring(r.content)
    assert doc.tag == "{%s}CreateQueueResponse" % NS["q"]
    url = doc.find("q:CreateQueueResult/q:QueueUrl", NS).text
    assert url.endswith(f"/{ACCOUNT}/{name}")
    assert doc.find("q:ResponseMetadata/q:RequestId", NS).text

    r = form(gateway, Action="SendMessage", QueueUrl=url, MessageBody="raw body",
             **{"MessageAttribute.1.Name": "a", "MessageAttribute.1.Value.DataType": "String",
                "MessageAttribute.1.Value.StringValue": "x"})
    assert r.status_code == 200, r.text
    doc = ET.fromstring(r.content)
    assert doc.find("q:SendMessageResult/q:MD5OfMessageBody", NS).text == hashlib.md5(b"raw body").hexdigest()

    # Posted to the queue URL's path without QueueUrl: the path names the queue.
    r = form(gateway, path=f"/{ACCOUNT}/{name}", Action="ReceiveMessage",
             **{"AttributeName.1": "All", "MessageAttributeName.1": "All"})
    assert r.status_code == 200, r.text
    doc = ET.fromstring(r.content)
    msgs = doc.findall("q:ReceiveMessageResult/q:Message", NS)  # flattened
    assert len(msgs) == 1
    m = msgs[0]
    assert m.find("q:Body", NS).text == "raw body"
    names = {a.find("q:Name", NS).text: a.find("q:Value", NS).text for a in m.findall("q:Attribute", NS)}
    assert names["ApproximateReceiveCount"] == "1"
    attr = m.find("q:MessageAttribute", NS)
    assert attr.find("q:Name", NS).text == "a"
    assert attr.find("q:Value/q:StringValue", NS).text == "x"
    assert attr.find("q:Value/q:DataType", NS).text == "String"

    # GET with the query string.
    r = requests.get(gateway.url + "/", params={"Action": "ListQueues", "QueueNamePrefix": name,
                                                "Version": "2012-11-05"}, timeout=30)
    assert r.status_code == 200, r.text
    urls = [u.text for u in ET.fromstring(r.content).findall("q:ListQueuesResult/q:QueueUrl", NS)]
    assert urls == [url]
    r = requests.get(gateway.url + "/", params={"Action": "ListQueueTags", "QueueUrl": url}, timeout=30)
    tags = ET.fromstring(r.content).findall("q:ListQueueTagsResult/q:Tag", NS)
    assert [(t.find("q:Key", NS).text, t.find("q:Value", NS).text) for t in tags] == [("env", "test")]


def test_raw_query_errors(gateway):
    r = form(gateway, Action="GetQueueUrl", QueueName=f"missing-{uuid.uuid4().hex[:6]}")
    assert r.status_code == 400
    doc = ET.fromstring(r.content)
    err = doc.find("q:Error", NS)
    assert doc.tag == "{%s}ErrorResponse" % NS["q"]
    assert err.find("q:Type", NS).text == "Sender"
    assert err.find("q:Code", NS).text == "AWS.SimpleQueueService.NonExistentQueue"
    assert err.find("q:Message", NS).text
    assert doc.find("q:RequestId", NS).text
    # Missing required member: the query protocol's MissingParameter.
    r = form(gateway, Action="CreateQueue")
    assert r.status_code == 400
    assert ET.fromstring(r.content).find("q:Error/q:Code", NS).text == "MissingParameter"
    # An action SQS does not have.
    r = form(gateway, Action="NoSuchThing")
    assert r.status_code == 400
    assert ET.fromstring(r.content).find("q:Error/q:Code", NS).text == "InvalidAction"
