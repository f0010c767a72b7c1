"""S3's browser-facing features through the gateway: presigned URLs verified
(SigV4 and SigV2, expiry, tampering, STS keys), CORS from the bucket's rules,
the website endpoint, POST object (browser form upload)."""

import subprocess
import time
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import boto3
import botocore.exceptions
import pytest
import requests
from botocore.config import Config


@pytest.fixture()
def s3(gateway):
    # botocore presigns S3 with SigV2 unless told otherwise
    return gateway.client("s3", signature_version="s3v4", s3={"addressing_style": "path"})


@pytest.fixture()
def bucket(s3):
    name = f"w-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_code(r):
    assert "<Error>" in r.text, r.text
    return r.text.split("<Code>")[1].split("</Code>")[0]


def with_query(url, **changes):
    parts = urlsplit(url)
    q = dict(parse_qsl(parts.query, keep_blank_values=True))
    q.update(changes)
    return urlunsplit(parts._replace(query=urlencode(q)))


# --- presigned URLs -------------------------------------------------------

def test_presigned_get_and_put_sigv4(s3, bucket):
    put = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in put
    r = requests.put(put, data=b"uploaded via presigned PUT", timeout=10)
    assert r.status_code == 200, r.text
    get = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "up.txt"}, ExpiresIn=300)
    r = requests.get(get, timeout=10)
    assert r.status_code == 200 and r.content == b"uploaded via presigned PUT"
    # urllib, as a browser or a plain client would fetch it
    import urllib.request
    with urllib.request.urlopen(get, timeout=10) as resp:
        assert resp.read() == b"uploaded via presigned PUT"


def test_aws_cli_presign_then_curl(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="dir/cli file.txt", Body=b"from the cli")
    url = gateway.aws("s3", "presign", f"s3://{bucket}/dir/cli file.txt", "--expires-in", "60").stdout.strip()
    out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", url], capture_output=True, text=True, timeout=30)
    body, status = out.stdout.rsplit("\n", 1)
    assert status == "200" and body == "from the cli"


def test_presigned_url_expires(s3, bucket):
    s3.put_object(Bucket=bucket, Key="e.txt", Body=b"soon gone")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "e.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    r = requests.get(url, timeout=10)
    assert r.status_code == 403
    assert error_code(r) == "AccessDenied"
    assert "Request has expired" in r.text


