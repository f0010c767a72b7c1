"""Kinesis: ministack vs MiniStack in the same run.

    python3 bench/kinesis_bench.py [--binary target/release/ministack]
        [--ministack /opt/ministack-venv/bin/ministack] [--seconds 5]

Starts each server on a free 127.0.0.1 port (ministack with its default
plugins.toml), then for each:
- PutRecords throughput: calls of 500 records of 1 KiB each (random partition
  keys) into a 4-shard stream for `seconds`, from 1 and from 4 client
  threads; records/s accepted.
- GetRecords read rate: every record read back (Limit 10000, all shards,
  TRIM_HORIZON to the tip); records/s.
- SubscribeToShard put-to-receive latency (where supported): 50 PutRecord
  calls 50 ms apart while a boto3 SubscribeToShard is open; p50 / p99 / max.
Stops every server it started; prints one JSON line per server."""

import argparse
import json
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, env):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="kinesis-bench-")
    env = {**os.environ, **env, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "STATE_DIR": tmp + "/state",
           "S3_DATA_DIR": tmp + "/blobs", "LOG_LEVEL": "warn"}
    log = open(os.path.join(tmp, "log"), "wb")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(url + "/_ministack/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{cmd} did not start")


def client(url):
    return boto3.client("kinesis", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                        aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def wait_active(k, stream):
    for _ in range(200):
        if k.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
            return
        time.sleep(0.1)


def put_rate(url, seconds, threads):
    k = client(url)
    stream = f"bench-{uuid.uuid4().hex[:8]}"
    k.create_stream(StreamName=stream, ShardCount=4)
    wait_active(k, stream)
    payload = os.urandom(1024)
    counts = [0] * threads
    failed = [0] * threads

    def run(i):
        kc = client(url)
        end = time.time() + seconds
        while time.time() < end:
            recs = [{"Data": payload, "PartitionKey": uuid.uuid4().hex} for _ in range(500)]
            r = kc.put_records(StreamName=stream, Records=recs)
            failed[i] += r.get("FailedRecordCount", 0)
            counts[i] += 500 - r.get("FailedRecordCount", 0)

    began = time.time()
    ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    took = time.time() - began
    return stream, sum(counts), round(sum(counts) / took), sum(failed)


def read_rate(url, stream):
    k = client(url)
    shards = [s["ShardId"] for s in k.list_shards(StreamName=stream)["Shards"]]
    began = time.time()
    total = 0
    for shard in shards:
        it = k.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            r = k.get_records(ShardIterator=it, Limit=10000)
            total += len(r["Records"])
            it = r.get("NextShardIterator")
            if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
                break
    took = time.time() - began
    return total, round(total / took)


def subscribe_latency(url):
    k = client(url)
    stream = f"bench-sub-{uuid.uuid4().hex[:8]}"
    k.create_stream(StreamName=stream, ShardCount=1)
    wait_active(k, stream)
    arn = k.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    try:
        c = k.register_stream_consumer(StreamARN=arn, ConsumerName="bench")["Consumer"]
        for _ in range(100):
            if k.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]["ConsumerStatus"] == "ACTIVE":
                break
            time.sleep(0.1)
        out = k.subscribe_to_shard(ConsumerARN=c["ConsumerARN"], ShardId="shardId-000000000000",
                                   StartingPosition={"Type": "LATEST"})
    except Exception as e:  # noqa: BLE001 - the server may not have it
        return {"error": f"{type(e).__name__}: {e}"[:200]}
    sent = {}
    lat = []

    def put():
        kc = client(url)
        time.sleep(0.3)
        for i in range(50):
            sent[i] = time.perf_counter()
            kc.put_record(StreamName=stream, Data=str(i).encode(), PartitionKey="k")
            time.sleep(0.05)

    t = threading.Thread(target=put)
    t.start()
    deadline = time.time() + 30
    for ev in out["EventStream"]:
        now = time.perf_counter()
        for r in ev.get("SubscribeToShardEvent", {}).get("Records", []):
            lat.append((now - sent[int(r["Data"])]) * 1000)
        if len(lat) >= 50 or time.time() > deadline:
            break
    t.join()
    lat.sort()
    if not lat:
        return {"error": "no records received"}
    return {"n": len(lat), "p50_ms": round(lat[len(lat) // 2], 1), "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
            "max_ms": round(lat[-1], 1)}


def measure(name, url, seconds):
    stream, n1, rate1, failed1 = put_rate(url, seconds, 1)
    total, rrate = read_rate(url, stream)
    _, n4, rate4, failed4 = put_rate(url, seconds, 4)
    return {
        "server": name,
        "put_records_per_s_1_client": rate1,
        "put_records_per_s_4_clients": rate4,
        "put_failed": failed1 + failed4,
        "get_records_read_per_s": rrate,
        "read_back": f"{total}/{n1}",
        "subscribe_to_shard_latency": subscribe_latency(url),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/ministack"))
    ap.add_argument("--ministack", default="/opt/ministack-venv/bin/ministack")
    ap.add_argument("--seconds", type=float, default=5)
    a = ap.parse_args()
    servers = [("ministack", [a.binary], {}), ("MiniStack", [a.ministack], {})]
    for name, cmd, env in servers:
        proc, url = start(cmd, env)
        try:
            print(json.dumps(measure(name, url, a.seconds)), flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
