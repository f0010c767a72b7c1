"""The AWS SDK for Rust (crates.io: aws-config, aws-sdk-s3, aws-sdk-dynamodb,
aws-sdk-sqs) against the gateway, configured only through AWS_ENDPOINT_URL:
S3 put/get with CRC32 and SHA-256 checksums (a wrong one refused), a
DynamoDB put/get/query, an SQS round trip, and errors mapped to the SDK's
typed variants (tests/clients/rust, docs/clients.md).

The crate is built here (debug, into target/clients-rust; Cargo.lock pins
the versions): about 2.6 minutes of CPU from scratch (docs/clients.md has
the measurements), seconds once built."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CRATE = ROOT / "tests" / "clients" / "rust"
TARGET = ROOT / "target" / "clients-rust"


def build():
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo is not installed: the Rust SDK cannot be built")
    env = {**os.environ, "CARGO_TARGET_DIR": str(TARGET)}
    out = subprocess.run([cargo, "build", "--locked", "-j", "2"], cwd=CRATE, env=env,
                         capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, f"cargo build failed:\n{out.stderr[-5000:]}"
    return TARGET / "debug" / "ministack-rust-sdk-client"


def test_rust_sdk(gateway):
    binary = build()
    lines = gateway.run_sdk_program(binary)
    assert lines == [
        "ok s3 put/get with checksums",
        "ok s3 wrong checksum refused",
        "ok s3 typed NoSuchKey",
        "ok dynamodb put/get/query",
        "ok dynamodb typed ConditionalCheckFailedException",
        "ok sqs send/receive/delete",
        "ok sqs typed QueueDoesNotExist",
    ], lines
