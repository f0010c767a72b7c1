"""Secrets Manager through the whole gateway with boto3 and the aws CLI:
secrets, versions and staging labels, idempotency, listing, deletion and
restore, passwords, batch reads, policies, replication metadata, rotation."""

import json
import re
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"
PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


@pytest.fixture
def sm(gateway):
    return gateway.client("secretsmanager")


def kms_enabled(gateway):
    plugins = requests.get(gateway.url + "/_ministack/plugins", timeout=10).json()["plugins"]
    return any(p["name"] == "kms" for p in plugins)


def key_alias(gateway):
    """An alias of a usable KMS key (any alias when no KMS plugin is loaded)."""
    alias = f"alias/sm-test-{uuid.uuid4().hex[:8]}"
    if kms_enabled(gateway):
        kms = gateway.client("kms")
        kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
    return alias


def name(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def token():
    return str(uuid.uuid4())


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def code_of(call, *args, **kw):
    r = error_of(call, *args, **kw)
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_create_get_and_arn_forms(gateway, sm):
    n = name("app/db")
    alias = key_alias(gateway)
    out = sm.create_secret(Name=n, SecretString='{"user":"a"}', Description="db creds", KmsKeyId=alias)
    assert re.fullmatch(rf"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{re.escape(n)}-[A-Za-z0-9]{{6}}", out["ARN"])
    assert out["Name"] == n
    arn = out["ARN"]
    for sid in (n, arn, arn[:-7]):
        got = sm.get_secret_value(SecretId=sid)
        assert got["SecretString"] == '{"user":"a"}'
        assert got["ARN"] == arn
        assert got["VersionStages"] == ["AWSCURRENT"]
        assert got["VersionId"] == out["VersionId"]
    # A full ARN with another suffix names nothing.
    assert code_of(sm.get_secret_value, SecretId=arn[:-6] + "ZZZZZZ") == ("ResourceNotFoundException", 400)
    d = sm.describe_secret(SecretId=n)
    assert d["Description"] == "db creds"
    assert d["KmsKeyId"] == alias
    assert d["VersionIdsToStages"] == {out["VersionId"]: ["AWSCURRENT"]}
    assert "LastAccessedDate" in d and "CreatedDate" in d
    # Binary secrets round-trip as bytes.
    b = sm.create_secret(Name=name(), SecretBinary=b"\x00\x01binary\xff")
    got = sm.get_secret_value(SecretId=b["ARN"])
    assert got["SecretBinary"] == b"\x00\x01binary\xff"
    assert "SecretString" not in got


def test_create_errors(sm):
    n = name()
    sm.create_secret(Name=n, SecretString="x")
    assert code_of(sm.create_secret, Name=n, SecretString="y") == ("ResourceExistsException", 400)
    assert code_of(sm.create_secret, Name=name(), SecretString="x", SecretBinary=b"y")[0] == "InvalidParameterException"
    assert code_of(sm.get_secret_value, SecretId=name("missing")) == ("ResourceNotFoundException", 400)
    # A secret without a value has no AWSCURRENT version yet.
    empty = sm.create_secret(Name=name())
    assert "VersionId" not in empty
    assert code_of(sm.get_secret_value, SecretId=empty["ARN"])[0] == "ResourceNotFoundException"


def test_put_secret_value_moves_current_and_previous(sm):
    n = name()
    v1 = sm.create_secret(Name=n, SecretString="one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=n, SecretString="two")
    assert v2["VersionStages"] == ["AWSCURRENT"]
    v3 = sm.put_secret_value(SecretId=n, SecretString="three")["VersionId"]
    stages = sm.describe_secret(SecretId=n)["VersionIdsToStages"]
    assert stages == {v3: ["AWSCURRENT"], v2["VersionId"]: ["AWSPREVIOUS"]}
    assert sm.get_secret_value(SecretId=n, VersionStage="AWSPREVIOUS")["SecretString"] == "two"
    assert sm.get_secret_value(SecretId=n, VersionId=v1)["SecretString"] == "one"
    # v1 lost every label: listed only with IncludeDeprecated.
    listed = {v["VersionId"] for v in sm.list_secret_version_ids(SecretId=n)["Versions"]}
    assert listed == {v2["VersionId"], v3}
    versions = sm.list_secret_version_ids(SecretId=n, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in versions} == {v1, v2["VersionId"], v3}
    # Reads record the day of access on the version read.
    accessed = {v["VersionId"] for v in versions if "LastAccessedDate" in v}
    assert {v1, v2["VersionId"], v3} == accessed | {v3}
    page = sm.list_secret_version_ids(SecretId=n, IncludeDeprecated=True, MaxResults=2)
    assert len(page["Versions"]) == 2 and page["NextToken"]
    rest = sm.list_secret_version_ids(SecretId=n, IncludeDeprecated=True, MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["Versions"]) == 1 and "NextToken" not in rest
    # Custom labels.
    v4 = sm.put_secret_value(SecretId=n, SecretString="four", VersionStages=["blue"])["VersionId"]
    assert sm.get_secret_value(SecretId=n, VersionStage="blue")["SecretString"] == "four"
    assert sm.get_secret_value(SecretId=n)["VersionId"] == v3
    assert code_of(sm.get_secret_value, SecretId=n, VersionStage="green")[0] == "ResourceNotFoundException"
    assert code_of(sm.get_secret_value, SecretId=n, VersionId=v4, VersionStage="AWSCURRENT")[0] == "InvalidRequestException"
    assert code_of(sm.put_secret_value, SecretId=n)[0] == "InvalidRequestException"


def test_client_request_token_idempotency(sm):
    n = name()
    t = token()
    first = sm.create_secret(Name=n, SecretString="a", ClientRequestToken=t)
    assert first["VersionId"] == t
    # Same token, same value: the same version again.
    assert sm.create_secret(Name=n, SecretString="a", ClientRequestToken=t)["VersionId"] == t
    t2 = token()
    assert sm.put_secret_value(SecretId=n, SecretString="b", ClientRequestToken=t2)["VersionId"] == t2
    assert sm.put_secret_value(SecretId=n, SecretString="b", ClientRequestToken=t2)["VersionId"] == t2
    assert len(sm.list_secret_version_ids(SecretId=n)["Versions"]) == 2
    # Same token, another value: refused.
    assert code_of(sm.put_secret_value, SecretId=n, SecretString="c", ClientRequestToken=t2) == ("ResourceExistsException", 400)
    assert code_of(sm.update_secret, SecretId=n, SecretString="c", ClientRequestToken=t)[0] == "ResourceExistsException"


def test_rotation_stages_through_pending(sm):
    """The label moves a rotation function makes: AWSPENDING, then AWSCURRENT."""
    n = name()
    v1 = sm.create_secret(Name=n, SecretString="old")["VersionId"]
    pending = sm.put_secret_value(SecretId=n, SecretString="new", VersionStages=["AWSPENDING"], ClientRequestToken=token())["VersionId"]
    assert sm.get_secret_value(SecretId=n)["SecretString"] == "old"
    assert sm.get_secret_value(SecretId=n, VersionStage="AWSPENDING")["SecretString"] == "new"
    # Moving AWSCURRENT needs the current holder named.
    assert code_of(sm.update_secret_version_stage, SecretId=n, VersionStage="AWSCURRENT", MoveToVersionId=pending)[0] == "InvalidParameterException"
    assert code_of(sm.update_secret_version_stage, SecretId=n, VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=pending)[0] == "InvalidParameterException"
    sm.update_secret_version_stage(SecretId=n, VersionStage="AWSCURRENT", MoveToVersionId=pending, RemoveFromVersionId=v1)
    stages = sm.describe_secret(SecretId=n)["VersionIdsToStages"]
    assert sorted(stages[pending]) == ["AWSCURRENT", "AWSPENDING"]
    assert stages[v1] == ["AWSPREVIOUS"]
    sm.update_secret_version_stage(SecretId=n, VersionStage="AWSPENDING", RemoveFromVersionId=pending)
    stages = sm.describe_secret(SecretId=n)["VersionIdsToStages"]
    assert stages == {pending: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]}
    assert sm.get_secret_value(SecretId=n)["SecretString"] == "new"
    assert code_of(sm.update_secret_version_stage, SecretId=n, VersionStage="AWSCURRENT", RemoveFromVersionId=pending)[0] == "InvalidParameterException"
    assert code_of(sm.update_secret_version_stage, SecretId=n, VersionStage="x", MoveToVersionId=str(uuid.uuid4()))[0] == "ResourceNotFoundException"


def test_rotate_secret_with_an_unknown_function(sm):
    n = name()
    sm.create_secret(Name=n, SecretString="v")
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:my-rotator"
    r = error_of(sm.rotate_secret, SecretId=n, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 30})
    assert r["Error"]["Code"] == "InvalidRequestException"
    assert fn in r["Error"]["Message"]
    d = sm.describe_secret(SecretId=n)
    assert not d.get("RotationEnabled") and "RotationLambdaARN" not in d
    assert code_of(sm.rotate_secret, SecretId=n)[0] == "InvalidRequestException"
    assert code_of(sm.rotate_secret, SecretId=n, RotationLambdaARN=fn, RotationRules={"ScheduleExpression": "every day"})[0] == "InvalidParameterException"
    out = sm.cancel_rotate_secret(SecretId=n)
    assert out["Name"] == n
    assert not sm.describe_secret(SecretId=n).get("RotationEnabled")


