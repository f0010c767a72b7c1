#!/usr/bin/env python3
"""Where a request's CPU goes, per layer of the gateway, for each `make bench`
operation: `perf record --call-graph dwarf` on the gateway under wrk, each
sample's stack put into one layer (LAYERS below), scaled by the server CPU
per request of a wrk run without perf in the same sitting.

    python3 bench/layers.py record [--seconds 8] [--dir /tmp/layers] [case.lua ...]
    python3 bench/layers.py report [--dir /tmp/layers] [--before /tmp/layers-main]   # markdown table
    python3 bench/layers.py all ...                          # both

record starts target/release/ministack (./plugins.toml) with bench.py's
fixtures, and per case: a warm-up, a wrk run at 32 connections for the CPU
per request, then the same run under perf (perf.data and the figures in
--dir). report reads them back (`perf script --no-inline`: perf's inline
expansion over a 40 MB binary without debug info takes minutes) and prints
one table: µs per request and share of the gateway's CPU samples per layer,
and once more across layers the allocator's own (samples whose leaf is
in jemalloc, or glibc's malloc/free).
This machine has no hardware counters (a VM: perf reports `instructions`
as not supported), so the shares are of cpu-clock samples; they move far
less with the machine's load than req/s does. Needs perf (linux-perf).
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CASES = [script for _, script in bench.CASES]

# Layers, in the order of the request path. A sample's stack is read from the
# leaf up; the first frame any rule claims decides its layer. Frames no rule
# claims (malloc, memcpy, serde_json, alloc::, page faults, ...) pass the
# sample to their caller, so allocation is charged to the layer that asked.
LAYERS = [
    ("accept/parse", "reading the request: accept, recv syscalls, hyper's head parse, the body read"),
    ("identify", "auth: the signature's access key → account and caller"),
    ("route", "router and service index: which plugin"),
    ("decode", "ministack_protocol: wire → operation + input JSON (incl. the operation match)"),
    ("instance", "wasmtime: instance pool, store, call in/out (lifting and lowering), trampolines, "
     "memory reset; mprotect/madvise"),
    ("plugin code", "the plugin's own wasm"),
    ("store unit and commit", "capabilities::store, ministack_state, redb"),
    ("blob and digests", "capabilities::blobs, blob files, SHA-256/SHA-1/MD5/CRC"),
    ("dispatch", "the gateway pipeline and Dispatcher::call around the plugin call (context, output JSON "
     "check, blob hand-over)"),
    ("encode", "ministack_protocol: output JSON → wire, respond::Encoder"),
    ("write", "hyper's response encode and flush, send syscalls (with loopback delivery)"),
    ("other", "tokio and hyper's connection loop, scheduling, epoll/futex, other host capabilities, "
     "unresolved"),
]

# (layer, regex over "symbol (dso)"); the first rule that matches a frame wins.
RULES = [
    # Kernel entry points: the syscall decides (allocation/page faults pass up).
    ("write", r"\b(do_writev|vfs_writev|ksys_write|__sys_sendto|__sys_sendmsg|sock_write_iter|tcp_sendmsg)\b"),
    ("accept/parse", r"\b(ksys_read|do_readv|vfs_readv|__sys_recvfrom|__sys_recvmsg|sock_read_iter|tcp_recvmsg"
                     r"|__sys_accept4|do_accept)\b"),
    ("instance", r"\b(__x64_sys_mprotect|__x64_sys_madvise|do_madvise|mprotect_fixup|__x64_sys_munmap"
                 r"|__x64_sys_mmap|flush_tlb_mm_range)\b"),
    ("write", r"^(__GI___writev|__libc_writev|__GI___send|__libc_send|__GI___write) "),
    ("accept/parse", r"^(__GI___readv|__libc_readv|__GI___recv|__libc_recv|__GI___read|accept4) "),
    ("other", r"\b(__x64_sys_futex|__x64_sys_epoll_wait|__x64_sys_sched_yield|do_epoll_wait|futex_wait"
              r"|futex_wake|schedule)\b"),
    # The plugin's compiled wasm (.cwasm in the plugin cache); its trampolines are the call boundary.
    ("instance", r"(trampoline|array-to-wasm|wasm-to-array).*\.cwasm\)"),
    # Code compiled in this process (not loaded from the cache) is anonymous memory to perf.
    ("plugin code", r"\.cwasm\)|^wasm\[\d+\]::function|^\[unknown\] \((/tmp/perf-\d+\.map|//anon)\)"
                    r"|wasmtime::runtime::vm::libcalls::"),
    # Store and blobs (host capabilities and the state crate).
    ("blob and digests", r"ministack::capabilities::blobs|ministack_state::blobs|ministack_state::checksum"
                         r"|ministack_state::chunked|\bsha2::|\bsha1::|\bmd5::|\bmd-5|crc32fast|crc64|crc32c"
                         r"|crc_fast|ministack::body::"),
    ("store unit and commit", r"ministack::capabilities::store|ministack_state::|\bredb::"),
    # Request pipeline, host side.
    ("identify", r"ministack::auth::"),
    ("route", r"ministack::router::|ministack::service_index::|Gateway::route\b"),
    ("encode", r"ministack::respond::"),
    ("protocol", r"ministack_protocol::"),
    ("instance", r"ministack::plugins::pool|ministack::plugins::Runtime|wasmtime::|wasmtime_|cranelift"),
    ("accept/parse", r"httparse::|hyper::proto::h1::role::parse|Http1Transaction>::parse|Buffered<T,B>::parse"
                     r"|poll_read_from_io|hyper::proto::h1::decode|Gateway::read_body"),
    ("write", r"hyper::proto::h1::role::.*encode|Http1Transaction>::encode|Buffered<T,B>::(poll_flush|buffer)"
              r"|hyper::proto::h1::encode|WriteBuf"),
    ("dispatch", r"ministack::gateway::|ministack::dispatch::|ministack::s3edge::|ministack::plugins::"
                 r"|ministack::capabilities::(RequestState|CallContext|tasks::)"),
    ("other", r"ministack::capabilities::"),
]
RULES = [(layer, re.compile(rx)) for layer, rx in RULES]
# The allocator, wherever it is called from: its samples are charged to the
# caller's layer above, and reported once more across layers (glibc's malloc
# was what grew most from 1 to 32 connections: docs/performance.md). The
# gateway links jemalloc (host/src/allocator.rs): its exported `_rjem_*` and
# the static functions of its fast and slow paths; glibc's names stay for
# builds before it.
ALLOCATOR = re.compile(r"^(malloc|free|cfree@\S*|realloc|calloc|__libc_(malloc|free|realloc|calloc)|_int_malloc"
                       r"|_int_free|_int_realloc|malloc_consolidate|unlink_chunk\S*|tcache_\w+"
                       r"|_rjem_\w+|(arena|bin|extent|emap|edata|eset|pac|sec|sz|large|tcache)_\w+\S*"
                       r"|(do_rallocx|imalloc|ifree|isfree|malloc_default|free_default)\S*"
                       r"|__rustc::__(rust|rdl)_\w*alloc\w*|__(rust|rdl)_\w*alloc\w*) ")
ENCODE_UP = re.compile(r"encode_response|encode_error|encode_events|ministack::respond::")
DECODE_UP = re.compile(r"decode_request|match_rest|detect_protocol|streaming_input|blob_payload_input")


def classify(frames):
    """frames: "symbol (dso)" strings, leaf first → layer name."""
    for i, f in enumerate(frames):
        for layer, rx in RULES:
            if rx.search(f):
                if layer != "protocol":
                    return layer
                # A protocol helper (xml, json, scalar) serves either direction: its callers say which.
                for up in frames[i:]:
                    if ENCODE_UP.search(up):
                        return "encode"
                    if DECODE_UP.search(up):
                        return "decode"
                return "encode" if re.search(r"encode|serialize|to_xml|write", f) else "decode"
    return "other"


def samples(data):
    """Yields each sample's frames from `perf script` (leaf first)."""
    out = subprocess.run(["perf", "script", "--no-inline", "-i", str(data), "-F", "comm,tid,ip,sym,dso"],
                         capture_output=True, text=True).stdout
    for block in out.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if len(lines) < 2:
            continue
        yield [re.sub(r"^\s*[0-9a-f]+\s+", "", ln.strip()) for ln in lines[1:]]


