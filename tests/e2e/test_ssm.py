"""SSM Parameter Store and Run Command through the whole gateway with boto3
and the aws CLI: parameter types, overwrite rules, tiers, policies,
patterns, data types, versions, selectors, labels, path queries with
recursion and pagination, filters, history, tags, public parameters,
commands, and the operations left unimplemented."""

import base64
import json
import re
import time
import uuid

import botocore.exceptions
import pytest
import requests

ACCOUNT = "000000000000"


@pytest.fixture
def ssm(gateway):
    return gateway.client("ssm")


def kms_enabled(gateway):
    """Whether the gateway serves KMS (SecureStrings are then real KMS ciphertexts)."""
    plugins = requests.get(gateway.url + "/_ministack/plugins", timeout=10).json()["plugins"]
    return any(p["name"] == "kms" for p in plugins)


def base():
    return f"/t{uuid.uuid4().hex[:10]}"


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


def code_of(call, *args, **kw):
    r = error_of(call, *args, **kw)
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def test_put_and_get_types(ssm):
    b = base()
    out = ssm.put_parameter(Name=f"{b}/s", Value="hello", Type="String")
    assert (out["Version"], out["Tier"]) == (1, "Standard")
    p = ssm.get_parameter(Name=f"{b}/s")["Parameter"]
    assert p["Name"] == f"{b}/s" and p["Value"] == "hello" and p["Type"] == "String" and p["Version"] == 1
    assert p["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter{b}/s"
    assert p["DataType"] == "text" and "LastModifiedDate" in p
    ssm.put_parameter(Name=f"{b}/list", Value="a,b,c", Type="StringList")
    assert ssm.get_parameter(Name=f"{b}/list")["Parameter"]["Value"] == "a,b,c"
    # Top-level names (no hierarchy) and lookup by ARN.
    top = f"top{uuid.uuid4().hex[:8]}"
    ssm.put_parameter(Name=top, Value="v", Type="String")
    got = ssm.get_parameter(Name=top)["Parameter"]
    assert got["ARN"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{top}"
    assert ssm.get_parameter(Name=got["ARN"])["Parameter"]["Value"] == "v"
    assert code_of(ssm.get_parameter, Name=f"{b}/missing") == ("ParameterNotFound", 400)


def test_secure_string(gateway, ssm):
    b = base()
    ssm.put_parameter(Name=f"{b}/secret", Value="s3cr3t", Type="SecureString")
    raw = ssm.get_parameter(Name=f"{b}/secret")["Parameter"]
    assert raw["Type"] == "SecureString" and raw["Value"] != "s3cr3t"
    assert re.fullmatch(r"[A-Za-z0-9+/=]{20,}", raw["Value"])
    assert ssm.get_parameter(Name=f"{b}/secret", WithDecryption=True)["Parameter"]["Value"] == "s3cr3t"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{b}/secret"]}])["Parameters"][0]
    assert meta["KeyId"] == "alias/aws/ssm"
    alias = f"alias/ssm-test-{uuid.uuid4().hex[:8]}"
    if kms_enabled(gateway):
        # The value is a real KMS ciphertext under the PARAMETER_ARN context.
        kms = gateway.client("kms")
        arn = raw["ARN"]
        blob = base64.b64decode(raw["Value"])
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext={"PARAMETER_ARN": arn})["Plaintext"] == b"s3cr3t"
        assert code_of(kms.decrypt, CiphertextBlob=blob)[0] == "InvalidCiphertextException"
        kms.create_alias(AliasName=alias, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])
        assert code_of(ssm.put_parameter, Name=f"{b}/nokey", Value="x", Type="SecureString", KeyId="alias/does-not-exist")[0] == "InvalidKeyId"
    ssm.put_parameter(Name=f"{b}/custom", Value="x", Type="SecureString", KeyId=alias)
    assert ssm.get_parameter(Name=f"{b}/custom", WithDecryption=True)["Parameter"]["Value"] == "x"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "KeyId", "Values": [alias]},
                                                     {"Key": "Path", "Values": [b]}])["Parameters"]
    assert [m["Name"] for m in meta] == [f"{b}/custom"]
    assert code_of(ssm.put_parameter, Name=f"{b}/plain", Value="x", Type="String", KeyId="alias/k")[0] == "ValidationException"


