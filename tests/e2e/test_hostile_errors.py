"""Every error in the service's protocol, from the first byte the gateway
reads (security issue): hyper's own answers to heads it cannot parse (bad
Content-Length, URI too long, headers too large, a malformed header line),
body read and size errors, and routing errors, each sent to a json
(DynamoDB), a query (STS), a rest-xml (S3) and a rest-json (Lambda) service.
The raw requests carry a SigV4 Authorization header naming the service, as
an SDK's would, since that is how the gateway routes them."""

import json
import socket

import pytest

AUTH = ("AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/{svc}/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)

# (service, method, path, protocol headers, protocol)
SERVICES = {
    "json": ("dynamodb", "POST", "/", {
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Content-Type": "application/x-amz-json-1.0"}, "json"),
    "query": ("sts", "POST", "/", {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}, "query"),
    "rest-xml": ("s3", "PUT", "/hostile-bucket/key", {}, "rest-xml"),
    "rest-json": ("lambda", "POST", "/2015-03-31/functions", {
        "Content-Type": "application/json"}, "rest-json"),
}


def head_bytes(kind, path=None, extra=(), length=None, order_first=()):
    svc, method, default_path, headers, _ = SERVICES[kind]
    lines = [f"{method} {path or default_path} HTTP/1.1", "Host: 127.0.0.1",
             f"Authorization: {AUTH.format(svc=svc)}", "X-Amz-Date: 20260101T000000Z"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines += list(order_first)
    if length is not None:
        lines.append(f"Content-Length: {length}")
    lines += list(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def exchange(g, data, half_close=False, timeout=15):
    s = socket.create_connection(("127.0.0.1", g.port), timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
            head, sep, rest = out.partition(b"\r\n\r\n")
            if sep:
                length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                          if l.lower().startswith(b"content-length:")]
                if length and len(rest) >= length[0]:
                    break
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ")[1])
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    return status, headers, body


def error_code(kind, headers, body):
    """The error code, checking the body has the protocol's shape."""
    proto = SERVICES[kind][4]
    text = body.decode("utf-8", "replace")
    assert body, f"{kind}: empty error body"
    if proto == "json":
        assert "json" in headers.get("content-type", ""), headers
        doc = json.loads(text)
        return doc["__type"].split("#")[-1]
    if proto == "rest-json":
        assert "json" in headers.get("content-type", ""), headers
        doc = json.loads(text)
        code = headers.get("x-amzn-errortype", "").split(":")[0]
        assert code, headers
        return code
    assert text.lstrip().startswith("<"), text
    if proto == "query":
        assert "<ErrorResponse" in text, text
    else:
        assert "<Error>" in text and "<ErrorResponse" not in text, text
    return text.split("<Code>")[1].split("</Code>")[0]


@pytest.fixture(scope="module")
def small_heads(request):
    from conftest import Gateway
    g = Gateway(env={"MINISTACK_MAX_HEADER_BYTES": "8192",
                     "MINISTACK_BODY_IDLE_TIMEOUT_SECONDS": "1"})
    yield g
    g.close()


KINDS = list(SERVICES)


@pytest.mark.parametrize("kind", KINDS)
def test_bad_content_length(gateway, kind):
    status, headers, body = exchange(gateway, head_bytes(kind, length="12abc"))
    assert status == 400, (status, body)
    assert error_code(kind, headers, body) == "InvalidArgument"


@pytest.mark.parametrize("kind", KINDS)
def test_conflicting_content_lengths(gateway, kind):
    data = head_bytes(kind, extra=["Content-Length: 2", "Content-Length: 3"])
    status, headers, body = exchange(gateway, data)
    assert status == 400, (status, body)
    assert error_code(kind, headers, body) == "InvalidArgument"


@pytest.mark.parametrize("kind", KINDS)
def test_uri_too_long(gateway, kind):
    path = SERVICES[kind][2]
    long_path = path.rstrip("/") + "/" + "a" * 70_000
    status, headers, body = exchange(gateway, head_bytes(kind, path=long_path, length=0))
    assert status == 414, (status, body)
    assert error_code(kind, headers, body) == "RequestURITooLong"


@pytest.mark.parametrize("kind", KINDS)
def test_headers_too_large(small_heads, kind):
    data = head_bytes(kind, length=0, extra=[f"X-Filler-{i}: {'x' * 200}" for i in range(100)])
    status, headers, body = exchange(small_heads, data)
    # S3 lists RequestHeaderSectionTooLarge as a 400; elsewhere 431.
    assert status == (400 if kind == "rest-xml" else 431), (status, body)
    assert error_code(kind, headers, body) == "RequestHeaderSectionTooLarge"


@pytest.mark.parametrize("kind", KINDS)
def test_malformed_header_line(gateway, kind):
    data = head_bytes(kind, length=0, extra=["this line has no colon"])
    status, headers, body = exchange(gateway, data)
    assert status == 400, (status, body)
    assert error_code(kind, headers, body) == "BadRequest"


@pytest.mark.parametrize("kind", KINDS)
def test_body_shorter_than_content_length(gateway, kind):
    data = head_bytes(kind, length=100) + b"{}"
    status, headers, body = exchange(gateway, data, half_close=True)
    assert status == 400, (status, body)
    assert error_code(kind, headers, body) == "IncompleteBody"


# Over each service's body limit (docs/security.md), declared and never
# sent: refused from the Content-Length (after the 1 s body idle timeout
# ends the discard) and in the service's protocol.
OVERSIZE = {
    "json": (17 << 20, 400, "ValidationException"),
    "query": (129 << 20, 413, "RequestEntityTooLarge"),
    "rest-json": (71 << 20, 413, "RequestTooLargeException"),
}


@pytest.mark.parametrize("kind", list(OVERSIZE))
def test_body_over_the_service_limit(small_heads, kind):
    length, want_status, want_code = OVERSIZE[kind]
    status, headers, body = exchange(small_heads, head_bytes(kind, length=length))
    assert status == want_status, (status, body)
    assert error_code(kind, headers, body) == want_code


@pytest.mark.parametrize("kind", list(OVERSIZE))
def test_expect_continue_over_the_limit_is_answered_at_once(gateway, kind):
    length, want_status, want_code = OVERSIZE[kind]
    data = head_bytes(kind, length=length, extra=["Expect: 100-continue"])
    status, headers, body = exchange(gateway, data, timeout=5)
    assert status == want_status, (status, body)
    assert error_code(kind, headers, body) == want_code


def test_unknown_target_with_json_content_type_is_json(gateway):
    data = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: NoSuchService_20200101.DoIt\r\n"
            b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 2\r\n\r\n{}")
    status, headers, body = exchange(gateway, data)
    assert status == 400, (status, body)
    assert "<Error>" not in body.decode()
    assert json.loads(body)["__type"] == "UnknownOperationException"


@pytest.mark.parametrize("kind,code", [
    ("json", "UnknownOperationException"),
    ("query", "InvalidAction"),
])
def test_unknown_operation_in_protocol(gateway, kind, code):
    svc, method, path, headers, _ = SERVICES[kind]
    if kind == "json":
        extra = ["X-Amz-Target: DynamoDB_20120810.NoSuchOperation"]
        payload = b"{}"
        hdrs = {"Content-Type": headers["Content-Type"]}
    else:
        extra = []
        payload = b"Action=NoSuchOperation&Version=2011-06-15"
        hdrs = headers
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1",
             f"Authorization: {AUTH.format(svc=svc)}", "X-Amz-Date: 20260101T000000Z"]
    lines += [f"{k}: {v}" for k, v in hdrs.items()] + extra + [f"Content-Length: {len(payload)}"]
    status, rh, body = exchange(gateway, ("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
    assert status == 400, (status, body)
    assert error_code(kind, rh, body) == code


def test_dynamodb_table_name_errors_are_validation_exception(gateway):
    ddb = gateway.client("dynamodb", parameter_validation=False)
    bad = dict(TableName="bad name!", BillingMode="PAY_PER_REQUEST",
               KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
               AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    for call in (lambda: ddb.create_table(**bad),
                 lambda: ddb.list_tables(Limit=0)):
        with pytest.raises(ddb.exceptions.ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "ValidationException"


def nested(levels):
    value = {"S": "leaf"}
    for i in range(levels):
        value = {"M": {"m": value}} if i % 2 else {"L": [value]}
    return value


def test_dynamodb_nesting_limit_is_32(gateway):
    ddb = gateway.client("dynamodb")
    ddb.create_table(TableName="hostile-nesting", BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    ddb.put_item(TableName="hostile-nesting", Item={"pk": {"S": "ok"}, "v": nested(32)})
    with pytest.raises(ddb.exceptions.ClientError) as e:
        ddb.put_item(TableName="hostile-nesting", Item={"pk": {"S": "deep"}, "v": nested(33)})
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "Nesting Levels" in e.value.response["Error"]["Message"]
