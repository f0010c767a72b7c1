"""Function invoke latency, ministack vs MiniStack, in one run.

    python3 bench/functions_bench.py            # needs target/release/ministack + runner.wasm
    BENCH_WARM=500 BENCH_COLD=10 python3 bench/functions_bench.py

ministack: the `runner` test plugin (tests/plugins/runner, a tiny Lambda over
the `functions` capability) through the gateway. MiniStack (`pip install
ministack`: MINISTACK_BIN, /opt/ministack-venv, bench/.venv or PATH): its Lambda API, the same
handlers created with boto3. Both are called over one kept-alive HTTP
connection with the same trivial handlers, so the numbers compare the
servers, not the clients. Cold = the first invoke of a newly created
function (a new worker process); warm = every later one.
"""

import base64
import http.client
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARM = int(os.environ.get("BENCH_WARM", "300"))
COLD = int(os.environ.get("BENCH_COLD", "8"))

PY = "def handler(event, context):\n    return {'ok': True, 'n': event.get('n')}\n"
NODE = "exports.handler = async (event) => ({ ok: true, n: event.n });\n"
CASES = [
    ("python", "python3.12", "app.handler", {"app.py": PY}),
    ("node", "nodejs20.x", "index.handler", {"index.js": NODE}),
]


def zip_bytes(files):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in files.items():
            z.writestr(name, body)
    return buf.getvalue()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, path):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not become healthy")


def pct(samples, p):
    s = sorted(samples)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def summary(samples):
    return f"p50 {statistics.median(samples):7.2f} ms  p99 {pct(samples, 99):7.2f} ms  (n={len(samples)})"


AUTH = ("AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/{svc}/aws4_request, "
        "SignedHeaders=host, Signature=0")


class Ministack:
    name = "ministack"

    def __init__(self, extra_env=None, label="ministack"):
        self.name = label
        self.port = free_port()
        self.tmp = tempfile.mkdtemp(prefix="fnbench-")
        env = {**os.environ, "GATEWAY_PORT": str(self.port), "BIND_HOST": "127.0.0.1",
               "MINISTACK_PLUGINS_FILE": str(ROOT / "tests/plugins.toml"),
               "MINISTACK_CACHE_DIR": str(ROOT / "target/test-cache"),
               "STATE_DIR": self.tmp + "/state", "LOG_LEVEL": "warn", **(extra_env or {})}
        self.proc = subprocess.Popen([str(ROOT / "target/release/ministack")], cwd=ROOT, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_healthy(self.port, self.proc, "/_ministack/health")
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def call(self, op, body):
        self.conn.request("POST", "/", json.dumps(body), {
            "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"Runner.{op}",
            "Authorization": AUTH.format(svc="runner")})
        r = self.conn.getresponse()
        data = r.read()
        if r.status != 200:
            raise RuntimeError(f"{op}: {r.status} {data[:300]!r}")
        return json.loads(data)

    def create(self, runtime, handler, files):
        name = "b" + uuid.uuid4().hex[:10]
        self.call("CreateFunction", {"FunctionName": name, "Runtime": runtime, "Handler": handler,
                                     "ZipFile": base64.b64encode(zip_bytes(files)).decode()})
        return name

    def invoke(self, name, n):
        out = self.call("Invoke", {"FunctionName": name, "Payload": json.dumps({"n": n})})
        assert json.loads(out["Payload"]) == {"ok": True, "n": n}, out
        return out

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)


