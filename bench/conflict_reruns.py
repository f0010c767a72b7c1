#!/usr/bin/env python3
"""Re-runs per request of the `make bench` operations, at 1 and 32
connections: what optimistic units cost when many writers touch one key
(`conflict_reruns` in GET /_ministack/plugins, docs/state.md).

    python3 bench/conflict_reruns.py [--seconds 4] [case.lua ...]

Starts target/release/ministack (./plugins.toml) with bench.py's fixtures.
"""

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def reruns(server):
    with urllib.request.urlopen(server.url + "/_ministack/plugins", timeout=30) as r:
        plugins = json.load(r)["plugins"]
    return {p["name"]: p.get("conflict_reruns") or 0 for p in plugins}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("cases", nargs="*", default=[script for _, script in bench.CASES])
    args = ap.parse_args()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    server = bench.Server("ministack", [str(bench.ROOT / "target/release/ministack")], env).start()
    try:
        queues = bench.fixtures(server)
        print("| case | connections | requests | CPU µs/request | re-runs per request |")
        print("|---|---:|---:|---:|---:|")
        for case in args.cases:
            for conns in (1, 32):
                before = reruns(server)
                r = bench.wrk(server, case, conns, args.seconds, queues.get(case, ""))
                after = reruns(server)
                n = sum(after[k] - before.get(k, 0) for k in after)
                print(f"| {case} | {conns} | {r['requests']} | {r['cpu_us']:.1f} | {n / max(r['requests'], 1):.3f} |",
                      flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
