#!/usr/bin/env python3
"""RSS after a write load and after `POST /_ministack/reset` (docs/performance.md,
"RSS after load, per component"): bench.py's fixtures, then 4 s each of SQS
SendMessage, DynamoDB PutItem and S3 PutObject at 32 connections.

    python3 bench/reset_rss.py [path/to/ministack]     # default: target/release/ministack
"""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) // 1024
    return 0


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else str(bench.ROOT / "target/release/ministack")
    server = bench.Server("ministack", [binary], dict(os.environ))
    server.start()
    try:
        queues = bench.fixtures(server)
        for case in ["sqs_send.lua", "ddb_put.lua", "s3_put.lua"]:
            r = bench.wrk(server, case, 32, 4, queues.get(case, ""))
            print(f"{case}: {r['requests']} requests")
        time.sleep(1)
        loaded = rss_mib(server.proc.pid)
        urllib.request.urlopen(urllib.request.Request(server.url + "/_ministack/reset", method="POST")).read()
        time.sleep(1)
        print(f"RSS after the load {loaded} MiB; after the reset {rss_mib(server.proc.pid)} MiB")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
