"""CloudWatch Logs: PutLogEvents throughput and Logs Insights query time,
ministack vs MiniStack in the same run.

    python3 bench/logs_bench.py [--seconds 10] [--events 1000000] [--ministack /opt/ministack-venv/bin/ministack]

Starts target/release/ministack (the repo's plugins.toml) and MiniStack on
free 127.0.0.1 ports, and stops both. Throughput: one client, PutLogEvents
calls of 1,000 events (~100 bytes each) for `seconds`, events/s. Insights:
loads `--events` events into one group (1,000 per call, 10 streams), then
times StartQuery -> Complete for `stats count(*) by bin(1m)` and for a
`parse` + `filter` + `stats avg() by` query."""

import argparse
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd, port, env):
    tmp = tempfile.mkdtemp(prefix="logs-bench-")
    e = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "STATE_DIR": f"{tmp}/state",
         "S3_DATA_DIR": f"{tmp}/blobs", "LOG_LEVEL": "warn", **env}
    p = subprocess.Popen(cmd, env=e, cwd=ROOT, stdout=open(f"{tmp}/out.log", "w"), stderr=subprocess.STDOUT,
                         start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return p
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{cmd} did not start")


def client(port):
    return boto3.client("logs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="000000000000", aws_secret_access_key="test",
                        config=Config(retries={"max_attempts": 1}, read_timeout=600))


def throughput(logs, seconds):
    g = f"/bench/tp-{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=g)
    logs.create_log_stream(logGroupName=g, logStreamName="s")
    now = int(time.time() * 1000)
    events = [{"timestamp": now + i, "message": f"GET /api/item/{i % 97} 200 {i % 250} ms user-{i % 31} padding-padding-padding"}
              for i in range(1000)]
    logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=events)  # warm up
    sent, began = 0, time.time()
    while time.time() - began < seconds:
        logs.put_log_events(logGroupName=g, logStreamName="s", logEvents=events)
        sent += 1000
    return round(sent / (time.time() - began))


def load(logs, total):
    g = f"/bench/q-{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=g)
    for s in range(10):
        logs.create_log_stream(logGroupName=g, logStreamName=f"s{s}")
    # Spread over the last ~50 minutes, 1,000 events per call.
    now = int(time.time() * 1000)
    first = now - 50 * 60 * 1000
    calls = total // 1000
    step = max(1, (now - first) // max(1, total))
    began = time.time()
    for c in range(calls):
        t0 = first + c * 1000 * step
        events = [{"timestamp": t0 + i * step,
                   "message": f"GET /api/item/{(c + i) % 97} {200 if (c + i) % 13 else 500} {(c * 7 + i) % 250} user-{i % 31}"}
                  for i in range(1000)]
        logs.put_log_events(logGroupName=g, logStreamName=f"s{c % 10}", logEvents=events)
    return g, first // 1000 - 60, now // 1000 + 60, time.time() - began


def query(logs, g, start, end, q):
    t0 = time.time()
    try:
        qid = logs.start_query(logGroupName=g, startTime=start, endTime=end, queryString=q)["queryId"]
    except Exception as e:  # noqa: BLE001 - report what the server said
        return {"error": str(e)[:200]}
    while True:
        r = logs.get_query_results(queryId=qid)
        if r["status"] in ("Complete", "Failed", "Cancelled", "Timeout"):
            break
        if time.time() - t0 > 600:
            return {"error": "no answer in 600 s"}
        time.sleep(0.05)
    return {"status": r["status"], "seconds": round(time.time() - t0, 2), "rows": len(r.get("results", [])),
            "scanned": r.get("statistics", {}).get("recordsScanned")}


QUERIES = {
    "stats count(*) by bin(1m)": "stats count(*) by bin(1m)",
    "parse+filter+stats": "parse @message '* * * * *' as verb, path, status, ms, user | filter status = 500 | stats avg(ms), count(*) by path | sort path | limit 20",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--ministack", default="/opt/ministack-venv/bin/ministack")
    ap.add_argument("--skip-ministack", action="store_true")
    a = ap.parse_args()
    out = {}
    servers = [("ministack", [os.path.join(ROOT, "target/release/ministack")], {})]
    if not a.skip_ministack:
        servers.append(("MiniStack", [a.ministack], {}))
    for name, cmd, env in servers:
        port = free_port()
        p = start(cmd, port, env)
        try:
            logs = client(port)
            r = {"put_log_events_events_per_s": throughput(logs, a.seconds)}
            g, s, e, load_s = load(logs, a.events)
            r["loaded_events"] = a.events
            r["load_seconds"] = round(load_s, 1)
            r["queries"] = {k: query(logs, g, s, e, q) for k, q in QUERIES.items()}
            out[name] = r
            print(json.dumps({name: r}), flush=True)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
