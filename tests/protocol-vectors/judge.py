#!/usr/bin/env python3
"""botocore as the judge of ministack's encoded responses.

Reads JSON lines on stdin, one per output case:
  {"id", "protocol", "metadata", "shapes", "given", "status", "headers",
   "body_b64", "result" | ("errorCode", "error"), "reference"}
parses the response with botocore's own parser for the protocol, and writes
one JSON line per case: {"id", "ok", "judge", "detail"}.

botocore is the judge wherever it can be one: first it must read the
vector's own reference response (`reference`, AWS's expected wire) back
into the vector's result. Where it cannot (botocore splits header lists on
every comma, names flattened list items after the list's member, looks for
a member's element under its target shape's name, refuses an unset union
payload, reads an absent blob payload as b""), our response is compared
with the reference the way Smithy's server protocol tests compare a
server's response: same status, the reference's headers with the same
values, and an equivalent body (XML trees, JSON values). `judge` says
which judge decided ("botocore" or "reference").
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


def botocore_judge(case):
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


# Envelope details a vector leaves to the service: the root's namespace
# (the service's own), and the request id the server makes up.
REQUEST_ID_ELEMENTS = ("ResponseMetadata", "requestId", "RequestId")


def xml_tree(body):
    """(tag, sorted attributes, stripped text, children) of an XML document."""
    from xml.etree import ElementTree

    root = ElementTree.fromstring(body)
    root_ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else None

    def name(tag):
        return tag[len(root_ns) :] if root_ns and tag.startswith(root_ns) else tag

    def walk(el, top):
        children = [c for c in el if not (top and name(c.tag) in REQUEST_ID_ELEMENTS)]
        return (
            name(el.tag),
            sorted(el.attrib.items()),
            (el.text or "").strip(),
            [walk(c, False) for c in children],
        )

    return walk(root, True)


def same_body(ours, ref, protocol):
    if not ours.strip() and not ref.strip():
        return True
    if protocol in ("rest-xml", "query", "ec2"):
        try:
            return xml_tree(ours) == xml_tree(ref)
        except Exception:
            return False
    if protocol in ("rest-json", "json"):
        try:
            return equal(json.loads(ours or b"{}"), json.loads(ref or b"{}"))
        except Exception:
            return False
    return ours == ref


def reference_judge(case):
    ref = case["reference"]
    if ref.get("status_code", 200) != case["status"]:
        return False, f"status {case['status']} != reference {ref.get('status_code')}"
    ours = {}
    for k, v in case["headers"]:
        ours.setdefault(k.lower(), []).append(v)
    for k, want in ref.get("headers", {}).items():
        if k.lower() == "content-length":
            continue
        got = ", ".join(ours.get(k.lower(), []))
        if got != want:
            return False, f"header {k}: {got!r} != reference {want!r}"
    body = base64.b64decode(case["body_b64"])
    ref_body = ref.get("body", "").encode()
    if not same_body(body, ref_body, case["protocol"]):
        return False, f"body {body[:300]!r} != reference {ref_body[:300]!r}"
    return True, ""


def judge(case):
    try:
        ok, detail = botocore_judge(case)
    except Exception as e:  # a parse failure is a failed case
        ok, detail = False, f"{type(e).__name__}: {e}"
    if ok or "reference" not in case:
        return ok, "botocore", detail
    ref = case["reference"]
    as_ours = dict(
        case,
        status=ref.get("status_code", 200),
        headers=list(ref.get("headers", {}).items()),
        body_b64=base64.b64encode(ref.get("body", "").encode()).decode(),
    )
    try:
        botocore_reads_reference, _ = botocore_judge(as_ours)
    except Exception:
        botocore_reads_reference = False
    if botocore_reads_reference:
        return False, "botocore", detail
    ok, ref_detail = reference_judge(case)
    return ok, "reference", ref_detail or detail


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        try:
            ok, by, detail = judge(case)
        except Exception as e:  # a parse failure is a failed case
            ok, by, detail = False, "botocore", f"{type(e).__name__}: {e}"
        print(json.dumps({"id": case["id"], "ok": ok, "judge": by, "detail": detail}), flush=False)


if __name__ == "__main__":
    main()
