"""S3 behaviours real clients rely on, each from AWS's documentation: default
encryption reported on every write and read, conditional requests, SSE-C,
object ownership and ACLs, Object Lock prerequisites, notification
validation, S3 Control tagging, and deleting a versioned bucket while its
objects are deleted concurrently."""

import base64
import hashlib
import threading
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"


@pytest.fixture()
def s3(gateway):
    return gateway.client("s3", s3={"addressing_style": "path"})


@pytest.fixture()
def bucket(s3):
    name = f"f-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def error_of(exc):
    r = exc.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def auth_header(service="s3", account=ACCOUNT, region="us-east-1"):
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/{region}/{service}/aws4_request, "
        "SignedHeaders=host, Signature=0"
    }


# 1. Default encryption (SSE-S3 since January 2023) ---------------------------


def test_sse_s3_reported_on_every_write_and_read(s3, bucket):
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"x")["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="k")["ServerSideEncryption"] == "AES256"
    assert s3.copy_object(Bucket=bucket, Key="c", CopySource=f"{bucket}/k")["ServerSideEncryption"] == "AES256"
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m")
    assert mp["ServerSideEncryption"] == "AES256"
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1, Body=b"p")
    assert part["ServerSideEncryption"] == "AES256"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=mp["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert done["ServerSideEncryption"] == "AES256"
    assert s3.head_object(Bucket=bucket, Key="m")["ServerSideEncryption"] == "AES256"


def test_bucket_default_kms_encryption_echoed(s3, bucket):
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
        "BucketKeyEnabled": True,
    }]})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert (put["ServerSideEncryption"], put["SSEKMSKeyId"], put["BucketKeyEnabled"]) == ("aws:kms", key_arn, True)
    head = s3.head_object(Bucket=bucket, Key="k")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"], head["BucketKeyEnabled"]) == ("aws:kms", key_arn, True)
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m")
    assert (mp["ServerSideEncryption"], mp["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1, Body=b"p")
    assert part["ServerSideEncryption"] == "aws:kms"
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="m", UploadId=mp["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    assert (done["ServerSideEncryption"], done["SSEKMSKeyId"]) == ("aws:kms", key_arn)
    # An explicit header still wins over the bucket default.
    assert s3.put_object(Bucket=bucket, Key="a", Body=b"x", ServerSideEncryption="AES256")["ServerSideEncryption"] == "AES256"


def test_get_object_attributes_omits_standard_storage_class(s3, bucket):
    s3.put_object(Bucket=bucket, Key="std", Body=b"x")
    s3.put_object(Bucket=bucket, Key="ia", Body=b"x", StorageClass="STANDARD_IA")
    std = s3.get_object_attributes(Bucket=bucket, Key="std", ObjectAttributes=["StorageClass", "ObjectSize"])
    assert "StorageClass" not in std and std["ObjectSize"] == 1
    ia = s3.get_object_attributes(Bucket=bucket, Key="ia", ObjectAttributes=["StorageClass"])
    assert ia["StorageClass"] == "STANDARD_IA"


def test_no_version_id_on_a_suspended_bucket(s3, bucket):
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert "VersionId" in s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    put = s3.put_object(Bucket=bucket, Key="k", Body=b"2")
    assert "VersionId" not in put
    versions = s3.list_object_versions(Bucket=bucket)["Versions"]
    assert sorted(v["VersionId"] == "null" for v in versions) == [False, True]


# 2. Conditional requests, CreateBucket ---------------------------------------


def test_not_modified_carries_etag_and_last_modified_only(gateway, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello", Metadata={"a": "b"}, ContentType="text/plain",
                  CacheControl="max-age=60")
    etag = s3.head_object(Bucket=bucket, Key="k")["ETag"]
    for method in ("GET", "HEAD"):
        r = requests.request(method, f"{gateway.url}/{bucket}/k", headers={**auth_header(), "If-None-Match": etag})
        assert r.status_code == 304
        assert r.headers["ETag"] == etag
        assert "Last-Modified" in r.headers
        assert r.content == b""
        for h in ("x-amz-meta-a", "Content-Type", "x-amz-server-side-encryption", "Accept-Ranges"):
            assert h not in r.headers, (method, h, dict(r.headers))


def test_if_match_star_on_put_and_delete(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfMatch="*")
    assert error_of(e) == ("NoSuchKey", 404)
    s3.put_object(Bucket=bucket, Key="k", Body=b"1")
    assert s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch="*")["ETag"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfNoneMatch="*")
    assert error_of(e) == ("PreconditionFailed", 412)
    s3.delete_object(Bucket=bucket, Key="k", IfMatch="*")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_honours_per_object_etag(s3, bucket):
    a = s3.put_object(Bucket=bucket, Key="a", Body=b"a")["ETag"]
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [
        {"Key": "a", "ETag": a}, {"Key": "b", "ETag": '"0123456789abcdef0123456789abcdef"'},
    ]})
    assert [d["Key"] for d in out["Deleted"]] == ["a"]
    assert [(x["Key"], x["Code"]) for x in out["Errors"]] == [("b", "PreconditionFailed")]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["b"]


