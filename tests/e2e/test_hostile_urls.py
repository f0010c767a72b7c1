"""S3 keys bytes-exact and presigned URLs hardened (security issue).

Keys: a percent-escape that is not UTF-8 is refused (`InvalidURI`), never
decoded into U+FFFD where `%FF` and `%FE` would name one object; control
characters are escaped in listing XML; `EncodingType=url` is honoured.
Presigned URLs: the signature cut off, a date in the future, an expiry
above seven days, and an expired URL are each refused with S3's code."""

import datetime
import hashlib
import hmac
import time
import urllib.parse

import pytest
import requests


@pytest.fixture
def bucket(gateway):
    s3 = gateway.client("s3")
    name = f"hostile-urls-{time.time_ns()}"
    s3.create_bucket(Bucket=name)
    return s3, name


def code(text):
    return text.split("<Code>")[1].split("</Code>")[0]


def test_invalid_utf8_keys_are_refused_not_merged(gateway, bucket):
    s3, name = bucket
    for escape in ("%FF", "%FE", "a%C3", "%ED%A0%80"):
        r = requests.put(f"{gateway.url}/{name}/{escape}", data=b"x")
        assert r.status_code == 400, (escape, r.text)
        assert code(r.text) == "InvalidURI"
    r = requests.get(f"{gateway.url}/{name}?list-type=2&prefix=%FF")
    assert r.status_code == 400 and code(r.text) == "InvalidURI"
    assert s3.list_objects_v2(Bucket=name).get("KeyCount") == 0
    # Valid multi-byte keys still work, byte-exact.
    s3.put_object(Bucket=name, Key="é/ü", Body=b"1")
    assert s3.get_object(Bucket=name, Key="é/ü")["Body"].read() == b"1"


def test_control_characters_escaped_in_listings(gateway, bucket):
    s3, name = bucket
    key = "a\x00b\x01c\x1fd\re\tf"
    s3.put_object(Bucket=name, Key=key, Body=b"x")
    raw = requests.get(f"{gateway.url}/{name}?list-type=2").content
    assert b"\x00" not in raw and b"\x01" not in raw and b"\x1f" not in raw
    assert b"<Key>a&#x0;b&#x1;c&#x1F;d&#xD;e\tf</Key>" in raw, raw
    url = requests.get(f"{gateway.url}/{name}?list-type=2&encoding-type=url").text
    assert "<Key>a%00b%01c%1Fd%0De%09f</Key>" in url, url
    # boto3 asks for url encoding and decodes: the key round-trips.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=name)["Contents"]] == [key]
    assert [o["Key"] for o in s3.list_objects(Bucket=name)["Contents"]] == [key]


def presign(gateway, path, date, expires, secret="test", drop=()):
    amz_date = date.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    params = {"X-Amz-Algorithm": "AWS4-HMAC-SHA256", "X-Amz-Credential": f"test/{scope}",
              "X-Amz-Date": amz_date, "X-Amz-Expires": str(expires), "X-Amz-SignedHeaders": "host"}
    q = lambda p: "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
                           for k, v in sorted(p.items()))
    host = f"127.0.0.1:{gateway.port}"
    canonical = "\n".join(["GET", path, q(params), f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    params["X-Amz-Signature"] = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    for d in drop:
        params.pop(d)
    return f"{gateway.url}{path}?{q(params)}"


def now():
    return datetime.datetime.now(datetime.timezone.utc)


def test_presigned_urls(gateway, bucket):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="doc", Body=b"secret")
    path = f"/{name}/doc"
    ok = requests.get(presign(gateway, path, now(), 300))
    assert ok.status_code == 200 and ok.content == b"secret", ok.text
    # boto3's own presigned URL works.
    assert requests.get(s3.generate_presigned_url(
        "get_object", Params={"Bucket": name, "Key": "doc"}, ExpiresIn=60)).status_code == 200

    stripped = requests.get(presign(gateway, path, now(), 300, drop=["X-Amz-Signature"]))
    assert stripped.status_code == 400, stripped.text
    assert code(stripped.text) == "AuthorizationQueryParametersError"

    future = requests.get(presign(gateway, path, now() + datetime.timedelta(hours=2), 300))
    assert future.status_code == 403, future.text
    assert code(future.text) == "AccessDenied" and "not valid yet" in future.text
    # Within the 15-minute skew a date ahead is fine.
    assert requests.get(presign(gateway, path, now() + datetime.timedelta(minutes=5), 300)).status_code == 200

    week = requests.get(presign(gateway, path, now(), 604801))
    assert week.status_code == 400, week.text
    assert code(week.text) == "AuthorizationQueryParametersError"
    assert "604800" in week.text
    assert requests.get(presign(gateway, path, now(), 604800)).status_code == 200

    expired = requests.get(presign(gateway, path, now() - datetime.timedelta(hours=2), 60))
    assert expired.status_code == 403, expired.text
    assert code(expired.text) == "AccessDenied" and "expired" in expired.text


def test_sigv2_url_with_signature_cut_off_is_refused(gateway, bucket):
    s3, name = bucket
    s3.put_object(Bucket=name, Key="doc", Body=b"secret")
    r = requests.get(f"{gateway.url}/{name}/doc?AWSAccessKeyId=test&Expires={int(time.time()) + 300}")
    assert r.status_code in (400, 403), r.text
    assert code(r.text) in ("AuthorizationQueryParametersError", "AccessDenied")
