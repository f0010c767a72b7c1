#!/usr/bin/env python3
"""Lambda: warm invoke latency through the gateway and SQS -> Lambda
throughput, ministack vs MiniStack in the same run, on loopback.

    python3 bench/lambda_bench.py --binary target/release/ministack \\
        --ministack /opt/ministack-venv/bin/ministack [--invokes 500] [--messages 1000]

Warm invoke: a python echo function, one client, raw signed-shape HTTP
POSTs on a kept-alive connection (no SDK time in the figure), after 20
warm-up invokes. SQS -> Lambda: an event source mapping (batch 10) drains
N messages; the time from the first send to an empty queue.
"""

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import boto3
import requests
from botocore.config import Config

CODE = "def handler(event, context):\n    return {'ok': True, 'n': len(event.get('Records', [])) if isinstance(event, dict) else 0}\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port, extra_env):
    tmp = tempfile.mkdtemp(prefix="lambda-bench-")
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "STATE_DIR": tmp + "/state", "S3_DATA_DIR": tmp + "/blobs", **extra_env}
    proc = subprocess.Popen([cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            if requests.get(url + "/_ministack/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd} did not start")


def client(url, service):
    return boto3.client(service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def make_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", CODE)
    return buf.getvalue()


def create(lam, name):
    lam.create_function(FunctionName=name, Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Code={"ZipFile": make_zip()}, Timeout=30)
    for _ in range(100):
        if lam.get_function(FunctionName=name)["Configuration"].get("State", "Active") == "Active":
            return
        time.sleep(0.1)


def warm_invokes(url, name, n):
    s = requests.Session()
    auth = ("AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host, Signature=0")
    path = f"{url}/2015-03-31/functions/{name}/invocations"
    times = []
    for i in range(n + 20):
        t = time.perf_counter()
        r = s.post(path, data=b'{"k": 1}', headers={"Authorization": auth, "Content-Type": "application/json"})
        dt = time.perf_counter() - t
        assert r.status_code == 200 and b"ok" in r.content, r.text[:300]
        if i >= 20:
            times.append(dt * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def sqs_throughput(url, name, n):
    sqs = client(url, "sqs")
    lam = client(url, "lambda")
    q = sqs.create_queue(QueueName=f"bench-{name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    t0 = time.perf_counter()
    for i in range(0, n, 10):
        sqs.send_message_batch(QueueUrl=q, Entries=[{"Id": str(j), "MessageBody": f"m{i + j}"} for j in range(10)])
    lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name, BatchSize=10)
    deadline = time.time() + 300
    while time.time() < deadline:
        a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages",
                                                                  "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        if a["ApproximateNumberOfMessages"] == "0" and a["ApproximateNumberOfMessagesNotVisible"] == "0":
            break
        time.sleep(0.05)
    else:
        return float("nan")
    return n / (time.perf_counter() - t0)


def measure(label, cmd, env, invokes, messages):
    port = free_port()
    proc, url = start(cmd, port, env)
    try:
        lam = client(url, "lambda")
        create(lam, "bench-echo")
        p50, p99 = warm_invokes(url, "bench-echo", invokes)
        create(lam, "bench-sqs")
        rate = sqs_throughput(url, "bench-sqs", messages)
        print(f"{label}: warm invoke p50 {p50:.2f} ms, p99 {p99:.2f} ms; SQS->Lambda {rate:.0f} msg/s", flush=True)
        return p50, p99, rate
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default="target/release/ministack")
    ap.add_argument("--ministack", default="/opt/ministack-venv/bin/ministack")
    ap.add_argument("--invokes", type=int, default=500)
    ap.add_argument("--messages", type=int, default=1000)
    a = ap.parse_args()
    ours = measure("ministack", os.path.abspath(a.binary),
                   {"MINISTACK_PLUGINS": os.path.abspath("plugins.toml"),
                    "MINISTACK_CACHE_DIR": os.path.abspath("target/test-cache")}, a.invokes, a.messages)
    theirs = measure("MiniStack", a.ministack, {}, a.invokes, a.messages)
    print(f"p50 {theirs[0] / ours[0]:.1f}x faster, SQS->Lambda {ours[2] / theirs[2]:.1f}x", flush=True)


if __name__ == "__main__":
    sys.exit(main())
