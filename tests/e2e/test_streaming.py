"""Streamed event-stream responses: the `ticker` test plugin answers
Subscribe at once and a task feeds the stream one Tick per interval; the
client must see the events spaced over time, over HTTP/1.1 (boto3, chunked)
and HTTP/2 (curl with prior knowledge). Timings are printed (pytest -s)."""

import json
import os
import shutil
import subprocess
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EventStreamError

from conftest import ROOT

MODEL = ROOT / "tests" / "plugins" / "ticker" / "model" / "service-2.json"


@pytest.fixture(scope="module")
def ticker(gateway, tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    (models / "ticker" / "2024-01-01").mkdir(parents=True)
    shutil.copy(MODEL, models / "ticker" / "2024-01-01" / "service-2.json")
    os.environ["AWS_DATA_PATH"] = str(models)
    try:
        session = boto3.Session()
    finally:
        del os.environ["AWS_DATA_PATH"]
    return session.client(
        "ticker", endpoint_url=gateway.url, region_name="us-east-1",
        aws_access_key_id="000000000000", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}, read_timeout=30),
    )


def test_events_arrive_spaced_over_time_http1(ticker):
    # Warm up (botocore loads the model, the connection opens): a stream of just Done.
    assert [next(iter(e)) for e in ticker.subscribe(Count=0)["Events"]] == ["Done"]
    began = time.monotonic()
    out = ticker.subscribe(Count=4, IntervalMs=700)
    answered = time.monotonic() - began
    assert out["Label"] == "ticks for 000000000000"
    arrivals, walls = [], []
    for event in out["Events"]:
        arrivals.append((time.monotonic() - began, event))
        walls.append(time.time())
    names = [next(iter(e)) for _, e in arrivals]
    assert names == ["Tick"] * 4 + ["Done"], names
    assert [e["Tick"]["Seq"] for _, e in arrivals[:4]] == [0, 1, 2, 3]
    assert arrivals[-1][1]["Done"]["Total"] == 4
    times = [t for t, _ in arrivals]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(f"\nHTTP/1.1: response head after {answered * 1000:.0f} ms; events at "
          + ", ".join(f"{t * 1000:.0f}" for t in times) + " ms")
    # The head comes before the stream is fed; each tick ~700 ms after the last.
    assert answered < 0.5, answered
    assert times[0] < 0.5, times
    assert all(g > 0.5 for g in gaps[:3]), gaps
    assert times[3] - times[0] > 1.8, times
    # Each tick left the plugin just before the client saw it (not batched at the end).
    lags = [wall - e["Tick"]["SentAt"] for wall, (_, e) in zip(walls, arrivals[:4])]
    print("sent-to-seen lags: " + ", ".join(f"{lag * 1000:.0f}" for lag in lags) + " ms")
    assert all(-0.05 < lag < 0.5 for lag in lags), lags


def test_a_failing_producer_ends_the_stream_with_its_error(ticker):
    out = ticker.subscribe(Count=5, IntervalMs=200, FailAfter=2)
    seen = []
    with pytest.raises(EventStreamError) as e:
        for event in out["Events"]:
            seen.append(event)
    assert [ev["Tick"]["Seq"] for ev in seen] == [0, 1]
    assert e.value.response["Error"]["Code"] == "TickerBroke"
    assert "failed after 2 ticks" in e.value.response["Error"]["Message"]


def test_bad_input_is_an_error_before_any_stream(ticker):
    with pytest.raises(ticker.exceptions.InvalidRequestException):
        ticker.subscribe(Count=5000)


