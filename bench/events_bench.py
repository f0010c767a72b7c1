"""PutEvents throughput and event -> SQS latency against a running gateway.

    python3 bench/events_bench.py http://127.0.0.1:4566 [seconds]

Throughput: PutEvents calls of 10 entries for `seconds` from one client
(entries accepted/s), then the time until every event is in the SQS queue
(entries delivered/s, accept start to last delivery). One rule, SQS target.
Latency: 200 single events, each timed from PutEvents to the message in a
long-polling ReceiveMessage; p50/p99."""

import json
import sys
import time
import uuid

import boto3
from botocore.config import Config

url = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 5
kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
          aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
events = boto3.client("events", **kw)
sqs = boto3.client("sqs", **kw)
tag = uuid.uuid4().hex[:8]


def setup(source):
    q = sqs.create_queue(QueueName=f"bench-{source}-{tag}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=f"bench-{source}-{tag}", EventPattern=json.dumps({"source": [f"bench.{source}.{tag}"]}))
    events.put_targets(Rule=f"bench-{source}-{tag}", Targets=[{"Id": "q", "Arn": arn}])
    return q


def depth(q):
    a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"])


q = setup("tp")
entries = [{"Source": f"bench.tp.{tag}", "DetailType": "bench", "Detail": json.dumps({"i": i})} for i in range(10)]
events.put_events(Entries=entries)  # warm up
while depth(q) < 10:
    time.sleep(0.05)
sqs.purge_queue(QueueUrl=q)
time.sleep(0.2)
sent = 0
began = time.time()
while time.time() - began < seconds:
    r = events.put_events(Entries=entries)
    assert r["FailedEntryCount"] == 0, r
    sent += 10
accepted_s = time.time() - began
deadline = time.time() + 120
while depth(q) < sent and time.time() < deadline:
    time.sleep(0.05)
delivered_s = time.time() - began
got = depth(q)

q2 = setup("lat")
lat = []
for i in range(200):
    t0 = time.perf_counter()
    events.put_events(Entries=[{"Source": f"bench.lat.{tag}", "DetailType": "bench", "Detail": "{}"}])
    while True:
        m = sqs.receive_message(QueueUrl=q2, WaitTimeSeconds=5, MaxNumberOfMessages=1).get("Messages", [])
        if m:
            lat.append((time.perf_counter() - t0) * 1000)
            sqs.delete_message(QueueUrl=q2, ReceiptHandle=m[0]["ReceiptHandle"])
            break
lat.sort()
print(json.dumps({
    "put_events_entries_per_s": round(sent / accepted_s),
    "delivered_entries_per_s": round(got / delivered_s),
    "delivered": f"{got}/{sent}",
    "latency_ms_p50": round(lat[len(lat) // 2], 1),
    "latency_ms_p99": round(lat[int(len(lat) * 0.99) - 1], 1),
}))
