"""Step Functions: ministack vs MiniStack in the same run.

    python3 bench/sfn_bench.py [--seconds 5] [--ministack /opt/ministack-venv/bin/ministack]

Starts target/release/ministack (default bundle) and MiniStack, each on a
free port, and measures against each:
- executions/s of a 5-state Pass/Choice EXPRESS workflow run with
  StartSyncExecution, from one boto3 client, for `seconds`;
- state transitions/s inside one synchronous execution of a Map of 10,000
  Pass items (each item one transition), timed from the request to the answer.
Prints one JSON line per gateway."""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]

FIVE = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"n": 3}, "Next": "B"},
    "B": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 2, "Next": "C"}], "Default": "D"},
    "C": {"Type": "Pass", "Parameters": {"big.$": "$.n"}, "Next": "E"},
    "D": {"Type": "Pass", "Next": "E"},
    "E": {"Type": "Succeed"}}}

MAP = {"StartAt": "M", "States": {"M": {
    "Type": "Map", "ItemsPath": "$.items", "ResultPath": None,
    "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}},
    "End": True}}}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, env):
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="sfn-bench-")
    e = {**os.environ, **env, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "STATE_DIR": tmp + "/state",
         "S3_DATA_DIR": tmp + "/blobs", "LOG_LEVEL": "warning"}
    p = subprocess.Popen(cmd, env=e, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/_ministack/health", timeout=1)
            return p, url
        except Exception:
            time.sleep(0.1)
    p.kill()
    raise SystemExit(f"{cmd[0]} did not start")


def measure(url, seconds):
    sfn = boto3.client("stepfunctions", endpoint_url=url, region_name="us-east-1", aws_access_key_id="000000000000",
                       aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}, read_timeout=300, inject_host_prefix=False))
    five = sfn.create_state_machine(name="five", definition=json.dumps(FIVE), roleArn="arn:aws:iam::000000000000:role/r",
                                    type="EXPRESS")["stateMachineArn"]
    for _ in range(20):  # warm up
        assert sfn.start_sync_execution(stateMachineArn=five, input="{}")["status"] == "SUCCEEDED"
    n = 0
    began = time.time()
    while time.time() - began < seconds:
        r = sfn.start_sync_execution(stateMachineArn=five, input="{}")
        assert r["status"] == "SUCCEEDED", r
        n += 1
    per_s = n / (time.time() - began)
    m = sfn.create_state_machine(name="map", definition=json.dumps(MAP), roleArn="arn:aws:iam::000000000000:role/r",
                                 type="EXPRESS")["stateMachineArn"]
    items = list(range(10_000))
    t0 = time.time()
    r = sfn.start_sync_execution(stateMachineArn=m, input=json.dumps({"items": items}))
    took = time.time() - t0
    ok = r["status"] == "SUCCEEDED"
    return {"executions_per_s": round(per_s, 1), "map_10000_seconds": round(took, 3),
            "map_transitions_per_s": round(10_000 / took) if ok else None, "map_status": r["status"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--ministack", default="/opt/ministack-venv/bin/ministack")
    a = ap.parse_args()
    for label, cmd in [("ministack", [str(ROOT / "target/release/ministack")]), ("MiniStack", [a.ministack])]:
        p, url = start(cmd, {})
        try:
            print(json.dumps({"gateway": label, **measure(url, a.seconds)}))
        except Exception as e:  # noqa: BLE001 - report and go on to the other gateway
            print(json.dumps({"gateway": label, "error": str(e)[:300]}))
        finally:
            p.kill()
            p.wait()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