def test_overwrite_versions_and_limits(ssm):
    b = base()
    n = f"{b}/p"
    ssm.put_parameter(Name=n, Value="v1", Type="String", Description="first")
    assert code_of(ssm.put_parameter, Name=n, Value="v2", Type="String") == ("ParameterAlreadyExists", 400)
    assert ssm.put_parameter(Name=n, Value="v2", Overwrite=True)["Version"] == 2
    p = ssm.get_parameter(Name=n)["Parameter"]
    assert (p["Value"], p["Type"], p["Version"]) == ("v2", "String", 2)
    assert code_of(ssm.put_parameter, Name=n, Value="v3", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}])[0] == "ValidationException"
    # Reserved and malformed names.
    assert code_of(ssm.put_parameter, Name="/aws/mine", Value="x", Type="String")[0] == "AccessDeniedException"
    assert code_of(ssm.put_parameter, Name="ssm-thing", Value="x", Type="String")[0] == "ValidationException"
    assert code_of(ssm.put_parameter, Name="a/b", Value="x", Type="String")[0] == "ValidationException"
    assert code_of(ssm.put_parameter, Name=b + "/x" * 15, Value="x", Type="String")[0] == "HierarchyLevelLimitExceededException"
    assert code_of(ssm.put_parameter, Name=f"{b}/new", Value="x")[0] == "ValidationException"
    assert code_of(ssm.put_parameter, Name=f"{b}/new", Value="x", Type="Number")[0] == "ValidationException"
    # 100 versions at most; the oldest goes unless it has a label.
    m = f"{b}/many"
    for i in range(100):
        ssm.put_parameter(Name=m, Value=f"v{i}", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name=m, ParameterVersion=1, Labels=["keep"])
    assert code_of(ssm.put_parameter, Name=m, Value="v101", Overwrite=True) == ("ParameterMaxVersionLimitExceeded", 400)
    ssm.unlabel_parameter_version(Name=m, ParameterVersion=1, Labels=["keep"])
    assert ssm.put_parameter(Name=m, Value="v101", Overwrite=True)["Version"] == 101
    assert code_of(ssm.get_parameter, Name=f"{m}:1")[0] == "ParameterVersionNotFound"
    assert ssm.get_parameter(Name=f"{m}:2")["Parameter"]["Value"] == "v1"