class MiniStack:
    name = "MiniStack"

    def __init__(self, exe):
        import boto3
        from botocore.config import Config
        self.port = free_port()
        env = {**os.environ, "GATEWAY_PORT": str(self.port), "LOG_LEVEL": "WARNING"}
        self.proc = subprocess.Popen([exe], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        wait_healthy(self.port, self.proc, "/_ministack/health")
        self.lam = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1",
                                aws_access_key_id="test", aws_secret_access_key="test",
                                config=Config(retries={"max_attempts": 1}))
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port)

    def create(self, runtime, handler, files):
        name = "b" + uuid.uuid4().hex[:10]
        self.lam.create_function(FunctionName=name, Runtime=runtime, Handler=handler,
                                 Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": zip_bytes(files)})
        return name

    def invoke(self, name, n):
        self.conn.request("POST", f"/2015-03-31/functions/{name}/invocations", json.dumps({"n": n}), {
            "Content-Type": "application/json", "Authorization": AUTH.format(svc="lambda")})
        r = self.conn.getresponse()
        data = r.read()
        assert r.status == 200 and json.loads(data) == {"ok": True, "n": n}, (r.status, data[:300])

    def stop(self):
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def measure(server, runtime, handler, files):
    cold, warm = [], []
    for _ in range(COLD):
        name = server.create(runtime, handler, files)
        t = time.perf_counter()
        server.invoke(name, 0)
        cold.append((time.perf_counter() - t) * 1000)
    name = server.create(runtime, handler, files)
    server.invoke(name, 0)
    for i in range(min(20, WARM)):  # settle
        server.invoke(name, i)
    for i in range(WARM):
        t = time.perf_counter()
        server.invoke(name, i)
        warm.append((time.perf_counter() - t) * 1000)
    return cold, warm


def main():
    servers = []
    try:
        servers.append(Ministack())
    except Exception as e:  # noqa: BLE001
        sys.exit(f"ministack did not start: {e}")
    candidates = [os.environ.get("MINISTACK_BIN", ""), "/opt/ministack-venv/bin/ministack",
                  str(ROOT / "bench/.venv/bin/ministack"), shutil.which("ministack") or ""]
    exe = next((c for c in candidates if c and os.path.exists(c)), "")
    if exe and os.environ.get("BENCH_SKIP_MINISTACK") != "1":
        try:
            servers.append(MiniStack(exe))
        except Exception as e:  # noqa: BLE001
            print(f"MiniStack not measured: {e}", file=sys.stderr)
    else:
        print("MiniStack not found (pip install ministack): measuring ministack only", file=sys.stderr)
    docker_image = "ministack-test/lambda/python:3.12"  # tests/e2e/test_functions.py builds it
    docker = None
    if shutil.which("docker") and subprocess.run(["docker", "image", "inspect", docker_image],
                                                 capture_output=True).returncode == 0:
        docker = Ministack({"LAMBDA_EXECUTOR": "docker", "MINISTACK_IMAGE_PREFIX": "ministack-test/lambda/"},
                           "ministack (docker)")
        servers.append(docker)
    else:
        print(f"Docker executor not measured: no engine or no {docker_image} image", file=sys.stderr)
    rows = []
    try:
        for label, runtime, handler, files in CASES:
            for s in servers:
                if s is docker and label != "python":
                    continue
                try:
                    cold, warm = measure(s, runtime, handler, files)
                except Exception as e:  # noqa: BLE001
                    rows.append(f"| {label} | {s.name} | failed: {str(e)[:80]} | |")
                    continue
                rows.append(f"| {label} | {s.name} | warm {summary(warm)} | cold {summary(cold)} |")
                print(rows[-1], flush=True)
    finally:
        for s in servers:
            s.stop()
    print("\n| runtime | server | warm invoke | cold invoke |\n|---|---|---|---|")
    print("\n".join(rows))
    # With OUT=<file> (bench/run.sh passes BENCHMARKS.md), the table is appended.
    if os.environ.get("OUT"):
        with open(os.environ["OUT"], "a") as f:
            f.write("\n## Function invokes: warm and cold (bench/functions_bench.py)\n\n"
                    "ministack: the `runner` test plugin over the `functions` capability; MiniStack: its Lambda API. "
                    f"One kept-alive connection, the same trivial handlers; warm = {WARM} invokes of one function, "
                    f"cold = the first invoke of {COLD} newly created functions (wall time at the client).\n\n"
                    "| runtime | server | warm invoke | cold invoke |\n|---|---|---|---|\n")
            f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
