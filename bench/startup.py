#!/usr/bin/env python3
"""Launch → first 200 on /_ministack/health, and idle RSS.

Median of N runs (default 5) with a warm precompile cache and with a cold
one (an empty MINISTACK_CACHE_DIR each run). Optionally the same for
MiniStack (`--ministack /path/to/venv/bin/ministack`), in the same run.

    python3 bench/startup.py [--runs 5] [--ministack PATH]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_pids(pid):
    """pid and all its descendants (a launcher may fork the real server)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return out


def rss_mib(pid):
    """Resident set of pid and its descendants, MiB."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def launch(cmd, env, port, timeout=300):
    """Returns (ms to first 200, idle RSS MiB after 1 s)."""
    # 300 s: a cold cache compiles every plugin, minutes on a busy 2-core machine.
    url = f"http://127.0.0.1:{port}/_ministack/health"
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[0]} exited with {proc.returncode}")
            try:
                with urllib.request.urlopen(url, timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError("not ready in time")
            time.sleep(0.001)
        ready_ms = (time.perf_counter() - t0) * 1000
        time.sleep(1.0)
        return ready_ms, rss_mib(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(label, cmd, make_env, runs):
    ready, rss = [], []
    for _ in range(runs):
        port = free_port()
        env = make_env(port)
        try:
            r, m = launch(cmd, env, port)
        finally:
            if env.get("_CLEANUP"):
                shutil.rmtree(env["_CLEANUP"], ignore_errors=True)
        ready.append(r)
        rss.append(m)
    return {"label": label, "ready_ms": statistics.median(ready), "rss_mib": statistics.median(rss), "runs": ready}


def run_all(binary, ministack=None, runs=5):
    """Every startup measurement; a list of dicts (label, ready_ms, rss_mib, runs)."""
    warm_cache = tempfile.mkdtemp(prefix="ministack-bench-cache-")
    base = {**os.environ, "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error"}

    def warm(port):
        return {**base, "GATEWAY_PORT": str(port), "MINISTACK_CACHE_DIR": warm_cache}

    def cold(port):
        d = tempfile.mkdtemp(prefix="ministack-bench-cold-")
        return {**base, "GATEWAY_PORT": str(port), "MINISTACK_CACHE_DIR": d, "_CLEANUP": d}

    # Fill the warm cache once.
    port = free_port()
    launch([binary], warm(port), port)

    try:
        results = [
            measure("ministack (warm cache)", [binary], warm, runs),
            measure("ministack (cold cache)", [binary], cold, runs),
        ]
        if ministack:
            results.append(measure("MiniStack (Python)", [ministack], lambda p: {**base, "GATEWAY_PORT": str(p)}, runs))
    finally:
        shutil.rmtree(warm_cache, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--binary", default=str(ROOT / "target/release/ministack"))
    ap.add_argument("--ministack", help="path of MiniStack's `ministack` executable")
    args = ap.parse_args()

    results = run_all(args.binary, args.ministack, args.runs)

    print(f"{'':28} {'ready (median)':>15} {'idle RSS':>10}")
    for r in results:
        print(f"{r['label']:28} {r['ready_ms']:>12.1f} ms {r['rss_mib']:>7.1f} MiB")
    return results


if __name__ == "__main__":
    main()
