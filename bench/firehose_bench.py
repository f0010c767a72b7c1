#!/usr/bin/env python3
"""Firehose: PutRecordBatch throughput (500 records of 1 KiB per call) and
the time until every record is in S3, ministack vs MiniStack in the same run,
on loopback.

    python3 bench/firehose_bench.py --binary target/release/ministack \\
        --ministack /opt/ministack-venv/bin/ministack [--seconds 5] [--clients 1,4]

Throughput: `clients` boto3 clients (one thread each) call PutRecordBatch
for `seconds`; records accepted per second. Delivery: an S3 destination
with a 1 s buffer interval, uncompressed; the time from the first put until
the bytes of every record are in the bucket (listed), and how many objects
hold them.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import boto3
import requests
from botocore.config import Config

RECORD = b"x" * 1023 + b"\n"
BATCH = [{"Data": RECORD}] * 500


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, extra_env):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="firehose-bench-")
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "STATE_DIR": tmp + "/state", "S3_DATA_DIR": tmp + "/blobs", **extra_env}
    proc = subprocess.Popen([cmd], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
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
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def stored_bytes(s3, bucket):
    total, count = 0, 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            total += o["Size"]
            count += 1
    return total, count


def run_case(url, clients, seconds):
    fh, s3 = client(url, "firehose"), client(url, "s3")
    tag = uuid.uuid4().hex[:8]
    bucket, name = f"bench-{tag}", f"bench-{tag}"
    s3.create_bucket(Bucket=bucket)
    fh.create_delivery_stream(DeliveryStreamName=name, ExtendedS3DestinationConfiguration={
        "RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": f"arn:aws:s3:::{bucket}",
        "BufferingHints": {"SizeInMBs": 64, "IntervalInSeconds": 1}})
    for _ in range(50):
        d = fh.describe_delivery_stream(DeliveryStreamName=name)["DeliveryStreamDescription"]
        if d["DeliveryStreamStatus"] == "ACTIVE":
            break
        time.sleep(0.2)
    counts = [0] * clients
    errors = []
    began = time.time()

    def worker(i):
        c = client(url, "firehose")
        while time.time() - began < seconds:
            try:
                r = c.put_record_batch(DeliveryStreamName=name, Records=BATCH)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
                return
            counts[i] += 500 - r["FailedPutCount"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted_s = time.time() - began
    sent = sum(counts)
    want = sent * len(RECORD)
    deadline = time.time() + float(os.environ.get("FH_WAIT", "300"))
    got, objects = stored_bytes(s3, bucket)
    while got < want and time.time() < deadline:
        time.sleep(0.25)
        got, objects = stored_bytes(s3, bucket)
    delivered_s = time.time() - began
    return {
        "records_per_s": round(sent / accepted_s),
        "records": sent,
        "delivered_s": round(delivered_s, 2),
        "delivered": f"{got // len(RECORD)}/{sent}",
        "objects": objects,
        "errors": errors[:2],
    }


def measure(label, cmd, env, clients, seconds):
    proc, url = start(cmd, env)
    try:
        out = {}
        for n in clients:
            r = run_case(url, n, seconds)
            out[n] = r
            print(f"{label} {n} client(s): {r}", flush=True)
        return out
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
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--clients", default="1,4")
    a = ap.parse_args()
    clients = [int(x) for x in a.clients.split(",")]
    ours = measure("ministack", os.path.abspath(a.binary),
                   {"MINISTACK_PLUGINS_FILE": os.path.abspath("plugins.toml"),
                    "MINISTACK_CACHE_DIR": os.path.abspath("target/test-cache")}, clients, a.seconds)
    theirs = measure("MiniStack", a.ministack, {}, clients, a.seconds)
    for n in clients:
        print(f"{n} client(s): PutRecordBatch {ours[n]['records_per_s']} vs {theirs[n]['records_per_s']} records/s "
              f"({ours[n]['records_per_s'] / max(theirs[n]['records_per_s'], 1):.1f}x); all in S3 after "
              f"{ours[n]['delivered_s']} s in {ours[n]['objects']} objects vs {theirs[n]['delivered_s']} s in "
              f"{theirs[n]['objects']} objects", flush=True)


if __name__ == "__main__":
    sys.exit(main())