def test_create_own_bucket_again_in_us_east_1_answers_200(gateway, s3, bucket):
    assert s3.create_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200
    eu = gateway.client("s3", region="eu-west-1", s3={"addressing_style": "path"})
    name = f"eu-{uuid.uuid4().hex[:12]}"
    eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        eu.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_of(e) == ("BucketAlreadyOwnedByYou", 409)


def test_create_bucket_configuration_tags(s3):
    name = f"t-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"Tags": [{"Key": "team", "Value": "core"}]})
    assert s3.get_bucket_tagging(Bucket=name)["TagSet"] == [{"Key": "team", "Value": "core"}]
    bad = f"t-{uuid.uuid4().hex[:12]}"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket=bad, CreateBucketConfiguration={"Tags": [{"Key": "aws:x", "Value": "1"}]})
    assert error_of(e) == ("InvalidTag", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket=bad, CreateBucketConfiguration={
            "Tags": [{"Key": "k", "Value": "1"}, {"Key": "k", "Value": "2"}]})
    assert error_of(e) == ("InvalidTag", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_bucket(Bucket=bad)
    assert error_of(e)[1] == 404


# 4. SSE-C ---------------------------------------------------------------------

KEY = "k" * 32
OTHER_KEY = "o" * 32


def ssec(key=KEY, prefix="SSECustomer"):
    return {f"{prefix}Algorithm": "AES256", f"{prefix}Key": key}


def test_sse_c_end_to_end(s3, bucket):
    md5 = base64.b64encode(hashlib.md5(KEY.encode()).digest()).decode()
    put = s3.put_object(Bucket=bucket, Key="c", Body=b"secret", **ssec())
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", md5)
    assert "ServerSideEncryption" not in put
    got = s3.get_object(Bucket=bucket, Key="c", **ssec())
    assert got["Body"].read() == b"secret"
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", md5)
    assert s3.head_object(Bucket=bucket, Key="c", **ssec())["SSECustomerKeyMD5"] == md5
    # The key is required, and must be the one the object was written with.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c")
    assert error_of(e) == ("InvalidRequest", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", **ssec(OTHER_KEY))
    assert error_of(e) == ("AccessDenied", 403)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c")
    assert error_of(e)[1] == 400
    # A copy must present the source's key; the target is encrypted as asked.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource=f"{bucket}/c")
    assert error_of(e) == ("InvalidRequest", 400)
    copy = s3.copy_object(Bucket=bucket, Key="d", CopySource=f"{bucket}/c",
                          **ssec(prefix="CopySourceSSECustomer"), **ssec(OTHER_KEY))
    other_md5 = base64.b64encode(hashlib.md5(OTHER_KEY.encode()).digest()).decode()
    assert copy["SSECustomerKeyMD5"] == other_md5
    assert s3.get_object(Bucket=bucket, Key="d", **ssec(OTHER_KEY))["Body"].read() == b"secret"
    plain = s3.copy_object(Bucket=bucket, Key="p", CopySource=f"{bucket}/c", **ssec(prefix="CopySourceSSECustomer"))
    assert plain["ServerSideEncryption"] == "AES256"
    assert s3.get_object(Bucket=bucket, Key="p")["Body"].read() == b"secret"


def test_sse_c_multipart_parts_and_errors(s3, bucket):
    md5 = base64.b64encode(hashlib.md5(KEY.encode()).digest()).decode()
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m", **ssec())
    assert mp["SSECustomerKeyMD5"] == md5
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1, Body=b"p")
    assert error_of(e)[1] == 400
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1, Body=b"p", **ssec())
    assert (part["SSECustomerAlgorithm"], part["SSECustomerKeyMD5"]) == ("AES256", md5)
    s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=mp["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="m", **ssec())["Body"].read() == b"p"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", ServerSideEncryption="aws:kms", **ssec())
    assert error_of(e) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey="short")
    assert error_of(e) == ("InvalidArgument", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="x", Body=b"x", SSECustomerAlgorithm="AES256", SSECustomerKey=KEY,
                      SSECustomerKeyMD5=base64.b64encode(hashlib.md5(b"nope").digest()).decode())
    assert error_of(e) == ("InvalidArgument", 400)


