"""A plugin that panics, loops forever or allocates past its limit fails only
that request, with a 500-class AWS error; the next request works."""

import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def echo_works(gateway):
    r = gateway.json_call("Faulty", "Echo", {"Message": "still here"})
    assert r.status_code == 200, r.text
    assert r.json()["Message"] == "still here"


def test_panic_fails_only_that_request(gateway):
    r = gateway.json_call("Faulty", "Panic", {})
    assert r.status_code == 500
    body = r.json()
    assert body["__type"] == "InternalFailure"
    assert "panicked" in body["message"]
    echo_works(gateway)


def test_infinite_loop_hits_the_time_limit(gateway):
    started = time.monotonic()
    r = gateway.json_call("Faulty", "Loop", {})
    took = time.monotonic() - started
    assert r.status_code == 500
    assert r.json()["__type"] == "InternalFailure"
    assert "time limit" in r.json()["message"]
    # tests/plugins.toml gives faulty 1000 ms.
    # Not before the limit; and it does end (a hang would be the bug).
    assert 0.9 < took < 30
    echo_works(gateway)


def test_allocation_past_the_memory_limit(gateway):
    r = gateway.json_call("Faulty", "Alloc", {"Megabytes": 256})
    assert r.status_code == 500
    assert r.json()["__type"] == "InternalFailure"
    assert "memory limit" in r.json()["message"]
    echo_works(gateway)
    ok = gateway.json_call("Faulty", "Alloc", {"Megabytes": 4})
    assert ok.status_code == 200, ok.text


def test_loop_does_not_block_other_requests(make_gateway, tmp_path):
    import concurrent.futures as cf

    # A longer limit than tests/plugins.toml's, so that on a loaded machine
    # the loops are surely still running when the echo is answered.
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(
        "[plugins.faulty]\n"
        f'path = "{ROOT}/target/wasm32-wasip2/plugin/faulty.wasm"\n'
        "memory_mb = 32\ntimeout_ms = 6000\n"
    )
    gateway = make_gateway(plugins_file=plugins, env={"SERVICES": "faulty"})

    def timed_loop():
        r = gateway.json_call("Faulty", "Loop", {})
        return r, time.monotonic()

    with cf.ThreadPoolExecutor(4) as pool:
        # As many endless loops as the machine has cores.
        looping = [pool.submit(timed_loop) for _ in range(os.cpu_count() or 2)]
        time.sleep(0.5)
        echo_works(gateway)
        echoed = time.monotonic()
        for f in looping:
            r, ended = f.result()
            assert r.status_code == 500
            # The echo was answered while the loops were still running.
            assert echoed < ended
