"""ReceiveMessage on a deep standard queue with concurrent receivers.

    python3 bench/sqs_deep_receive.py http://127.0.0.1:4566 [messages] [receivers]

Fills a queue with N messages (SendMessageBatch), then R threads receive 10
at a time without deleting (the in-flight messages pile up in front of the
visible ones, the worst case for a queue read in key order) until every
message has been received once. Prints receive latency percentiles and the
total time."""

import sys
import threading
import time
import uuid

import boto3
from botocore.config import Config

url = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
receivers = int(sys.argv[3]) if len(sys.argv) > 3 else 4


def client():
    return boto3.client("sqs", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 0},
                                                                    max_pool_connections=50))


sqs = client()
q = sqs.create_queue(QueueName=f"deep-{uuid.uuid4().hex[:6]}", Attributes={"VisibilityTimeout": "600"})["QueueUrl"]
t0 = time.time()


def fill(start, stop):
    c = client()
    for i in range(start, stop, 10):
        c.send_message_batch(QueueUrl=q, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"}
                                                  for j in range(min(10, stop - i))])


step = n // 4
threads = [threading.Thread(target=fill, args=(k * step, n if k == 3 else (k + 1) * step)) for k in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(f"filled {n} in {time.time() - t0:.1f}s")

lat = []
seen = set()
lock = threading.Lock()


def receive():
    c = client()
    while True:
        with lock:
            if len(seen) >= n:
                return
        s = time.perf_counter()
        got = c.receive_message(QueueUrl=q, MaxNumberOfMessages=10).get("Messages", [])
        d = time.perf_counter() - s
        with lock:
            lat.append(d)
            for m in got:
                seen.add(m["MessageId"])
        if not got:
            return


t0 = time.time()
threads = [threading.Thread(target=receive) for _ in range(receivers)]
[t.start() for t in threads]
[t.join() for t in threads]
total = time.time() - t0
lat.sort()
pct = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000  # noqa: E731
print(f"received {len(seen)} with {receivers} receivers in {total:.1f}s: {len(lat)} receives, "
      f"p50 {pct(0.5):.1f} ms, p90 {pct(0.9):.1f} ms, p99 {pct(0.99):.1f} ms, max {lat[-1] * 1000:.1f} ms")
sqs.delete_queue(QueueUrl=q)
