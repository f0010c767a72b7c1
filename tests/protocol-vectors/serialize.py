#!/usr/bin/env python3
"""botocore as the client for input cases whose vector leaves the body out.

The request-compression vectors (`requestcompression` operations) give the
headers of a gzipped request but no body: the compressed bytes are not
stable enough to pin. For those, botocore itself makes the request from the
case's params — its serializer for the protocol, then its request
compression (minimum size 0) — and the decoder must read it back into the
params.

Reads one JSON object on stdin: {"protocol", "metadata", "shapes", "given",
"params"}; writes {"method", "uri", "headers", "body_b64"}.
"""
import base64
import json
import sys
from urllib.parse import urlencode

from botocore import model as bmodel
from botocore.compress import maybe_compress_request
from botocore.config import Config
from botocore.serialize import create_serializer


def main():
    case = json.load(sys.stdin)
    given = case["given"]
    svc = bmodel.ServiceModel(
        {
            "metadata": case["metadata"],
            "operations": {given["name"]: given},
            "shapes": case["shapes"],
        }
    )
    op = svc.operation_model(given["name"])
    request = create_serializer(case["protocol"], include_validation=False).serialize_to_request(
        case["params"], op
    )
    config = Config(request_min_compression_size_bytes=1, disable_request_compression=False)
    maybe_compress_request(config, request, op)
    body = request["body"]
    if isinstance(body, dict):
        body = urlencode(body, doseq=True)
    if isinstance(body, str):
        body = body.encode()
    uri = request["url_path"]
    if request.get("query_string"):
        qs = request["query_string"]
        uri += "?" + (qs if isinstance(qs, str) else urlencode(qs, doseq=True))
    json.dump(
        {
            "method": request["method"],
            "uri": uri,
            "headers": dict(request["headers"]),
            "body_b64": base64.b64encode(body or b"").decode(),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
