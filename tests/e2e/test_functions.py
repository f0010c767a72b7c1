"""The `functions` host capability, through the `runner` test plugin (a tiny
Lambda: CreateFunction keeps a zip, Invoke runs it): python, node and
provided.al2023 code run as local processes speaking AWS's Lambda Runtime
API; errors, timeouts, init errors, concurrency and bad bundles come back
in AWS's shapes."""

import base64
import concurrent.futures
import io
import json
import shutil
import time
import uuid
import zipfile

import pytest
import requests


def make_zip(files, compresslevel=6):
    """{name: text or bytes} -> zip bytes; `bootstrap` gets mode 755."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as z:
        for name, body in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith("bootstrap") else 0o644) << 16
            z.writestr(info, body)
    return buf.getvalue()


def b64(data):
    return base64.b64encode(data).decode()


def call(gw, op, body):
    return gw.json_call("Runner", op, body)


def create(gw, name=None, runtime="python3.12", handler="app.handler", files=None, **extra):
    name = name or f"f-{uuid.uuid4().hex[:8]}"
    body = {"FunctionName": name, "Runtime": runtime, "Handler": handler, **extra}
    if files is not None:
        body["ZipFile"] = b64(make_zip(files))
    r = call(gw, "CreateFunction", body)
    assert r.status_code == 200, r.text
    return name, r.json()


def invoke(gw, name, payload=None):
    r = call(gw, "Invoke", {"FunctionName": name, "Payload": json.dumps(payload if payload is not None else {})})
    assert r.status_code == 200, r.text
    return r.json()


PY_ECHO = """
import os, time

def handler(event, context):
    print("hello from python", event.get("n"))
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "pid": os.getpid(),
        "env": {k: os.environ.get(k) for k in [
            "AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_REGION", "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "LAMBDA_TASK_ROOT",
            "TZ", "AWS_LAMBDA_RUNTIME_API", "GREETING", "AWS_EXECUTION_ENV"]},
    }
"""


def test_python_payload_context_env_and_logs(gateway):
    name, created = create(gateway, files={"app.py": PY_ECHO}, Environment={"GREETING": "hi"},
                           MemorySize=256, Timeout=7)
    assert len(base64.b64decode(created["CodeSha256"])) == 32
    assert created["CodeSize"] > 0 and created["UnzippedSize"] == len(PY_ECHO)

    out = invoke(gateway, name, {"n": 1, "nested": {"a": [1, 2, 3]}})
    assert "FunctionError" not in out, out
    body = json.loads(out["Payload"])
    assert body["event"] == {"n": 1, "nested": {"a": [1, 2, 3]}}
    assert body["request_id"] == out["RequestId"]
    assert body["function_name"] == name
    assert body["function_version"] == "$LATEST"
    assert body["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{name}"
    assert body["memory"] == "256"
    assert body["log_group"] == f"/aws/lambda/{name}"
    assert body["log_stream"].startswith("2024/01/01/[$LATEST]")
    assert 5000 < body["remaining"] <= 7000
    env = body["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name
    assert env["_HANDLER"] == "app.handler"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ACCESS_KEY_ID"] == "000000000000"
    assert env["AWS_SECRET_ACCESS_KEY"] and env["AWS_SESSION_TOKEN"]
    assert env["AWS_ENDPOINT_URL"].endswith(f":{gateway.port}")
    assert env["TZ"] == ":UTC"
    assert env["GREETING"] == "hi"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert env["AWS_LAMBDA_RUNTIME_API"].startswith("127.0.0.1:")

    logs = out["Logs"]
    assert f"START RequestId: {out['RequestId']} Version: $LATEST" in logs
    assert "hello from python 1" in logs
    assert f"END RequestId: {out['RequestId']}" in logs
    assert f"REPORT RequestId: {out['RequestId']}\tDuration: " in logs
    assert "Memory Size: 256 MB" in logs and "Init Duration: " in logs
    assert out["InitDurationMs"] > 0

    # Warm: the same worker, no init, and only this invoke's output.
    again = invoke(gateway, name, {"n": 2})
    assert "InitDurationMs" not in again
    assert "Init Duration" not in again["Logs"]
    assert "hello from python 2" in again["Logs"] and "hello from python 1" not in again["Logs"]
    assert json.loads(again["Payload"])["pid"] == body["pid"]


def test_function_code_reaches_the_gateway(gateway):
    code = """
import os, urllib.request
def handler(event, context):
    with urllib.request.urlopen(os.environ["AWS_ENDPOINT_URL"] + "/_ministack/health", timeout=5) as r:
        return {"status": r.status}
