#!/usr/bin/env python3
"""CloudFormation: time to deploy and to delete a 30-resource stack,
ministack vs MiniStack in the same run, on loopback.

    python3 bench/cfn_bench.py [--ministack /opt/ministack-venv/bin/ministack] [--runs 3]

Starts both gateways (ministack: target/release/ministack with the default
bundle; MiniStack with GATEWAY_PORT), then per run creates a stack of 30
resources across five services (10 SQS queues, 6 SNS topics with 4
subscriptions, 4 SSM parameters, 3 DynamoDB tables, 3 S3 buckets) wired
with Ref/GetAtt/Sub, waits for CREATE_COMPLETE (polling every 2 ms), then
deletes it and waits for DELETE_COMPLETE. One warm-up run, then `--runs`;
prints the medians."""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def template():
    r = {}
    for i in range(10):
        r[f"Queue{i}"] = {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 30 + i}}
    for i in range(6):
        r[f"Topic{i}"] = {"Type": "AWS::SNS::Topic", "Properties": {"DisplayName": {"Fn::Sub": f"${{AWS::StackName}}-{i}"}}}
    for i in range(4):
        r[f"Sub{i}"] = {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": f"Topic{i}"}, "Protocol": "sqs", "Endpoint": {"Fn::GetAtt": [f"Queue{i}", "Arn"]}}}
    for i in range(4):
        r[f"Param{i}"] = {"Type": "AWS::SSM::Parameter", "Properties": {
            "Type": "String", "Value": {"Fn::GetAtt": [f"Queue{i + 4}", "Arn"]}}}
    for i in range(3):
        r[f"Table{i}"] = {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}}
    for i in range(3):
        r[f"Bucket{i}"] = {"Type": "AWS::S3::Bucket"}
    assert len(r) == 30
    return json.dumps({"Resources": r, "Outputs": {"Q": {"Value": {"Ref": "Queue0"}}}})


def wait(cf, stack_id, done):
    while True:
        s = cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"]
        if not s.endswith("_IN_PROGRESS"):
            if s != done:
                raise RuntimeError(f"stack ended in {s}")
            return
        time.sleep(0.002)


def measure(url, runs):
    cf = boto3.client("cloudformation", endpoint_url=url, region_name="us-east-1",
                      aws_access_key_id="000000000000", aws_secret_access_key="test",
                      config=Config(retries={"max_attempts": 1}))
    body = template()
    creates, deletes = [], []
    for run in range(runs + 1):
        name = f"bench-{uuid.uuid4().hex[:8]}"
        t = time.perf_counter()
        stack_id = cf.create_stack(StackName=name, TemplateBody=body)["StackId"]
        wait(cf, stack_id, "CREATE_COMPLETE")
        creates.append(time.perf_counter() - t)
        t = time.perf_counter()
        cf.delete_stack(StackName=stack_id)
        wait(cf, stack_id, "DELETE_COMPLETE")
        deletes.append(time.perf_counter() - t)
        if run == 0:  # warm-up
            creates.clear()
            deletes.clear()
    return statistics.median(creates), statistics.median(deletes)


def start(cmd, env, port):
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/_ministack/health", timeout=1)
            return proc
        except Exception:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{cmd} did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ministack", default="/opt/ministack-venv/bin/ministack")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    results = {}
    tmp = tempfile.mkdtemp(prefix="cfn-bench-")
    port = free_port()
    ours = start([str(ROOT / "target/release/ministack")], {
        "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "STATE_DIR": f"{tmp}/state",
        "S3_DATA_DIR": f"{tmp}/blobs", "MINISTACK_CACHE_DIR": str(ROOT / "target/test-cache")}, port)
    try:
        results["ministack (this)"] = measure(f"http://127.0.0.1:{port}", args.runs)
    finally:
        ours.terminate()
        ours.wait()
    port = free_port()
    theirs = start([args.ministack], {"GATEWAY_PORT": str(port)}, port)
    try:
        results["MiniStack"] = measure(f"http://127.0.0.1:{port}", args.runs)
    finally:
        theirs.terminate()
        theirs.wait()
    print("| gateway | deploy 30 resources (s) | delete (s) |")
    print("|---|---:|---:|")
    for k, (c, d) in results.items():
        print(f"| {k} | {c:.3f} | {d:.3f} |")


if __name__ == "__main__":
    sys.exit(main())
