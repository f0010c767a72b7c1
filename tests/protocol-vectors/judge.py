#!/usr/bin/env python3
"""botocore as the judge of ministack's encoded responses.

Reads JSON lines on stdin, one per output case:
  {"id", "protocol", "metadata", "shapes", "given", "status", "headers",
   "body_b64", "result" | ("errorCode", "error")}
parses the response with botocore's own parser for the protocol, and writes
one JSON line per case: {"id", "ok", "detail"}.
"""
import base64
import datetime
import io
import json
import math
import sys

from botocore import model as bmodel
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from urllib3._collections import HTTPHeaderDict


def normalize(v):
    if isinstance(v, dict):
        return {k: normalize(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [normalize(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return v.timestamp()
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
    if hasattr(v, "read"):
        return normalize(v.read())
    return v


def equal(a, b):
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
    return a == b


def judge(case):
    svc = bmodel.ServiceModel(
        {
            "metadata": case["metadata"],
            "operations": {case["given"]["name"]: case["given"]},
            "shapes": case["shapes"],
        }
    )
    op = svc.operation_model(case["given"]["name"])
    parser = create_parser(case["protocol"])
    headers = HTTPHeaderDict()
    for k, v in case["headers"]:
        headers[k] = v
    body = base64.b64decode(case["body_b64"])
    response = {"status_code": case["status"], "headers": headers, "body": body}
    out = op.output_shape
    if out is not None and op.has_streaming_output and case["status"] < 300:
        response["body"] = StreamingBody(io.BytesIO(body), len(body))
    if op.has_event_stream_output:
        response["body"] = StreamingBody(io.BytesIO(body), len(body))
    parsed = parser.parse(response, out)
    if "errorCode" in case:
        err = parsed.get("Error", {})
        code = err.get("Code")
        if code != case["errorCode"]:
            return False, f"code {code!r} != {case['errorCode']!r}; body={body[:300]!r}"
        shape = svc.shape_for_error_code(code)
        if shape is not None:
            parsed.update(parser.parse(response, shape))
        got = normalize(parsed)
        for k, want in case.get("error", {}).items():
            if k not in got or not equal(got[k], want):
                return False, f"member {k}: got {got.get(k)!r} want {want!r}"
        return True, ""
    got = normalize(parsed)
    want = case["result"]
    if not equal(got, want):
        return False, f"got {json.dumps(got, default=str)[:600]} want {json.dumps(want)[:600]}; body={body[:400]!r}"
    return True, ""


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            ok, detail = judge(case)
        except Exception as e:  # a parse failure is a failed case
            ok, detail = False, f"{type(e).__name__}: {e}"
        print(json.dumps({"id": case["id"], "ok": ok, "detail": detail}), flush=False)


if __name__ == "__main__":
    main()