def record(args):
    d = Path(args.dir)
    d.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="layers-")
    cache = ROOT / "target" / "layers-cache"
    env = {**os.environ, "STATE_DIR": tmp + "/state", "S3_DATA_DIR": tmp + "/blobs", "MINISTACK_CACHE_DIR": str(cache)}
    # Fill the plugin cache first (quick when it is current): code loaded from
    # its files has symbols (wasm[0]::function[N]), code compiled in the
    # process has none.
    bench.Server("ministack", [str(ROOT / "target/release/ministack")], env).start().stop()
    s = bench.Server("ministack", [str(ROOT / "target/release/ministack")], env)
    s.start()
    figures = json.loads((d / "figures.json").read_text()) if (d / "figures.json").exists() else {}
    try:
        urls = bench.fixtures(s)
        # The newer services' cases (bench.SERVICE_CASES) work too when named.
        service = {script for _, script, _, _, _ in bench.SERVICE_CASES}
        envs = bench.service_fixtures(s) if service & set(args.cases) else {}
        for case in args.cases or CASES:
            q, case_env = urls.get(case, ""), envs.get(case)
            if isinstance(case_env, str):
                raise RuntimeError(f"{case}: {case_env}")
            bench.wrk(s, case, 32, 2, q, case_env)
            plain = bench.wrk(s, case, 32, args.seconds, q, case_env)
            perf = subprocess.Popen(["perf", "record", "-F", str(args.freq), "--call-graph", "dwarf,16384",
                                     "-o", str(d / f"{case}.data"), "-p", str(s.proc.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            profiled = bench.wrk(s, case, 32, args.seconds, q, case_env)
            perf.send_signal(2)
            perf.wait()
            figures[case] = {"rps": plain["rps"], "cpu_us": plain["cpu_us"], "rps_perf": profiled["rps"],
                             "non2xx": plain["non2xx"] + profiled["non2xx"], "load": os.getloadavg()[0]}
            print(f"{case:18s} {plain['rps']:8.0f} req/s  {plain['cpu_us']:6.1f} µs CPU/req  "
                  f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
            if figures[case]["non2xx"]:
                print(f"  warning: {figures[case]['non2xx']} non-2xx answers: the profile is of errors in part",
                      file=sys.stderr, flush=True)
    finally:
        s.stop()
        subprocess.run(["rm", "-rf", tmp])
    (d / "figures.json").write_text(json.dumps(figures, indent=1))


def breakdown(dirs, cases):
    """({case: {layer: share, "_n": samples}}, {case: figures}) of one or more record
    directories (comma-separated): samples pooled, CPU per request and req/s averaged."""
    shares, figures = {}, {}
    recorded = [(Path(d), json.loads((Path(d) / "figures.json").read_text())) for d in dirs.split(",")]
    for case in cases:
        runs = [(d, f[case]) for d, f in recorded if case in f and (d / f"{case}.data").exists()]
        if not runs:
            continue
        counts = Counter()
        for d, _ in runs:
            for frames in samples(d / f"{case}.data"):
                counts[classify(frames)] += 1
                counts["_allocator"] += bool(frames and ALLOCATOR.search(frames[0]))
        n = sum(counts[layer] for layer, _ in LAYERS)
        shares[case] = {layer: counts[layer] / n for layer, _ in LAYERS}
        shares[case]["_allocator"] = counts["_allocator"] / n
        shares[case]["_n"] = n
        figures[case] = {k: sum(f[k] for _, f in runs) / len(runs) for k in ("cpu_us", "rps")}
    return shares, figures


def report(args):
    # Every case recorded, in make bench's order, unless named.
    shares, figures = breakdown(args.dir, args.cases or CASES + [c for _, c, _, _, _ in bench.SERVICE_CASES])
    cases = list(shares)
    # --before DIR: a second recording (say, main before a merge) beside each figure.
    was, was_fig = breakdown(args.before, cases) if args.before else ({}, {})

    def cell(case, layer):
        text = f"{figures[case]['cpu_us'] * shares[case][layer]:.1f} ({100 * shares[case][layer]:.0f} %)"
        if case in was:
            text += f" ← {was_fig[case]['cpu_us'] * was[case][layer]:.1f}"
        return text

    label = {script: name for name, script in bench.CASES}
    label.update({script: name for name, script, _, _, _ in bench.SERVICE_CASES})
    head = "| layer | " + " | ".join(label.get(c, c) for c in cases) + " |"
    lines = [head, "|---|" + "---:|" * len(cases)]
    for layer, _ in LAYERS:
        lines.append(f"| {layer} | " + " | ".join(cell(c, layer) for c in cases) + " |")
    lines.append("| *of which the allocator, across layers* | " + " | ".join(cell(c, "_allocator") for c in cases) + " |")
    lines.append("| **total: CPU µs per request** | " + " | ".join(
        f"**{figures[c]['cpu_us']:.1f}**" + (f" ← {was_fig[c]['cpu_us']:.1f}" if c in was else "") for c in cases)
        + " |")
    lines.append("| req/s (wrk, 32 conn, no perf; the machine's load moves it most) | " + " | ".join(f"{figures[c]['rps']:,.0f}" for c in cases) + " |")
    lines.append("| samples | " + " | ".join(str(shares[c]["_n"]) for c in cases) + " |")
    print("\n".join(lines))
    print()
    print("Layers: " + "; ".join(f"**{layer}**: {what}" for layer, what in LAYERS) + ".")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["record", "report", "all"])
    ap.add_argument("cases", nargs="*", help="bench/wrk scripts (default: the eight core ones of make bench; "
                    "the newer services' scripts, such as events_put.lua, when named)")
    ap.add_argument("--dir", default="/tmp/layers", help="record: where to write; report: one or more "
                    "record directories, comma-separated (their samples pooled)")
    ap.add_argument("--before", help="a record --dir to compare with (its µs shown after ←)")
    ap.add_argument("--seconds", type=int, default=8)
    ap.add_argument("--freq", type=int, default=999, help="perf samples per second per thread")
    args = ap.parse_intermixed_args()
    if args.mode in ("record", "all"):
        record(args)
    if args.mode in ("report", "all"):
        report(args)


if __name__ == "__main__":
    main()
