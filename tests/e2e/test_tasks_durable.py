"""Durable tasks (tasks.schedule with PERSIST_STATE=1), the boot hook and
the cross-account task listing, driven through the `counter` test plugin:
`ScheduleIncrement` schedules an `increment` task; the boot hook adds 1 to
the `boots` counter of every account and region that has counters."""

import time
import uuid

import pytest
import requests

from conftest import wait_until

OTHER = "111111111111"


def schedule(g, key, after_ms, **body):
    r = g.rest_call("POST", f"/counters/{key}/schedule", "counter", body={"AfterMs": after_ms, **body})
    return r


def value(g, key, **kw):
    r = g.rest_call("GET", f"/counters/{key}", "counter", **kw)
    assert r.status_code == 200, r.text
    return r.json().get("Value", 0)


def tasks(g, **kw):
    r = g.rest_call("GET", "/tasks", "counter", **kw)
    assert r.status_code == 200, r.text
    return r.json().get("Tasks", [])


@pytest.fixture
def persistent(make_gateway):
    return make_gateway(env={"PERSIST_STATE": "1"})


def test_a_task_fires_after_kill_9_and_restart(persistent):
    g = persistent
    key = f"durable-{uuid.uuid4().hex[:8]}"
    r = schedule(g, key, 3000)
    assert r.status_code == 200, r.text
    scheduled_at = time.time()
    task_id = r.json()["TaskId"]
    assert [t["TaskId"] for t in tasks(g)] == [task_id]

    g.kill()
    g.start()
    restarted_in = time.time() - scheduled_at
    if restarted_in < 2.5:
        assert value(g, key) == 0, "the task ran before it was due"
    wait_until(lambda: value(g, key) == 1, 10, "the task to fire after the restart")
    fired_after = time.time() - scheduled_at
    assert fired_after >= 2.9, f"fired after {fired_after:.2f} s, before it was due"
    # Once: its record went with the task's unit.
    time.sleep(0.5)
    assert value(g, key) == 1
    assert tasks(g) == []
    print(f"restart took {restarted_in:.2f} s; the +3 s task fired {fired_after:.2f} s after scheduling")


def test_a_task_due_while_down_fires_at_start(persistent):
    g = persistent
    r = schedule(g, "late", 500)
    assert r.status_code == 200, r.text
    g.kill()
    time.sleep(1.0)
    g.start()
    started = time.time()
    wait_until(lambda: value(g, "late") == 1, 5, "the late task")
    assert time.time() - started < 2.0


def test_a_failed_request_schedules_nothing(persistent):
    g = persistent
    r = schedule(g, "failed", 200, Fail=True)
    assert r.status_code == 409, r.text
    assert "IntentionalFailure" in r.headers.get("x-amzn-errortype", "") + r.text
    assert tasks(g) == []
    time.sleep(0.6)
    assert value(g, "failed") == 0
    g.kill()
    g.start()
    time.sleep(0.5)
    assert value(g, "failed") == 0
    assert tasks(g) == []


def test_a_cancel_survives_the_restart(persistent):
    g = persistent
    cancelled = schedule(g, "cancelled", 1500).json()["TaskId"]
    kept = schedule(g, "kept", 1500).json()["TaskId"]
    r = g.rest_call("DELETE", f"/tasks/{cancelled}", "counter")
    assert r.status_code == 200, r.text
    assert [t["TaskId"] for t in tasks(g)] == [kept]
    g.kill()
    g.start()
    wait_until(lambda: value(g, "kept") == 1, 10, "the task that was not cancelled")
    time.sleep(0.3)
    assert value(g, "cancelled") == 0


def test_the_boot_hook_runs_after_start_and_reset_in_every_account(persistent):
    g = persistent
    wait_until(lambda: value(g, "boots") == 1, 5, "the boot hook after the first start")
    # Counters in another account: the hook finds it with tasks.contexts.
    r = g.rest_call("POST", "/counters/x/increment", "counter", account=OTHER)
    assert r.status_code == 200, r.text
    r = g.rest_call("GET", "/contexts", "counter")
    pairs = {(c["Account"], c["Region"]) for c in r.json()["Contexts"]}
    assert pairs == {("000000000000", "us-east-1"), (OTHER, "us-east-1")}

    g.kill()
    g.start()
    wait_until(lambda: value(g, "boots") == 2, 5, "the boot hook after the restart")
    wait_until(lambda: value(g, "boots", account=OTHER) == 1, 5, "the sweep into the other account")

    assert requests.post(g.url + "/_ministack/reset", timeout=10).status_code == 200
    wait_until(lambda: value(g, "boots") == 1, 5, "the boot hook after the reset")
    assert value(g, "boots", account=OTHER) == 0


def test_tasks_are_listed_across_accounts_and_a_reset_cancels_them(make_gateway):
    g = make_gateway()
    here = schedule(g, "a", 60_000).json()["TaskId"]
    there = schedule(g, "b", 60_000, Account=OTHER, Region="eu-west-1").json()["TaskId"]
    listed = {t["TaskId"]: t for t in tasks(g, account="222222222222")}
    assert set(listed) == {here, there}
    assert (listed[there]["Account"], listed[there]["Region"]) == (OTHER, "eu-west-1")
    assert listed[here]["Name"] == "increment"
    assert listed[here]["DueMs"] > time.time() * 1000 + 50_000
    # A task scheduled into another account runs there.
    schedule(g, "c", 100, Account=OTHER, Region="eu-west-1")
    wait_until(lambda: value(g, "c", account=OTHER, region="eu-west-1") == 1, 5, "the task in the other account")
    assert value(g, "c") == 0
    # A bad account is refused, not stored.
    r = schedule(g, "d", 100, Account="a/b")
    assert r.status_code == 500
    assert "invalid account" in r.text
    assert requests.post(g.url + "/_ministack/reset", timeout=10).status_code == 200
    assert tasks(g) == []


def test_in_memory_tasks_fire_and_cancel(gateway):
    key = f"mem-{uuid.uuid4().hex[:8]}"
    assert schedule(gateway, key, 200).status_code == 200
    gone = schedule(gateway, key + "-cancelled", 200).json()["TaskId"]
    assert gateway.rest_call("DELETE", f"/tasks/{gone}", "counter").status_code == 200
    wait_until(lambda: value(gateway, key) == 1, 5, "the in-memory task")
    time.sleep(0.3)
    assert value(gateway, key + "-cancelled") == 0
