"""S3 through the whole gateway with boto3 and the aws CLI: buckets,
objects (metadata, ranges, conditions, copy), listings in UTF-8 binary order,
multipart uploads, versioning, bucket subresources, AWS's errors."""

import hashlib
import json
import os
import time
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


@pytest.fixture()
def s3(gateway):
    return gateway.client("s3", s3={"addressing_style": "path"})


@pytest.fixture()
def bucket(s3):
    name = f"b-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def code_of(exc):
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_bucket_lifecycle_and_errors(gateway, s3):
    name = f"life-{uuid.uuid4().hex[:8]}"
    assert s3.create_bucket(Bucket=name)["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # us-east-1 answers 200 to re-creating your own bucket (elsewhere: 409).
    assert s3.create_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    other = gateway.client("s3", account=ACCOUNT_B, s3={"addressing_style": "path"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        other.create_bucket(Bucket=name)
    assert code_of(e) == ("BucketAlreadyExists", 409)
    assert name not in [b["Name"] for b in other.list_buckets()["Buckets"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket="Bad_Name")
    assert code_of(e) == ("InvalidBucketName", 400)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert code_of(e) == ("BucketNotEmpty", 409)
    s3.delete_object(Bucket=name, Key="k")
    s3.delete_bucket(Bucket=name)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=name, Key="k")
    assert code_of(e) == ("NoSuchBucket", 404)


def test_bucket_location(gateway):
    eu = gateway.client("s3", region="eu-west-1", s3={"addressing_style": "path"})
    name = f"eu-{uuid.uuid4().hex[:8]}"
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert eu.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    us = gateway.client("s3", s3={"addressing_style": "path"})
    name2 = f"us-{uuid.uuid4().hex[:8]}"
    us.create_bucket(Bucket=name2)
    assert us.get_bucket_location(Bucket=name2)["LocationConstraint"] is None


def test_put_get_head_with_metadata(s3, bucket):
    body = b"hello world"
    put = s3.put_object(
        Bucket=bucket, Key="dir/hello.txt", Body=body, ContentType="text/plain",
        Metadata={"Owner": "me"}, CacheControl="max-age=60", ContentDisposition="inline",
        ServerSideEncryption="AES256", Tagging="a=1&b=2", StorageClass="STANDARD_IA",
    )
    assert put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"'
    assert put["ServerSideEncryption"] == "AES256"
    got = s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert got["Body"].read() == body
    assert got["ContentType"] == "text/plain"
    assert got["ContentLength"] == len(body)
    assert got["Metadata"] == {"owner": "me"}
    assert got["CacheControl"] == "max-age=60"
    assert got["ContentDisposition"] == "inline"
    assert got["ServerSideEncryption"] == "AES256"
    assert got["StorageClass"] == "STANDARD_IA"
    assert got["TagCount"] == 2
    assert got["ETag"] == put["ETag"]
    head = s3.head_object(Bucket=bucket, Key="dir/hello.txt")
    assert head["ContentLength"] == len(body)
    assert head["Metadata"] == {"owner": "me"}
    tags = s3.get_object_tagging(Bucket=bucket, Key="dir/hello.txt")["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    over = s3.get_object(Bucket=bucket, Key="dir/hello.txt", ResponseContentType="application/x-test",
                         ResponseCacheControl="no-cache")
    assert over["ContentType"] == "application/x-test"
    assert over["CacheControl"] == "no-cache"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="missing")
    assert code_of(e) == ("NoSuchKey", 404)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="missing")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    s3.delete_object(Bucket=bucket, Key="dir/hello.txt")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="dir/hello.txt")
    assert code_of(e) == ("NoSuchKey", 404)


