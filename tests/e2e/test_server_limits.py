"""Server limits (issue: slow or idle clients must not hold the server):
header read timeout (also the keep-alive idle timeout), body idle timeout,
maximum connections, maximum header size. Each limit is set low through
its environment variable so the test runs in seconds."""

import select
import socket
import time

import pytest


def connect(g):
    s = socket.create_connection(("127.0.0.1", g.port), timeout=10)
    return s


def closed_within(s, seconds):
    """Seconds until the server closes `s` (reads are drained), or None."""
    start = time.time()
    s.settimeout(seconds)
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return time.time() - start
    except (socket.timeout, TimeoutError):
        return None
    except ConnectionResetError:
        return time.time() - start


def read_response(s, timeout=10):
    s.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower().decode()] = v.strip().decode()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest


@pytest.fixture
def limited(make_gateway):
    return make_gateway(env={
        "MINISTACK_HEADER_TIMEOUT_SECONDS": "1",
        "MINISTACK_BODY_IDLE_TIMEOUT_SECONDS": "1",
        "MINISTACK_MAX_CONNECTIONS": "4",
        "MINISTACK_MAX_HEADER_BYTES": "8192",
    })


def test_half_sent_headers_are_dropped(limited):
    s = connect(limited)
    s.sendall(b"GET /_ministack/health HTTP/1.1\r\nHost: localhost\r\n")
    took = closed_within(s, 8)
    assert took is not None, "a connection with half its headers stayed open"
    assert 0.5 <= took <= 4, took


def test_a_connection_that_never_sends_a_byte_is_closed(limited):
    s = connect(limited)
    took = closed_within(s, 8)
    assert took is not None, "a silent connection stayed open"
    assert 0.5 <= took <= 4, took


def test_idle_keep_alive_connection_is_closed(limited):
    s = connect(limited)
    s.sendall(b"GET /_ministack/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    status, _, _ = read_response(s)
    assert status == 200
    took = closed_within(s, 8)
    assert took is not None, "an idle keep-alive connection stayed open"
    assert took <= 4, took


def test_a_body_shorter_than_its_length_ends_in_incomplete_body(limited):
    s = connect(limited)
    body = b'{"QueueNamePrefix": "x"}'
    s.sendall(
        b"POST / HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/x-amz-json-1.0\r\n"
        b"X-Amz-Target: AmazonSQS.ListQueues\r\n"
        + f"Content-Length: {len(body) + 50}\r\n\r\n".encode()
        + body
    )
    start = time.time()
    status, _, payload = read_response(s, timeout=8)
    assert status == 400
    assert b"IncompleteBody" in payload
    assert time.time() - start <= 4


def test_a_stalled_upload_into_a_blob_ends_too(limited):
    c = limited.client("s3")
    c.create_bucket(Bucket="stall")
    s = connect(limited)
    s.sendall(
        b"PUT /stall/key HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Length: 1000000\r\n\r\n" + b"x" * 1000
    )
    status, _, payload = read_response(s, timeout=8)
    assert status == 400
    assert b"IncompleteBody" in payload
    assert "Contents" not in c.list_objects_v2(Bucket="stall")


def test_long_requests_are_not_cut_by_the_header_timeout(limited):
    sqs = limited.client("sqs")
    url = sqs.create_queue(QueueName="long-poll")["QueueUrl"]
    start = time.time()
    out = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)
    assert "Messages" not in out
    assert time.time() - start >= 2.5


def test_connections_over_the_limit_are_closed_at_once(limited):
    # The health probe's connection may still hold a permit for a moment
    # after the fixture returns, so the refused one can be any of the five.
    held = [connect(limited) for _ in range(5)]
    start = time.time()
    refused = None
    while refused is None and time.time() - start < 3:
        readable, _, _ = select.select(held, [], [], 0.05)
        for s in readable:
            try:
                if not s.recv(1, socket.MSG_PEEK):
                    refused = s
            except ConnectionResetError:
                refused = s
    took = time.time() - start
    assert refused is not None and took < 0.9, took
    held.remove(refused)
    refused.close()
    for s in held:
        s.close()
    time.sleep(0.3)
    s = connect(limited)
    s.sendall(b"GET /_ministack/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    assert read_response(s)[0] == 200


def test_oversized_headers_get_431(limited):
    s = connect(limited)
    s.sendall(
        b"GET /_ministack/health HTTP/1.1\r\nHost: localhost\r\n"
        + b"X-Big: " + b"a" * 20000 + b"\r\n\r\n"
    )
    status, _, _ = read_response(s)
    assert status == 431


def test_bad_limit_settings_stop_the_start(make_gateway):
    with pytest.raises(RuntimeError) as e:
        make_gateway(env={"MINISTACK_MAX_HEADER_BYTES": "100"})
    assert "MINISTACK_MAX_HEADER_BYTES" in str(e.value)
