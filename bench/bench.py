#!/usr/bin/env python3
"""ministack vs MiniStack, measured in the same run, on loopback.

Run through `make bench` (or `bash bench/run.sh`), which installs wrk and
MiniStack and builds the hello server first. Directly:

    bench/.venv/bin/python bench/bench.py --ministack bench/.venv/bin/ministack \\
        --hello bench/hello/target/release/bench-hello [--seconds 10] [--out BENCHMARKS.md]

Measures: launch -> first 200 on /_ministack/health (bench/startup.py), idle
RSS, wrk at 1 and 32 connections per operation (bench/wrk/*.lua), each
one's share of a bare hyper "hello" server (the physical ceiling), 64 MiB
PUT/GET throughput, RSS after the load, then the newer services' headline
operations (SERVICE_CASES: Lambda, EventBridge → SQS, Kinesis, Logs, Step
Functions). Prints the tables and writes BENCHMARKS.md.
"""

import argparse
import datetime
import hashlib
import http.client
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import startup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WRK = ROOT / "bench" / "wrk"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# (label, lua script): the wrk cases, in order.
CASES = [
    ("S3 PutObject 1 KiB", "s3_put.lua"),
    ("S3 GetObject 1 KiB", "s3_get.lua"),
    ("SQS SendMessage", "sqs_send.lua"),
    ("SQS ReceiveMessage", "sqs_receive.lua"),
    ("DynamoDB PutItem", "ddb_put.lua"),
    ("DynamoDB GetItem", "ddb_get.lua"),
    ("DynamoDB Query 100 items", "ddb_query.lua"),
    ("STS GetCallerIdentity", "sts_identity.lua"),
]
# The newer services' headline operations: (label, lua script, items per
# request, item unit, connections). service_fixtures() creates what each
# script names through its environment (bench/wrk/*.lua say which variable).
# Lambda runs at 1 connection only, and last: 32 concurrent invokes start 32
# workers (a cold start each, as on AWS), which is not the warm path, and
# MiniStack is still draining that backlog long after wrk stops.
SERVICE_CASES = [
    ("EventBridge PutEvents → SQS, 10 entries", "events_put.lua", 10, "entries", [1, 32]),
    ("Kinesis PutRecords, 100 × 100 B", "kinesis_put.lua", 100, "records", [1, 32]),
    ("Logs PutLogEvents, 100 events", "logs_put.lua", 100, "events", [1, 32]),
    ("Step Functions StartSyncExecution, 5-state express", "sfn_sync.lua", 1, "", [1, 32]),
    ("Lambda Invoke, warm python function", "lambda_invoke.lua", 1, "", [1]),
]
CONNS = [1, 32]
BIG = 64 * 1024 * 1024

LAMBDA_CODE = "def handler(event, context):\n    return {'ok': True, 'k': event.get('k')}\n"
SFN_FIVE = {"StartAt": "A", "States": {
    "A": {"Type": "Pass", "Result": {"n": 3}, "Next": "B"},
    "B": {"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericGreaterThan": 2, "Next": "C"}], "Default": "D"},
    "C": {"Type": "Pass", "Parameters": {"big.$": "$.n"}, "Next": "E"},
    "D": {"Type": "Pass", "Next": "E"},
    "E": {"Type": "Succeed"}}}


def record(results, fails, s, label, c, r):
    """Keeps one wrk result, logs it, and notes its failed requests."""
    results[(label, c, s.name)] = r
    log(f"  {s.name:9} {label:26} c={c:<2} {r['rps']:8.0f} req/s p50 {r['p50']:.2f} ms "
        f"p99 {r['p99']:.2f} ms non-2xx {r['non2xx']} cpu {r['cpu_us']:.0f} us/req")
    if r["non2xx"] or r["sock_err"]:
        fails.append(f"{s.name} {label} c={c}: {r['non2xx']} non-2xx, {r['sock_err']} socket errors "
                     f"of {r['requests']}")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def cpu_seconds(pid):
    """utime + stime of pid and its live descendants, plus each one's cutime +
    cstime (children it has reaped: a Lambda worker that exits mid-run)."""
    total = 0
    for p in startup.tree_pids(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(x) for x in fields[11:15])
        except OSError:
            pass
    return total / CLK_TCK