def test_empty_object_and_default_content_type(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    got = s3.get_object(Bucket=bucket, Key="empty")
    assert got["Body"].read() == b""
    assert got["ContentLength"] == 0
    assert got["ContentType"] == "binary/octet-stream"
    assert got["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_ranges(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789")
    got = s3.get_object(Bucket=bucket, Key="r", Range="bytes=2-5")
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert got["Body"].read() == b"2345"
    assert got["ContentRange"] == "bytes 2-5/10"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=-3")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=7-")["Body"].read() == b"789"
    assert s3.get_object(Bucket=bucket, Key="r", Range="bytes=8-100")["Body"].read() == b"89"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range="bytes=10-20")
    assert code_of(e) == ("InvalidRange", 416)


def test_conditional_requests(s3, bucket):
    etag = s3.put_object(Bucket=bucket, Key="c", Body=b"abc")["ETag"]
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"abc"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"nope"')
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    future = time.time() + 3600
    past = time.time() - 3600
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=future)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    assert s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=past)["Body"].read() == b"abc"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=past)
    assert code_of(e) == ("PreconditionFailed", 412)
    # Conditional write: If-None-Match: * refuses to overwrite.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="c", Body=b"new", IfNoneMatch="*")
    assert code_of(e) == ("PreconditionFailed", 412)
    s3.put_object(Bucket=bucket, Key="fresh", Body=b"new", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="c")["Body"].read() == b"abc"


def test_content_md5_checked(s3, bucket):
    import base64
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket=bucket, Key="m", Body=b"data", ContentMD5=good)
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m2", Body=b"data", ContentMD5=bad)
    assert code_of(e)[0] in ("BadDigest", "InvalidDigest")
    assert code_of(e)[1] == 400
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_object(Bucket=bucket, Key="m2")


def test_copy_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"payload", Metadata={"k": "v"}, ContentType="text/x", Tagging="t=1")
    out = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": "src"})
    assert out["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(b"payload").hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="dst")
    assert got["Body"].read() == b"payload"
    assert got["Metadata"] == {"k": "v"}
    assert got["ContentType"] == "text/x"
    assert s3.get_object_tagging(Bucket=bucket, Key="dst")["TagSet"] == [{"Key": "t", "Value": "1"}]
    s3.copy_object(Bucket=bucket, Key="dst2", CopySource=f"{bucket}/src", MetadataDirective="REPLACE",
                   Metadata={"n": "2"}, TaggingDirective="REPLACE", Tagging="x=y")
    h = s3.head_object(Bucket=bucket, Key="dst2")
    assert h["Metadata"] == {"n": "2"}
    assert s3.get_object_tagging(Bucket=bucket, Key="dst2")["TagSet"] == [{"Key": "x", "Value": "y"}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src")
    assert code_of(e) == ("InvalidRequest", 400)
    s3.copy_object(Bucket=bucket, Key="src", CopySource=f"{bucket}/src", MetadataDirective="REPLACE", Metadata={"z": "1"})
    assert s3.head_object(Bucket=bucket, Key="src")["Metadata"] == {"z": "1"}
    assert s3.get_object(Bucket=bucket, Key="src")["Body"].read() == b"payload"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/src", CopySourceIfMatch='"nope"')
    assert code_of(e) == ("PreconditionFailed", 412)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="x", CopySource=f"{bucket}/missing")
    assert code_of(e) == ("NoSuchKey", 404)
    # Deleting the source leaves the copy intact (separate blobs).
    s3.delete_object(Bucket=bucket, Key="src")
    assert s3.get_object(Bucket=bucket, Key="dst")["Body"].read() == b"payload"


def test_delete_objects(s3, bucket):
    for k in ["a", "b", "c"]:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "a"}, {"Key": "b"}, {"Key": "zz"}]})
    assert sorted(d["Key"] for d in out["Deleted"]) == ["a", "b", "zz"]
    quiet = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in quiet
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


ODD_KEYS = ["a", "a b", "a+b", "a/b/c", "a/d", "b/x", "é", "z", "~", "ü/1", "Z", "a%2F"]