def test_tiers_and_policies(ssm):
    b = base()
    big = "x" * 5000
    assert code_of(ssm.put_parameter, Name=f"{b}/big", Value=big, Type="String")[0] == "ValidationException"
    assert ssm.put_parameter(Name=f"{b}/big", Value=big, Type="String", Tier="Advanced")["Tier"] == "Advanced"
    assert code_of(ssm.put_parameter, Name=f"{b}/huge", Value="x" * 9000, Type="String", Tier="Advanced")[0] == "ValidationException"
    assert ssm.put_parameter(Name=f"{b}/it", Value="small", Type="String", Tier="Intelligent-Tiering")["Tier"] == "Standard"
    assert ssm.put_parameter(Name=f"{b}/it2", Value=big, Type="String", Tier="Intelligent-Tiering")["Tier"] == "Advanced"
    assert code_of(ssm.put_parameter, Name=f"{b}/big", Value="y", Tier="Standard", Overwrite=True)[0] == "ValidationException"
    policies = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2030-12-02T21:34:33.000Z"}}])
    assert ssm.put_parameter(Name=f"{b}/pol", Value="v", Type="String", Tier="Advanced", Policies=policies)["Tier"] == "Advanced"
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{b}/pol"]}])["Parameters"][0]
    assert meta["Tier"] == "Advanced"
    assert meta["Policies"][0]["PolicyType"] == "Expiration" and meta["Policies"][0]["PolicyStatus"] == "Pending"
    assert json.loads(meta["Policies"][0]["PolicyText"])["Attributes"]["Timestamp"] == "2030-12-02T21:34:33.000Z"
    # An Expiration policy deletes the parameter once its timestamp passes.
    soon = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 2))
    expiring = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": soon}}])
    ssm.put_parameter(Name=f"{b}/exp", Value="v", Type="String", Tier="Advanced", Policies=expiring)
    assert ssm.get_parameter(Name=f"{b}/exp")["Parameter"]["Value"] == "v"
    time.sleep(3)
    assert code_of(ssm.get_parameter, Name=f"{b}/exp")[0] == "ParameterNotFound"
    assert f"{b}/exp" not in [p["Name"] for p in ssm.get_parameters_by_path(Path=b)["Parameters"]]
    bad_time = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "someday"}}])
    assert code_of(ssm.put_parameter, Name=f"{b}/exp2", Value="v", Type="String", Tier="Advanced", Policies=bad_time)[0] == "InvalidPolicyAttributeException"
    bad = json.dumps([{"Type": "Explode", "Version": "1.0", "Attributes": {}}])
    assert code_of(ssm.put_parameter, Name=f"{b}/pol2", Value="v", Type="String", Tier="Advanced", Policies=bad)[0] == "InvalidPolicyTypeException"
    assert code_of(ssm.put_parameter, Name=f"{b}/pol3", Value="v", Type="String", Tier="Standard", Policies=policies)[0] == "ValidationException"
    twice = json.dumps(json.loads(policies) * 2)
    assert code_of(ssm.put_parameter, Name=f"{b}/pol4", Value="v", Type="String", Tier="Advanced", Policies=twice)[0] == "IncompatiblePolicyException"


def test_allowed_pattern_and_data_types(ssm):
    b = base()
    ssm.put_parameter(Name=f"{b}/num", Value="42", Type="String", AllowedPattern=r"^\d+$")
    assert code_of(ssm.put_parameter, Name=f"{b}/num", Value="4x2", Overwrite=True) == ("ParameterPatternMismatchException", 400)
    assert ssm.put_parameter(Name=f"{b}/num", Value="43", Overwrite=True)["Version"] == 2
    assert code_of(ssm.put_parameter, Name=f"{b}/bad", Value="x", Type="String", AllowedPattern="(")[0] == "InvalidAllowedPatternException"
    # An empty pattern (Terraform sends one) constrains nothing.
    ssm.put_parameter(Name=f"{b}/free", Value="http://x/y", Type="String", AllowedPattern="")
    assert ssm.get_parameter(Name=f"{b}/free")["Parameter"]["Value"] == "http://x/y"
    ssm.put_parameter(Name=f"{b}/ami", Value="ami-0123456789abcdef0", Type="String", DataType="aws:ec2:image")
    assert ssm.get_parameter(Name=f"{b}/ami")["Parameter"]["DataType"] == "aws:ec2:image"
    assert code_of(ssm.put_parameter, Name=f"{b}/ami2", Value="not-an-ami", Type="String", DataType="aws:ec2:image")[0] == "ValidationException"
    assert code_of(ssm.put_parameter, Name=f"{b}/dt", Value="x", Type="String", DataType="json")[0] == "ValidationException"