def test_tampered_presigned_url_is_refused(s3, bucket):
    s3.put_object(Bucket=bucket, Key="t.txt", Body=b"x")
    s3.put_object(Bucket=bucket, Key="u.txt", Body=b"y")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "t.txt"}, ExpiresIn=300)
    longer = with_query(url, **{"X-Amz-Expires": "3600"})
    r = requests.get(longer, timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"
    assert "<StringToSign>" in r.text
    other_key = url.replace("/t.txt?", "/u.txt?")
    r = requests.get(other_key, timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"
    wrong_secret = boto3.client("s3", endpoint_url=s3.meta.endpoint_url, region_name="us-east-1",
                                aws_access_key_id="000000000000", aws_secret_access_key="not-the-secret",
                                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    r = requests.get(wrong_secret.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "t.txt"}), timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"


def test_presigned_sigv2(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="v2.txt", Body=b"signature version 2")
    v2 = gateway.client("s3", signature_version="s3", s3={"addressing_style": "path"})
    url = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Expires=" in url
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"signature version 2"
    r = requests.get(url.replace("/v2.txt?", "/v3.txt?"), timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"
    later = with_query(url, Expires=str(int(time.time()) + 86400))
    r = requests.get(later, timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"
    expired = v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2.txt"}, ExpiresIn=1)
    time.sleep(2.1)
    r = requests.get(expired, timeout=10)
    assert r.status_code == 403 and error_code(r) == "AccessDenied"


def test_presigned_url_signed_with_an_sts_key(gateway, bucket):
    sts = gateway.client("sts", account="111111111111")
    creds = sts.get_session_token()["Credentials"]
    # buckets are global: the STS caller reads the bucket made by another account
    client = boto3.client("s3", endpoint_url=gateway.url, region_name="us-east-1",
                          aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                          aws_session_token=creds["SessionToken"],
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    client.put_object(Bucket=bucket, Key="sts.txt", Body=b"temporary credentials")
    url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "sts.txt"}, ExpiresIn=60)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"temporary credentials"
    # the default secret is not this key's secret
    forged = boto3.client("s3", endpoint_url=gateway.url, region_name="us-east-1",
                          aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key="test",
                          config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    r = requests.get(forged.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "sts.txt"}), timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"


def test_presigned_virtual_hosted_url(gateway, bucket):
    s3 = gateway.client("s3", s3={"addressing_style": "path"})
    s3.put_object(Bucket=bucket, Key="vh.txt", Body=b"vhost")
    port = gateway.url.rsplit(":", 1)[1]
    vclient = boto3.client("s3", endpoint_url=f"http://localhost:{port}", region_name="us-east-1",
                           aws_access_key_id="000000000000", aws_secret_access_key="test",
                           config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    url = vclient.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "vh.txt"}, ExpiresIn=60)
    assert f"//{bucket}.localhost:{port}/vh.txt" in url
    path = url.split(f":{port}", 1)[1]
    r = requests.get(f"{gateway.url}{path}", headers={"Host": f"{bucket}.localhost:{port}"}, timeout=10)
    assert r.status_code == 200 and r.content == b"vhost"


# --- CORS -----------------------------------------------------------------

CORS = {"CORSRules": [
    {"AllowedOrigins": ["http://app.example.com"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["Content-Type", "x-amz-*"], "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 600},
    {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET"]},
]}


def test_cors_preflight_follows_the_bucket_rules(gateway, s3, bucket):
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    r = requests.options(f"{gateway.url}/{bucket}/obj.txt", headers={
        "Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "content-type, x-amz-meta-a"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example.com"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, x-amz-meta-a"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in r.headers["Vary"]
    # wildcard origin rule
    r = requests.options(f"{gateway.url}/{bucket}/obj.txt", headers={
        "Origin": "https://a.example.org", "Access-Control-Request-Method": "GET"}, timeout=10)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "https://a.example.org"
    # no rule: wrong method, origin or header
    for headers in [
        {"Origin": "http://app.example.com", "Access-Control-Request-Method": "DELETE"},
        {"Origin": "http://evil.example.com", "Access-Control-Request-Method": "GET"},
        {"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT", "Access-Control-Request-Headers": "authorization"},
    ]:
        r = requests.options(f"{gateway.url}/{bucket}/obj.txt", headers=headers, timeout=10)
        assert r.status_code == 403, headers
        assert error_code(r) == "AccessForbidden"
        assert "CORSResponse: This CORS request is not allowed" in r.text
        assert "Access-Control-Allow-Origin" not in r.headers


def test_cors_without_configuration_and_outside_buckets(gateway, s3, bucket):
    r = requests.options(f"{gateway.url}/{bucket}/k", headers={
        "Origin": "http://app.example.com", "Access-Control-Request-Method": "GET"}, timeout=10)
    assert r.status_code == 403 and error_code(r) == "AccessForbidden"
    # not a bucket: MiniStack's permissive answer
    r = requests.options(f"{gateway.url}/", headers={
        "Origin": "http://app.example.com", "Access-Control-Request-Method": "POST"}, timeout=10)
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_headers_on_actual_requests(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="c.txt", Body=b"cors")
    r = requests.get(f"{gateway.url}/{bucket}/c.txt", headers={"Origin": "http://app.example.com"}, timeout=10)
    assert r.headers["Access-Control-Allow-Origin"] == "*"  # no configuration: permissive, as MiniStack
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=CORS)
    r = requests.get(f"{gateway.url}/{bucket}/c.txt", headers={"Origin": "http://app.example.com"}, timeout=10)
    assert r.status_code == 200 and r.content == b"cors"
    assert r.headers["Access-Control-Allow-Origin"] == "http://app.example.com"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert "Origin" in r.headers["Vary"]
    r = requests.get(f"{gateway.url}/{bucket}/c.txt", headers={"Origin": "http://evil.example.com"}, timeout=10)
    assert r.status_code == 200
    assert "Access-Control-Allow-Origin" not in r.headers


# --- website endpoint ------------------------------------------------------

def site_get(gateway, bucket, path, host_form="{b}.s3-website.localhost", method="GET"):
    port = gateway.url.rsplit(":", 1)[1]
    host = host_form.format(b=bucket) + f":{port}"
    return requests.request(method, f"{gateway.url}{path}", headers={"Host": host}, allow_redirects=False, timeout=10)


def test_website_index_error_and_routing(gateway, s3, bucket):
    r = site_get(gateway, bucket, "/")
    assert r.status_code == 404 and "NoSuchWebsiteConfiguration" in r.text
    assert r.headers["Content-Type"].startswith("text/html")
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>home</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="docs/index.html", Body=b"<h1>docs</h1>", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="page.html", Body=b"<p>page</p>", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"},
        "RoutingRules": [{"Condition": {"KeyPrefixEquals": "old/"}, "Redirect": {"ReplaceKeyPrefixWith": "docs/"}}],
    })
    for form in ["{b}.s3-website.localhost", "{b}.s3-website-us-east-1.localhost", "{b}.s3-website.eu-west-1.localhost"]:
        r = site_get(gateway, bucket, "/", form)
        assert r.status_code == 200 and r.content == b"<h1>home</h1>", form
    r = site_get(gateway, bucket, "/docs/")
    assert r.status_code == 200 and r.content == b"<h1>docs</h1>"
    assert r.headers["Content-Type"] == "text/html"
    r = site_get(gateway, bucket, "/docs")
    assert r.status_code == 302 and r.headers["Location"] == "/docs/"
    r = site_get(gateway, bucket, "/page.html", method="HEAD")
    assert r.status_code == 200 and r.headers["Content-Length"] == "11"
    r = site_get(gateway, bucket, "/missing.html")
    assert r.status_code == 404
    assert r.headers["Content-Type"].startswith("text/html")
    assert "<li>Code: NoSuchKey</li>" in r.text and "missing.html" in r.text
    r = site_get(gateway, bucket, "/old/a.html")
    assert r.status_code == 301
    assert r.headers["Location"].endswith("/docs/a.html")
    # the error document, served with the error's status
    s3.put_object(Bucket=bucket, Key="404.html", Body=b"<h1>not here</h1>", ContentType="text/html")
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "404.html"}})
    r = site_get(gateway, bucket, "/nothing")
    assert r.status_code == 404 and r.content == b"<h1>not here</h1>"
    r = site_get(gateway, bucket, "/page.html", method="PUT")
    assert r.status_code == 405


def test_website_redirect_all_requests(gateway, s3, bucket):
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={
        "RedirectAllRequestsTo": {"HostName": "www.example.com", "Protocol": "https"}})
    r = site_get(gateway, bucket, "/a/b.html")
    assert r.status_code == 301 and r.headers["Location"] == "https://www.example.com/a/b.html"
    r = site_get(gateway, "no-such-bucket-" + uuid.uuid4().hex[:6], "/")
    assert r.status_code == 404 and "NoSuchBucket" in r.text


