"""PutMetricData throughput: ministack (target/release/ministack) and
MiniStack (/opt/ministack-venv/bin/ministack) started side by side in the
same run, the same boto3 client code against each.

    python3 bench/cloudwatch_bench.py [seconds] [protocol]

protocol: boto3's default for CloudWatch (smithy-rpc-v2-cbor) unless
`query` or `json` is given (botocore picks the first protocol of the
model's list, so the list is reordered). Measured per gateway: calls/s of
one datum, datums/s in calls of 20 datums (a mix of Value, Values/Counts and
StatisticValues, 4 dimension sets), then a GetMetricStatistics over what was
put (checks the data is there)."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]
seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 5
protocol = sys.argv[2] if len(sys.argv) > 2 else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, health):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="cwbench-")
    env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error",
           "STATE_DIR": f"{tmp}/state", "S3_DATA_DIR": f"{tmp}/s3"}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if requests.get(url + health, timeout=1).status_code == 200:
                return proc, url
        except requests.RequestException:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{cmd[0]} did not start")


def client(url):
    c = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                     aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
    if protocol:
        c.meta.service_model.metadata["protocols"] = [protocol]
        c.meta.service_model.metadata["protocol"] = protocol
        c = boto3.client("cloudwatch", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                         aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
    return c


def run(name, url):
    cw = client(url)
    one = [{"MetricName": "Single", "Value": 1.0}]
    cw.put_metric_data(Namespace="Bench", MetricData=one)
    n, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        cw.put_metric_data(Namespace="Bench", MetricData=one)
        n += 1
    single = n / (time.time() - t0)
    batch = []
    for i in range(20):
        d = {"MetricName": "Batch", "Dimensions": [{"Name": "Host", "Value": f"h{i % 4}"}], "Unit": "Milliseconds"}
        if i % 3 == 0:
            d["Value"] = float(i)
        elif i % 3 == 1:
            d["Values"], d["Counts"] = [1.0, 2.0, 3.0], [1.0, 1.0, 2.0]
        else:
            d["StatisticValues"] = {"SampleCount": 2, "Sum": 10, "Minimum": 4, "Maximum": 6}
        batch.append(d)
    n, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        cw.put_metric_data(Namespace="Bench", MetricData=batch)
        n += 1
    batched = n * 20 / (time.time() - t0)
    now = time.time()
    got = cw.get_metric_statistics(Namespace="Bench", MetricName="Single", StartTime=now - 600, EndTime=now + 60,
                                   Period=60, Statistics=["SampleCount"])
    stored = sum(d["SampleCount"] for d in got["Datapoints"])
    print(f"{name:10} single-datum calls/s {single:8.0f}   datums/s (20 per call) {batched:8.0f}   "
          f"Single datapoints read back {stored:.0f}")


ours = start([str(ROOT / "target/release/ministack")], "/_ministack/health")
theirs = start(["/opt/ministack-venv/bin/ministack"], "/_localstack/health")
try:
    print(f"protocol: {client(ours[1]).meta.service_model.protocol}, {seconds:.0f} s per measure, one client")
    run("ministack", ours[1])
    try:
        run("MiniStack", theirs[1])
    except Exception as e:  # noqa: BLE001 - report what the other gateway answered
        print(f"MiniStack  failed: {e}")
finally:
    for p, _ in (ours, theirs):
        p.terminate()
        p.wait()
