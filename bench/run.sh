#!/usr/bin/env bash
# ministack vs MiniStack, one command: `make bench` (which builds the host and
# plugins in release mode first), or `bash bench/run.sh` if they are built.
#   BENCH_SECONDS=10   wrk duration per case (short runs: 2-3)
#   BENCH_SERVICE_SECONDS=6  wrk duration per newer-service case (Lambda,
#                      EventBridge, Kinesis, Logs, Step Functions)
#   BENCH_RUNS=5       launches per startup median
#   BENCH_OUT=BENCHMARKS.md
# Installs wrk (apt) and MiniStack + boto3 (pip, into bench/.venv), builds the
# bare hyper "hello" reference server (bench/hello, its own target dir), then
# runs bench/bench.py, which starts every server on 127.0.0.1 and stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_CASE=${BENCH_SECONDS:-10}
RUNS=${BENCH_RUNS:-5}
SERVICE_SECONDS=${BENCH_SERVICE_SECONDS:-6}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
CARGO=${CARGO:-cargo}

# Whatever is started from here is stopped on exit (bench.py stops its own
# servers too; this catches an interrupted run).
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x target/release/ministack ]; then
    echo "target/release/ministack is missing: run 'make bench' (or 'make build' first)" >&2
    exit 1
fi

if ! command -v wrk >/dev/null; then
    echo "== installing wrk" >&2
    SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk
fi

if [ ! -x bench/.venv/bin/ministack ] || ! bench/.venv/bin/python -c 'import boto3' 2>/dev/null; then
    echo "== installing MiniStack and boto3 into bench/.venv" >&2
    python3 -m venv bench/.venv
    bench/.venv/bin/pip install -q --disable-pip-version-check ministack boto3
fi

echo "== building bench/hello" >&2
(cd bench/hello && $CARGO build -q --release --target-dir target)

echo "== measuring (wrk ${SECONDS_PER_CASE} s per case)" >&2
bench/.venv/bin/python bench/bench.py \
    --binary target/release/ministack \
    --ministack bench/.venv/bin/ministack \
    --hello bench/hello/target/release/bench-hello \
    --seconds "$SECONDS_PER_CASE" --service-seconds "$SERVICE_SECONDS" --runs "$RUNS" --out "$OUT" \
    --command "bench/.venv/bin/python bench/bench.py --binary target/release/ministack --ministack bench/.venv/bin/ministack --hello bench/hello/target/release/bench-hello --seconds $SECONDS_PER_CASE --service-seconds $SERVICE_SECONDS --runs $RUNS --out $(basename "$OUT")" &
PIDS+=($!)
wait $!

# Function invokes (the `functions` capability through the `runner` test
# plugin) against MiniStack's Lambda, warm and cold, python and node;
# appended to $OUT.
if [ -f target/wasm32-wasip2/plugin/runner.wasm ]; then
    echo "== function invokes (bench/functions_bench.py)" >&2
    OUT="$OUT" MINISTACK_BIN=bench/.venv/bin/ministack bench/.venv/bin/python bench/functions_bench.py &
    PIDS+=($!)
    wait $!
else
    echo "== function invokes skipped: build the runner test plugin (make test-plugins)" >&2
fi

# What ENFORCE_IAM=1 costs per request (gateway CPU with and without),
# appended to $OUT. Its gateway helper is the e2e tests' (requests, pytest).
echo "== ENFORCE_IAM cost (bench/enforce_iam_cost.py)" >&2
bench/.venv/bin/python -c 'import requests, pytest' 2>/dev/null \
    || bench/.venv/bin/pip install -q --disable-pip-version-check requests pytest
OUT="$OUT" N=1500 bench/.venv/bin/python bench/enforce_iam_cost.py &
PIDS+=($!)
wait $!

# The results table as PNG charts beside $OUT, linked from it.
echo "== charts (bench/charts.py)" >&2
bench/.venv/bin/python -c 'import matplotlib' 2>/dev/null \
    || bench/.venv/bin/pip install -q --disable-pip-version-check matplotlib
bench/.venv/bin/python bench/charts.py "$OUT"