def test_selectors_labels_and_history(ssm):
    b = base()
    n = f"{b}/cfg"
    for v in ("one", "two", "three"):
        ssm.put_parameter(Name=n, Value=v, Type="String", Overwrite=True)
    assert ssm.get_parameter(Name=f"{n}:1")["Parameter"]["Value"] == "one"
    p = ssm.get_parameter(Name=f"{n}:2")["Parameter"]
    assert p["Value"] == "two" and p["Selector"] == ":2" and p["Name"] == n
    out = ssm.label_parameter_version(Name=n, ParameterVersion=2, Labels=["prod", "1bad", "awsx"])
    assert out["ParameterVersion"] == 2 and sorted(out["InvalidLabels"]) == ["1bad", "awsx"]
    assert ssm.get_parameter(Name=f"{n}:prod")["Parameter"]["Value"] == "two"
    # A label moves when put on another version; no version means the latest.
    assert ssm.label_parameter_version(Name=n, Labels=["prod"])["ParameterVersion"] == 3
    assert ssm.get_parameter(Name=f"{n}:prod")["Parameter"]["Value"] == "three"
    assert code_of(ssm.get_parameter, Name=f"{n}:9")[0] == "ParameterVersionNotFound"
    assert code_of(ssm.get_parameter, Name=f"{n}:nolabel")[0] == "ParameterVersionNotFound"
    assert code_of(ssm.label_parameter_version, Name=n, ParameterVersion=9, Labels=["x"])[0] == "ParameterVersionNotFound"
    assert code_of(ssm.label_parameter_version, Name=n, ParameterVersion=1, Labels=[f"l{i}" for i in range(11)])[0] == "ValidationException"
    ssm.label_parameter_version(Name=n, ParameterVersion=1, Labels=[f"l{i}" for i in range(6)])
    assert code_of(ssm.label_parameter_version, Name=n, ParameterVersion=1, Labels=[f"m{i}" for i in range(5)]) == (
        "ParameterVersionLabelLimitExceeded", 400)
    assert len(ssm.get_parameter_history(Name=n)["Parameters"][0]["Labels"]) == 6
    ssm.unlabel_parameter_version(Name=n, ParameterVersion=1, Labels=[f"l{i}" for i in range(6)])
    got = ssm.get_parameters(Names=[f"{n}:1", f"{n}:prod", f"{b}/missing", f"{n}:8"])
    assert [(p["Value"], p.get("Selector")) for p in got["Parameters"]] == [("one", ":1"), ("three", ":prod")]
    assert sorted(got["InvalidParameters"]) == sorted([f"{b}/missing", f"{n}:8"])
    hist = ssm.get_parameter_history(Name=n)["Parameters"]
    assert [(h["Version"], h["Value"], h["Labels"]) for h in hist] == [(1, "one", []), (2, "two", []), (3, "three", ["prod"])]
    page = ssm.get_parameter_history(Name=n, MaxResults=2)
    assert len(page["Parameters"]) == 2 and page["NextToken"]
    assert ssm.get_parameter_history(Name=n, MaxResults=2, NextToken=page["NextToken"])["Parameters"][0]["Version"] == 3
    out = ssm.unlabel_parameter_version(Name=n, ParameterVersion=3, Labels=["prod", "ghost"])
    assert out["RemovedLabels"] == ["prod"] and out["InvalidLabels"] == ["ghost"]
    assert code_of(ssm.get_parameter_history, Name=f"{b}/missing")[0] == "ParameterNotFound"