def test_listing_order_prefix_delimiter_pagination(s3, bucket):
    for k in ODD_KEYS:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
    expected = sorted(ODD_KEYS, key=lambda k: k.encode())
    v2 = s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in v2["Contents"]] == expected
    assert v2["KeyCount"] == len(expected)
    v1 = s3.list_objects(Bucket=bucket)
    assert [o["Key"] for o in v1["Contents"]] == expected
    assert "Owner" in v1["Contents"][0]
    d = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in d["CommonPrefixes"]] == ["a/", "b/", "ü/"]
    assert "a/b/c" not in [o["Key"] for o in d["Contents"]]
    sub = s3.list_objects_v2(Bucket=bucket, Prefix="a/", Delimiter="/")
    assert [o["Key"] for o in sub["Contents"]] == ["a/d"]
    assert [p["Prefix"] for p in sub["CommonPrefixes"]] == ["a/b/"]
    # Pagination with continuation tokens and with the paginator.
    keys, token = [], None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=5, **kw)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page["IsTruncated"]:
            break
        token = page["NextContinuationToken"]
    assert keys == expected
    pages = s3.get_paginator("list_objects").paginate(Bucket=bucket, PaginationConfig={"PageSize": 4})
    assert [o["Key"] for p in pages for o in p.get("Contents", [])] == expected
    after = s3.list_objects_v2(Bucket=bucket, StartAfter="a/d")
    assert [o["Key"] for o in after["Contents"]] == [k for k in expected if k.encode() > b"a/d"]
    enc = s3.list_objects_v2(Bucket=bucket, Prefix="a ", EncodingType="url")
    # An explicit EncodingType is not decoded by botocore: the wire form shows.
    assert [o["Key"] for o in enc["Contents"]] == ["a%20b"]
    assert enc["EncodingType"] == "url"
    owner = s3.list_objects_v2(Bucket=bucket, MaxKeys=1, FetchOwner=True)["Contents"][0]
    assert owner["Owner"]["ID"]


def test_multipart_upload(s3, bucket):
    part1 = os.urandom(5 * 1024 * 1024)
    part2 = b"tail-bytes"
    up = s3.create_multipart_upload(Bucket=bucket, Key="big", Metadata={"m": "1"}, ContentType="app/x")
    uid = up["UploadId"]
    listed = s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in listed] == [("big", uid)]
    e1 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=1, Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="big", UploadId=uid, PartNumber=2, Body=part2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, len(part1)), (2, len(part2))]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]})
    assert code_of(e) == ("InvalidPartOrder", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": '"0000"'}]})
    assert code_of(e) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    digest = hashlib.md5(hashlib.md5(part1).digest() + hashlib.md5(part2).digest()).hexdigest()
    assert done["ETag"] == f'"{digest}-2"'
    got = s3.get_object(Bucket=bucket, Key="big")
    assert got["Body"].read() == part1 + part2
    assert got["Metadata"] == {"m": "1"}
    assert got["ContentType"] == "app/x"
    assert s3.get_object(Bucket=bucket, Key="big", Range="bytes=5242878-5242882")["Body"].read() == part1[-2:] + part2[:3]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="big", UploadId=uid)
    assert code_of(e) == ("NoSuchUpload", 404)


def test_multipart_small_part_abort_and_part_copy(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"small")["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=2, Body=b"small")["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId=uid, MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert code_of(e) == ("EntityTooSmall", 400)
    s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=uid)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1, Body=b"x")
    assert code_of(e) == ("NoSuchUpload", 404)
    s3.put_object(Bucket=bucket, Key="source", Body=b"0123456789")
    uid = s3.create_multipart_upload(Bucket=bucket, Key="copied")["UploadId"]
    c = s3.upload_part_copy(Bucket=bucket, Key="copied", UploadId=uid, PartNumber=1,
                            CopySource=f"{bucket}/source", CopySourceRange="bytes=2-5")
    s3.complete_multipart_upload(Bucket=bucket, Key="copied", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": c["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="copied")["Body"].read() == b"2345"