def test_update_secret(gateway, sm):
    n = name()
    alias = key_alias(gateway)
    v1 = sm.create_secret(Name=n, SecretString="a")["VersionId"]
    out = sm.update_secret(SecretId=n, Description="new desc", KmsKeyId=alias)
    assert "VersionId" not in out
    assert sm.get_secret_value(SecretId=n)["VersionId"] == v1
    out = sm.update_secret(SecretId=n, SecretString="b")
    assert out["VersionId"] != v1
    d = sm.describe_secret(SecretId=n)
    assert d["Description"] == "new desc" and d["KmsKeyId"] == alias
    assert d["VersionIdsToStages"] == {out["VersionId"]: ["AWSCURRENT"], v1: ["AWSPREVIOUS"]}


def test_kms_key_checked(gateway, sm):
    if kms_enabled(gateway):
        # Secrets Manager asks KMS for a data key: a key KMS refuses fails the
        # write (a key KMS does not know is accepted: a local convenience).
        kms = gateway.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        n = name()
        sm.create_secret(Name=n, SecretString="v", KmsKeyId=key)
        kms.disable_key(KeyId=key)
        assert code_of(sm.put_secret_value, SecretId=n, SecretString="w")[0] == "EncryptionFailure"
        assert sm.get_secret_value(SecretId=n)["SecretString"] == "v"
    else:
        n = name()
        sm.create_secret(Name=n, SecretString="v", KmsKeyId="alias/anything")
        assert sm.describe_secret(SecretId=n)["KmsKeyId"] == "alias/anything"