# --- POST object (browser form upload) --------------------------------------

def test_post_object_with_a_presigned_post(gateway, s3, bucket):
    post = s3.generate_presigned_post(
        bucket, "uploads/${filename}",
        Fields={"Content-Type": "text/plain", "x-amz-meta-origin": "form", "success_action_status": "201"},
        Conditions=[["starts-with", "$key", "uploads/"], {"Content-Type": "text/plain"},
                    {"x-amz-meta-origin": "form"}, {"success_action_status": "201"},
                    ["content-length-range", 1, 1024]],
        ExpiresIn=300)
    assert "x-amz-signature" in post["fields"]
    r = requests.post(post["url"], data=post["fields"], files={"file": ("hello.txt", b"hello from a form")}, timeout=10)
    assert r.status_code == 201, r.text
    assert "<PostResponse>" in r.text and "<Key>uploads/hello.txt</Key>" in r.text
    assert r.headers["ETag"] == '"' + __import__("hashlib").md5(b"hello from a form").hexdigest() + '"'
    got = s3.get_object(Bucket=bucket, Key="uploads/hello.txt")
    assert got["Body"].read() == b"hello from a form"
    assert got["ContentType"] == "text/plain"
    assert got["Metadata"] == {"origin": "form"}


def test_post_object_status_redirect_and_tagging(gateway, s3, bucket):
    post = s3.generate_presigned_post(bucket, "plain.bin", ExpiresIn=300)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("x", b"\x00\x01")}, timeout=10)
    assert r.status_code == 204 and r.content == b""
    assert s3.get_object(Bucket=bucket, Key="plain.bin")["Body"].read() == b"\x00\x01"
    tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>web</Value></Tag></TagSet></Tagging>"
    post = s3.generate_presigned_post(
        bucket, "redir.txt", Fields={"success_action_redirect": "http://app.example.com/done", "tagging": tagging},
        Conditions=[{"success_action_redirect": "http://app.example.com/done"}, {"tagging": tagging}], ExpiresIn=300)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("r.txt", b"redirected")}, allow_redirects=False, timeout=10)
    assert r.status_code == 303
    assert r.headers["Location"].startswith("http://app.example.com/done?bucket=" + bucket + "&key=redir.txt&etag=")
    assert s3.get_object_tagging(Bucket=bucket, Key="redir.txt")["TagSet"] == [{"Key": "team", "Value": "web"}]
    post = s3.generate_presigned_post(bucket, "ok.txt", Fields={"success_action_status": "200"},
                                      Conditions=[{"success_action_status": "200"}], ExpiresIn=300)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("o", b"ok")}, timeout=10)
    assert r.status_code == 200