def test_get_parameters_by_path_recursion_and_pagination(ssm):
    b = base()
    names = [f"{b}/app/a", f"{b}/app/b", f"{b}/app/db/host", f"{b}/app/db/port", f"{b}/app/db/deep/x", f"{b}/other"]
    for n in names:
        ssm.put_parameter(Name=n, Value=n.rsplit("/", 1)[1], Type="String")
    ssm.put_parameter(Name=f"{b}/app/db/pass", Value="pw", Type="SecureString")
    one = ssm.get_parameters_by_path(Path=f"{b}/app")["Parameters"]
    assert sorted(p["Name"] for p in one) == [f"{b}/app/a", f"{b}/app/b"]
    allp = []
    kw = {}
    pages = 0
    while True:
        page = ssm.get_parameters_by_path(Path=f"{b}/app/", Recursive=True, MaxResults=2, **kw)
        assert len(page["Parameters"]) <= 2
        allp += page["Parameters"]
        pages += 1
        if "NextToken" not in page:
            break
        kw = {"NextToken": page["NextToken"]}
    assert pages == 3
    assert sorted(p["Name"] for p in allp) == sorted(names[:5] + [f"{b}/app/db/pass"])
    secure = [p for p in allp if p["Name"].endswith("/pass")][0]
    assert secure["Value"] != "pw"
    dec = ssm.get_parameters_by_path(Path=f"{b}/app/db", WithDecryption=True)["Parameters"]
    assert {p["Name"].rsplit("/", 1)[1]: p["Value"] for p in dec} == {"host": "host", "port": "port", "pass": "pw"}
    typed = ssm.get_parameters_by_path(Path=b, Recursive=True, ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}])["Parameters"]
    assert [p["Name"] for p in typed] == [f"{b}/app/db/pass"]
    # The paginator walks every page.
    pag = ssm.get_paginator("get_parameters_by_path").paginate(Path=b, Recursive=True, PaginationConfig={"PageSize": 3})
    assert sum(len(p["Parameters"]) for p in pag) == 7
    assert code_of(ssm.get_parameters_by_path, Path=b, ParameterFilters=[{"Key": "Name", "Values": ["x"]}])[0] == "InvalidFilterKey"
    assert code_of(ssm.get_parameters_by_path, Path=b, NextToken="bogus!")[0] == "InvalidNextToken"
    assert code_of(ssm.get_parameters_by_path, Path="noslash")[0] == "ValidationException"


def test_describe_parameters_filters(ssm):
    b = base()
    ssm.put_parameter(Name=f"{b}/x/one", Value="1", Type="String", Tags=[{"Key": "team", "Value": "core"}])
    ssm.put_parameter(Name=f"{b}/x/two", Value="2", Type="StringList")
    ssm.put_parameter(Name=f"{b}/x/y/three", Value="3", Type="SecureString", Description="third")
    ssm.label_parameter_version(Name=f"{b}/x/two", Labels=["live"])
    names = lambda r: sorted(p["Name"] for p in r["Parameters"])
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Values": [f"{b}/x"]}])) == [f"{b}/x/one", f"{b}/x/two"]
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [f"{b}/x"]}])) == [
        f"{b}/x/one", f"{b}/x/two", f"{b}/x/y/three"]
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{b}/x/t"]}])) == [f"{b}/x/two"]
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Option": "Contains", "Values": [b[1:]]},
                                                           {"Key": "Type", "Values": ["SecureString"]}])) == [f"{b}/x/y/three"]
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "tag:team", "Values": ["core"]}, {"Key": "Path", "Option": "Recursive", "Values": [b]}])) == [f"{b}/x/one"]
    assert names(ssm.describe_parameters(ParameterFilters=[{"Key": "Label", "Values": ["live"]}, {"Key": "Path", "Option": "Recursive", "Values": [b]}])) == [f"{b}/x/two"]
    assert names(ssm.describe_parameters(Filters=[{"Key": "Name", "Values": [f"{b}/x/o"]}])) == [f"{b}/x/one"]
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [f"{b}/x/y/three"]}])["Parameters"][0]
    assert meta["Description"] == "third" and meta["Version"] == 1 and meta["LastModifiedUser"]
    page = ssm.describe_parameters(MaxResults=2, ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [b]}])
    assert len(page["Parameters"]) == 2 and page["NextToken"]
    assert code_of(ssm.describe_parameters, Filters=[{"Key": "Name", "Values": ["a"]}], ParameterFilters=[{"Key": "Name", "Values": ["a"]}])[0] == "ValidationException"
    assert code_of(ssm.describe_parameters, ParameterFilters=[{"Key": "Label", "Option": "BeginsWith", "Values": ["l"]}])[0] == "InvalidFilterOption"
    assert code_of(ssm.describe_parameters, ParameterFilters=[{"Key": "Color", "Values": ["red"]}])[0] == "InvalidFilterKey"