class Server:
    def __init__(self, name, cmd, env):
        self.name, self.cmd = name, cmd
        self.port = startup.free_port()
        self.env = {**env, "GATEWAY_PORT": str(self.port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error"}
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self, health="/_ministack/health", timeout=300):  # a cold plugin cache compiles every plugin
        cmd = [c.replace("{port}", str(self.port)) for c in self.cmd]
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.time()
        while time.time() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + health, timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{self.name} not ready in {timeout} s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def clients(server):
    """boto3 client factory for server (no host prefixes: StartSyncExecution's "sync-" would miss 127.0.0.1)."""
    import boto3
    from botocore.config import Config

    kw = dict(endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test",
              config=Config(retries={"max_attempts": 1}, inject_host_prefix=False, read_timeout=120))
    return lambda service: boto3.client(service, **kw)


def fixtures(server):
    """Bucket + 1 KiB object, queue, table with 100 items under pk=bench."""
    import boto3
    from botocore.config import Config

    kw = dict(endpoint_url=server.url, region_name="us-east-1", aws_access_key_id="test",
              aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
    s3 = boto3.client("s3", **kw)
    s3.create_bucket(Bucket="bench-bucket")
    s3.put_object(Bucket="bench-bucket", Key="bench-get", Body=b"g" * 1024)
    sqs = boto3.client("sqs", **kw)
    queue_url = sqs.create_queue(QueueName="bench-queue")["QueueUrl"]
    # ReceiveMessage reads a separate queue of 100 messages at constant depth
    # (the request sets VisibilityTimeout 0), so both servers receive from the
    # same queue whatever SendMessage left behind.
    recv_url = sqs.create_queue(QueueName="bench-recv-queue")["QueueUrl"]
    for b in range(10):
        sqs.send_message_batch(QueueUrl=recv_url, Entries=[
            {"Id": str(i), "MessageBody": f"bench message {10 * b + i}"} for i in range(10)])
    ddb = boto3.client("dynamodb", **kw)
    ddb.create_table(TableName="bench-table", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                           {"AttributeName": "sk", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                                {"AttributeName": "sk", "KeyType": "RANGE"}])
    for i in range(100):
        ddb.put_item(TableName="bench-table",
                     Item={"pk": {"S": "bench"}, "sk": {"N": str(i)}, "payload": {"S": "v" * 100}})
    n = ddb.query(TableName="bench-table", KeyConditionExpression="pk = :p",
                  ExpressionAttributeValues={":p": {"S": "bench"}})["Count"]
    if n != 100:
        raise RuntimeError(f"{server.name}: fixture query returned {n} items, not 100")
    boto3.client("sts", **kw).get_caller_identity()
    return {"sqs_send.lua": queue_url, "sqs_receive.lua": recv_url}


def service_fixtures(server):
    """What the SERVICE_CASES scripts call, each checked with one boto3 call of
    the same operation: {script: environment for wrk}. A server that cannot
    set one up gets {script: error text} instead."""
    import io
    import zipfile

    client = clients(server)
    out = {}

    def lambda_fn():
        lam = client("lambda")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("app.py", LAMBDA_CODE)
        lam.create_function(FunctionName="bench-echo", Runtime="python3.12", Handler="app.handler",
                            Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": buf.getvalue()}, Timeout=30)
        for _ in range(300):
            if lam.get_function(FunctionName="bench-echo")["Configuration"].get("State", "Active") == "Active":
                break
            time.sleep(0.1)
        for _ in range(20):  # the worker is warm from here on
            r = lam.invoke(FunctionName="bench-echo", Payload=b'{"k": 1}')
            payload = json.loads(r["Payload"].read())
            if payload != {"ok": True, "k": 1}:
                raise RuntimeError(f"Invoke answered {payload}")
        return {"FUNCTION_NAME": "bench-echo"}

    def events_rule():
        sqs, events = client("sqs"), client("events")
        q = sqs.create_queue(QueueName="bench-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="bench-rule", EventPattern=json.dumps({"source": ["bench.wrk"]}))
        events.put_targets(Rule="bench-rule", Targets=[{"Id": "q", "Arn": arn}])
        r = events.put_events(Entries=[{"Source": "bench.wrk", "DetailType": "bench", "Detail": "{}"}])
        if r["FailedEntryCount"]:
            raise RuntimeError(f"PutEvents: {r}")
        if not wait_depth(sqs, q, 1, 30):
            raise RuntimeError("the event did not reach the SQS target in 30 s")
        return {"EVENT_SOURCE": "bench.wrk", "queue": q}

    def kinesis_stream():
        k = client("kinesis")
        k.create_stream(StreamName="bench-stream", ShardCount=4)
        for _ in range(300):
            if k.describe_stream_summary(StreamName="bench-stream")["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE":
                break
            time.sleep(0.1)
        r = k.put_records(StreamName="bench-stream", Records=[{"Data": b"b" * 100, "PartitionKey": f"key-{i}"}
                                                               for i in range(100)])
        if r.get("FailedRecordCount"):
            raise RuntimeError(f"PutRecords: {r['FailedRecordCount']} records failed")
        return {"STREAM_NAME": "bench-stream"}

    def log_group():
        logs = client("logs")
        logs.create_log_group(logGroupName="/bench/wrk")
        logs.create_log_stream(logGroupName="/bench/wrk", logStreamName="bench")
        r = logs.put_log_events(logGroupName="/bench/wrk", logStreamName="bench",
                                logEvents=[{"timestamp": int(time.time() * 1000), "message": "bench"}])
        if r.get("rejectedLogEventsInfo"):
            raise RuntimeError(f"PutLogEvents: {r['rejectedLogEventsInfo']}")
        return {"LOG_GROUP": "/bench/wrk"}

    def state_machine():
        sfn = client("stepfunctions")
        arn = sfn.create_state_machine(name="bench-five", definition=json.dumps(SFN_FIVE), type="EXPRESS",
                                       roleArn="arn:aws:iam::000000000000:role/bench")["stateMachineArn"]
        r = sfn.start_sync_execution(stateMachineArn=arn, input="{}")
        if r["status"] != "SUCCEEDED":
            raise RuntimeError(f"StartSyncExecution: {r['status']} {r.get('error')} {r.get('cause')}")
        return {"STATE_MACHINE_ARN": arn}

    setups = {"lambda_invoke.lua": lambda_fn, "events_put.lua": events_rule, "kinesis_put.lua": kinesis_stream,
              "logs_put.lua": log_group, "sfn_sync.lua": state_machine}
    for _, script, _, _, _ in SERVICE_CASES:
        try:
            out[script] = setups[script]()
        except Exception as e:  # noqa: BLE001 - reported as that server's failure for the case
            out[script] = f"{type(e).__name__}: {e}"[:300]
    return out


def queue_depth(sqs, q):
    a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    return int(a["ApproximateNumberOfMessages"])


def wait_depth(sqs, q, n, timeout):
    """Polls until the queue holds at least n messages; False after timeout seconds."""
    deadline = time.time() + timeout
    while queue_depth(sqs, q) < n:
        if time.time() > deadline:
            return False
        time.sleep(0.05)
    return True


def probe(server, script, queue_url):
    """One request as the wrk script builds it: (status, body head), to report failures."""
    txt = (WRK / script).read_text()
    method = re.search(r'wrk\.method = "(\w+)"', txt).group(1)
    path = re.search(r'wrk\.path = "([^"]+)"', txt).group(1)
    headers = dict(re.findall(r'wrk\.headers\["([^"]+)"\] = "([^"]*)"', txt))
    svc = re.search(r'auth\("(\w+)"\)', txt)
    if svc:
        headers["Authorization"] = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/" + svc.group(1)
                                    + "/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    body = None
    if "wrk.body" in txt:
        if "s3_put" in script:
            body = b"x" * 1024
        else:
            m = re.search(r"wrk\.body = (.+)", txt).group(1)
            m = m.replace("' .. q .. '", queue_url).replace('string.rep("v", 100)', "'" + "v" * 100 + "'")
            body = eval(m.replace(" .. ", " + ")).encode()  # the Lua string literals are Python literals too
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data[:300].decode("utf-8", "replace")


def parse_wrk(out):
    def dur(s):
        v, u = re.match(r"([\d.]+)(us|ms|s)", s).groups()
        return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[u]

    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1)),
           "p50": dur(re.search(r"\s50%\s+(\S+)", out).group(1)),
           "p99": dur(re.search(r"\s99%\s+(\S+)", out).group(1)),
           "non2xx": 0, "sock_err": 0}
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["sock_err"] = sum(int(x) for x in m.groups())
    return res


# Seconds of a core case's load run before it is measured, not recorded.
WARMUP_SECONDS = 1

# A core case's measured load runs in ROUNDS turns of ministack, MiniStack
# and hello, one after the other (each seconds / ROUNDS long): this shared
# VM speeds up and slows down by ±15 % over minutes, and the turns let the
# three servers meet the same phases, so the ratios and each case's share
# of the hello ceiling (taken against the hello turns beside it) are not
# one server's good minute against another's bad one.
ROUNDS = 2


def merge(turns):
    """One result of a case's turns: req/s their mean (the turns are equally
    long), p50 their median, p99 the highest turn's, CPU per request over
    all their requests."""
    total = sum(t["requests"] for t in turns)
    return {"rps": statistics.mean(t["rps"] for t in turns),
            "requests": total,
            "p50": statistics.median(t["p50"] for t in turns),
            "p99": max(t["p99"] for t in turns),
            "non2xx": sum(t["non2xx"] for t in turns),
            "sock_err": sum(t["sock_err"] for t in turns),
            "cpu_us": sum(t["cpu_us"] * t["requests"] for t in turns) / max(total, 1),
            "turns": [t["rps"] for t in turns],
            **({"delivered_per_s": statistics.mean(t["delivered_per_s"] for t in turns)}
               if all("delivered_per_s" in t for t in turns) else {})}


def warm_up(server, script, queue_url=""):
    """The case's load at the most connections for WARMUP_SECONDS, not
    recorded: a fresh server's first case would otherwise pay for what the
    later ones find ready (instances, allocator pages, this VM's first touch
    of them), and the two servers each get the same."""
    wrk(server, script, max(CONNS), WARMUP_SECONDS, queue_url)


def wrk(server, script, conns, seconds, queue_url="", env=None):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(WRK / script), server.url]
    c0, t0 = cpu_seconds(server.proc.pid), time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "QUEUE_URL": queue_url, **(env or {})})
    c1 = cpu_seconds(server.proc.pid)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed: {p.stderr}")
    res = parse_wrk(p.stdout)
    res["cpu_us"] = (c1 - c0) * 1e6 / max(res["requests"], 1)
    return res


