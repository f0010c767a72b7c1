"""Gateway fidelity across services (issue 25, "Across the gateway"):
services with no plugin in the bundle are refused in their own protocol,
repeated header lines are joined, and URLs follow the Host the client used.
"""

from xml.etree import ElementTree

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

NOT_ENABLED = "is not enabled in this gateway"


def assert_not_enabled(call, service):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response
    assert err["Error"]["Code"] == "NotImplemented", err
    assert f"Service '{service}' {NOT_ENABLED}" in err["Error"]["Message"]
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 501


@pytest.mark.parametrize(
    "service,call",
    [
        ("route53", lambda c: c.list_hosted_zones()),  # rest-xml
        ("cloudfront", lambda c: c.list_distributions()),  # rest-xml
        ("apigateway", lambda c: c.get_rest_apis()),  # rest-json
        ("appsync", lambda c: c.list_graphql_apis()),  # rest-json
        ("ecs", lambda c: c.list_clusters()),  # json
        ("elasticbeanstalk", lambda c: c.describe_applications()),  # query
        ("ses", lambda c: c.list_identities()),  # query, endpoint prefix `email`
    ],
)
def test_a_service_not_in_the_bundle_is_refused_in_its_protocol(gateway, service, call):
    assert_not_enabled(lambda: call(gateway.client(service)), service)


def test_s3_control_is_not_taken_for_s3(gateway):
    # S3 Control signs `s3` too; without a plugin its POST must not be
    # parsed as CompleteMultipartUpload on a bucket `v20180820`. (boto3's
    # s3control always prepends `{AccountId}.` to the endpoint host, which
    # 127.0.0.1 cannot take, so these are raw requests signed `s3`.)
    # (The tagging routes, /v20180820/tags/, are the S3 plugin's: test_s3_fidelity.py.)
    for method, path in [("POST", "/v20180820/jobs"), ("GET", "/v20180820/accesspoint")]:
        r = gateway.rest_call(method, path, "s3", headers={"x-amz-account-id": "000000000000"})
        assert r.status_code == 501, r.text
        error = ElementTree.fromstring(r.text).find("Error")
        assert error.findtext("Code") == "NotImplemented"
        assert f"Service 's3control' {NOT_ENABLED}" in error.findtext("Message")
    # A bucket that merely starts with `v2018` is still S3's.
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="v20180820x")
    s3.put_object(Bucket="v20180820x", Key="k", Body=b"x")


def test_json_and_rest_services_left_out_of_the_bundle(make_gateway):
    g = make_gateway(env={"SERVICES": "s3,sqs"})
    # Lambda's REST path is not S3 bucket `2015-03-31`.
    assert_not_enabled(lambda: g.client("lambda").list_functions(), "lambda")
    assert_not_enabled(lambda: g.client("events").list_event_buses(), "events")
    assert_not_enabled(lambda: g.client("kinesis").list_streams(), "kinesis")
    # A presigned URL names its service in X-Amz-Credential.
    url = g.client("lambda").generate_presigned_url("get_function", Params={"FunctionName": "f"})
    r = requests.get(url, timeout=10)
    assert r.status_code == 501
    assert r.headers["x-amzn-errortype"] == "NotImplemented"
    assert NOT_ENABLED in r.json()["message"]
    # Raw JSON: the service's json version and envelope.
    r = requests.post(
        g.url + "/",
        data="{}",
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSEvents.PutEvents"},
        timeout=10,
    )
    assert r.status_code == 501
    assert r.headers["content-type"] == "application/x-amz-json-1.1"
    assert r.json()["__type"] == "NotImplemented"
    # Unsigned browser-style requests still go to S3, as before.
    s3 = g.client("s3")
    s3.create_bucket(Bucket="plain")
    s3.put_object(Bucket="plain", Key="k", Body=b"hello")
    assert requests.get(g.url + "/plain/k", timeout=10).content == b"hello"
    # The loaded services still answer.
    assert g.client("sqs").create_queue(QueueName="q")["QueueUrl"].endswith("/q")


def test_repeated_header_lines_are_joined(gateway):
    import http.client
    from urllib.parse import urlparse

    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="joined-headers")
    u = urlparse(gateway.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    conn.putrequest("PUT", "/joined-headers/k")
    # RFC 9110 §5.3: two lines are the same as `aws-chunked, gzip`.
    conn.putheader("Content-Encoding", "aws-chunked")
    conn.putheader("Content-Encoding", "gzip")
    conn.putheader("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    conn.putheader("x-amz-decoded-content-length", "5")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    assert r.status == 200, r.read()
    r.read()
    conn.close()
    head = s3.head_object(Bucket="joined-headers", Key="k")
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentLength"] == 5


def test_urls_follow_the_host_the_client_used(gateway):
    port = gateway.port
    via_ip = gateway.client("sqs")
    via_name = boto3.client(
        "sqs", endpoint_url=f"http://localhost:{port}", region_name="us-east-1",
        aws_access_key_id="000000000000", aws_secret_access_key="test",
        config=Config(retries={"max_attempts": 1}),
    )
    url_ip = via_ip.create_queue(QueueName="hosted")["QueueUrl"]
    assert url_ip == f"http://127.0.0.1:{port}/000000000000/hosted"
    url_name = via_name.get_queue_url(QueueName="hosted")["QueueUrl"]
    assert url_name == f"http://localhost:{port}/000000000000/hosted"
    assert url_ip in via_ip.list_queues(QueueNamePrefix="hosted")["QueueUrls"]
    # Lookups are host-agnostic: both URLs name the same queue.
    via_name.send_message(QueueUrl=url_ip, MessageBody="one")
    got = via_ip.receive_message(QueueUrl=url_name, WaitTimeSeconds=1)["Messages"]
    assert got[0]["Body"] == "one"
    # The query protocol too, with another Host the client might use.
    auth = "AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=0"
    r = requests.post(
        gateway.url + "/",
        data="Action=GetQueueUrl&QueueName=hosted&Version=2012-11-05",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth,
                 "Host": "host.docker.internal:4566"},
        timeout=10,
    )
    assert "<QueueUrl>http://host.docker.internal:4566/000000000000/hosted</QueueUrl>" in r.text, r.text
    # A Host that is not host[:port] is not echoed into URLs.
    r = requests.post(
        gateway.url + "/",
        data="Action=GetQueueUrl&QueueName=hosted&Version=2012-11-05",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": auth,
                 "Host": "evil.example/x?"},
        timeout=10,
    )
    assert "evil" not in r.text and f"localhost:{port}/000000000000/hosted" in r.text, r.text
    # S3: CompleteMultipartUpload's Location.
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="hosted")
    up = s3.create_multipart_upload(Bucket="hosted", Key="k")["UploadId"]
    etag = s3.upload_part(Bucket="hosted", Key="k", UploadId=up, PartNumber=1, Body=b"x")["ETag"]
    done = s3.complete_multipart_upload(
        Bucket="hosted", Key="k", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]}
    )
    assert done["Location"].startswith(f"http://127.0.0.1:{port}/"), done["Location"]


def test_ministack_host_fixes_the_urls(make_gateway):
    g = make_gateway(env={"MINISTACK_HOST": "sqs.internal", "SERVICES": "sqs"})
    url = g.client("sqs").create_queue(QueueName="fixed")["QueueUrl"]
    assert url == f"http://sqs.internal:{g.port}/000000000000/fixed"
