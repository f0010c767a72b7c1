#!/usr/bin/env python3
"""Parses responses with botocore's installed real service models.

stdin: JSON lines {"service", "operation", "status", "headers", "body_b64"}
stdout: one JSON line per input: the parse (bytes as text, datetimes as epoch
seconds, ResponseMetadata kept), or {"__error__": "..."}.
"""
import base64
import datetime
import io
import json
import sys

import botocore.session
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from urllib3._collections import HTTPHeaderDict


def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k != "HTTPHeaders"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).decode("utf-8", "replace")
    if isinstance(v, datetime.datetime):
        return v.timestamp()
    if hasattr(v, "read"):
        return norm(v.read())
    return v


class RawStream:
    """What botocore's EventStream reads: a urllib3-like raw response."""

    def __init__(self, data):
        self.data = data

    def stream(self, amt=1024):
        for i in range(0, len(self.data), amt):
            yield self.data[i : i + amt]

    def close(self):
        pass


session = botocore.session.get_session()
for line in sys.stdin:
    if not line.strip():
        continue
    case = json.loads(line)
    try:
        model = session.get_service_model(case["service"])
        op = model.operation_model(case["operation"])
        headers = HTTPHeaderDict()
        for k, v in case["headers"]:
            headers[k] = v
        body = base64.b64decode(case["body_b64"])
        resp = {"status_code": case["status"], "headers": headers, "body": body, "context": {}}
        if op.has_event_stream_output and case["status"] < 300:
            resp["body"] = RawStream(body)
        elif op.has_streaming_output and case["status"] < 300:
            resp["body"] = StreamingBody(io.BytesIO(body), len(body))
        parser = create_parser(case.get("protocol") or model.protocol)
        parsed = parser.parse(resp, op.output_shape)
        if case["service"] == "s3" and case["operation"] == "GetBucketLocation" and "Error" not in parsed:
            # botocore reads this one document with a handler, as the client does.
            from types import SimpleNamespace

            from botocore.handlers import parse_get_bucket_location

            parse_get_bucket_location(parsed, SimpleNamespace(raw=True, content=body))
        if case.get("drain_events"):
            for k, v in list(parsed.items()):
                if hasattr(v, "__iter__") and hasattr(v, "get_initial_response"):
                    parsed["events"] = [e for e in v]
                    del parsed[k]
        if "Error" in parsed:
            shape = model.shape_for_error_code(parsed["Error"]["Code"])
            if shape is not None:
                parsed.update(parser.parse(resp, shape))
        print(json.dumps(norm(parsed), default=str))
    except Exception as e:
        print(json.dumps({"__error__": f"{type(e).__name__}: {e}"}))