def test_versioning(s3, bucket):
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="v", Body=b"before")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=bucket, Key="v", Body=b"two")["VersionId"]
    assert v1 != v2
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    assert s3.get_object(Bucket=bucket, Key="v", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket=bucket, Key="v", VersionId="null")["Body"].read() == b"before"
    d = s3.delete_object(Bucket=bucket, Key="v")
    assert d["DeleteMarker"] is True
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v")
    assert code_of(e) == ("NoSuchKey", 404)
    vs = s3.list_object_versions(Bucket=bucket)
    assert [v["VersionId"] for v in vs["Versions"]] == [v2, v1, "null"]
    assert [m["VersionId"] for m in vs["DeleteMarkers"]] == [d["VersionId"]]
    assert vs["DeleteMarkers"][0]["IsLatest"] is True
    # Removing the delete marker brings v2 back.
    s3.delete_object(Bucket=bucket, Key="v", VersionId=d["VersionId"])
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"two"
    s3.delete_object(Bucket=bucket, Key="v", VersionId=v2)
    assert s3.get_object(Bucket=bucket, Key="v")["Body"].read() == b"one"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert code_of(e) == ("BucketNotEmpty", 409)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert "VersionId" not in s3.put_object(Bucket=bucket, Key="s", Body=b"1")


def test_bucket_subresources(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code_of(e) == ("NoSuchTagSet", 404)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "env", "Value": "dev"}]})
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "dev"}]
    s3.delete_bucket_tagging(Bucket=bucket)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_tagging(Bucket=bucket)
    assert code_of(e) == ("NoSuchTagSet", 404)

    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_policy(Bucket=bucket)
    assert code_of(e) == ("NoSuchBucketPolicy", 404)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    s3.put_bucket_policy(Bucket=bucket, Policy=policy)
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policy)
    assert s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"] is True
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_policy(Bucket=bucket, Policy="not json")
    assert code_of(e) == ("MalformedPolicy", 400)

    rules = [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"], "MaxAgeSeconds": 300}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(e) == ("NoSuchCORSConfiguration", 404)
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == rules

    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k1"}}]})
    enc = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["KMSMasterKeyID"] == "k1"

    lc = [{"ID": "expire", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 7}}]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_lifecycle_configuration(Bucket=bucket)
    assert code_of(e) == ("NoSuchLifecycleConfiguration", 404)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": lc})
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] == lc

    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_public_access_block(Bucket=bucket)
    assert code_of(e) == ("NoSuchPublicAccessBlockConfiguration", 404)
    pab = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=pab)
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == pab

    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert s3.get_bucket_acl(Bucket=bucket)["Grants"][0]["Permission"] == "FULL_CONTROL"


def test_virtual_hosted_addressing(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="vh/key.txt", Body=b"virtual")
    port = gateway.url.rsplit(":", 1)[1]
    auth = ("AWS4-HMAC-SHA256 Credential=000000000000/20260101/us-east-1/s3/aws4_request, "
            "SignedHeaders=host, Signature=0")
    for host in [f"{bucket}.localhost", f"{bucket}.s3.localhost", f"{bucket}.s3.us-east-1.localhost"]:
        r = requests.get(f"{gateway.url}/vh/key.txt", headers={"Host": f"{host}:{port}", "Authorization": auth}, timeout=10)
        assert r.status_code == 200, (host, r.text)
        assert r.content == b"virtual"
    r = requests.get(f"{gateway.url}/vh/nope", headers={"Host": f"{bucket}.localhost:{port}", "Authorization": auth}, timeout=10)
    assert r.status_code == 404
    assert "<Code>NoSuchKey</Code>" in r.text