def test_events_arrive_spaced_over_time_http2(gateway):
    curl = shutil.which("curl")
    if curl is None:
        pytest.fail("curl is needed for the HTTP/2 stream test")
    auth = ("AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/ticker/aws4_request, "
            "SignedHeaders=host, Signature=0")
    began = time.monotonic()
    proc = subprocess.Popen(
        [curl, "-sS", "-N", "--http2-prior-knowledge", "-X", "POST",
         "-H", f"Authorization: {auth}", "-H", "Content-Type: application/json",
         "--data", json.dumps({"Count": 3, "IntervalMs": 700}),
         "-D", "-", gateway.url + "/subscribe"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    chunks = []
    try:
        while True:
            data = os.read(proc.stdout.fileno(), 65536)
            if not data:
                break
            chunks.append((time.monotonic() - began, data))
    finally:
        proc.wait(timeout=30)
    body = b"".join(d for _, d in chunks)
    assert body.startswith(b"HTTP/2 200"), body[:200]
    assert b"application/vnd.amazon.eventstream" in body
    tick_times = [t for t, d in chunks if b"Tick" in d]
    done_times = [t for t, d in chunks if b"Done" in d]
    print(f"\nHTTP/2: ticks at {', '.join(f'{t * 1000:.0f}' for t in tick_times)} ms, "
          f"done at {done_times[0] * 1000:.0f} ms")
    assert len(tick_times) == 3 and len(done_times) == 1, chunks
    assert tick_times[2] - tick_times[0] > 1.2, tick_times


# --- S3 SelectObjectContent (a real operation on the streamed path) -----------


def select(s3, key, expression, input_ser, output_ser=None):
    out = s3.select_object_content(
        Bucket="select-bucket", Key=key, Expression=expression, ExpressionType="SQL",
        InputSerialization=input_ser, OutputSerialization=output_ser or {"CSV": {}},
    )
    records, stats, ended = b"", None, False
    for event in out["Payload"]:
        if "Records" in event:
            records += event["Records"]["Payload"]
        elif "Stats" in event:
            stats = event["Stats"]["Details"]
        elif "End" in event:
            ended = True
    assert ended, "the stream ends with End"
    return records.decode(), stats


@pytest.fixture(scope="module")
def s3_select(gateway):
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="select-bucket")
    s3.put_object(Bucket="select-bucket", Key="people.csv",
                  Body=b'name,city,age\n"Smith, J",Paris,41\nLee,Hanoi,29\nOkafor,Lagos,35\n')
    s3.put_object(Bucket="select-bucket", Key="people.jsonl",
                  Body=b'{"name":"Ada","age":36}\n{"name":"Bo","age":7}\n')
    return s3


def test_select_csv_star_positional_named_and_limit(s3_select):
    csv_in = {"CSV": {"FileHeaderInfo": "USE"}}
    records, stats = select(s3_select, "people.csv", "SELECT * FROM S3Object", csv_in)
    assert records == '"Smith, J",Paris,41\nLee,Hanoi,29\nOkafor,Lagos,35\n'
    assert stats["BytesScanned"] == stats["BytesProcessed"] == 63
    assert stats["BytesReturned"] == len(records)
    records, _ = select(s3_select, "people.csv", "SELECT s._1, s._3 FROM S3Object s LIMIT 2",
                        {"CSV": {"FileHeaderInfo": "IGNORE"}})
    assert records == '"Smith, J",41\nLee,29\n'
    records, _ = select(s3_select, "people.csv", "SELECT s.city FROM S3Object s LIMIT 1", csv_in,
                        {"JSON": {}})
    assert records == '{"city":"Paris"}\n'


def test_select_json_lines(s3_select):
    records, _ = select(s3_select, "people.jsonl", "select s.name from S3Object s",
                        {"JSON": {"Type": "LINES"}}, {"JSON": {}})
    assert [json.loads(line) for line in records.splitlines()] == [{"name": "Ada"}, {"name": "Bo"}]


def test_select_unsupported_sql_and_missing_keys_are_s3_errors(s3_select):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as e:
        select(s3_select, "people.csv", "SELECT * FROM S3Object s WHERE s._1 = 'Lee'", {"CSV": {}})
    assert e.value.response["Error"]["Code"] == "UnsupportedSyntax"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        select(s3_select, "nope.csv", "SELECT * FROM S3Object", {"CSV": {}})
    assert e.value.response["Error"]["Code"] == "NoSuchKey"