def test_post_object_policy_is_enforced(gateway, s3, bucket):
    post = s3.generate_presigned_post(bucket, "uploads/${filename}",
                                      Conditions=[["starts-with", "$key", "uploads/"], ["content-length-range", 1, 8]],
                                      ExpiresIn=300)
    fields = dict(post["fields"])
    r = requests.post(post["url"], data={**fields, "key": "elsewhere/x"}, files={"file": ("a", b"abc")}, timeout=10)
    assert r.status_code == 403 and error_code(r) == "AccessDenied"
    assert "Policy Condition failed" in r.text
    r = requests.post(post["url"], data=fields, files={"file": ("big", b"0123456789")}, timeout=10)
    assert r.status_code == 400 and error_code(r) == "EntityTooLarge"
    r = requests.post(post["url"], data={**fields, "x-amz-signature": "0" * 64}, files={"file": ("a", b"abc")}, timeout=10)
    assert r.status_code == 403 and error_code(r) == "SignatureDoesNotMatch"
    r = requests.post(post["url"], data=fields, timeout=10, files={"other": ("a", b"abc")})
    assert r.status_code == 400 and error_code(r) == "InvalidArgument"
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="elsewhere/x")
    expired = s3.generate_presigned_post(bucket, "late.txt", ExpiresIn=1)
    time.sleep(2.1)
    r = requests.post(expired["url"], data=expired["fields"], files={"file": ("l", b"late")}, timeout=10)
    assert r.status_code == 403 and error_code(r) == "AccessDenied"
    assert "Policy expired" in r.text
