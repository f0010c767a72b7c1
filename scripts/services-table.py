#!/usr/bin/env python3
"""Prints the Markdown table of services and implemented-operation counts,
asked of the plugins themselves (their `describe`, via /_ministack/plugins).

    python3 scripts/services-table.py            # starts target/release/ministack on a free port
    python3 scripts/services-table.py --url http://localhost:4566
"""

import argparse
import json
import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def listing(url):
    with urllib.request.urlopen(url + "/_ministack/plugins", timeout=5) as r:
        return json.load(r)["plugins"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url")
    args = ap.parse_args()
    proc = None
    url = args.url
    if not url:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "GATEWAY_PORT": str(port), "BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error"}
        proc = subprocess.Popen([str(ROOT / "target/release/ministack")], cwd=ROOT, env=env)
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                listing(url)
                break
            except OSError:
                time.sleep(0.1)
    try:
        print("| Service | Protocols | Implemented operations | Operations in the model |")
        print("|---|---|---|---|")
        for p in sorted(listing(url), key=lambda p: p["name"]):
            print(f"| {p['name']} | {', '.join(p['protocols'])} | {p['implemented_count']} | {p['operation_count']} |")
    finally:
        if proc:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