"""
    name, _ = create(gateway, files={"app.py": code})
    out = invoke(gateway, name)
    assert json.loads(out["Payload"]) == {"status": 200}, out


def test_python_exception_is_an_unhandled_function_error(gateway):
    code = """
def handler(event, context):
    raise ValueError("bad input: " + str(event["x"]))
"""
    name, _ = create(gateway, files={"app.py": code})
    out = invoke(gateway, name, {"x": 42})
    assert out["FunctionError"] == "Unhandled"
    err = json.loads(out["Payload"])
    assert err["errorType"] == "ValueError"
    assert err["errorMessage"] == "bad input: 42"
    assert err["requestId"] == out["RequestId"]
    assert isinstance(err["stackTrace"], list) and any("app.py" in line for line in err["stackTrace"])
    assert "[ERROR] ValueError: bad input: 42" in out["Logs"]
    # The worker survives a handled error (as on AWS) and answers again.
    again = invoke(gateway, name, {"x": 1})
    assert json.loads(again["Payload"])["errorMessage"] == "bad input: 1"
    assert "InitDurationMs" not in again


def test_timeout_kills_the_worker_and_answers_like_aws(gateway):
    code = """
import time
def handler(event, context):
    if event.get("sleep"):
        print("going to sleep")
        time.sleep(event["sleep"])
    return "awake"
