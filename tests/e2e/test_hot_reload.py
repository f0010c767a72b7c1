"""Hot reload (docs/dispatch.md): a plugin's .wasm replaced in PLUGINS_DIR,
or POST /_ministack/plugins/reload, swaps the plugin without a restart.
Requests in flight finish on the old component, new ones get the new one,
and its stored data stays.

The "new build" is the counter test plugin with its build marker rewritten
in the wasm (same length, so the component stays valid): the `Version`
operation then answers `counter-build-B` instead of `counter-build-A`."""

import os
import threading
import time

import requests

from conftest import ROOT

COUNTER_WASM = ROOT / "target" / "wasm32-wasip2" / "plugin" / "counter.wasm"


def build_variant(dst, marker):
    data = COUNTER_WASM.read_bytes()
    assert b"counter-build-A" in data, "rebuild the counter test plugin"
    tmp = dst.with_suffix(".tmp")
    tmp.write_bytes(data.replace(b"counter-build-A", marker))
    os.replace(tmp, dst)


def start(make_gateway, tmp_path, **env):
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    build_variant(plugins / "counter.wasm", b"counter-build-A")
    g = make_gateway(plugins_file=None, env={
        "PLUGINS_DIR": str(plugins),
        "MINISTACK_PLUGINS": str(tmp_path / "no-bundle.toml"),
        **env,
    })
    return g, plugins / "counter.wasm"


def version(g, session=requests):
    r = g.rest_call("GET", "/version", "counter", session=session)
    assert r.status_code == 200, r.text
    return r.json()["Version"]


def count(g, key):
    r = g.rest_call("GET", f"/counters/{key}", "counter")
    assert r.status_code == 200, r.text
    return r.json().get("Value", 0)


def test_replacing_the_wasm_under_load_loses_no_request(make_gateway, tmp_path):
    g, wasm = start(make_gateway, tmp_path, MINISTACK_PLUGINS_WATCH_MS="100")
    assert version(g) == "counter-build-A"
    stop = threading.Event()
    lock = threading.Lock()
    log = []  # (time, kind, status, version)
    increments = [0]

    def load(n):
        s = requests.Session()
        while not stop.is_set():
            r = g.rest_call("POST", "/counters/swap/increment", "counter", session=s)
            with lock:
                log.append((time.time(), "inc", r.status_code, None))
                if r.status_code == 200:
                    increments[0] += 1
            r = g.rest_call("GET", "/version", "counter", session=s)
            v = r.json().get("Version") if r.status_code == 200 else r.text
            with lock:
                log.append((time.time(), "version", r.status_code, v))

    threads = [threading.Thread(target=load, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)
        swapped_at = time.time()
        build_variant(wasm, b"counter-build-B")
        deadline = time.time() + 60
        while time.time() < deadline:
            with lock:
                if any(v == "counter-build-B" for _, k, _, v in log if k == "version"):
                    break
            time.sleep(0.05)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    failed = [e for e in log if e[2] != 200]
    assert not failed, failed[:5]
    versions = [v for _, k, _, v in log if k == "version"]
    assert "counter-build-B" in versions, g.logs()[-2000:]
    first_b = next(t for t, k, _, v in log if v == "counter-build-B")
    during = sum(1 for t, *_ in log if swapped_at <= t <= first_b)
    # Once the new build answered, the old one never answers again.
    after = [v for t, k, _, v in log if k == "version" and t > first_b + 0.5]
    assert after and set(after) == {"counter-build-B"}
    # The data stayed: every acknowledged increment is in the counter.
    assert count(g, "swap") == increments[0]
    print(f"\nhot reload under load: {len(log)} requests, {during} while the swap "
          f"was under way ({first_b - swapped_at:.2f} s), 0 failed")


def test_reload_endpoint_swaps_one_plugin_and_keeps_data(make_gateway, tmp_path):
    g, wasm = start(make_gateway, tmp_path, MINISTACK_PLUGINS_WATCH_MS="0")
    for _ in range(3):
        assert g.rest_call("POST", "/counters/kept/increment", "counter").status_code == 200
    build_variant(wasm, b"counter-build-C")
    # Not watched: the old build answers until asked to reload.
    time.sleep(0.3)
    assert version(g) == "counter-build-A"
    r = requests.post(g.url + "/_ministack/plugins/reload?name=counter", timeout=60)
    assert r.status_code == 200, r.text
    assert r.json()["reloaded"] == ["counter"]
    assert version(g) == "counter-build-C"
    assert count(g, "kept") == 3

    r = requests.post(g.url + "/_ministack/plugins/reload?name=nope", timeout=60)
    assert r.status_code == 404, r.text

    # A broken build is refused; the loaded one keeps serving.
    wasm.write_bytes(b"\0asm not really")
    r = requests.post(g.url + "/_ministack/plugins/reload?name=counter", timeout=60)
    assert r.status_code == 400, r.text
    assert "counter" in r.json()["errors"]
    assert version(g) == "counter-build-C"
    assert count(g, "kept") == 3