def test_aws_cli_cp_ls_multipart(gateway, bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = os.urandom(9 * 1024 * 1024 + 123)
    src.write_bytes(data)
    gateway.aws("s3", "cp", str(src), f"s3://{bucket}/cli/big.bin")
    out = gateway.aws("s3", "ls", f"s3://{bucket}/cli/")
    assert "big.bin" in out.stdout and str(len(data)) in out.stdout
    dst = tmp_path / "back.bin"
    gateway.aws("s3", "cp", f"s3://{bucket}/cli/big.bin", str(dst))
    assert hashlib.sha256(dst.read_bytes()).digest() == hashlib.sha256(data).digest()
    head = json.loads(gateway.aws("s3api", "head-object", "--bucket", bucket, "--key", "cli/big.bin").stdout)
    assert head["ETag"].endswith('-2"')  # 8 MiB CLI parts
    rec = gateway.aws("s3", "ls", "--recursive", f"s3://{bucket}")
    assert "cli/big.bin" in rec.stdout


def test_configurations_by_id(s3, bucket):
    cfg = {"Id": "m1", "Filter": {"Prefix": "logs/"}}
    s3.put_bucket_metrics_configuration(Bucket=bucket, Id="m1", MetricsConfiguration=cfg)
    assert s3.get_bucket_metrics_configuration(Bucket=bucket, Id="m1")["MetricsConfiguration"] == cfg
    assert [c["Id"] for c in s3.list_bucket_metrics_configurations(Bucket=bucket)["MetricsConfigurationList"]] == ["m1"]
    s3.delete_bucket_metrics_configuration(Bucket=bucket, Id="m1")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_bucket_metrics_configuration(Bucket=bucket, Id="m1")
    assert code_of(e) == ("NoSuchConfiguration", 404)
    tier = {"Id": "t1", "Status": "Enabled", "Tierings": [{"Days": 90, "AccessTier": "ARCHIVE_ACCESS"}]}
    s3.put_bucket_intelligent_tiering_configuration(Bucket=bucket, Id="t1", IntelligentTieringConfiguration=tier)
    got = s3.get_bucket_intelligent_tiering_configuration(Bucket=bucket, Id="t1")
    assert got["IntelligentTieringConfiguration"] == tier


def test_object_attributes_acl_restore(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"12345", ChecksumAlgorithm="SHA256")
    attrs = s3.get_object_attributes(Bucket=bucket, Key="o", ObjectAttributes=["ETag", "ObjectSize", "StorageClass", "Checksum"])
    assert attrs["ETag"] == hashlib.md5(b"12345").hexdigest()
    assert attrs["ObjectSize"] == 5
    assert "StorageClass" not in attrs  # S3 omits STANDARD
    import base64
    assert attrs["Checksum"]["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"12345").digest()).decode()
    acl = s3.get_object_acl(Bucket=bucket, Key="o")
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.restore_object(Bucket=bucket, Key="o", RestoreRequest={"Days": 1})
    assert code_of(e) == ("InvalidObjectState", 403)
    s3.put_object(Bucket=bucket, Key="cold", Body=b"x", StorageClass="GLACIER")
    s3.restore_object(Bucket=bucket, Key="cold", RestoreRequest={"Days": 2})
    assert 'ongoing-request="false"' in s3.head_object(Bucket=bucket, Key="cold")["Restore"]
    s3.put_object_tagging(Bucket=bucket, Key="o", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    assert s3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == [{"Key": "k", "Value": "v"}]
    s3.delete_object_tagging(Bucket=bucket, Key="o")
    assert s3.get_object_tagging(Bucket=bucket, Key="o")["TagSet"] == []


def test_object_lock_retention_and_legal_hold(s3):
    name = f"lock-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    assert s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object_retention(Bucket=name, Key="k")
    assert code_of(e) == ("NoSuchObjectLockConfiguration", 404)
    until = int(time.time()) + 86400
    s3.put_object_retention(Bucket=name, Key="k", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
    ret = s3.get_object_retention(Bucket=name, Key="k")["Retention"]
    assert ret["Mode"] == "GOVERNANCE" and int(ret["RetainUntilDate"].timestamp()) == until
    s3.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "ON"})
    assert s3.get_object_legal_hold(Bucket=name, Key="k")["LegalHold"]["Status"] == "ON"
    assert s3.head_object(Bucket=name, Key="k")["ObjectLockLegalHoldStatus"] == "ON"


def test_aws_cli_sync_both_ways(gateway, bucket, tmp_path):
    up = tmp_path / "up"
    (up / "sub").mkdir(parents=True)
    files = {"a.txt": b"alpha", "sub/b.txt": b"beta", "sub/c.bin": os.urandom(1000)}
    # S3 keeps LastModified to the second, and sync re-uploads a file newer
    # than its object: date the files a minute back, as files written
    # earlier than the sync are.
    past = time.time() - 60
    for rel, data in files.items():
        (up / rel).write_bytes(data)
        os.utime(up / rel, (past, past))
    gateway.aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    down = tmp_path / "down"
    gateway.aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    for rel, data in files.items():
        assert (down / rel).read_bytes() == data
    # A second sync has nothing to do.
    again = gateway.aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    assert "upload:" not in again.stdout


def test_objects_survive_a_restart_with_persistence(make_gateway, tmp_path):
    g = make_gateway(env={
        "PERSIST_STATE": "1", "STATE_DIR": str(tmp_path / "state"),
        "S3_PERSIST": "1", "S3_DATA_DIR": str(tmp_path / "data"),
    })
    s3 = g.client("s3", s3={"addressing_style": "path"})
    s3.create_bucket(Bucket="persisted")
    data = os.urandom(300_000)
    s3.put_object(Bucket="persisted", Key="k", Body=data, Metadata={"a": "b"})
    g.kill()
    g.restart()
    s3 = g.client("s3", s3={"addressing_style": "path"})
    got = s3.get_object(Bucket="persisted", Key="k")
    assert got["Body"].read() == data
    assert got["Metadata"] == {"a": "b"}


def test_presigned_get_url(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p.txt", Body=b"presigned")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "p.txt"}, ExpiresIn=300)
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.content == b"presigned"
    out = gateway.aws("s3", "presign", f"s3://{bucket}/p.txt")
    r = requests.get(out.stdout.strip(), timeout=10)
    assert r.status_code == 200 and r.content == b"presigned"


def test_delete_marker_reads(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="d")["VersionId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="d", VersionId=marker)
    assert code_of(e) == ("MethodNotAllowed", 405)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="d", VersionId="A" * 32)
    assert code_of(e) == ("NoSuchVersion", 404)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0


def test_notifications_arrive_in_a_queue(gateway, s3, bucket):
    sqs = gateway.client("sqs")
    url = sqs.create_queue(QueueName=f"events-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"Id": "created", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"],
         "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}, {"Name": "suffix", "Value": ".jpg"}]}}},
        {"Id": "removed", "QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]},
    ]})
    conf = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert [c["Id"] for c in conf["QueueConfigurations"]] == ["created", "removed"]
    s3.put_object(Bucket=bucket, Key="in/photo.jpg", Body=b"jpeg")
    s3.put_object(Bucket=bucket, Key="in/skip.png", Body=b"png")
    s3.put_object(Bucket=bucket, Key="out/skip.jpg", Body=b"jpeg")
    s3.delete_object(Bucket=bucket, Key="in/skip.png")
    records = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            if body.get("Event") == "s3:TestEvent":  # sent when the configuration was put
                continue
            records += body["Records"]
        if len(records) >= 2:
            break
    events = sorted((r["eventName"], r["s3"]["object"]["key"]) for r in records)
    assert events == [("ObjectCreated:Put", "in/photo.jpg"), ("ObjectRemoved:Delete", "in/skip.png")]
    created = next(r for r in records if r["eventName"] == "ObjectCreated:Put")
    assert created["eventSource"] == "aws:s3"
    assert created["s3"]["bucket"]["name"] == bucket
    assert created["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
    assert created["s3"]["object"]["size"] == 4
    assert created["s3"]["object"]["eTag"] == hashlib.md5(b"jpeg").hexdigest()
    assert created["s3"]["configurationId"] == "created"


def test_aws_cli_mb_ls_rm_rb_and_100_mib_copy(gateway, tmp_path):
    name = f"cli-{uuid.uuid4().hex[:8]}"
    gateway.aws("s3", "mb", f"s3://{name}")
    assert name in gateway.aws("s3", "ls").stdout
    src = tmp_path / "hundred.bin"
    with open(src, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1024 * 1024))
    gateway.aws("s3", "cp", str(src), f"s3://{name}/x/hundred.bin")
    head = json.loads(gateway.aws("s3api", "head-object", "--bucket", name, "--key", "x/hundred.bin").stdout)
    assert head["ContentLength"] == 100 * 1024 * 1024
    assert head["ETag"].endswith('-13"')  # 8 MiB parts
    back = tmp_path / "back.bin"
    gateway.aws("s3", "cp", f"s3://{name}/x/hundred.bin", str(back))
    assert back.stat().st_size == src.stat().st_size
    with open(src, "rb") as a, open(back, "rb") as b:
        assert hashlib.md5(a.read()).digest() == hashlib.md5(b.read()).digest()
    out = gateway.aws("s3", "rb", f"s3://{name}", check=False)
    assert out.returncode != 0 and "BucketNotEmpty" in out.stderr
    gateway.aws("s3", "rm", "--recursive", f"s3://{name}")
    gateway.aws("s3", "rb", f"s3://{name}")
    assert name not in gateway.aws("s3", "ls").stdout


def test_bad_input_errors(gateway, s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=10001, Body=b"x")
    assert code_of(e) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="k", UploadId="nope", MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": '"x"'}]})
    assert code_of(e) == ("NoSuchUpload", 404)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource="justabucket")
    assert code_of(e) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket=bucket, ContinuationToken="!!not-a-token!!")
    assert code_of(e) == ("InvalidArgument", 400)
    # An unknown enum value is refused before the plugin, as S3 does: InvalidArgument.
    r = requests.get(f"{gateway.url}/{bucket}?list-type=2&encoding-type=base64")
    assert r.status_code == 400 and "<Code>InvalidArgument</Code>" in r.text
    s3.put_object(Bucket=bucket, Key="t", Body=b"x")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_tagging(Bucket=bucket, Key="t", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]})
    assert code_of(e) == ("BadRequest", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.list_objects_v2(Bucket=f"missing-{uuid.uuid4().hex[:8]}")
    assert code_of(e) == ("NoSuchBucket", 404)
    # The error document is S3's bare <Error> with the bucket name.
    assert e.value.response["Error"]["BucketName"].startswith("missing-")


def test_list_object_versions_with_delimiter(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for k in ["top", "dir/a", "dir/b"]:
        s3.put_object(Bucket=bucket, Key=k, Body=b"1")
        s3.put_object(Bucket=bucket, Key=k, Body=b"2")
    out = s3.list_object_versions(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in out["CommonPrefixes"]] == ["dir/"]
    assert [(v["Key"], v["IsLatest"]) for v in out["Versions"]] == [("top", True), ("top", False)]
    page = s3.list_object_versions(Bucket=bucket, MaxKeys=3)
    assert page["IsTruncated"] is True
    assert [v["Key"] for v in page["Versions"]] == ["dir/a", "dir/a", "dir/b"]


def test_delete_marker_headers_on_current_reads(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=bucket, Key="gone")["VersionId"]
    for call in (s3.get_object, s3.head_object):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(Bucket=bucket, Key="gone")
        headers = e.value.response["ResponseMetadata"]["HTTPHeaders"]
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        assert headers["x-amz-delete-marker"] == "true"
        assert headers["x-amz-version-id"] == marker
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="gone", VersionId=marker)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 405
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    # a key that never existed says nothing about markers
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="never")
    assert "x-amz-delete-marker" not in e.value.response["ResponseMetadata"]["HTTPHeaders"]