"""
    name, _ = create(gateway, files={"app.py": code}, Timeout=1)
    began = time.monotonic()
    out = invoke(gateway, name, {"sleep": 30})
    took = time.monotonic() - began
    assert 1.0 <= took < 5, took
    assert out["FunctionError"] == "Unhandled"
    err = json.loads(out["Payload"])
    assert err["errorType"] == "Sandbox.Timedout"
    assert err["errorMessage"].endswith("Task timed out after 1.00 seconds"), err
    assert "going to sleep" in out["Logs"]
    assert "Task timed out after 1.00 seconds" in out["Logs"] and "Status: timeout" in out["Logs"]
    # A fresh worker takes the next invoke.
    ok = invoke(gateway, name, {})
    assert json.loads(ok["Payload"]) == "awake"
    assert ok["InitDurationMs"] > 0


def test_init_errors(gateway):
    name, _ = create(gateway, files={"app.py": "def handler(e, c):\n    return 1\n"}, Handler="nothere.handler")
    out = invoke(gateway, name)
    assert out["FunctionError"] == "Unhandled"
    err = json.loads(out["Payload"])
    assert err["errorType"] == "Runtime.ImportModuleError"
    assert err["errorMessage"].startswith("Unable to import module 'nothere'")

    name, _ = create(gateway, files={"app.py": "def handler(e, c):\n    return 1\n"}, Handler="app.missing")
    err = json.loads(invoke(gateway, name)["Payload"])
    assert err["errorType"] == "Runtime.HandlerNotFound"
    assert err["errorMessage"] == "Handler 'missing' missing on module 'app'"

    name, _ = create(gateway, files={"app.py": "def handler(e, c):\n    return (\n"})
    err = json.loads(invoke(gateway, name)["Payload"])
    assert err["errorType"] == "Runtime.UserCodeSyntaxError"

    name, _ = create(gateway, files={"index.js": "exports.other = async () => 1;\n"},
                     runtime="nodejs20.x", Handler="index.handler")
    err = json.loads(invoke(gateway, name)["Payload"])
    assert err["errorType"] == "Runtime.HandlerNotFound"

    name, _ = create(gateway, files={"index.js": "exports.handler = async () => 1;\n"},
                     runtime="nodejs20.x", Handler="missing.handler")
    err = json.loads(invoke(gateway, name)["Payload"])
    assert err["errorType"] == "Runtime.ImportModuleError"
    assert "Cannot find module 'missing'" in err["errorMessage"]


NODE = """
exports.handler = async (event, context) => {
  console.log("hello from node", event.n);
  return {
    event,
    requestId: context.awsRequestId,
    functionName: context.functionName,
    arn: context.invokedFunctionArn,
    memory: context.memoryLimitInMB,
    remaining: context.getRemainingTimeInMillis(),
    region: process.env.AWS_REGION,
    greeting: process.env.GREETING,
    pid: process.pid,
  };
};
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { viaCallback: event.n * 2 }), 10);
};
exports.fails = async (event) => {
  throw new TypeError("no good " + event.n);
};
"""


def test_node_handlers(gateway):
    name, _ = create(gateway, files={"index.js": NODE}, runtime="nodejs20.x", Handler="index.handler",
                     Environment={"GREETING": "hey"})
    out = invoke(gateway, name, {"n": 3})
    assert "FunctionError" not in out, out
    body = json.loads(out["Payload"])
    assert body["event"] == {"n": 3}
    assert body["requestId"] == out["RequestId"]
    assert body["functionName"] == name
    assert body["arn"].endswith(f":function:{name}")
    assert body["memory"] == "128"
    assert 0 < body["remaining"] <= 3000
    assert body["region"] == "us-east-1" and body["greeting"] == "hey"
    assert f"\t{out['RequestId']}\tINFO\thello from node 3" in out["Logs"]
    again = invoke(gateway, name, {"n": 4})
    assert json.loads(again["Payload"])["pid"] == body["pid"]

    name, _ = create(gateway, files={"index.js": NODE}, runtime="nodejs20.x", Handler="index.callback")
    assert json.loads(invoke(gateway, name, {"n": 5})["Payload"]) == {"viaCallback": 10}

    name, _ = create(gateway, files={"index.js": NODE}, runtime="nodejs20.x", Handler="index.fails")
    out = invoke(gateway, name, {"n": 6})
    assert out["FunctionError"] == "Unhandled"
    err = json.loads(out["Payload"])
    assert err["errorType"] == "TypeError" and err["errorMessage"] == "no good 6"
    assert isinstance(err["trace"], list) and err["trace"][0].startswith("TypeError: no good 6")


def test_node_es_module(gateway):
    code = "export const handler = async (event) => ({ esm: true, got: event.v });\n"
    name, _ = create(gateway, files={"index.mjs": code}, runtime="nodejs22.x", Handler="index.handler")
    assert json.loads(invoke(gateway, name, {"v": "x"})["Payload"]) == {"esm": True, "got": "x"}


BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "bootstrap starting for $_HANDLER"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\\r\\n')"
  rm -f "$HEADERS"
  echo "handling $ID"
  curl -sS -o /dev/null -X POST "$API/invocation/$ID/response" -d "{\\"echo\\": $EVENT, \\"shell\\": true}"
done
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_provided_al2023_shell_bootstrap(gateway):
    name, _ = create(gateway, files={"bootstrap": BOOTSTRAP}, runtime="provided.al2023", Handler="my.handler")
    for n in range(3):
        out = invoke(gateway, name, {"n": n})
        assert "FunctionError" not in out, out
        assert json.loads(out["Payload"]) == {"echo": {"n": n}, "shell": True}
        assert f"handling {out['RequestId']}" in out["Logs"]
    # A provided function without a bootstrap fails as AWS's does.
    name, _ = create(gateway, files={"main.sh": "echo"}, runtime="provided.al2023", Handler="x")
    out = invoke(gateway, name)
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"])["errorType"] == "Runtime.InvalidEntrypoint"


def test_layers_are_on_the_import_path(gateway):
    layer = make_zip({"python/greetings.py": "WORD = 'from a layer'\n"})
    override = make_zip({"python/greetings.py": "WORD = 'from the second layer'\n"})
    code = "import greetings\ndef handler(e, c):\n    return greetings.WORD\n"
    name, _ = create(gateway, files={"app.py": code}, Layers=[b64(layer)])
    assert json.loads(invoke(gateway, name)["Payload"]) == "from a layer"
    name, _ = create(gateway, files={"app.py": code}, Layers=[b64(layer), b64(override)])
    assert json.loads(invoke(gateway, name)["Payload"]) == "from the second layer"


def test_new_code_replaces_warm_workers(gateway):
    name, _ = create(gateway, files={"app.py": "def handler(e, c):\n    return 'v1'\n"})
    assert json.loads(invoke(gateway, name)["Payload"]) == "v1"
    create(gateway, name=name, files={"app.py": "def handler(e, c):\n    return 'v2'\n"})
    assert json.loads(invoke(gateway, name)["Payload"]) == "v2"


SLEEPY = """
import os, time
def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return os.getpid()
"""


def test_concurrent_invokes_start_more_workers(gateway):
    name, _ = create(gateway, files={"app.py": SLEEPY})
    first = json.loads(invoke(gateway, name, {})["Payload"])  # one warm worker
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: invoke(gateway, name, {"sleep": 0.8}), range(4)))
    took = time.monotonic() - began
    pids = {json.loads(o["Payload"]) for o in outs}
    assert all("FunctionError" not in o for o in outs), outs
    assert len(pids) == 4, pids
    assert first in pids
    assert took < 3.2, took  # side by side, not one after another
    assert sum(1 for o in outs if "InitDurationMs" in o) == 3


def test_reserved_concurrency_throttles(gateway):
    name, _ = create(gateway, files={"app.py": SLEEPY}, ReservedConcurrency=1)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        rs = list(pool.map(
            lambda _: call(gateway, "Invoke", {"FunctionName": name, "Payload": '{"sleep": 1}'}), range(3)))
    codes = sorted(r.status_code for r in rs)
    assert codes.count(200) >= 1 and codes.count(429) >= 1, [r.text for r in rs]
    throttled = next(r for r in rs if r.status_code == 429).json()
    assert throttled["__type"].endswith("TooManyRequestsException")
    assert throttled["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    name, _ = create(gateway, files={"app.py": SLEEPY}, ReservedConcurrency=0)
    r = call(gateway, "Invoke", {"FunctionName": name, "Payload": "{}"})
    assert r.status_code == 429, r.text


def test_account_concurrency_limit(make_gateway):
    gw = make_gateway(env={"LAMBDA_ACCOUNT_CONCURRENCY": "2"})
    name, _ = create(gw, files={"app.py": SLEEPY})
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        rs = list(pool.map(
            lambda _: call(gw, "Invoke", {"FunctionName": name, "Payload": '{"sleep": 1}'}), range(4)))
    codes = [r.status_code for r in rs]
    assert codes.count(200) == 2 and codes.count(429) == 2, [r.text for r in rs]
    assert all(r.json()["Reason"] == "ConcurrentInvocationLimitExceeded" for r in rs if r.status_code == 429)


def test_bad_bundles_and_runtimes_are_aws_errors(gateway):
    r = call(gateway, "CreateFunction", {"FunctionName": "notzip", "Runtime": "python3.12",
                                         "Handler": "app.handler", "ZipFile": b64(b"this is not a zip")})
    assert r.status_code == 400, r.text
    assert r.json()["__type"].endswith("InvalidParameterValueException")
    assert "Could not unzip uploaded file" in r.json()["message"]

    # 260 MB of zeros: a few hundred KB zipped, over AWS's 250 MB unzipped.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("zeros.bin", "w", force_zip64=True) as f:
            chunk = bytes(1 << 20)
            for _ in range(260):
                f.write(chunk)
    r = call(gateway, "Prepare", {"ZipFile": b64(buf.getvalue())})
    assert r.status_code == 400, r.text
    assert r.json()["__type"].endswith("InvalidParameterValueException")
    assert r.json()["message"] == "Unzipped size must be smaller than 262144000 bytes"

    name, _ = create(gateway, files={"app.rb": "def handler(event:, context:) 1 end"}, runtime="ruby3.3",
                     Handler="app.handler")
    r = call(gateway, "Invoke", {"FunctionName": name, "Payload": "{}"})
    assert r.status_code == 502, r.text
    assert r.json()["__type"].endswith("InvalidRuntimeException")
    assert "ruby3.3" in r.json()["message"] and "Docker" in r.json()["message"]

    name, _ = create(gateway, files={"app.py": "x"}, runtime="cobol85")
    r = call(gateway, "Invoke", {"FunctionName": name, "Payload": "{}"})
    assert r.json()["__type"].endswith("InvalidRuntimeException"), r.text

    assert requests.get(gateway.url + "/_ministack/health", timeout=5).status_code == 200


def test_strict_mode_needs_the_exact_python(make_gateway):
    gw = make_gateway(env={"LAMBDA_STRICT": "1"})
    name, _ = create(gw, files={"app.py": "def handler(e, c):\n    return 1\n"}, runtime="python3.99")
    r = call(gw, "Invoke", {"FunctionName": name, "Payload": "{}"})
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["__type"].endswith("InvalidRuntimeException")
    assert "python3.99" in body["message"]


def alive(pid):
    """True while the process runs (a zombie waiting to be reaped is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_workers_end_with_the_gateway(make_gateway):
    gw = make_gateway()
    name, _ = create(gw, files={"app.py": SLEEPY})
    pid = json.loads(invoke(gw, name)["Payload"])
    assert alive(pid)
    gw.kill()  # SIGKILL: no cleanup code runs in the gateway
    deadline = time.time() + 5
    while time.time() < deadline and alive(pid):
        time.sleep(0.05)
    assert not alive(pid)


def test_warm_workers_expire_after_the_ttl(make_gateway):
    gw = make_gateway(env={"LAMBDA_WARM_TTL_SECONDS": "1"})
    name, _ = create(gw, files={"app.py": SLEEPY})
    pid = json.loads(invoke(gw, name)["Payload"])
    time.sleep(2.5)
    out = invoke(gw, name)
    assert out["InitDurationMs"] > 0
    assert json.loads(out["Payload"]) != pid
    assert not alive(pid)


# --- Docker executor (LAMBDA_EXECUTOR=docker) -------------------------------

IMAGE_PREFIX = "ministack-test/lambda/"
PYTHON_IMAGE = IMAGE_PREFIX + "python:3.12"


def docker_unavailable():
    """Why the Docker executor cannot be tested here (None when it can)."""
    import subprocess
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    r = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        return "docker info failed (no engine): " + (r.stderr.strip().splitlines() or [""])[-1]
    return None


def ensure_python_image():
    """The python base the executor runs (no registry: built locally from
    debian:bookworm-slim, which scripts/docker-local-base.sh makes)."""
    import subprocess
    from pathlib import Path
    if subprocess.run(["docker", "image", "inspect", PYTHON_IMAGE], capture_output=True).returncode == 0:
        return
    root = Path(__file__).resolve().parents[2]
    if subprocess.run(["docker", "image", "inspect", "debian:bookworm-slim"], capture_output=True).returncode:
        subprocess.run(["bash", str(root / "scripts/docker-local-base.sh")], check=True, timeout=1200)
    dockerfile = ("FROM debian:bookworm-slim\n"
                  "RUN apt-get update -q && apt-get install -y -q --no-install-recommends python3 "
                  "&& rm -rf /var/lib/apt/lists/*\n")
    subprocess.run(["docker", "build", "--network", "host", "-t", PYTHON_IMAGE, "-"], input=dockerfile.encode(),
                   check=True, capture_output=True, timeout=1200)


def function_containers(name):
    import subprocess
    out = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=ministack.function={name}",
                          "--filter", "label=ministack.owner=functions"], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_python_through_the_docker_executor(make_gateway):
    why = docker_unavailable()
    if why:
        pytest.skip(f"Docker executor not tested: {why}")
    ensure_python_image()
    gw = make_gateway(env={"LAMBDA_EXECUTOR": "docker", "MINISTACK_IMAGE_PREFIX": IMAGE_PREFIX})
    code = PY_ECHO + """
def fails(event, context):
    raise KeyError("missing")
"""
    name, _ = create(gw, files={"app.py": code}, Environment={"GREETING": "from docker"})
    out = invoke(gw, name, {"n": 7})
    assert "FunctionError" not in out, out
    body = json.loads(out["Payload"])
    assert body["event"] == {"n": 7}
    assert body["request_id"] == out["RequestId"]
    assert body["function_name"] == name
    assert body["env"]["LAMBDA_TASK_ROOT"] == "/var/task"
    assert body["env"]["GREETING"] == "from docker"
    assert body["env"]["AWS_ENDPOINT_URL"].endswith(f":{gw.port}")
    assert "hello from python 7" in out["Logs"] and out["InitDurationMs"] > 0
    assert len(function_containers(name)) == 1
    again = invoke(gw, name, {"n": 8})
    assert "InitDurationMs" not in again
    assert json.loads(again["Payload"])["pid"] == body["pid"]

    name2, _ = create(gw, files={"app.py": code}, Handler="app.fails")
    out = invoke(gw, name2)
    assert out["FunctionError"] == "Unhandled"
    assert json.loads(out["Payload"])["errorType"] == "KeyError"

    # Stopping the gateway removes its function containers.
    gw.stop()
    assert function_containers(name) == [] and function_containers(name2) == []


def test_docker_executor_without_the_image_is_an_aws_error(make_gateway):
    why = docker_unavailable()
    if why:
        pytest.skip(f"Docker executor not tested: {why}")
    gw = make_gateway(env={"LAMBDA_EXECUTOR": "docker", "MINISTACK_IMAGE_PREFIX": "ministack-test/nothing-here/"})
    name, _ = create(gw, files={"app.py": PY_ECHO})
    r = call(gw, "Invoke", {"FunctionName": name, "Payload": "{}"})
    assert r.status_code == 400, r.text
    assert r.json()["__type"].endswith("InvalidParameterValueException")
    assert "not present" in r.json()["message"]
    assert requests.get(gw.url + "/_ministack/health", timeout=5).status_code == 200