def test_delete_restore_and_force(sm):
    n = name()
    arn = sm.create_secret(Name=n, SecretString="a")["ARN"]
    out = sm.delete_secret(SecretId=n, RecoveryWindowInDays=7)
    assert out["ARN"] == arn and out["DeletionDate"]
    assert code_of(sm.get_secret_value, SecretId=n) == ("InvalidRequestException", 400)
    assert code_of(sm.put_secret_value, SecretId=n, SecretString="b")[0] == "InvalidRequestException"
    assert code_of(sm.create_secret, Name=n, SecretString="c")[0] == "InvalidRequestException"
    assert "DeletedDate" in sm.describe_secret(SecretId=n)
    names = [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [n]}])["SecretList"]]
    assert names == []
    names = [s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": [n]}])["SecretList"]]
    assert names == [n]
    sm.restore_secret(SecretId=n)
    assert sm.get_secret_value(SecretId=n)["SecretString"] == "a"
    assert "DeletedDate" not in sm.describe_secret(SecretId=n)
    # Windows and force.
    assert code_of(sm.delete_secret, SecretId=n, RecoveryWindowInDays=3)[0] == "InvalidParameterException"
    assert code_of(sm.delete_secret, SecretId=n, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)[0] == "InvalidParameterException"
    sm.delete_secret(SecretId=n, ForceDeleteWithoutRecovery=True)
    assert code_of(sm.describe_secret, SecretId=n)[0] == "ResourceNotFoundException"
    assert sm.create_secret(Name=n, SecretString="again")["ARN"] != arn


def test_list_secrets_filters_and_pages(sm):
    tag = uuid.uuid4().hex[:8]
    made = []
    for i in range(5):
        n = name(f"list{tag}/item{i}")
        sm.create_secret(Name=n, SecretString="v", Description=f"Item Number {i}",
                         Tags=[{"Key": f"k{tag}", "Value": "even" if i % 2 == 0 else "odd"}])
        made.append(n)
    by_name = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list{tag}/"]}])["SecretList"]
    assert {s["Name"] for s in by_name} == set(made)
    assert all("SecretVersionsToStages" in s for s in by_name)
    # Newest first by default; SortOrder asc reverses.
    assert [s["Name"] for s in by_name] == made[::-1]
    asc = sm.list_secrets(Filters=[{"Key": "name", "Values": [f"list{tag}/"]}], SortOrder="asc")["SecretList"]
    assert [s["Name"] for s in asc] == made
    odd = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": [f"k{tag}"]}, {"Key": "tag-value", "Values": ["odd"]}])["SecretList"]
    assert {s["Name"] for s in odd} == {made[1], made[3]}
    not_odd = sm.list_secrets(Filters=[{"Key": "tag-key", "Values": [f"k{tag}"]}, {"Key": "tag-value", "Values": ["!odd"]}])["SecretList"]
    assert {s["Name"] for s in not_odd} == {made[0], made[2], made[4]}
    desc = sm.list_secrets(Filters=[{"Key": "description", "Values": ["item number 3"]}, {"Key": "name", "Values": [f"list{tag}"]}])["SecretList"]
    assert [s["Name"] for s in desc] == [made[3]]
    # Pages of 2 with NextToken.
    seen, kw = [], {}
    while True:
        page = sm.list_secrets(MaxResults=2, Filters=[{"Key": "name", "Values": [f"list{tag}/"]}], **kw)
        assert len(page["SecretList"]) <= 2
        seen += [s["Name"] for s in page["SecretList"]]
        if "NextToken" not in page:
            break
        kw = {"NextToken": page["NextToken"]}
    assert sorted(seen) == sorted(made)
    # The paginator too.
    pages = sm.get_paginator("list_secrets").paginate(Filters=[{"Key": "name", "Values": [f"list{tag}/"]}], PaginationConfig={"PageSize": 3})
    assert sum(len(p["SecretList"]) for p in pages) == 5
    assert code_of(sm.list_secrets, Filters=[{"Key": "name", "Values": ["x"]}], NextToken="garbage!")[0] == "InvalidNextTokenException"


def test_tags(sm):
    n = name()
    sm.create_secret(Name=n, SecretString="v", Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=n, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=n)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId=n, TagKeys=["a"])
    assert sm.describe_secret(SecretId=n)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert code_of(sm.tag_resource, SecretId=n, Tags=[{"Key": "aws:x", "Value": "1"}])[0] == "InvalidParameterException"