def test_list_object_versions_pages_within_a_key(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    ids = [s3.put_object(Bucket=bucket, Key="k", Body=str(i).encode())["VersionId"] for i in range(5)]
    s3.put_object(Bucket=bucket, Key="l", Body=b"l")
    seen = []
    kwargs = {}
    while True:
        page = s3.list_object_versions(Bucket=bucket, MaxKeys=2, **kwargs)
        seen += [(v["Key"], v["VersionId"], v["IsLatest"]) for v in page.get("Versions", [])]
        if not page["IsTruncated"]:
            break
        kwargs = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert [s[:2] for s in seen if s[0] == "k"] == [("k", v) for v in reversed(ids)]
    assert [s[2] for s in seen if s[0] == "k"] == [True, False, False, False, False]
    assert [s[0] for s in seen].count("l") == 1


def test_notification_configuration_sends_a_test_event(gateway, s3, bucket):
    sqs = gateway.client("sqs")
    url = sqs.create_queue(QueueName=f"test-event-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}, {"QueueArn": arn, "Events": ["s3:ObjectRemoved:*"]}]})
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert len(messages) == 1  # one per destination
    body = json.loads(messages[0]["Body"])
    assert body["Service"] == "Amazon S3" and body["Event"] == "s3:TestEvent"
    assert body["Bucket"] == bucket and body["Time"].endswith("Z")


def test_multipart_composite_checksum(s3, bucket):
    import base64
    up = s3.create_multipart_upload(Bucket=bucket, Key="c", ChecksumAlgorithm="SHA256")
    assert up["ChecksumAlgorithm"] == "SHA256" and up["ChecksumType"] == "COMPOSITE"
    bodies = [b"a" * (5 * 1024 * 1024), b"tail"]
    parts = []
    for n, body in enumerate(bodies, 1):
        r = s3.upload_part(Bucket=bucket, Key="c", UploadId=up["UploadId"], PartNumber=n, Body=body, ChecksumAlgorithm="SHA256")
        assert r["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(body).digest()).decode()
        parts.append({"PartNumber": n, "ETag": r["ETag"], "ChecksumSHA256": r["ChecksumSHA256"]})
    done = s3.complete_multipart_upload(Bucket=bucket, Key="c", UploadId=up["UploadId"], MultipartUpload={"Parts": parts})
    expected = base64.b64encode(hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in bodies)).digest()).decode() + "-2"
    assert done["ChecksumSHA256"] == expected and done["ChecksumType"] == "COMPOSITE"
    head = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == expected and head["ChecksumType"] == "COMPOSITE"
    # a full-object checksum when asked for one
    up = s3.create_multipart_upload(Bucket=bucket, Key="f", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")
    r = s3.upload_part(Bucket=bucket, Key="f", UploadId=up["UploadId"], PartNumber=1, Body=b"whole", ChecksumAlgorithm="CRC32")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="f", UploadId=up["UploadId"],
                                        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}]})
    assert done["ChecksumType"] == "FULL_OBJECT" and done["ChecksumCRC32"] == r["ChecksumCRC32"]


def test_notifications_reach_a_queue_through_an_sns_topic(gateway, s3, bucket):
    """S3 → SNS (services.call Publish) → SQS (the topic's subscription)."""
    sqs, sns = gateway.client("sqs"), gateway.client("sns")
    url = sqs.create_queue(QueueName=f"via-sns-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name=f"s3-events-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [
        {"TopicArn": topic, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket=bucket, Key="via/sns.txt", Body=b"hello")
    records = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            records += body.get("Records", [])
        if records:
            break
    assert [(r["eventName"], r["s3"]["object"]["key"]) for r in records] == [("ObjectCreated:Put", "via/sns.txt")]