def test_delete_parameters(ssm):
    b = base()
    for i in range(3):
        ssm.put_parameter(Name=f"{b}/{i}", Value="v", Type="String")
    ssm.delete_parameter(Name=f"{b}/0")
    assert code_of(ssm.delete_parameter, Name=f"{b}/0") == ("ParameterNotFound", 400)
    out = ssm.delete_parameters(Names=[f"{b}/1", f"{b}/2", f"{b}/9"])
    assert sorted(out["DeletedParameters"]) == [f"{b}/1", f"{b}/2"] and out["InvalidParameters"] == [f"{b}/9"]
    assert ssm.get_parameters_by_path(Path=b)["Parameters"] == []


def test_tags(ssm):
    b = base()
    n = f"{b}/tagged"
    ssm.put_parameter(Name=n, Value="v", Type="String", Tags=[{"Key": "a", "Value": "1"}])
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=n, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=n)["TagList"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=n, TagKeys=["a"])
    assert ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=n)["TagList"] == [{"Key": "b", "Value": "2"}]
    assert code_of(ssm.list_tags_for_resource, ResourceType="Parameter", ResourceId=f"{b}/none")[0] == "InvalidResourceId"
    assert code_of(ssm.add_tags_to_resource, ResourceType="Parameter", ResourceId=n,
                   Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])[0] == "TooManyTagsError"


def test_public_parameters(gateway, ssm):
    al2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    p = ssm.get_parameter(Name=al2023)["Parameter"]
    assert re.fullmatch(r"ami-[0-9a-f]{17}", p["Value"])
    assert p["DataType"] == "aws:ec2:image" and p["Type"] == "String"
    assert p["ARN"] == f"arn:aws:ssm:us-east-1::parameter{al2023}"
    assert ssm.get_parameter(Name=al2023)["Parameter"]["Value"] == p["Value"]
    other = gateway.client("ssm", region="eu-west-1").get_parameter(Name=al2023)["Parameter"]["Value"]
    assert other != p["Value"] and other.startswith("ami-")
    amzn2 = ssm.get_parameters(Names=["/aws/service/ami-amazon-linux-latest/amzn2-ami-hvm-x86_64-gp2", "/aws/service/nope"])
    assert len(amzn2["Parameters"]) == 1 and amzn2["InvalidParameters"] == ["/aws/service/nope"]
    latest = ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest", MaxResults=10)["Parameters"]
    assert al2023 in [x["Name"] for x in latest] or "NextToken" in ssm.get_parameters_by_path(Path="/aws/service/ami-amazon-linux-latest", MaxResults=10)
    regions = []
    for page in ssm.get_paginator("get_parameters_by_path").paginate(Path="/aws/service/global-infrastructure/regions"):
        regions += [x["Value"] for x in page["Parameters"]]
    assert {"us-east-1", "eu-west-1", "ap-southeast-2"} <= set(regions)
    assert ssm.get_parameter(Name="/aws/service/global-infrastructure/regions/eu-west-1/longName")["Parameter"]["Value"] == "Europe (Ireland)"
    assert code_of(ssm.get_parameter, Name="/aws/service/does/not/exist")[0] == "ParameterNotFound"


def test_secrets_manager_reference(gateway, ssm):
    sm = gateway.client("secretsmanager")
    n = f"ref-{uuid.uuid4().hex[:8]}"
    secret = sm.create_secret(Name=n, SecretString='{"password":"pw1"}')
    sm.put_secret_value(SecretId=n, SecretString="pending-value", VersionStages=["AWSPENDING"])
    ref = f"/aws/reference/secretsmanager/{n}"
    p = ssm.get_parameter(Name=ref, WithDecryption=True)["Parameter"]
    assert p["Value"] == '{"password":"pw1"}' and p["Type"] == "SecureString"
    assert p["ARN"] == secret["ARN"]
    assert json.loads(p["SourceResult"])["VersionId"] == secret["VersionId"]
    assert ssm.get_parameter(Name=f"{ref}:AWSPENDING", WithDecryption=True)["Parameter"]["Value"] == "pending-value"
    assert ssm.get_parameter(Name=f"{ref}:{secret['VersionId']}", WithDecryption=True)["Parameter"]["Value"] == '{"password":"pw1"}'
    assert code_of(ssm.get_parameter, Name=ref)[0] == "ValidationException"
    assert code_of(ssm.get_parameter, Name="/aws/reference/secretsmanager/nope-" + n, WithDecryption=True)[0] == "ParameterNotFound"


