"""The AWS SDK for Go v2 against the gateway (tests/clients/go): S3 put/get
with a SHA-256 checksum, DynamoDB put/get/query, SQS over the query
protocol (this SDK release predates SQS's JSON protocol), and errors as
the SDK's typed errors.

The SDK comes from Debian (golang-github-aws-aws-sdk-go-v2-dev, with Go
from golang-go: scripts/install-go-sdk.sh; no Go module proxy is reachable)
and is built in GOPATH mode. docs/clients.md says which versions."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOPATH = Path("/usr/share/gocode")
SDK = GOPATH / "src" / "github.com" / "aws" / "aws-sdk-go-v2"
OUT = ROOT / "target" / "clients-go"


def build():
    mark = OUT / "unavailable"
    if mark.exists():
        pytest.skip(f"no Go SDK: {mark.read_text().strip()}")
    go = shutil.which("go")
    if go is None or not SDK.is_dir():
        pytest.skip("go or the Debian Go SDK is not installed (scripts/install-go-sdk.sh installs them as root)")
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": str(GOPATH), "GOCACHE": str(OUT / "cache"), "GOFLAGS": ""}
    out = subprocess.run([go, "build", "-o", str(OUT / "sdk-client"), "./tests/clients/go"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, f"go build failed:\n{out.stderr[-5000:]}"
    return OUT / "sdk-client"


def test_go_sdk_v2(gateway):
    binary = build()
    lines = gateway.run_sdk_program(binary)
    assert lines == [
        "ok s3 put/get with checksums",
        "ok s3 typed NoSuchKey",
        "ok dynamodb put/get/query",
        "ok dynamodb typed ConditionalCheckFailedException",
        "ok sqs send/receive/delete",
        "ok sqs typed QueueDoesNotExist AWS.SimpleQueueService.NonExistentQueue",
    ], lines
