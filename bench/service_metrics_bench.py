"""What service metrics cost: DynamoDB PutItem calls/s with this tree's
dynamodb plugin (emits ConsumedWriteCapacityUnits through
ministack_sdk::metrics, which hands each datum to the host's `metrics`
capability: aggregated in host memory, flushed to CloudWatch once a second;
docs/decisions.md) against another build's plugin without the emission
(default /work/main's), same binary, same run, one and four client threads.

    python3 bench/service_metrics_bench.py [seconds] [baseline dynamodb.wasm]
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
baseline = sys.argv[2] if len(sys.argv) > 2 else "/work/main/target/wasm32-wasip2/plugin/dynamodb.wasm"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(dynamodb_wasm):
    tmp = Path(tempfile.mkdtemp(prefix="smbench-"))
    text = (ROOT / "plugins.toml").read_text()
    text = re.sub(r'path = "(target/[^"]+)"', lambda m: f'path = "{ROOT / m.group(1)}"', text)
    text = text.replace(str(ROOT / "target/wasm32-wasip2/plugin/dynamodb.wasm"), dynamodb_wasm)
    (tmp / "plugins.toml").write_text(text)
    port = free_port()
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "STATE_DIR": f"{tmp}/state", "S3_DATA_DIR": f"{tmp}/s3"}
    proc = subprocess.Popen([str(ROOT / "target/release/ministack")], cwd=tmp, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(3000):
        try:
            if requests.get(url + "/_ministack/health", timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gateway did not start")


def client(url):
    return boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))


def measure(url, threads):
    done = [0] * threads
    stop = time.time() + seconds

    def work(i):
        c = client(url)
        n = 0
        while time.time() < stop:
            c.put_item(TableName="bench", Item={"k": {"S": f"{i}-{n}"}, "v": {"S": "x" * 100}})
            n += 1
        done[i] = n

    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(done) / seconds


for label, wasm in (("baseline (no metrics)", baseline),
                    ("with metrics", str(ROOT / "target/wasm32-wasip2/plugin/dynamodb.wasm"))):
    proc, url = start(wasm)
    try:
        c = client(url)
        c.create_table(TableName="bench", BillingMode="PAY_PER_REQUEST",
                       AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                       KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
        measure(url, 1)  # warm up
        one, four = measure(url, 1), measure(url, 4)
        print(f"{label}: PutItem {one:.0f} calls/s (1 thread), {four:.0f} calls/s (4 threads)")
    finally:
        proc.terminate()
        proc.wait()