def test_run_command(ssm):
    iid = "i-0123456789abcdef0"
    cmd = ssm.send_command(InstanceIds=[iid], DocumentName="AWS-RunShellScript",
                           Parameters={"commands": ["echo hi"]}, Comment="hello")["Command"]
    cid = cmd["CommandId"]
    assert re.fullmatch(r"[0-9a-f-]{36}", cid)
    assert cmd["Status"] == "Success" and cmd["InstanceIds"] == [iid] and cmd["Parameters"] == {"commands": ["echo hi"]}
    assert cmd["TargetCount"] == 1 and cmd["CompletedCount"] == 1 and cmd["ErrorCount"] == 0
    inv = ssm.get_command_invocation(CommandId=cid, InstanceId=iid)
    assert inv["Status"] == "Success" and inv["ResponseCode"] == 0
    assert inv["StandardOutputContent"] == "" and inv["PluginName"] == "aws:runShellScript"
    assert inv["DocumentName"] == "AWS-RunShellScript" and inv["Comment"] == "hello"
    assert code_of(ssm.get_command_invocation, CommandId=cid, InstanceId="i-0000000000000000f")[0] == "InvocationDoesNotExist"
    listed = ssm.list_commands(CommandId=cid)["Commands"]
    assert [c["CommandId"] for c in listed] == [cid]
    assert cid in [c["CommandId"] for c in ssm.list_commands(InstanceId=iid)["Commands"]]
    assert cid in [c["CommandId"] for c in ssm.list_commands(Filters=[{"key": "DocumentName", "value": "AWS-RunShellScript"}])["Commands"]]
    invs = ssm.list_command_invocations(CommandId=cid, Details=True)["CommandInvocations"]
    assert len(invs) == 1 and invs[0]["InstanceId"] == iid and invs[0]["Status"] == "Success"
    assert invs[0]["CommandPlugins"][0]["Name"] == "aws:runShellScript"
    tgt = ssm.send_command(Targets=[{"Key": "InstanceIds", "Values": ["i-00000000000000001", "i-00000000000000002"]}],
                           DocumentName="AWS-RunShellScript", Parameters={"commands": ["ls"]})["Command"]
    assert tgt["TargetCount"] == 2
    assert code_of(ssm.send_command, InstanceIds=["bogus"], DocumentName="AWS-RunShellScript")[0] == "InvalidInstanceId"
    assert code_of(ssm.list_commands, CommandId=str(uuid.uuid4()))[0] == "InvalidCommandId"
    assert ssm.describe_instance_information()["InstanceInformationList"] == []


def test_unimplemented_operation_is_501(ssm):
    r = error_of(ssm.start_automation_execution, DocumentName="AWS-RestartEC2Instance")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_aws_cli(gateway):
    b = base()
    gateway.aws("ssm", "put-parameter", "--name", f"{b}/cli", "--value", "from-cli", "--type", "String")
    out = json.loads(gateway.aws("ssm", "get-parameter", "--name", f"{b}/cli").stdout)
    assert out["Parameter"]["Value"] == "from-cli"
    out = json.loads(gateway.aws("ssm", "get-parameters-by-path", "--path", b, "--recursive").stdout)
    assert [p["Name"] for p in out["Parameters"]] == [f"{b}/cli"]
    dup = gateway.aws("ssm", "put-parameter", "--name", f"{b}/cli", "--value", "x", "--type", "String", check=False)
    assert dup.returncode != 0 and "ParameterAlreadyExists" in dup.stderr