def test_get_random_password(sm):
    pw = sm.get_random_password()["RandomPassword"]
    assert len(pw) == 32
    pw = sm.get_random_password(PasswordLength=64, ExcludePunctuation=True, ExcludeCharacters="abcXYZ")["RandomPassword"]
    assert len(pw) == 64 and pw.isalnum() and not set(pw) & set("abcXYZ")
    assert any(c.isdigit() for c in pw) and any(c.islower() for c in pw) and any(c.isupper() for c in pw)
    pw = sm.get_random_password(PasswordLength=20, ExcludeNumbers=True, ExcludeLowercase=True, ExcludeUppercase=True)["RandomPassword"]
    assert all(c in PUNCTUATION for c in pw)
    pw = sm.get_random_password(PasswordLength=50, IncludeSpace=True, ExcludePunctuation=True, ExcludeNumbers=True,
                                ExcludeUppercase=True, ExcludeLowercase=True)["RandomPassword"]
    assert pw == " " * 50
    pw = sm.get_random_password(PasswordLength=4, RequireEachIncludedType=True)["RandomPassword"]
    assert any(c in PUNCTUATION for c in pw) and any(c.isdigit() for c in pw)
    assert code_of(sm.get_random_password, PasswordLength=3)[0] == "InvalidParameterException"
    assert code_of(sm.get_random_password, PasswordLength=5000)[0] in ("InvalidParameterException", "ValidationException")
    assert code_of(sm.get_random_password, ExcludeNumbers=True, ExcludeLowercase=True, ExcludeUppercase=True, ExcludePunctuation=True)[0] == "InvalidParameterException"