# 5. Object ownership and ACLs -------------------------------------------------


def test_bucket_owner_enforced_by_default_refuses_acls(s3, bucket):
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    for call in (
        lambda: s3.put_bucket_acl(Bucket=bucket, ACL="public-read"),
        lambda: s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call()
        assert error_of(e) == ("AccessControlListNotSupported", 400)
    # bucket-owner-full-control is still accepted, and reading ACLs works.
    s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="bucket-owner-full-control")
    assert [g["Permission"] for g in s3.get_object_acl(Bucket=bucket, Key="k")["Grants"]] == ["FULL_CONTROL"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_acl(Bucket=bucket, Key="k", ACL="public-read")
    assert error_of(e) == ("AccessControlListNotSupported", 400)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.create_bucket(Bucket=f"acl-{uuid.uuid4().hex[:10]}", ACL="public-read")
    assert error_of(e) == ("InvalidBucketAclWithObjectOwnership", 400)


def test_acl_grants_stored_when_ownership_allows(s3):
    name = f"acl-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, ObjectOwnership="ObjectWriter", ACL="public-read")
    all_users = "http://acs.amazonaws.com/groups/global/AllUsers"
    grants = s3.get_bucket_acl(Bucket=name)["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "READ"} in grants
    s3.put_bucket_acl(Bucket=name, GrantWrite='uri="http://acs.amazonaws.com/groups/s3/LogDelivery"',
                      GrantFullControl=f'id="{s3.list_buckets()["Owner"]["ID"]}"')
    perms = sorted((g["Grantee"].get("URI", "owner"), g["Permission"]) for g in s3.get_bucket_acl(Bucket=name)["Grants"])
    assert perms == [("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"), ("owner", "FULL_CONTROL")]
    s3.put_object(Bucket=name, Key="k", Body=b"x", ACL="authenticated-read")
    grants = s3.get_object_acl(Bucket=name, Key="k")["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
            "Permission": "READ"} in grants
    owner = s3.get_object_acl(Bucket=name, Key="k")["Owner"]
    s3.put_object_acl(Bucket=name, Key="k", AccessControlPolicy={
        "Owner": owner,
        "Grants": [{"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "READ"}],
    })
    assert s3.get_object_acl(Bucket=name, Key="k")["Grants"] == [
        {"Grantee": {"Type": "Group", "URI": all_users}, "Permission": "READ"}]


# 6. Object Lock / replication prerequisites, response-*, copy ranges, multipart

def test_object_lock_and_replication_need_versioning(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    assert error_of(e) == ("InvalidBucketState", 409)
    replication = {"Role": f"arn:aws:iam::{ACCOUNT}:role/r", "Rules": [{
        "Status": "Enabled", "Priority": 1, "Filter": {}, "DeleteMarkerReplication": {"Status": "Disabled"},
        "Destination": {"Bucket": "arn:aws:s3:::elsewhere"}}]}
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=replication)
    assert error_of(e) == ("InvalidRequest", 400)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=replication)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    assert error_of(e) == ("InvalidBucketState", 409)


def test_default_retention_applies_to_new_versions(s3):
    name = f"lock-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}}})
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    head = s3.head_object(Bucket=name, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    days = (head["ObjectLockRetainUntilDate"] - head["LastModified"]).total_seconds() / 86400
    assert 1.99 < days < 2.01
    retention = s3.get_object_retention(Bucket=name, Key="k")["Retention"]
    assert retention["Mode"] == "GOVERNANCE"


def test_response_expires_is_an_http_date_and_anonymous_overrides_refused(gateway, s3, bucket):
    import datetime
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    when = datetime.datetime(2030, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    got = s3.get_object(Bucket=bucket, Key="k", ResponseExpires=when, ResponseContentType="text/x")
    assert got["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Wed, 02 Jan 2030 03:04:05 GMT"
    assert got["ContentType"] == "text/x"
    r = requests.get(f"{gateway.url}/{bucket}/k?response-content-type=text/x")
    assert r.status_code == 400 and "<Code>InvalidRequest</Code>" in r.text
    assert requests.get(f"{gateway.url}/{bucket}/k").status_code in (200, 403)


def test_copy_source_range_validation(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"0123456789")
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m")
    for bad in ("bytes=0-10", "bytes=5-2", "bytes=20-30", "0-4", "bytes=-3"):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1,
                                CopySource=f"{bucket}/src", CopySourceRange=bad)
        assert error_of(e) == ("InvalidArgument", 400), bad
    ok = s3.upload_part_copy(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1,
                             CopySource=f"{bucket}/src", CopySourceRange="bytes=2-9")
    done = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=mp["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": ok["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="m")["Body"].read() == b"23456789"
    # A retried completion answers as the first one did.
    again = s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId=mp["UploadId"], MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": ok["CopyPartResult"]["ETag"]}]})
    assert (again["ETag"], again["Key"]) == (done["ETag"], "m")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.complete_multipart_upload(Bucket=bucket, Key="m", UploadId="nope", MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": ok["CopyPartResult"]["ETag"]}]})
    assert error_of(e) == ("NoSuchUpload", 404)


def test_list_parts_reports_part_checksums(s3, bucket):
    mp = s3.create_multipart_upload(Bucket=bucket, Key="m", ChecksumAlgorithm="SHA256")
    part = s3.upload_part(Bucket=bucket, Key="m", UploadId=mp["UploadId"], PartNumber=1, Body=b"abc",
                          ChecksumAlgorithm="SHA256")
    listed = s3.list_parts(Bucket=bucket, Key="m", UploadId=mp["UploadId"])
    assert listed["Parts"][0]["ChecksumSHA256"] == part["ChecksumSHA256"] == base64.b64encode(
        hashlib.sha256(b"abc").digest()).decode()
    assert listed["ChecksumAlgorithm"] == "SHA256"


def test_invalid_storage_class_is_s3s_own_error(s3, bucket):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k", Body=b"x", StorageClass="FANCY")
    assert error_of(e) == ("InvalidStorageClass", 400)
    assert "validation error" not in e.value.response["Error"]["Message"]


# 8. Deleting a versioned bucket after its object was written concurrently with
# enabling versioning (Terraform's destroy of bucket + versioning + object).


def test_versioned_bucket_destroy_after_concurrent_write(s3):
    # Terraform writes the object and enables versioning concurrently: either
    # may land first. Both orders, then concurrently.
    put = lambda name: s3.put_object(Bucket=name, Key="index.html", Body=b"<h1>hi</h1>")  # noqa: E731
    enable = lambda name: s3.put_bucket_versioning(  # noqa: E731
        Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for order in ("put-first", "versioning-first", "concurrent", "concurrent"):
        name = f"race-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=name)
        if order == "put-first":
            put(name)
            enable(name)
        elif order == "versioning-first":
            enable(name)
            put(name)
        else:
            threads = [threading.Thread(target=f, args=(name,)) for f in (put, enable)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        # What the AWS provider does on destroy: refresh (HeadObject), then
        # delete every version when the object has a version id, else the key.
        version = s3.head_object(Bucket=name, Key="index.html").get("VersionId")
        if version:
            listed = s3.list_object_versions(Bucket=name, Prefix="index.html")
            for v in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
                s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
        else:
            s3.delete_object(Bucket=name, Key="index.html")
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        s3.delete_bucket(Bucket=name)


def test_null_version_is_named_once_versioning_is_enabled(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert "VersionId" not in s3.head_object(Bucket=bucket, Key="k")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert s3.head_object(Bucket=bucket, Key="k")["VersionId"] == "null"
    assert s3.get_object(Bucket=bucket, Key="k")["VersionId"] == "null"
    s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
    assert "Versions" not in s3.list_object_versions(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


# 3. Notification configurations -------------------------------------------------


@pytest.mark.parametrize("config,message", [
    ({"QueueConfigurations": [{"QueueArn": "not-an-arn", "Events": ["s3:ObjectCreated:*"]}]}, "not well formed"),
    ({"QueueConfigurations": [{"QueueArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "Events": ["s3:ObjectCreated:*"]}]},
     "not well formed"),
    ({"TopicConfigurations": [{"TopicArn": f"arn:aws:sns:eu-west-1:{ACCOUNT}:t", "Events": ["s3:ObjectCreated:*"]}]},
     "region"),
    ({"LambdaFunctionConfigurations": [{"LambdaFunctionArn": "arn:aws:lambda:us-east-1:999999999999:function:f",
                                        "Events": ["s3:ObjectCreated:*"]}]}, "Unable to validate"),
])
def test_notification_destinations_validated(s3, bucket, config, message):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=config)
    assert error_of(e) == ("InvalidArgument", 400)
    assert message in e.value.response["Error"]["Message"]
    assert s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations") is None


def test_notification_to_a_same_account_queue_not_created_yet(s3, bucket):
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:later-{uuid.uuid4().hex[:6]}"
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"Id": "q", "QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}],
        "EventBridgeConfiguration": {}})
    got = s3.get_bucket_notification_configuration(Bucket=bucket)
    assert got["QueueConfigurations"][0]["QueueArn"] == arn
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")


# 7. S3 Control tagging API ----------------------------------------------------


def test_s3_control_tagging_of_a_bucket(gateway, s3, bucket):
    arn = f"arn:aws:s3:::{bucket}"
    path = f"/v20180820/tags/{requests.utils.quote(arn, safe='')}"
    headers = {**auth_header(), "x-amz-account-id": ACCOUNT}
    host = {"Host": f"{ACCOUNT}.s3-control.localhost:{gateway.port}"}
    body = ('<TagResourceRequest xmlns="http://awss3control.amazonaws.com/doc/2018-08-20/"><Tags>'
            '<Tag><Key>team</Key><Value>a &amp; b</Value></Tag><Tag><Key>env</Key><Value>dev</Value></Tag>'
            '</Tags></TagResourceRequest>')
    r = requests.post(gateway.url + path, data=body, headers={**headers, **host})
    assert r.status_code == 204, r.text
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [
        {"Key": "team", "Value": "a & b"}, {"Key": "env", "Value": "dev"}]
    r = requests.get(gateway.url + path, headers=headers)
    assert r.status_code == 200 and "<Key>team</Key><Value>a &amp; b</Value>" in r.text
    assert "ListTagsForResourceResult" in r.text
    r = requests.delete(gateway.url + path + "?tagKeys=team", headers={**headers, **host})
    assert r.status_code == 204
    assert s3.get_bucket_tagging(Bucket=bucket)["TagSet"] == [{"Key": "env", "Value": "dev"}]
    missing = f"/v20180820/tags/{requests.utils.quote('arn:aws:s3:::no-such-bucket-x', safe='')}"
    r = requests.get(gateway.url + missing, headers=headers)
    assert r.status_code == 404 and "<Code>NoSuchBucket</Code>" in r.text


def test_post_object_location_not_over_encoded(s3, bucket):
    post = s3.generate_presigned_post(bucket, "my-dir/file_name.v1~x.txt", Fields={"success_action_status": "201"},
                                      Conditions=[{"success_action_status": "201"}], ExpiresIn=300)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("f", b"data")}, timeout=10)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].endswith(f"/{bucket}/my-dir%2Ffile_name.v1~x.txt")
    assert "<Location>" in r.text and "file_name.v1~x.txt</Location>" in r.text


def test_terraform_destroys_a_versioned_bucket_written_in_the_same_apply(tmp_path, gateway, s3):
    from test_terraform import terraform_in

    name = f"tf-race-{uuid.uuid4().hex[:8]}"
    run = terraform_in(tmp_path, "terraform_s3_race", ["-var", f"endpoint={gateway.url}", "-var", f"name={name}"])
    for _ in range(3):
        run("apply", "-auto-approve")
        assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
        run("destroy", "-auto-approve")
        with pytest.raises(botocore.exceptions.ClientError) as e:
            s3.head_bucket(Bucket=name)
        assert error_of(e)[1] == 404


def crc64nvme_b64(data):
    """CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5, init and xorout all ones), as S3 reports it."""
    crc = 0xFFFFFFFFFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x9A6C9329AC4BC9B5 if crc & 1 else 0)
    return base64.b64encode((crc ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")).decode()


def test_upload_without_checksum_gets_the_default_crc64nvme(gateway, bucket):
    # An SDK that sends no checksum (the pre-2025 default): S3 stores a full-object CRC64NVME.
    plain = gateway.client("s3", s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                           response_checksum_validation="when_required")
    body = b"no checksum sent" * 100
    put = plain.put_object(Bucket=bucket, Key="d", Body=body)
    assert put["ChecksumCRC64NVME"] == crc64nvme_b64(body) and put["ChecksumType"] == "FULL_OBJECT"
    head = plain.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")
    assert head["ChecksumCRC64NVME"] == crc64nvme_b64(body) and "ChecksumCRC32" not in head
    attrs = plain.get_object_attributes(Bucket=bucket, Key="d", ObjectAttributes=["Checksum"])
    assert attrs["Checksum"] == {"ChecksumCRC64NVME": crc64nvme_b64(body), "ChecksumType": "FULL_OBJECT"}
    # One the client names is the one reported, and checked: a wrong value is refused.
    sha1 = base64.b64encode(hashlib.sha1(body).digest()).decode()
    put = plain.put_object(Bucket=bucket, Key="s", Body=body, ChecksumSHA1=sha1)
    assert put["ChecksumSHA1"] == sha1 and "ChecksumCRC64NVME" not in put
    got = plain.get_object(Bucket=bucket, Key="s", ChecksumMode="ENABLED")
    assert got["ChecksumSHA1"] == sha1 and got["Body"].read() == body
    with pytest.raises(botocore.exceptions.ClientError) as e:
        plain.put_object(Bucket=bucket, Key="s", Body=body, ChecksumSHA1=base64.b64encode(b"x" * 20).decode())
    assert error_of(e) == ("BadDigest", 400)
    # A large body (hashed on the pipeline threads) gets the same answers.
    big = bytes(range(256)) * 4096 + b"tail"
    put = plain.put_object(Bucket=bucket, Key="big", Body=big, ChecksumAlgorithm="SHA256")
    assert put["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(big).digest()).decode()
    head = plain.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert head["ChecksumSHA256"] == put["ChecksumSHA256"] and head["ETag"] == f'"{hashlib.md5(big).hexdigest()}"'
    assert plain.get_object(Bucket=bucket, Key="big")["Body"].read() == big
