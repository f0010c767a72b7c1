"""End-to-end fixtures: start the real `ministack` binary on a free port and
talk to it with real clients (boto3, the aws CLI, raw HTTP).

Build first (`make test-plugins`); the tests use target/release/ministack and
the wasm plugins under target/wasm32-wasip2/plugin/.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / "target" / "release" / "ministack"
TEST_PLUGINS = ROOT / "tests" / "plugins.toml"
# Precompiled plugin code shared by the test gateways (a warm cache).
CACHE_DIR = ROOT / "target" / "test-cache"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout, what):
    """Polls `predicate` every 50 ms; fails the test after `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Gateway:
    """One running gateway process."""

    def __init__(self, env=None, plugins_file=TEST_PLUGINS, cwd=ROOT, start_timeout=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.tmp = Path(tempfile.mkdtemp(prefix="ministack-e2e-"))
        self.log_path = self.tmp / "gateway.log"
        self.env = {
            **os.environ,
            "GATEWAY_PORT": str(self.port),
            "BIND_HOST": "127.0.0.1",
            "MINISTACK_CACHE_DIR": str(CACHE_DIR),
            "STATE_DIR": str(self.tmp / "state"),
            "S3_DATA_DIR": str(self.tmp / "blobs"),
            "LOG_LEVEL": "info",
            # The secret presigned URLs are checked against (MiniStack's name).
            "AWS_SECRET_ACCESS_KEY": "test",
        }
        if plugins_file:
            self.env["MINISTACK_PLUGINS_FILE"] = str(plugins_file)
        self.env.update(env or {})
        self.cwd = cwd
        self.proc = None
        self.start(start_timeout)

    def start(self, timeout=None):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(BINARY)], cwd=self.cwd, env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.time() + (timeout or float(os.environ.get("GATEWAY_START_TIMEOUT", "60")))
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if requests.get(self.url + "/_ministack/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.02)
        # Not left running behind the failed fixture.
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError(f"gateway did not become healthy:\n{self.logs()}")

    def logs(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.log:
            self.log.close()
            self.log = None

    def kill(self):
        self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        self.start()

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def client(self, service, account="000000000000", region="us-east-1", secret="test", token=None, **kw):
        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            aws_access_key_id=account,
            aws_secret_access_key=secret,
            aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, **kw),
        )

    def json_call(self, target_prefix, operation, body, account="000000000000", region="us-east-1", version="1.0"):
        """A raw awsJson request (test plugins have no botocore model)."""
        auth = (
            f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/x/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
        return requests.post(
            self.url + "/",
            data=json.dumps(body),
            headers={
                "Content-Type": f"application/x-amz-json-{version}",
                "X-Amz-Target": f"{target_prefix}.{operation}",
                "Authorization": auth,
            },
            timeout=30,
        )

    def rest_call(self, method, path, service, body=None, account="000000000000", region="us-east-1", session=None, **kw):
        """A raw REST request signed (scope only) for `service`."""
        auth = (
            f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
        headers = {"Authorization": auth, **kw.pop("headers", {})}
        data = json.dumps(body) if body is not None else None
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        return (session or requests).request(method, self.url + path, data=data, headers=headers, timeout=30, **kw)

    def sdk_env(self, account="000000000000", region="us-east-1"):
        """The environment an AWS SDK program needs to reach this gateway
        (AWS_ENDPOINT_URL, test credentials, no config files or IMDS)."""
        return {
            **os.environ,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def run_sdk_program(self, binary):
        """Runs an SDK test program against this gateway; its stdout lines."""
        out = subprocess.run([str(binary)], env=self.sdk_env(), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
        return out.stdout.split("\n")[:-1]

    def aws(self, *args, account="000000000000", region="us-east-1", check=True):
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": account,
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": region,
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        }
        out = subprocess.run(
            ["aws", "--endpoint-url", self.url, "--output", "json", *args],
            env=env, capture_output=True, text=True, timeout=60,
        )
        if check and out.returncode != 0:
            raise AssertionError(f"aws {' '.join(args)} failed: {out.stderr}")
        return out


@pytest.fixture(scope="session")
def gateway():
    """The shared gateway: default bundle + test plugins."""
    g = Gateway()
    yield g
    g.close()


@pytest.fixture
def make_gateway():
    """Starts extra gateways with their own environment; stops them after."""
    started = []

    def make(**kw):
        g = Gateway(**kw)
        started.append(g)
        return g

    yield make
    for g in started:
        g.close()


# `make test` runs the files on two pytest-xdist workers (`--dist
# loadgroup`), each with its own session gateway. A file stays on one
# worker (its module fixtures and the shared gateway's state it builds
# up), and the files that build Docker images or run containers share one
# worker so two image builds of one tag never race. The 1 GiB tests join
# that worker (`@pytest.mark.xdist_group(DISK_HEAVY)`): with the image
# builds they are the run's big disk users, and one after the other the
# run needs the largest of them free, not their sum (a CI machine once ran
# out of disk with them side by side).
DOCKER_FILES = {"test_containers", "test_docker", "test_functions", "test_testcontainers"}
DISK_HEAVY = "docker"


def require_free_disk(need, what):
    """Skips, saying why, when the temp filesystem (where test gateways keep
    STATE_DIR and S3_DATA_DIR) has less than `need` bytes free: a full disk
    would fail the test for the machine's sake, not the gateway's."""
    where = tempfile.gettempdir()
    free = shutil.disk_usage(where).free
    if free < need:
        pytest.skip(f"{what} needs {need >> 20} MiB free in {where}; this machine has {free >> 20} MiB")


# Before pytest-xdist's worker reads the groups in its own hook of the same
# name (it suffixes each test id with its group); after it, these markers
# would not be seen.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.get_closest_marker("xdist_group"):
            continue
        module = item.module.__name__.rsplit(".", 1)[-1]
        group = DISK_HEAVY if module in DOCKER_FILES else module
        item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config):
    """Fills the plugin cache once, before any test gateway starts. On a
    clean checkout the cache is empty and the first gateway compiles every
    plugin; with two workers starting gateways at once on a loaded 2-core
    machine that took longer than a gateway's start timeout, and every
    test of the run failed at setup. Runs once, in the controller (or the
    only process without xdist)."""
    if hasattr(config, "workerinput") or not BINARY.exists():
        return
    Gateway(start_timeout=float(os.environ.get("GATEWAY_WARM_TIMEOUT", "1200"))).close()
