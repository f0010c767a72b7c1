"""The Testcontainers module (clients/python, MinistackContainer) against
the image this repository builds (from a locally made base, as
scripts/docker-verify.sh does): started, waited on through
/_ministack/health, an init hook using the image's `awslocal`, boto3 on the
mapped port.

Needs a running Docker engine (`make test` starts one in CI,
scripts/test-docker-setup.sh); without one the test is skipped and says
so."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
TAG = "ministack:local"


def build_image():
    # The same build as scripts/docker-verify.sh (test_docker.py): after it,
    # every layer is cached and this takes seconds.
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    subprocess.run(["bash", "scripts/docker-local-base.sh"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=900)
    out = subprocess.run(
        ["docker", "build", "-q", "--network", "host", "--build-arg", "PREBUILT=1",
         "--build-arg", "RUST_IMAGE=debian:bookworm-slim", "-t", TAG, "."],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1200,
    )
    assert out.returncode == 0, out.stderr[-4000:]


def test_container_with_init_hook(tmp_path, monkeypatch):
    from test_docker import docker_engine

    missing = docker_engine()
    if missing:
        pytest.skip(f"Testcontainers not verified: {missing}")
    pytest.importorskip("testcontainers", reason="pip install testcontainers (tests/requirements.txt)")
    # Ryuk (the reaper) is an image from a registry; the context manager
    # removes the container itself.
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
    build_image()
    from testcontainers_ministack import MinistackContainer

    hook = tmp_path / "01-seed.sh"
    hook.write_text("#!/bin/bash\nset -e\nawslocal s3api create-bucket --bucket seeded-by-hook\n"
                    "awslocal sqs create-queue --queue-name seeded-q\n")
    hook.chmod(0o755)
    with MinistackContainer(TAG).with_services("s3,sqs").with_init_script(hook) as ms:
        url = ms.get_url()
        init = requests.get(url + "/_localstack/init", timeout=5).json()
        assert init["completed"]["READY"] is True
        assert [(s["name"], s["state"]) for s in init["scripts"]] == [
            ("/etc/localstack/init/ready.d/01-seed.sh", "SUCCESSFUL")]
        s3 = ms.get_client("s3")
        assert "seeded-by-hook" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        s3.put_object(Bucket="seeded-by-hook", Key="k", Body=b"v")
        assert s3.get_object(Bucket="seeded-by-hook", Key="k")["Body"].read() == b"v"
        assert ms.get_client("sqs").get_queue_url(QueueName="seeded-q")["QueueUrl"].endswith("/seeded-q")
        assert ms.env_for_clients()["AWS_ENDPOINT_URL"] == url
        health = requests.get(url + "/_ministack/health", timeout=5).json()
        assert set(health["services"]) == {"s3", "sqs"}
