"""InvokeWithResponseStream, truly streamed: a node function made with
`awslambda.streamifyResponse` writes three pieces 500 ms apart, and each
reaches boto3 as a PayloadChunk while the function still runs; a python
function (no streaming runtime) answers one chunk. Then InvokeComplete."""

import json
import time

from test_lambda import ROLE, make_zip, uid

import pytest

NODE_STREAMER = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  for (let i = 0; i < 3; i++) {
    responseStream.write(`piece-${i}@${Date.now()};`);
    await new Promise((r) => setTimeout(r, 500));
  }
  if (event.fail) throw new Error("broke after three pieces");
  responseStream.end();
});
"""

PY_ECHO = """
def handler(event, context):
    return {"echo": event}
"""


@pytest.fixture
def lam(gateway):
    return gateway.client("lambda")


def create(lam, code, runtime):
    name = f"stream-{uid()}"
    filename = "app.js" if runtime.startswith("nodejs") else "app.py"
    lam.create_function(FunctionName=name, Runtime=runtime, Role=ROLE, Handler="app.handler",
                        Code={"ZipFile": make_zip({filename: code})}, Timeout=10)
    return name


def timed_events(stream):
    """(seconds since the call, event) for each event as boto3 yields it."""
    began = time.time()
    out = stream["EventStream"]
    return [(time.time() - began, e) for e in out]


def test_node_stream_arrives_piece_by_piece(lam):
    name = create(lam, NODE_STREAMER, "nodejs20.x")
    # Warm the worker so the figures are about streaming, not a cold start.
    list(lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")["EventStream"])
    began = time.time()
    resp = lam.invoke_with_response_stream(FunctionName=name, Payload=b"{}")
    assert resp["StatusCode"] == 200
    events = [(time.time(), e) for e in resp["EventStream"]]
    ended = time.time()
    chunks = [(t, e["PayloadChunk"]["Payload"].decode()) for t, e in events if "PayloadChunk" in e]
    text = "".join(c for _, c in chunks)
    pieces = [p for p in text.split(";") if p]
    assert [p.split("@")[0] for p in pieces] == ["piece-0", "piece-1", "piece-2"]
    assert "InvokeComplete" in events[-1][1] and "ErrorCode" not in events[-1][1]["InvokeComplete"]
    assert len(chunks) == 3, chunks
    # The function runs ~1.5 s; the first piece arrives long before it ends,
    # and each piece within a moment of the function writing it.
    first = chunks[0][0] - began
    assert first < 0.4, f"first chunk after {first:.3f}s"
    assert ended - began > 1.3
    for t, c in chunks:
        written = int(c.split("@")[1].rstrip(";")) / 1000
        assert t - written < 0.3, (t, written)
    assert chunks[2][0] - chunks[0][0] > 0.8
    print(f"\nfirst chunk {first * 1000:.0f} ms; chunks at "
          + ", ".join(f"{(t - began) * 1000:.0f}" for t, _ in chunks)
          + f" ms; complete {(events[-1][0] - began) * 1000:.0f} ms")


def test_node_stream_error_after_pieces(lam):
    name = create(lam, NODE_STREAMER, "nodejs20.x")
    resp = lam.invoke_with_response_stream(FunctionName=name, Payload=json.dumps({"fail": True}))
    events = list(resp["EventStream"])
    assert sum(1 for e in events if "PayloadChunk" in e) == 3
    done = events[-1]["InvokeComplete"]
    assert done["ErrorCode"] == "Error" and "broke after three pieces" in done["ErrorDetails"]
    # A plain Invoke of a streaming function answers the whole body.
    out = lam.invoke(FunctionName=name, Payload=b"{}")
    assert out["Payload"].read().decode().count("piece-") == 3


def test_python_answers_one_chunk(lam):
    name = create(lam, PY_ECHO, "python3.12")
    resp = lam.invoke_with_response_stream(FunctionName=name, Payload=json.dumps({"n": 7}),
                                           LogType="Tail")
    events = list(resp["EventStream"])
    assert len(events) == 2 and "PayloadChunk" in events[0] and "InvokeComplete" in events[1]
    assert json.loads(events[0]["PayloadChunk"]["Payload"]) == {"echo": {"n": 7}}
    assert "LogResult" in events[1]["InvokeComplete"]


NODE_URL_STREAMER = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  const out = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 201, headers: { "content-type": "text/plain", "x-path": event.rawPath }, cookies: ["s=1"],
  });
  out.write("hello ");
  out.write("stream");
  out.end();
});
"""


def test_response_stream_function_url(lam, gateway):
    import requests

    name = create(lam, NODE_URL_STREAMER, "nodejs20.x")
    cfg = lam.create_function_url_config(FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM")
    assert cfg["InvokeMode"] == "RESPONSE_STREAM"
    url_id = cfg["FunctionUrl"].split("//", 1)[1].split(".", 1)[0]
    r = requests.get(f"{gateway.url}/_aws/lambda-url/{url_id}/x/y", timeout=15)
    assert r.status_code == 201, r.content
    assert r.text == "hello stream"
    assert r.headers["content-type"] == "text/plain" and r.headers["x-path"] == "/x/y"
    assert "s=1" in r.headers.get("set-cookie", "")
