"""The AWS SDK for JavaScript v3 (npm) against the gateway, configured only
through AWS_ENDPOINT_URL: S3 path style and virtual host, SQS, the DynamoDB
DocumentClient and Lambda invoke (tests/clients/js/sdk.test.mjs)."""

import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

JS = Path(__file__).resolve().parents[1] / "clients" / "js"

HANDLER = "exports.handler = async (event) => ({ greeting: `hello ${event.name}` });\n"


def npm_ready():
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the JavaScript SDK cannot run")
    lock = JS / "package-lock.json"
    stamp = JS / "node_modules" / ".package-lock.json"
    if not stamp.exists() or stamp.stat().st_mtime < lock.stat().st_mtime:
        out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=JS, capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, f"npm ci failed:\n{out.stdout}\n{out.stderr}"


def test_js_sdk_v3(gateway, tmp_path):
    npm_ready()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.js", HANDLER)
    (tmp_path / "fn.zip").write_bytes(buf.getvalue())
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": f"http://localhost:{gateway.port}",
        "AWS_ACCESS_KEY_ID": "000000000000",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "FUNCTION_ZIP": str(tmp_path / "fn.zip"),
    }
    out = subprocess.run(["node", "--test", "sdk.test.mjs"], cwd=JS, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
    assert "# pass 5" in out.stdout and "# fail 0" in out.stdout, out.stdout
