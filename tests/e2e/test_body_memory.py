"""What a large but legal buffered body costs the gateway (docs/security.md,
"Large legal bodies"): a 6 MB Lambda Invoke payload, the largest AWS takes
synchronously, measured as the gateway's peak RSS (VmHWM, reset before the
request through /proc/<pid>/clear_refs) above its RSS before. Payloads
over 1 MiB are stored in a blob as they arrive (body::BLOB_PAYLOAD_AT), so
this also checks that such an invoke works end to end."""

import io
import json
import zipfile

MIB = 1 << 20


def status_mib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return 0


def peak_during(pid, request):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # VmHWM starts again from the current RSS
    before = status_mib(pid, "VmRSS")
    request()
    return status_mib(pid, "VmHWM") - before


def test_a_6_mb_invoke_payload_costs_a_bounded_multiple(make_gateway):
    g = make_gateway()
    lam = g.client("lambda", read_timeout=120)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'n': len(event['p'])}\n")
    lam.create_function(FunctionName="big-payload", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Code={"ZipFile": buf.getvalue()}, Timeout=60)
    payload = json.dumps({"p": "y" * (6 * MIB - 100)})
    assert len(payload) <= 6 * MIB

    def invoke():
        out = lam.invoke(FunctionName="big-payload", Payload=payload)
        assert json.loads(out["Payload"].read()) == {"n": 6 * MIB - 100}

    invoke()  # the function's first start, and the allocator's first growth
    costs = [peak_during(g.proc.pid, invoke) / 6 for _ in range(2)]
    print(f"6 MB Invoke: gateway peak RSS above its RSS before = {', '.join(f'{c:.1f}x' for c in costs)} the payload")
    # Measured 2.6-3.8x; 7.8-10.3x when the payload was buffered (bytes,
    # base64 text in the decoded tree and its JSON, the plugin's copy and
    # its parse at once). Now it is stored in a blob on the way in.
    assert min(costs) < 5


def test_large_payloads_stored_in_blobs_keep_invokes_errors(make_gateway):
    import botocore.exceptions
    import pytest

    g = make_gateway()
    lam = g.client("lambda", read_timeout=120)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return len(event['p'])\n")
    lam.create_function(FunctionName="blob-errors", Runtime="python3.12", Role="arn:aws:iam::000000000000:role/r",
                        Handler="app.handler", Code={"ZipFile": buf.getvalue()}, Timeout=60)
    two_mib = json.dumps({"p": "q" * (2 * MIB)}).encode()
    for payload, kind, code in [
        (b"{" + b"x" * (2 * MIB), "RequestResponse", "InvalidRequestContentException"),
        (json.dumps({"p": "z" * (7 * MIB)}).encode(), "RequestResponse", "RequestTooLargeException"),
        (two_mib, "Event", "RequestTooLargeException"),  # 256 KiB for asynchronous invokes
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            lam.invoke(FunctionName="blob-errors", Payload=payload, InvocationType=kind)
        assert e.value.response["Error"]["Code"] == code
    out = lam.invoke(FunctionName="blob-errors", Payload=two_mib)
    assert json.loads(out["Payload"].read()) == 2 * MIB


def test_a_9_mib_batch_write_costs_a_bounded_multiple(make_gateway):
    """A 9 MiB BatchWriteItem (25 items of 290 KB binary, base64 in the
    JSON), the gateway in memory. jemalloc (host/src/allocator.rs) keeps
    an earlier request's freed buffers for its decay time and the next peak
    reuses them, so the figure is what a batch adds on a warm gateway. (With
    glibc it varied 2-10x run to run unless its mmap threshold was pinned.)
    What stays is the items themselves (1x)."""
    import base64

    g = make_gateway()
    ddb = g.client("dynamodb", read_timeout=120)
    ddb.create_table(TableName="big", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    blob = bytes(range(256)) * 1132 + b"end"
    assert len(blob) == 289_795
    body_mib = 25 * len(base64.b64encode(blob)) / MIB
    batches = iter(range(100))

    def batch():
        b = next(batches)
        items = [{"PutRequest": {"Item": {"pk": {"S": f"{b}-{i}"}, "data": {"B": blob}}}} for i in range(25)]
        assert ddb.batch_write_item(RequestItems={"big": items})["UnprocessedItems"] == {}

    batch()  # the first instance of the plugin and the store's first pages
    costs = [peak_during(g.proc.pid, batch) / body_mib for _ in range(3)]
    print(f"9 MiB BatchWriteItem: gateway peak RSS above its RSS before = {', '.join(f'{c:.1f}x' for c in costs)} the body")
    # Measured 3.2-3.4x (of it 1.36x is the stored items); 6.3-10.0x before
    # the write requests were parsed one at a time, the instance dropped
    # before the commit, the pending writes shared and redb's in-memory
    # file kept sparse with a small cache.
    assert max(costs) < 4.5
    assert ddb.get_item(TableName="big", Key={"pk": {"S": "3-24"}})["Item"]["data"]["B"] == blob
    # Still one unit: an item over 400 KB, found once 24 were written,
    # leaves nothing of the batch.
    import botocore.exceptions
    import pytest

    bad = [{"PutRequest": {"Item": {"pk": {"S": f"x-{i}"}, "data": {"B": blob}}}} for i in range(24)]
    bad.append({"PutRequest": {"Item": {"pk": {"S": "x-24"}, "data": {"B": blob}, "more": {"B": blob}}}})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        ddb.batch_write_item(RequestItems={"big": bad})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "Item" not in ddb.get_item(TableName="big", Key={"pk": {"S": "x-0"}})