def big_object(server, reps=3):
    """64 MiB PUT and GET: median MiB/s over reps, on one keep-alive connection."""
    body = os.urandom(BIG)
    digest = hashlib.md5(body).hexdigest()
    auth = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    h = {"Authorization": auth, "X-Amz-Date": "20260101T000000Z", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}
    put, get = [], []
    # The GET lands in a buffer allocated once: read() builds a new 64 MiB
    # bytes object from its chunks, which costs the client more than the
    # server's send (1.0-1.2 GB/s whatever the server did).
    buf = bytearray(BIG)
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=300)
    for _ in range(reps):
        t0 = time.perf_counter()
        c.request("PUT", "/bench-bucket/big", body=body,
                  headers={**h, "Content-Type": "application/octet-stream", "Content-Length": str(BIG)})
        r = c.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError(f"{server.name}: 64 MiB PUT -> {r.status}")
        put.append(64 / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        c.request("GET", "/bench-bucket/big", headers=h)
        r = c.getresponse()
        view, got = memoryview(buf), 0
        while got < BIG and (n := r.readinto(view[got:])):
            got += n
        extra = r.read()
        # Timed before the check: the client's MD5 (~600 MB/s) would be most of a fast GET.
        get.append(64 / (time.perf_counter() - t0))
        if r.status != 200 or extra or got != BIG or hashlib.md5(buf).hexdigest() != digest:
            raise RuntimeError(f"{server.name}: 64 MiB GET -> {r.status}, {got + len(extra)} bytes")
    c.close()
    return statistics.median(put), statistics.median(get)


def machine():
    def sh(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    cpu = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1)) // 1024
    return {
        "nproc": sh("nproc"), "cpu": cpu, "mem": f"{mem} MiB", "kernel": platform.release(),
        "os": sh(". /etc/os-release && echo $PRETTY_NAME"), "load": open("/proc/loadavg").read().split()[:3],
        "wrk": sh("wrk --version 2>&1 | head -1"), "python": platform.python_version(),
        "commit": sh(f"git -C {ROOT} rev-parse --short HEAD") + (" (dirty tree)" if sh(f"git -C {ROOT} status --porcelain") else ""),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=str(ROOT / "target/release/ministack"))
    ap.add_argument("--ministack", required=True, help="MiniStack's `ministack` executable")
    ap.add_argument("--hello", required=True, help="the bench/hello server binary")
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", "10")))
    ap.add_argument("--service-seconds", type=int, default=int(os.environ.get("BENCH_SERVICE_SECONDS", "6")),
                    help="wrk duration per case of SERVICE_CASES")
    ap.add_argument("--runs", type=int, default=5, help="launches per startup median")
    ap.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    ap.add_argument("--command", default=" ".join(shlex.quote(a) for a in sys.argv))
    args = ap.parse_args()

    started = datetime.datetime.now(datetime.timezone.utc)
    mach = machine()
    mini_version = subprocess.run([str(Path(args.ministack).parent / "pip"), "show", "ministack"],
                                  capture_output=True, text=True).stdout
    mini_version = re.search(r"Version: (\S+)", mini_version).group(1) if "Version" in mini_version else "?"
    log(f"machine: {mach}")

    log("startup: launch -> health, median of", args.runs)
    st = {r["label"]: r for r in startup.run_all(args.binary, args.ministack, args.runs)}

    rows = []  # (section, label, ours, theirs, unit, higher_is_better)
    fails = []
    st_w, st_c, st_m = st["ministack (warm cache)"], st["ministack (cold cache)"], st["MiniStack (Python)"]
    rows += [("startup", "launch → health 200, warm cache (median)", st_w["ready_ms"], st_m["ready_ms"], "ms", False),
             ("startup", "launch → health 200, cold cache (median)", st_c["ready_ms"], st_m["ready_ms"], "ms", False),
             ("startup", "idle RSS (1 s after ready)", st_w["rss_mib"], st_m["rss_mib"], "MiB", False)]

    cache = tempfile.mkdtemp(prefix="ministack-bench-cache-")
    state = tempfile.mkdtemp(prefix="ministack-bench-state-")
    ours = Server("ministack", [args.binary], {**os.environ, "MINISTACK_CACHE_DIR": cache,
                                                 "STATE_DIR": state, "S3_DATA_DIR": state + "/s3"})
    theirs = Server("MiniStack", [args.ministack], {**os.environ, "STATE_DIR": state + "/mini",
                                                     "S3_DATA_DIR": state + "/mini-s3"})
    hello = Server("hello", [args.hello, "{port}"], dict(os.environ))
    servers = [ours, theirs]
    results = {}
    # (case label, connections) -> hello's turns beside that case's.
    hello_at = {}
    turn_seconds = max(1, round(args.seconds / ROUNDS))
    service_turn_seconds = max(1, round(args.service_seconds / ROUNDS))
    try:
        log("hello: starting (up through the core cases, measured in turns beside each)")
        hello.start(health="/")
        warm_up(hello, "hello.lua")

        queues = {}
        for s in servers:
            log(f"{s.name}: starting, fixtures")
            s.start()
            queues[s.name] = fixtures(s)
        for label, script in CASES:
            for s in servers:
                q = queues[s.name].get(script, "")
                status, body = probe(s, script, q)
                if not 200 <= status < 300:
                    fails.append(f"{s.name} {label}: HTTP {status}: {body}")
                if script == "sqs_receive.lua" and '"Messages"' not in body:
                    fails.append(f"{s.name} {label}: no message received from a queue of 100: {body}")
                warm_up(s, script, q)
            for c in CONNS:
                turns = {s.name: [] for s in servers}
                hello_turns = []
                for _ in range(ROUNDS):
                    for s in servers:
                        q = queues[s.name].get(script, "")
                        turns[s.name].append(wrk(s, script, c, turn_seconds, q))
                    hello_turns.append(wrk(hello, "hello.lua", c, turn_seconds))
                for s in servers:
                    record(results, fails, s, label, c, merge(turns[s.name]))
                hello_at[(label, c)] = merge(hello_turns)
                log(f"  hello     {label:26} c={c:<2} {hello_at[(label, c)]['rps']:8.0f} req/s beside it")
        hello.stop()
        big = {}
        for s in servers:
            try:
                big[s.name] = big_object(s)
                log(f"  {s.name}: 64 MiB PUT {big[s.name][0]:.0f} MiB/s GET {big[s.name][1]:.0f} MiB/s")
            except Exception as e:  # noqa: BLE001
                fails.append(str(e))
                big[s.name] = (float("nan"), float("nan"))
        rss_after = {s.name: startup.rss_mib(s.proc.pid) for s in servers}
        # What each server holds at that point differs: each keeps what its own load wrote.
        held = {}
        for s in servers:
            try:
                import boto3
                sqs = boto3.client("sqs", endpoint_url=s.url, region_name="us-east-1",
                                   aws_access_key_id="test", aws_secret_access_key="test")
                a = sqs.get_queue_attributes(QueueUrl=queues[s.name]["sqs_send.lua"],
                                             AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
                held[s.name] = int(a["ApproximateNumberOfMessages"])
            except Exception:  # noqa: BLE001
                held[s.name] = None

        # The newer services, on the same two servers, after the core cases.
        svc_env = {}
        for s in servers:
            log(f"{s.name}: service fixtures")
            svc_env[s.name] = service_fixtures(s)
        for label, script, per, _, conns in SERVICE_CASES:
            ready = []
            for s in servers:
                env = svc_env[s.name][script]
                if isinstance(env, str):
                    fails.append(f"{s.name} {label}: setup failed: {env}")
                else:
                    ready.append((s, env))
            for c in conns:
                # In turns, as the core cases.
                turns = {s.name: [] for s, _ in ready}
                for _ in range(ROUNDS):
                    for s, env in ready:
                        if script == "events_put.lua":
                            sqs = clients(s)("sqs")
                            before, t0 = queue_depth(sqs, env["queue"]), time.time()
                        r = wrk(s, script, c, service_turn_seconds, env=env)
                        if script == "events_put.lua":
                            # Delivery to the rule's SQS target may trail the accepted PutEvents.
                            wait_depth(sqs, env["queue"], before + r["requests"] * per, 60)
                            got = queue_depth(sqs, env["queue"]) - before
                            r["delivered_per_s"] = got / (time.time() - t0)
                            if got < r["requests"] * per:
                                fails.append(f"{s.name} {label} c={c}: {got} of {r['requests'] * per} entries "
                                             "reached the SQS target within 60 s of the load's end")
                        turns[s.name].append(r)
                for s, _ in ready:
                    record(results, fails, s, label, c, merge(turns[s.name]))
    finally:
        for s in [hello] + servers:
            s.stop()
        subprocess.run(["rm", "-rf", cache, state])

    # The hello ceiling at c over the whole run: the median of its turns
    # (p50/p99 likewise). The newer services' cases, which run after the
    # core ones without hello turns, take their share against it.
    hello_res = {c: {k: statistics.median(h[k] for (_, hc), h in hello_at.items() if hc == c)
                     for k in ("rps", "p50", "p99")} for c in CONNS}

    def case_rows(label, c, per=1, unit=""):
        nan = float("nan")
        missing = {"rps": nan, "p50": nan, "p99": nan, "cpu_us": nan, "non2xx": "n/a"}
        a, b = results.get((label, c, "ministack"), missing), results.get((label, c, "MiniStack"), missing)
        sec = f"{label}, {c} conn"
        h = hello_at.get((label, c), hello_res[c])["rps"]
        out = [(sec, "req/s", a["rps"], b["rps"], "", True)]
        if per > 1:
            out.append((sec, f"{unit}/s", a["rps"] * per, b["rps"] * per, "", True))
        if "delivered_per_s" in a or "delivered_per_s" in b:
            out.append((sec, f"{unit} delivered to SQS per s (load start → last one in the queue)",
                        a.get("delivered_per_s", nan), b.get("delivered_per_s", nan), "", True))
        return out + [(sec, "p50", a["p50"], b["p50"], "ms", False),
                      (sec, "p99", a["p99"], b["p99"], "ms", False),
                      (sec, "server CPU per request", a["cpu_us"], b["cpu_us"], "µs", False),
                      (sec, "share of the hello ceiling", 100 * a["rps"] / h, 100 * b["rps"] / h, "%", None),
                      (sec, "non-2xx", a["non2xx"], b["non2xx"], "", None)]

    for label, _ in CASES:
        for c in CONNS:
            rows += case_rows(label, c)
    rows += [("64 MiB object", "PUT throughput (median of 3)", big["ministack"][0], big["MiniStack"][0], "MiB/s", True),
             ("64 MiB object", "GET throughput (median of 3)", big["ministack"][1], big["MiniStack"][1], "MiB/s", True),
             ("after load", "RSS after the whole load", rss_after["ministack"], rss_after["MiniStack"], "MiB", False)]
    service_rows = []
    for label, _, per, unit, conns in SERVICE_CASES:
        for c in conns:
            service_rows += case_rows(label, c, per, unit)

    def fmt(v, unit):
        if isinstance(v, int):
            return str(v)
        if v != v:
            return "n/a"
        if unit == "ms":
            return f"{v:.2f}"
        return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"

    def ratio(a, b, hib):
        if hib is None or not a or not b or a != a or b != b:
            return ""
        return f"{(a / b if hib else b / a):.1f}×"

    def markdown(rows):
        table = ["| | metric | ministack | MiniStack | ours better by |", "|---|---|---:|---:|---:|"]
        for sec, label, a, b, unit, hib in rows:
            u = f" ({unit})" if unit else ""
            table.append(f"| {sec} | {label}{u} | {fmt(a, unit)} | {fmt(b, unit)} | {ratio(a, b, hib)} |")
        return table

    table, service_table = markdown(rows), markdown(service_rows)

    hello_tab = ["| connections | hello req/s | p50 (ms) | p99 (ms) | best ministack op, req/s | share of hello |",
                 "|---:|---:|---:|---:|---:|---:|"]
    for c in CONNS:
        best, best_label = max((results[(label, c, "ministack")]["rps"], label) for label, _ in CASES)
        h = hello_res[c]
        beside = hello_at[(best_label, c)]["rps"]
        hello_tab.append(f"| {c} | {h['rps']:,.0f} | {h['p50']:.2f} | {h['p99']:.2f} | {best_label}, {best:,.0f} | "
                         f"{100 * best / beside:.0f} % (of {beside:,.0f} beside it) |")

    print("\n".join(table))
    print()
    print("\n".join(service_table))
    print()
    print("Physical reference (bare hyper hello server, same wrk settings):")
    print("\n".join(hello_tab))
    if fails:
        print("\nFAILURES:")
        for f in fails:
            print("  " + f)

    busy = float(mach["load"][0]) >= 0.5
    md = [
        "# Benchmarks",
        "",
        "ministack (this repo, Rust + WebAssembly plugins) against "
        f"[MiniStack](https://pypi.org/project/ministack/) {mini_version} (Python), "
        "measured in the same run on the same machine, both on loopback. "
        "Regenerate with `make bench` (writes this file).",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['mem']} RAM, Linux {mach['kernel']}, {mach['os']}",
        f"- Load average at start: {' '.join(mach['load'])}"
        + (" — **the machine was busy** (other builds and tests were running), so absolute figures are low "
           "and noisy; the ratios from the same run are the meaningful part." if busy else ""),
        f"- ministack commit {mach['commit']}; {mach['wrk']}; Python {mach['python']}",
        f"- wrk duration per case: {args.seconds} s, 1 thread (`-t1`), at 1 and 32 connections, "
        f"after {WARMUP_SECONDS} s of the same load at 32 connections that is not counted (the core cases and hello)"
        + (" (short runs: the default is 10 s)" if args.seconds < 10 else "")
        + f"; a core case's {args.seconds} s run as {ROUNDS} turns of {turn_seconds} s of ministack, MiniStack and "
        "hello in order, so that the three meet the same phases of a machine whose speed drifts (req/s: the turns' "
        "mean; p50: their median; p99: the highest turn's; CPU per request: over all their requests)",
        "",
        "## Results",
        "",
        "\"ours better by\" is ministack's advantage: ministack/MiniStack for throughput, "
        "MiniStack/ministack for times and memory (above 1× means ministack is better). MiniStack has no "
        "plugin cache, so both startup rows compare against its one launch figure. Server CPU per request is the "
        "server's user+system CPU time during the wrk run divided by the requests wrk completed (with the "
        "server's child processes: MiniStack's and ministack's Lambda workers). \"share of the hello ceiling\" "
        "is the operation's req/s as a percentage of the bare hyper server's at the same connections, measured in "
        "the turns beside the case's own (the newer services: against the median of all hello turns; Physical "
        "reference below).",
        "",
        *table,
        "",
        "RSS after the load is not like for like: each server still holds what its own load wrote, and the faster "
        "one wrote more (SQS messages left in the SendMessage queue: "
        f"ministack {held['ministack']}, MiniStack {held['MiniStack']}; plus the last 64 MiB object and the "
        "overwritten 1 KiB objects and items).",
        "",
        "### Newer services: headline operations",
        "",
        f"The same two servers, after the cases above, wrk {args.service_seconds} s per case, in {ROUNDS} turns of "
        f"{service_turn_seconds} s each as above. Batched operations "
        "also show items per second (req/s × items per request). EventBridge: one rule matching every entry, "
        "with an SQS queue as its target; the delivered row counts the queue's messages from the load's start "
        "until all of them arrived (up to 60 s after the load). Lambda: a python 3.12 handler returning a small "
        "dict, invoked (RequestResponse) 20 times before the load so its worker is warm, then at 1 connection "
        "only (32 would start 32 workers, a cold start each). Step Functions: "
        "StartSyncExecution of a 5-state Pass/Choice EXPRESS machine.",
        "",
        *service_table,
        "",
        "### Physical reference",
        "",
        "A bare hyper 1 \"hello\" server (`bench/hello`) under the same wrk settings: the HTTP ceiling of this "
        "machine with wrk sharing its cores: the median of its turns over the core cases. \"share of hello\" is the "
        "gateway's best operation as a fraction of the hello turns beside that operation's.",
        "",
        *hello_tab,
        "",
        "## Non-2xx responses and failures",
        "",
        *(["None: every request of every case answered 2xx on both servers."] if not fails
          else [f"- {f}" for f in fails]),
        "",
        "## Exact commands",
        "",
        "```sh",
        "make bench                 # = make build && bash bench/run.sh",
        f"# this file was produced by: BENCH_SECONDS={args.seconds} bash bench/run.sh",
        "# bench/run.sh installs wrk (apt), MiniStack + boto3 into bench/.venv (pip), builds bench/hello, then:",
        f"{args.command}",
        "# each wrk case (QUEUE_URL in the environment for the SQS scripts):",
        f"wrk -t1 -c{{1,32}} -d{args.seconds}s --latency -s bench/wrk/<case>.lua http://127.0.0.1:<port>",
        "# each newer-service case (FUNCTION_NAME, EVENT_SOURCE, STREAM_NAME, LOG_GROUP or STATE_MACHINE_ARN set):",
        f"wrk -t1 -c{{1,32}} -d{args.service_seconds}s --latency -s bench/wrk/<case>.lua http://127.0.0.1:<port>",
        "```",
        "",
        "Servers: `target/release/ministack` and `bench/.venv/bin/ministack`, each with `GATEWAY_PORT=<free port>` "
        "`BIND_HOST=127.0.0.1 LOG_LEVEL=error`, fixtures (bucket with a 1 KiB object, queue, table with 100 items "
        "under one partition key, a second queue of 100 messages that ReceiveMessage reads with `VisibilityTimeout` 0 "
        "so its depth stays constant) created with boto3 before the load. wrk scripts: "
        + ", ".join(f"`bench/wrk/{s}`" for _, s in CASES) + "; newer services: "
        + ", ".join(f"`bench/wrk/{s}`" for _, s, _, _, _ in SERVICE_CASES) + " (their fixtures: `service_fixtures` "
        "in bench/bench.py). Startup: `bench/startup.py` "
        f"(median of {args.runs} launches; cold = empty `MINISTACK_CACHE_DIR` each launch). "
        "64 MiB objects: one PUT then one GET on a keep-alive connection, 3 times, median; the GET is read into a buffer allocated once (a fresh 64 MiB `bytes` from `read()` bounds the client at ~1.1 GB/s).",
        "",
    ]
    Path(args.out).write_text("\n".join(md))
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
