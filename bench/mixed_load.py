"""Fast requests beside slow ones: STS GetCallerIdentity's p99 at 8
connections while 2 connections run a DynamoDB Scan of 3,000 items (~5 ms
of plugin code each), then STS alone.

    python3 bench/mixed_load.py [ENV=VALUE ...]

Starts target/release/ministack (./plugins.toml) with the given environment
added, fills the fixtures, and prints both figures for 2 rounds. A plugin
yields its worker only at the epoch tick (5 ms), so two slow calls on a
two-core machine hold both workers: docs/performance.md, "Sixth sitting"."""

import os
import sys
import tempfile
import threading
from pathlib import Path

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ITEMS = 3000


def scan_script(directory):
    """bench/wrk/ddb_query.lua turned into a Scan of the big table."""
    text = (bench.WRK / "ddb_query.lua").read_text()
    text = text.replace("DynamoDB_20120810.Query", "DynamoDB_20120810.Scan")
    body = next(line for line in text.splitlines() if line.startswith("wrk.body"))
    text = text.replace(body, "wrk.body = '{\"TableName\": \"big-table\"}'")
    path = Path(directory) / "ddb_scan.lua"
    path.write_text(text)
    return str(path)


def main():
    env = {**os.environ, **dict(kv.split("=", 1) for kv in sys.argv[1:])}
    with tempfile.TemporaryDirectory() as tmp:
        scan = scan_script(tmp)
        s = bench.Server("ministack", [str(ROOT / "target/release/ministack")], env).start()
        try:
            bench.fixtures(s)
            ddb = boto3.client("dynamodb", endpoint_url=s.url, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")
            ddb.create_table(TableName="big-table", BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
            for i in range(0, ITEMS, 25):
                ddb.batch_write_item(RequestItems={"big-table": [
                    {"PutRequest": {"Item": {"pk": {"S": f"k{j}"}, "v": {"S": "x" * 100}}}}
                    for j in range(i, i + 25)]})
            for _ in range(2):
                slow = {}
                t = threading.Thread(target=lambda: slow.update(bench.wrk(s, scan, 2, 5)))
                t.start()
                fast = bench.wrk(s, "sts_identity.lua", 8, 4)
                t.join()
                print(f"beside the Scans: STS p99 {fast['p99']:.2f} ms, {fast['rps']:.0f} req/s; "
                      f"Scan {slow['rps']:.0f} req/s, p99 {slow['p99']:.2f} ms", flush=True)
            alone = bench.wrk(s, "sts_identity.lua", 8, 3)
            print(f"alone: STS p99 {alone['p99']:.2f} ms, {alone['rps']:.0f} req/s", flush=True)
        finally:
            s.stop()


if __name__ == "__main__":
    main()