def test_batch_get_secret_value(sm):
    tag = uuid.uuid4().hex[:8]
    names = [name(f"batch{tag}") for _ in range(3)]
    for i, n in enumerate(names):
        sm.create_secret(Name=n, SecretString=f"value{i}")
    missing = name("missing")
    out = sm.batch_get_secret_value(SecretIdList=names + [missing])
    assert {v["Name"]: v["SecretString"] for v in out["SecretValues"]} == {n: f"value{i}" for i, n in enumerate(names)}
    assert [(e["SecretId"], e["ErrorCode"]) for e in out["Errors"]] == [(missing, "ResourceNotFoundException")]
    page = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch{tag}"]}], MaxResults=2)
    assert len(page["SecretValues"]) == 2 and page["NextToken"]
    rest = sm.batch_get_secret_value(Filters=[{"Key": "name", "Values": [f"batch{tag}"]}], MaxResults=2, NextToken=page["NextToken"])
    assert len(rest["SecretValues"]) == 1
    got = {v["Name"] for v in page["SecretValues"] + rest["SecretValues"]}
    assert got == set(names)
    assert code_of(sm.batch_get_secret_value, SecretIdList=names, Filters=[{"Key": "name", "Values": ["x"]}])[0] == "InvalidParameterException"


def test_resource_policies(sm):
    n = name()
    sm.create_secret(Name=n, SecretString="v")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    public = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=n)
    sm.put_resource_policy(SecretId=n, ResourcePolicy=policy)
    assert json.loads(sm.get_resource_policy(SecretId=n)["ResourcePolicy"]) == json.loads(policy)
    assert code_of(sm.put_resource_policy, SecretId=n, ResourcePolicy=public, BlockPublicPolicy=True)[0] == "PublicPolicyException"
    assert code_of(sm.put_resource_policy, SecretId=n, ResourcePolicy="{not json")[0] == "MalformedPolicyDocumentException"
    ok = sm.validate_resource_policy(SecretId=n, ResourcePolicy=policy)
    assert ok["PolicyValidationPassed"] is True and ok["ValidationErrors"] == []
    bad = sm.validate_resource_policy(ResourcePolicy=public)
    assert bad["PolicyValidationPassed"] is False and bad["ValidationErrors"]
    assert code_of(sm.validate_resource_policy, ResourcePolicy="[]")[0] == "MalformedPolicyDocumentException"
    sm.delete_resource_policy(SecretId=n)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=n)


def test_replication_metadata(sm):
    n = name()
    out = sm.create_secret(Name=n, SecretString="v", AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert [(s["Region"], s["Status"]) for s in out["ReplicationStatus"]] == [("eu-west-1", "InSync")]
    out = sm.replicate_secret_to_regions(SecretId=n, AddReplicaRegions=[{"Region": "us-west-2", "KmsKeyId": "alias/k"}])
    assert {s["Region"] for s in out["ReplicationStatus"]} == {"eu-west-1", "us-west-2"}
    d = sm.describe_secret(SecretId=n)
    assert d["PrimaryRegion"] == "us-east-1"
    assert {s["Region"]: s.get("KmsKeyId") for s in d["ReplicationStatus"]}["us-west-2"] == "alias/k"
    assert code_of(sm.replicate_secret_to_regions, SecretId=n, AddReplicaRegions=[{"Region": "us-east-1"}])[0] == "InvalidParameterException"
    out = sm.remove_regions_from_replication(SecretId=n, RemoveReplicaRegions=["eu-west-1"])
    assert [s["Region"] for s in out["ReplicationStatus"]] == ["us-west-2"]
    assert code_of(sm.remove_regions_from_replication, SecretId=n, RemoveReplicaRegions=["ap-south-1"])[0] == "InvalidParameterException"
    assert code_of(sm.stop_replication_to_replica, SecretId=n)[0] == "InvalidRequestException"


def test_regions_and_accounts_are_separate(gateway):
    n = name()
    gateway.client("secretsmanager").create_secret(Name=n, SecretString="v")
    other_region = gateway.client("secretsmanager", region="eu-west-1")
    assert code_of(other_region.get_secret_value, SecretId=n)[0] == "ResourceNotFoundException"
    other_account = gateway.client("secretsmanager", account="111111111111")
    assert code_of(other_account.get_secret_value, SecretId=n)[0] == "ResourceNotFoundException"


def test_aws_cli(gateway):
    n = name()
    out = json.loads(gateway.aws("secretsmanager", "create-secret", "--name", n, "--secret-string", "cli-value").stdout)
    assert out["Name"] == n
    got = json.loads(gateway.aws("secretsmanager", "get-secret-value", "--secret-id", out["ARN"]).stdout)
    assert got["SecretString"] == "cli-value"
    missing = gateway.aws("secretsmanager", "describe-secret", "--secret-id", name("nope"), check=False)
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
