"""Plugin instances are reused between calls of the same plugin and account
(host/src/plugins/pool.rs), never across accounts, never after a trap, and
not at all with MINISTACK_INSTANCE_REUSE=0. The `counter` test plugin's
InstanceCalls counts, in the instance's own memory, the calls it served."""


def calls(g, account="000000000000", panic=False):
    r = g.rest_call("POST", "/instance-calls", "counter", body={"Panic": panic}, account=account)
    return r


def test_one_account_reuses_its_instance(make_gateway):
    g = make_gateway()
    seen = [calls(g).json()["Calls"] for _ in range(5)]
    # One caller at a time: the same idle instance serves every call.
    assert seen == [1, 2, 3, 4, 5]


def test_another_account_never_gets_that_instance(make_gateway):
    g = make_gateway()
    for _ in range(3):
        calls(g, account="111111111111")
    assert calls(g, account="222222222222").json()["Calls"] == 1
    assert calls(g, account="111111111111").json()["Calls"] == 4


def test_a_trapped_instance_is_not_reused(make_gateway):
    g = make_gateway()
    assert calls(g).json()["Calls"] == 1
    assert calls(g).json()["Calls"] == 2
    r = calls(g, panic=True)
    assert r.status_code == 500, r.text
    assert "panic" in r.text.lower()
    # The instance that panicked is gone: a fresh one starts from one.
    assert calls(g).json()["Calls"] == 1


def test_reuse_can_be_turned_off(make_gateway):
    g = make_gateway(env={"MINISTACK_INSTANCE_REUSE": "0"})
    assert [calls(g).json()["Calls"] for _ in range(3)] == [1, 1, 1]
