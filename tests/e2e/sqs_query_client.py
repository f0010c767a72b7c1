"""Drives SQS with botocore 1.31.56, the last botocore whose SQS model speaks
the query protocol (form requests, XML responses). Run by test_sqs_query.py
in a subprocess: `python3 sqs_query_client.py OLDBOTO_DIR ENDPOINT`. Prints
one JSON object with what it saw."""

import json
import sys

sys.path.insert(0, sys.argv[1])

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

endpoint = sys.argv[2]
assert botocore.__version__ == "1.31.56", botocore.__version__
sqs = boto3.client(
    "sqs",
    endpoint_url=endpoint,
    region_name="us-east-1",
    aws_access_key_id="000000000000",
    aws_secret_access_key="test",
    config=Config(retries={"max_attempts": 1}),
)
assert sqs.meta.service_model.protocol == "query"
out = {}

url = sqs.create_queue(QueueName="old-sdk", Attributes={"VisibilityTimeout": "45"}, tags={"team": "a"})["QueueUrl"]
out["queue_url"] = url
out["tags"] = sqs.list_queue_tags(QueueUrl=url).get("Tags")

sent = sqs.send_message(
    QueueUrl=url,
    MessageBody="hello query",
    MessageAttributes={
        "color": {"DataType": "String", "StringValue": "blue"},
        "count": {"DataType": "Number", "StringValue": "7"},
        "raw": {"DataType": "Binary", "BinaryValue": b"\x00\x01bin"},
    },
)
out["send"] = {k: sent.get(k) for k in ("MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes")}

batch = sqs.send_message_batch(
    QueueUrl=url,
    Entries=[
        {"Id": "a", "MessageBody": "one"},
        {"Id": "b", "MessageBody": "two", "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}}},
        {"Id": "c", "MessageBody": "three", "DelaySeconds": 1000},
    ],
)
out["batch_ok"] = sorted(e["Id"] for e in batch.get("Successful", []))
out["batch_failed"] = [(e["Id"], e["Code"], e["SenderFault"]) for e in batch.get("Failed", [])]

got = sqs.receive_message(
    QueueUrl=url,
    MaxNumberOfMessages=10,
    AttributeNames=["All"],
    MessageAttributeNames=["All"],
)
msgs = got.get("Messages", [])
out["received"] = [
    {
        "Body": m["Body"],
        "MD5OfBody": m["MD5OfBody"],
        "Attributes": sorted(m.get("Attributes", {})),
        "ReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount"),
        "MessageAttributes": {
            k: {kk: (vv.decode("latin-1") if isinstance(vv, bytes) else vv) for kk, vv in v.items()}
            for k, v in m.get("MessageAttributes", {}).items()
        },
        "MD5OfMessageAttributes": m.get("MD5OfMessageAttributes"),
    }
    for m in msgs
]
for m in msgs:
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])

attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
out["attributes"] = attrs
out["one_attribute"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "3"})
out["after_set"] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["DelaySeconds"])["Attributes"]

sqs.create_queue(QueueName="old-sdk-2")
out["list"] = sqs.list_queues(QueueNamePrefix="old-sdk").get("QueueUrls", [])
out["get_url"] = sqs.get_queue_url(QueueName="old-sdk")["QueueUrl"]

try:
    sqs.get_queue_url(QueueName="does-not-exist")
    out["error"] = None
except ClientError as e:
    out["error"] = {
        "code": e.response["Error"]["Code"],
        "type": e.response["Error"].get("Type"),
        "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
        "message": e.response["Error"]["Message"],
        "modeled": type(e).__name__,
    }
try:
    sqs.send_message(QueueUrl=url.rsplit("/", 1)[0] + "/gone", MessageBody="x")
    out["send_error"] = None
except ClientError as e:
    out["send_error"] = e.response["Error"]["Code"]

sqs.delete_queue(QueueUrl=url)
print(json.dumps(out))
