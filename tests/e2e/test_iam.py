"""IAM end to end: boto3 and the aws CLI against the real gateway."""

import csv
import io
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
S3_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}],
}


def acct():
    """A fresh account per test: IAM state is account-global."""
    return f"{uuid.uuid4().int % 10**12:012d}"


def err(excinfo):
    e = excinfo.value.response
    return e["Error"]["Code"], e["ResponseMetadata"]["HTTPStatusCode"]


@pytest.fixture
def iam(gateway):
    account = acct()
    client = gateway.client("iam", account=account)
    client.account = account
    return client


def test_create_user_with_cli_and_boto3(gateway):
    account = acct()
    out = gateway.aws("iam", "create-user", "--user-name", "cli-user", "--path", "/team/",
                      "--tags", "Key=env,Value=dev", account=account)
    user = json.loads(out.stdout)["User"]
    assert user["Arn"] == f"arn:aws:iam::{account}:user/team/cli-user"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 20
    assert user["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam = gateway.client("iam", account=account)
    got = iam.get_user(UserName="cli-user")["User"]
    assert got["UserId"] == user["UserId"] and got["Path"] == "/team/"
    out = gateway.aws("iam", "get-user", "--user-name", "nobody", account=account, check=False)
    assert out.returncode != 0 and "NoSuchEntity" in out.stderr
    # Another account does not see it.
    with pytest.raises(ClientError) as e:
        gateway.client("iam", account=acct()).get_user(UserName="cli-user")
    assert err(e) == ("NoSuchEntity", 404)


def test_cli_pagination_and_simulation(gateway):
    account = acct()
    iam = gateway.client("iam", account=account)
    for i in range(5):
        iam.create_role(RoleName=f"r{i}", AssumeRolePolicyDocument=json.dumps(TRUST))
    # The CLI pages through Marker/IsTruncated itself (page size 2).
    out = json.loads(gateway.aws("iam", "list-roles", "--page-size", "2", account=account).stdout)
    assert [r["RoleName"] for r in out["Roles"]] == [f"r{i}" for i in range(5)]
    out = json.loads(gateway.aws("iam", "list-roles", "--max-items", "3", account=account).stdout)
    assert len(out["Roles"]) == 3 and out["NextToken"]
    # A list of documents: a JSON list of strings (the CLI would split a bare
    # string into characters).
    deny = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]})
    out = json.loads(gateway.aws("iam", "simulate-custom-policy", "--policy-input-list", json.dumps([deny]),
                                 "--action-names", "s3:PutObject", account=account).stdout)
    assert out["EvaluationResults"][0]["EvalDecision"] == "explicitDeny"
    out = gateway.aws("iam", "create-policy", "--policy-name", "x", "--policy-document", "{bad",
                      account=account, check=False)
    assert out.returncode != 0 and "MalformedPolicyDocument" in out.stderr


def test_get_user_without_name_is_the_caller(iam):
    root = iam.get_user()["User"]
    assert root["Arn"] == f"arn:aws:iam::{iam.account}:root" and root["UserId"] == iam.account
    assert "UserName" not in root


def test_user_errors(iam):
    iam.create_user(UserName="Alice")
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="alice")
    assert err(e) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="bad name")
    assert err(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        iam.create_user(UserName="x", Path="nopath")
    assert err(e) == ("ValidationError", 400)
    iam.put_user_policy(UserName="Alice", PolicyName="p", PolicyDocument=json.dumps(S3_READ))
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="Alice")
    assert err(e) == ("DeleteConflict", 409)
    iam.delete_user_policy(UserName="Alice", PolicyName="p")
    iam.delete_user(UserName="Alice")
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="Alice")
    assert err(e) == ("NoSuchEntity", 404)


def test_update_user_tags_and_boundary(gateway, iam):
    iam.create_user(UserName="u1")
    key = iam.create_access_key(UserName="u1")["AccessKey"]
    iam.tag_user(UserName="u1", Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    iam.untag_user(UserName="u1", TagKeys=["a"])
    assert iam.list_user_tags(UserName="u1")["Tags"] == [{"Key": "b", "Value": "2"}]
    boundary = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    iam.put_user_permissions_boundary(UserName="u1", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="u1")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.update_user(UserName="u1", NewUserName="u2", NewPath="/moved/")
    user = iam.get_user(UserName="u2")["User"]
    assert user["Arn"] == f"arn:aws:iam::{iam.account}:user/moved/u2"
    with pytest.raises(ClientError):
        iam.get_user(UserName="u1")
    # The user's key now acts as the renamed user.
    sts = gateway.client("sts", account=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"] == user["Arn"]
    assert iam.list_access_keys(UserName="u2")["AccessKeyMetadata"][0]["UserName"] == "u2"


def test_list_users_pagination_and_path_prefix(iam):
    for i in range(7):
        iam.create_user(UserName=f"user{i}", Path="/eng/" if i % 2 else "/ops/")
    page = iam.list_users(MaxItems=3)
    assert page["IsTruncated"] and len(page["Users"]) == 3
    names = [u["UserName"] for u in page["Users"]]
    while page["IsTruncated"]:
        page = iam.list_users(MaxItems=3, Marker=page["Marker"])
        names += [u["UserName"] for u in page["Users"]]
    assert names == [f"user{i}" for i in range(7)]
    eng = iam.list_users(PathPrefix="/eng/")["Users"]
    assert [u["UserName"] for u in eng] == ["user1", "user3", "user5"]
    paginated = [u["UserName"] for p in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 2})
                 for u in p["Users"]]
    assert len(paginated) == 7


def test_groups(iam):
    iam.create_group(GroupName="devs", Path="/g/")
    iam.create_user(UserName="ann")
    iam.create_user(UserName="bob")
    iam.add_user_to_group(GroupName="devs", UserName="ann")
    iam.add_user_to_group(GroupName="devs", UserName="bob")
    g = iam.get_group(GroupName="devs")
    assert g["Group"]["GroupId"].startswith("AGPA")
    assert g["Group"]["Arn"] == f"arn:aws:iam::{iam.account}:group/g/devs"
    assert sorted(u["UserName"] for u in g["Users"]) == ["ann", "bob"]
    assert [x["GroupName"] for x in iam.list_groups_for_user(UserName="ann")["Groups"]] == ["devs"]
    with pytest.raises(ClientError) as e:
        iam.delete_group(GroupName="devs")
    assert err(e) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="ann")
    assert err(e) == ("DeleteConflict", 409)
    iam.remove_user_from_group(GroupName="devs", UserName="ann")
    iam.remove_user_from_group(GroupName="devs", UserName="bob")
    with pytest.raises(ClientError) as e:
        iam.remove_user_from_group(GroupName="devs", UserName="bob")
    assert err(e) == ("NoSuchEntity", 404)
    iam.update_group(GroupName="devs", NewGroupName="developers")
    assert [x["GroupName"] for x in iam.list_groups(PathPrefix="/g/")["Groups"]] == ["developers"]
    iam.delete_group(GroupName="developers")
    assert iam.list_groups()["Groups"] == []


def test_roles(iam):
    role = iam.create_role(
        RoleName="lambda-exec", Path="/service/", AssumeRolePolicyDocument=json.dumps(TRUST),
        Description="runs lambdas", MaxSessionDuration=7200, Tags=[{"Key": "team", "Value": "x"}],
        PermissionsBoundary="arn:aws:iam::aws:policy/PowerUserAccess",
    )["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["Arn"] == f"arn:aws:iam::{iam.account}:role/service/lambda-exec"
    got = iam.get_role(RoleName="lambda-exec")["Role"]
    assert got["AssumeRolePolicyDocument"] == TRUST  # botocore decodes the URL-encoded JSON
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "runs lambdas"
    assert got["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith("/PowerUserAccess")
    assert got["Tags"] == [{"Key": "team", "Value": "x"}]
    iam.update_role(RoleName="lambda-exec", MaxSessionDuration=3600, Description="d2")
    iam.delete_role_permissions_boundary(RoleName="lambda-exec")
    new_trust = dict(TRUST, Statement=[dict(TRUST["Statement"][0], Principal={"Service": "ecs-tasks.amazonaws.com"})])
    iam.update_assume_role_policy(RoleName="lambda-exec", PolicyDocument=json.dumps(new_trust))
    got = iam.get_role(RoleName="lambda-exec")["Role"]
    assert got["MaxSessionDuration"] == 3600 and got["Description"] == "d2" and "PermissionsBoundary" not in got
    assert got["AssumeRolePolicyDocument"] == new_trust
    iam.tag_role(RoleName="lambda-exec", Tags=[{"Key": "k", "Value": "v"}])
    assert len(iam.list_role_tags(RoleName="lambda-exec")["Tags"]) == 2
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="bad", AssumeRolePolicyDocument="{not json")
    assert err(e) == ("MalformedPolicyDocument", 400)
    bad_principal = dict(TRUST, Statement=[dict(TRUST["Statement"][0], Principal={"AWS": "nobody"})])
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="bad", AssumeRolePolicyDocument=json.dumps(bad_principal))
    assert err(e) == ("MalformedPolicyDocument", 400)
    assert "Invalid principal" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="bad", AssumeRolePolicyDocument=json.dumps(TRUST), MaxSessionDuration=50000)
    assert err(e) == ("ValidationError", 400)
    with pytest.raises(ClientError) as e:
        iam.create_role(RoleName="LAMBDA-EXEC", AssumeRolePolicyDocument=json.dumps(TRUST))
    assert err(e) == ("EntityAlreadyExists", 409)
    assert [r["RoleName"] for r in iam.list_roles(PathPrefix="/service/")["Roles"]] == ["lambda-exec"]
    iam.delete_role(RoleName="lambda-exec")
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="lambda-exec")
    assert err(e) == ("NoSuchEntity", 404)


def test_managed_policy_versions(iam):
    p = iam.create_policy(PolicyName="s3read", Path="/app/", PolicyDocument=json.dumps(S3_READ),
                          Description="read s3")["Policy"]
    arn = p["Arn"]
    assert arn == f"arn:aws:iam::{iam.account}:policy/app/s3read"
    assert p["PolicyId"].startswith("ANPA") and p["DefaultVersionId"] == "v1"
    for i in range(2, 6):
        v = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_READ), SetAsDefault=(i == 3))
        assert v["PolicyVersion"]["VersionId"] == f"v{i}"
    with pytest.raises(ClientError) as e:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(S3_READ))
    assert err(e) == ("LimitExceeded", 409)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v3"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["IsDefaultVersion"] for v in versions] == [False, False, True, False, False]
    with pytest.raises(ClientError) as e:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert err(e) == ("DeleteConflict", 409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}), SetAsDefault=True)
    doc = iam.get_policy_version(PolicyArn=arn, VersionId="v6")["PolicyVersion"]
    assert doc["IsDefaultVersion"] and doc["Document"]["Statement"][0]["Effect"] == "Deny"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="s3read", PolicyDocument=json.dumps(S3_READ))
    assert err(e) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as e:
        iam.create_policy(PolicyName="broken", PolicyDocument='{"Statement": [{"Effect": "Allow"}]}')
    assert err(e) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as e:
        iam.get_policy(PolicyArn=f"arn:aws:iam::{iam.account}:policy/missing")
    assert err(e) == ("NoSuchEntity", 404)
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "t", "Value": "1"}])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "t", "Value": "1"}]


def test_attachments_in_every_direction(iam):
    arn = iam.create_policy(PolicyName="p", PolicyDocument=json.dumps(S3_READ))["Policy"]["Arn"]
    aws_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_user_policy(UserName="u", PolicyArn=arn)
    iam.attach_group_policy(GroupName="g", PolicyArn=arn)
    iam.attach_role_policy(RoleName="r", PolicyArn=arn)
    iam.attach_role_policy(RoleName="r", PolicyArn=aws_arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3
    ents = iam.list_entities_for_policy(PolicyArn=arn)
    assert [x["UserName"] for x in ents["PolicyUsers"]] == ["u"]
    assert [x["GroupName"] for x in ents["PolicyGroups"]] == ["g"]
    assert [x["RoleName"] for x in ents["PolicyRoles"]] == ["r"]
    assert iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")["PolicyUsers"] == []
    attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
    assert {a["PolicyArn"] for a in attached} == {arn, aws_arn}
    assert [a["PolicyName"] for a in iam.list_attached_role_policies(RoleName="r", PathPrefix="/service-role/")
            ["AttachedPolicies"]] == ["AWSLambdaBasicExecutionRole"]
    assert iam.list_attached_user_policies(UserName="u")["AttachedPolicies"] == [{"PolicyName": "p", "PolicyArn": arn}]
    assert iam.list_attached_group_policies(GroupName="g")["AttachedPolicies"][0]["PolicyArn"] == arn
    aws_policy = iam.get_policy(PolicyArn=aws_arn)["Policy"]
    assert aws_policy["Path"] == "/service-role/" and aws_policy["AttachmentCount"] == 1
    doc = iam.get_policy_version(PolicyArn=aws_arn, VersionId=aws_policy["DefaultVersionId"])["PolicyVersion"]["Document"]
    assert "logs:PutLogEvents" in doc["Statement"][0]["Action"]
    only = iam.list_policies(Scope="Local", OnlyAttached=True)["Policies"]
    assert [p["PolicyName"] for p in only] == ["p"]
    assert any(p["PolicyName"] == "AdministratorAccess" for p in iam.list_policies(Scope="AWS", MaxItems=1000)["Policies"])
    with pytest.raises(ClientError) as e:
        iam.attach_user_policy(UserName="u", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicyAnywhere")
    assert err(e) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as e:
        iam.delete_policy(PolicyArn=arn)
    assert err(e) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName="r")
    assert err(e) == ("DeleteConflict", 409)
    iam.detach_user_policy(UserName="u", PolicyArn=arn)
    iam.detach_group_policy(GroupName="g", PolicyArn=arn)
    iam.detach_role_policy(RoleName="r", PolicyArn=arn)
    with pytest.raises(ClientError) as e:
        iam.detach_role_policy(RoleName="r", PolicyArn=arn)
    assert err(e) == ("NoSuchEntity", 404)
    iam.delete_policy(PolicyArn=arn)


def test_inline_policies(iam):
    iam.create_user(UserName="u")
    iam.create_group(GroupName="g")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    doc = json.dumps(S3_READ)
    iam.put_user_policy(UserName="u", PolicyName="pu", PolicyDocument=doc)
    iam.put_group_policy(GroupName="g", PolicyName="pg", PolicyDocument=doc)
    iam.put_role_policy(RoleName="r", PolicyName="pr", PolicyDocument=doc)
    assert iam.get_user_policy(UserName="u", PolicyName="pu")["PolicyDocument"] == S3_READ
    assert iam.get_group_policy(GroupName="g", PolicyName="pg")["PolicyDocument"] == S3_READ
    got = iam.get_role_policy(RoleName="r", PolicyName="pr")
    assert got["RoleName"] == "r" and got["PolicyDocument"] == S3_READ
    assert iam.list_user_policies(UserName="u")["PolicyNames"] == ["pu"]
    assert iam.list_group_policies(GroupName="g")["PolicyNames"] == ["pg"]
    assert iam.list_role_policies(RoleName="r")["PolicyNames"] == ["pr"]
    with pytest.raises(ClientError) as e:
        iam.put_role_policy(RoleName="r", PolicyName="bad", PolicyDocument='{"Statement": "nope"}')
    assert err(e) == ("MalformedPolicyDocument", 400)
    with pytest.raises(ClientError) as e:
        iam.get_role_policy(RoleName="r", PolicyName="missing")
    assert err(e) == ("NoSuchEntity", 404)
    iam.delete_role_policy(RoleName="r", PolicyName="pr")
    assert iam.list_role_policies(RoleName="r")["PolicyNames"] == []


def test_instance_profiles(iam):
    iam.create_role(RoleName="ec2role", AssumeRolePolicyDocument=json.dumps(TRUST))
    ip = iam.create_instance_profile(InstanceProfileName="web", Path="/p/")["InstanceProfile"]
    assert ip["InstanceProfileId"].startswith("AIPA") and ip["Roles"] == []
    iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="ec2role")
    with pytest.raises(ClientError) as e:
        iam.add_role_to_instance_profile(InstanceProfileName="web", RoleName="ec2role")
    assert err(e) == ("LimitExceeded", 409)
    got = iam.get_instance_profile(InstanceProfileName="web")["InstanceProfile"]
    assert [r["RoleName"] for r in got["Roles"]] == ["ec2role"]
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles_for_role(RoleName="ec2role")["InstanceProfiles"]] == ["web"]
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName="ec2role")
    assert err(e) == ("DeleteConflict", 409)
    with pytest.raises(ClientError) as e:
        iam.delete_instance_profile(InstanceProfileName="web")
    assert err(e) == ("DeleteConflict", 409)
    iam.remove_role_from_instance_profile(InstanceProfileName="web", RoleName="ec2role")
    iam.tag_instance_profile(InstanceProfileName="web", Tags=[{"Key": "a", "Value": "b"}])
    assert iam.list_instance_profile_tags(InstanceProfileName="web")["Tags"] == [{"Key": "a", "Value": "b"}]
    assert [p["InstanceProfileName"] for p in iam.list_instance_profiles(PathPrefix="/p/")["InstanceProfiles"]] == ["web"]
    iam.delete_instance_profile(InstanceProfileName="web")
    with pytest.raises(ClientError) as e:
        iam.get_instance_profile(InstanceProfileName="web")
    assert err(e) == ("NoSuchEntity", 404)


def test_access_key_works_as_credentials(gateway, iam):
    user = iam.create_user(UserName="deployer", Path="/ci/")["User"]
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40 and key["Status"] == "Active"
    sts = gateway.client("sts", account=key["AccessKeyId"], secret=key["SecretAccessKey"])
    me = sts.get_caller_identity()
    assert me["Arn"] == f"arn:aws:iam::{iam.account}:user/ci/deployer"
    assert me["Account"] == iam.account and me["UserId"] == user["UserId"]
    # The key acts in its account: IAM calls with it see that account's users, and
    # GetUser without a name answers for the key's user.
    as_user = gateway.client("iam", account=key["AccessKeyId"], secret=key["SecretAccessKey"])
    assert as_user.get_user()["User"]["UserName"] == "deployer"
    assert [k["AccessKeyId"] for k in as_user.list_access_keys()["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    # Also through the aws CLI.
    out = gateway.aws("sts", "get-caller-identity", account=key["AccessKeyId"], check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Arn"].endswith(":user/ci/deployer")
    iam.update_access_key(UserName="deployer", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert iam.list_access_keys(UserName="deployer")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert _caller_arn(sts) != me["Arn"]
    iam.update_access_key(UserName="deployer", AccessKeyId=key["AccessKeyId"], Status="Active")
    assert _caller_arn(sts) == me["Arn"]
    iam.create_access_key(UserName="deployer")
    with pytest.raises(ClientError) as e:
        iam.create_access_key(UserName="deployer")
    assert err(e) == ("LimitExceeded", 409)
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="deployer")
    assert err(e) == ("DeleteConflict", 409)
    iam.delete_access_key(UserName="deployer", AccessKeyId=key["AccessKeyId"])
    assert _caller_arn(sts) != me["Arn"]
    with pytest.raises(ClientError) as e:
        iam.delete_access_key(UserName="deployer", AccessKeyId=key["AccessKeyId"])
    assert err(e) == ("NoSuchEntity", 404)
    last = iam.get_access_key_last_used(AccessKeyId=iam.list_access_keys(UserName="deployer")["AccessKeyMetadata"][0]["AccessKeyId"])
    assert last["UserName"] == "deployer"


def _caller_arn(sts):
    try:
        return sts.get_caller_identity()["Arn"]
    except ClientError as e:
        return e.response["Error"]["Code"]


def test_simulate_custom_policy_denies(iam):
    allow = json.dumps(S3_READ)
    deny = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"}]})
    out = iam.simulate_custom_policy(
        PolicyInputList=[allow, deny], ActionNames=["s3:GetObject", "s3:PutObject"],
        ResourceArns=["arn:aws:s3:::secret/key", "arn:aws:s3:::public/key"],
    )["EvaluationResults"]
    decisions = {(r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"] for r in out}
    assert decisions == {
        ("s3:GetObject", "arn:aws:s3:::secret/key"): "explicitDeny",
        ("s3:GetObject", "arn:aws:s3:::public/key"): "allowed",
        ("s3:PutObject", "arn:aws:s3:::secret/key"): "implicitDeny",
        ("s3:PutObject", "arn:aws:s3:::public/key"): "implicitDeny",
    }
    denied = next(r for r in out if r["EvalDecision"] == "explicitDeny")
    assert denied["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.2"
    cond = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                       "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}]})
    r = iam.simulate_custom_policy(PolicyInputList=[cond], ActionNames=["ec2:RunInstances"])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny" and r["MissingContextValues"] == ["aws:RequestedRegion"]
    r = iam.simulate_custom_policy(PolicyInputList=[cond], ActionNames=["ec2:RunInstances"], ContextEntries=[
        {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["eu-west-1"], "ContextKeyType": "string"}])
    assert r["EvaluationResults"][0]["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as e:
        iam.simulate_custom_policy(PolicyInputList=["{bad"], ActionNames=["s3:GetObject"])
    assert err(e) == ("MalformedPolicyDocument", 400)


def test_simulate_principal_policy(iam):
    iam.create_user(UserName="sim")
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="sim")
    iam.attach_group_policy(GroupName="readers", PolicyArn="arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
    iam.put_user_policy(UserName="sim", PolicyName="nodelete", PolicyDocument=json.dumps({"Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                      {"Effect": "Deny", "Action": "sqs:DeleteQueue", "Resource": "*"}]}))
    arn = iam.get_user(UserName="sim")["User"]["Arn"]
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "s3:PutObject",
                                                                           "sqs:SendMessage", "sqs:DeleteQueue"])
    d = {r["EvalActionName"]: r for r in res["EvaluationResults"]}
    assert d["s3:GetObject"]["EvalDecision"] == "allowed"
    assert d["s3:GetObject"]["MatchedStatements"][0]["SourcePolicyType"] == "aws-managed"
    assert d["s3:PutObject"]["EvalDecision"] == "implicitDeny"
    assert d["sqs:SendMessage"]["EvalDecision"] == "allowed"
    assert d["sqs:DeleteQueue"]["EvalDecision"] == "explicitDeny"
    assert d["sqs:DeleteQueue"]["MatchedStatements"][0]["SourcePolicyId"] == "nodelete"
    # A permissions boundary limits what the policies allow.
    iam.put_user_permissions_boundary(UserName="sim", PermissionsBoundary="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    res = iam.simulate_principal_policy(PolicySourceArn=arn, ActionNames=["s3:GetObject", "sqs:SendMessage"])
    d = {r["EvalActionName"]: r for r in res["EvaluationResults"]}
    assert d["s3:GetObject"]["EvalDecision"] == "implicitDeny"
    assert d["s3:GetObject"]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert d["sqs:SendMessage"]["EvalDecision"] == "allowed"
    with pytest.raises(ClientError) as e:
        iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{iam.account}:user/ghost", ActionNames=["s3:*"])
    assert err(e) == ("NoSuchEntity", 404)


def test_login_profile_and_password_policy(iam):
    iam.create_user(UserName="web")
    iam.update_account_password_policy(MinimumPasswordLength=12, RequireNumbers=True, MaxPasswordAge=90)
    pp = iam.get_account_password_policy()["PasswordPolicy"]
    assert pp["MinimumPasswordLength"] == 12 and pp["RequireNumbers"] and pp["ExpirePasswords"]
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName="web", Password="short1")
    assert err(e) == ("PasswordPolicyViolation", 400)
    lp = iam.create_login_profile(UserName="web", Password="long-enough-123", PasswordResetRequired=True)
    assert lp["LoginProfile"]["PasswordResetRequired"] is True
    with pytest.raises(ClientError) as e:
        iam.create_login_profile(UserName="web", Password="long-enough-123")
    assert err(e) == ("EntityAlreadyExists", 409)
    iam.update_login_profile(UserName="web", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="web")["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="web")
    assert err(e) == ("DeleteConflict", 409)
    iam.delete_login_profile(UserName="web")
    with pytest.raises(ClientError) as e:
        iam.get_login_profile(UserName="web")
    assert err(e) == ("NoSuchEntity", 404)
    iam.delete_account_password_policy()
    with pytest.raises(ClientError) as e:
        iam.get_account_password_policy()
    assert err(e) == ("NoSuchEntity", 404)


def test_account_alias_summary_and_details(iam):
    iam.create_account_alias(AccountAlias="my-team")
    assert iam.list_account_aliases()["AccountAliases"] == ["my-team"]
    with pytest.raises(ClientError) as e:
        iam.create_account_alias(AccountAlias="Bad_Alias")
    assert err(e) == ("ValidationError", 400)
    iam.delete_account_alias(AccountAlias="my-team")
    assert iam.list_account_aliases()["AccountAliases"] == []
    iam.create_user(UserName="u")
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=json.dumps(S3_READ))
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.create_policy(PolicyName="mine", PolicyDocument=json.dumps(S3_READ))
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] == 1 and summary["Roles"] == 1 and summary["Policies"] == 1
    assert summary["AccessKeysPerUserQuota"] == 2
    details = iam.get_account_authorization_details()
    assert [u["UserName"] for u in details["UserDetailList"]] == ["u"]
    role = details["RoleDetailList"][0]
    assert role["RolePolicyList"][0]["PolicyDocument"] == S3_READ
    assert role["AttachedManagedPolicies"][0]["PolicyName"] == "ReadOnlyAccess"
    assert {p["PolicyName"] for p in details["Policies"]} == {"mine", "ReadOnlyAccess"}
    only_roles = iam.get_account_authorization_details(Filter=["Role"])
    assert only_roles["UserDetailList"] == [] and len(only_roles["RoleDetailList"]) == 1


def test_credential_report(iam):
    iam.create_user(UserName="reported")
    iam.create_access_key(UserName="reported")
    with pytest.raises(ClientError) as e:
        iam.get_credential_report()
    assert err(e)[0] == "ReportNotPresent"
    assert iam.generate_credential_report()["State"] in ("STARTED", "COMPLETE")
    report = iam.get_credential_report()
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert [r["user"] for r in rows] == ["<root_account>", "reported"]
    assert rows[1]["access_key_1_active"] == "true" and rows[1]["access_key_2_active"] == "false"


def test_service_linked_role_and_providers(iam):
    role = iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")["Role"]
    assert role["RoleName"] == "AWSServiceRoleForECS" and role["Path"] == "/aws-service-role/ecs.amazonaws.com/"
    with pytest.raises(ClientError) as e:
        iam.delete_role(RoleName="AWSServiceRoleForECS")
    assert err(e)[0] == "UnmodifiableEntity"
    task = iam.delete_service_linked_role(RoleName="AWSServiceRoleForECS")["DeletionTaskId"]
    assert iam.get_service_linked_role_deletion_status(DeletionTaskId=task)["Status"] == "SUCCEEDED"
    arn = iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com",
                                              ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{iam.account}:oidc-provider/token.actions.githubusercontent.com"
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="other")
    assert iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)["ClientIDList"] == ["sts.amazonaws.com", "other"]
    with pytest.raises(ClientError) as e:
        iam.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ThumbprintList=["a" * 40])
    assert err(e) == ("EntityAlreadyExists", 409)
    assert [p["Arn"] for p in iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]] == [arn]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as e:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert err(e) == ("NoSuchEntity", 404)
    metadata = "<EntityDescriptor>" + "x" * 1000 + "</EntityDescriptor>"
    saml = iam.create_saml_provider(Name="okta", SAMLMetadataDocument=metadata)["SAMLProviderArn"]
    assert saml == f"arn:aws:iam::{iam.account}:saml-provider/okta"
    assert iam.get_saml_provider(SAMLProviderArn=saml)["SAMLMetadataDocument"] == metadata
    assert [p["Arn"] for p in iam.list_saml_providers()["SAMLProviderList"]] == [saml]
    iam.delete_saml_provider(SAMLProviderArn=saml)
    assert iam.list_saml_providers()["SAMLProviderList"] == []


def test_virtual_mfa_devices(iam):
    iam.create_user(UserName="m")
    dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="m-phone")["VirtualMFADevice"]
    serial = dev["SerialNumber"]
    assert serial == f"arn:aws:iam::{iam.account}:mfa/m-phone" and dev["Base32StringSeed"]
    with pytest.raises(ClientError) as e:
        iam.enable_mfa_device(UserName="m", SerialNumber=serial, AuthenticationCode1="abcdef", AuthenticationCode2="654321")
    assert err(e)[0] == "InvalidAuthenticationCode"
    iam.enable_mfa_device(UserName="m", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    assert [d["SerialNumber"] for d in iam.list_mfa_devices(UserName="m")["MFADevices"]] == [serial]
    assigned = iam.list_virtual_mfa_devices(AssignmentStatus="Assigned")["VirtualMFADevices"]
    assert assigned[0]["User"]["UserName"] == "m"
    with pytest.raises(ClientError) as e:
        iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert err(e) == ("DeleteConflict", 409)
    iam.deactivate_mfa_device(UserName="m", SerialNumber=serial)
    iam.delete_virtual_mfa_device(SerialNumber=serial)
    assert iam.list_virtual_mfa_devices()["VirtualMFADevices"] == []


CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQk5v\n-----END CERTIFICATE-----"
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEG\n-----END PRIVATE KEY-----"
SSH_KEY = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDhVuBkKSuU2qGJpWZVmS3Kr4HqzzuKm5lNhHsCv8ebY4PI"
           "Yq2rNQ3tTHcOr3x9K8mYc5oVbTcXK9RuLZ1eY0mG9u7Ld3Wl user@host")


def test_ssh_keys_and_certificates(iam):
    iam.create_user(UserName="ops")
    k = iam.upload_ssh_public_key(UserName="ops", SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]
    assert k["SSHPublicKeyId"].startswith("APKA") and k["Fingerprint"].count(":") == 15
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName="ops", SSHPublicKeyBody=SSH_KEY)
    assert err(e) == ("DuplicateSSHPublicKey", 400)
    with pytest.raises(ClientError) as e:
        iam.upload_ssh_public_key(UserName="ops", SSHPublicKeyBody="not a key")
    assert err(e) == ("InvalidPublicKey", 400)
    iam.update_ssh_public_key(UserName="ops", SSHPublicKeyId=k["SSHPublicKeyId"], Status="Inactive")
    got = iam.get_ssh_public_key(UserName="ops", SSHPublicKeyId=k["SSHPublicKeyId"], Encoding="SSH")["SSHPublicKey"]
    assert got["Status"] == "Inactive" and got["SSHPublicKeyBody"] == SSH_KEY
    assert [x["SSHPublicKeyId"] for x in iam.list_ssh_public_keys(UserName="ops")["SSHPublicKeys"]] == [k["SSHPublicKeyId"]]
    sc = iam.upload_signing_certificate(UserName="ops", CertificateBody=CERT)["Certificate"]
    assert sc["Status"] == "Active" and len(sc["CertificateId"]) == 32
    with pytest.raises(ClientError) as e:
        iam.delete_user(UserName="ops")
    assert err(e) == ("DeleteConflict", 409)
    iam.update_signing_certificate(UserName="ops", CertificateId=sc["CertificateId"], Status="Inactive")
    assert iam.list_signing_certificates(UserName="ops")["Certificates"][0]["Status"] == "Inactive"
    iam.delete_signing_certificate(UserName="ops", CertificateId=sc["CertificateId"])
    iam.delete_ssh_public_key(UserName="ops", SSHPublicKeyId=k["SSHPublicKeyId"])
    iam.delete_user(UserName="ops")

    meta = iam.upload_server_certificate(ServerCertificateName="web", Path="/cloudfront/", CertificateBody=CERT,
                                         PrivateKey=KEY)["ServerCertificateMetadata"]
    assert meta["Arn"] == f"arn:aws:iam::{iam.account}:server-certificate/cloudfront/web"
    assert meta["ServerCertificateId"].startswith("ASCA")
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName="bad", CertificateBody="nope", PrivateKey=KEY)
    assert err(e) == ("MalformedCertificate", 400)
    with pytest.raises(ClientError) as e:
        iam.upload_server_certificate(ServerCertificateName="web", CertificateBody=CERT, PrivateKey=KEY)
    assert err(e) == ("EntityAlreadyExists", 409)
    assert iam.get_server_certificate(ServerCertificateName="web")["ServerCertificate"]["CertificateBody"] == CERT
    iam.update_server_certificate(ServerCertificateName="web", NewServerCertificateName="web2")
    names = [c["ServerCertificateName"] for c in iam.list_server_certificates(PathPrefix="/cloudfront/")["ServerCertificateMetadataList"]]
    assert names == ["web2"]
    iam.tag_server_certificate(ServerCertificateName="web2", Tags=[{"Key": "a", "Value": "b"}])
    assert iam.list_server_certificate_tags(ServerCertificateName="web2")["Tags"] == [{"Key": "a", "Value": "b"}]
    assert iam.get_account_summary()["SummaryMap"]["ServerCertificates"] == 1
    iam.delete_server_certificate(ServerCertificateName="web2")
    with pytest.raises(ClientError) as e:
        iam.get_server_certificate(ServerCertificateName="web2")
    assert err(e) == ("NoSuchEntity", 404)


def test_service_specific_credentials(iam):
    iam.create_user(UserName="git")
    c = iam.create_service_specific_credential(UserName="git", ServiceName="codecommit.amazonaws.com")["ServiceSpecificCredential"]
    assert c["ServiceUserName"] == f"git-at-{iam.account}" and c["ServicePassword"] and c["Status"] == "Active"
    cid = c["ServiceSpecificCredentialId"]
    with pytest.raises(ClientError) as e:
        iam.create_service_specific_credential(UserName="git", ServiceName="nope.amazonaws.com")
    assert err(e) == ("NotSupportedService", 404)
    reset = iam.reset_service_specific_credential(UserName="git", ServiceSpecificCredentialId=cid)["ServiceSpecificCredential"]
    assert reset["ServicePassword"] != c["ServicePassword"]
    iam.update_service_specific_credential(UserName="git", ServiceSpecificCredentialId=cid, Status="Inactive")
    listed = iam.list_service_specific_credentials(UserName="git")["ServiceSpecificCredentials"]
    assert [(x["ServiceSpecificCredentialId"], x["Status"]) for x in listed] == [(cid, "Inactive")]
    assert "ServicePassword" not in listed[0]
    iam.delete_service_specific_credential(UserName="git", ServiceSpecificCredentialId=cid)
    assert iam.list_service_specific_credentials(UserName="git")["ServiceSpecificCredentials"] == []


def test_change_password_as_the_user(gateway, iam):
    iam.create_user(UserName="pw")
    iam.create_login_profile(UserName="pw", Password="first-Password-1", PasswordResetRequired=True)
    key = iam.create_access_key(UserName="pw")["AccessKey"]
    me = gateway.client("iam", account=key["AccessKeyId"], secret=key["SecretAccessKey"])
    with pytest.raises(ClientError) as e:
        me.change_password(OldPassword="wrong-password", NewPassword="second-Password-2")
    assert err(e) == ("AccessDenied", 403)
    me.change_password(OldPassword="first-Password-1", NewPassword="second-Password-2")
    assert iam.get_login_profile(UserName="pw")["LoginProfile"]["PasswordResetRequired"] is False
    with pytest.raises(ClientError) as e:
        iam.change_password(OldPassword="a-password-1", NewPassword="b-password-2")
    assert err(e) == ("InvalidUserType", 400)


def test_context_keys_access_advisor_and_granting(iam):
    doc = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/${aws:username}/*",
         "Condition": {"StringEquals": {"s3:prefix": "x"}, "Bool": {"aws:SecureTransport": "true"}}}]})
    keys = iam.get_context_keys_for_custom_policy(PolicyInputList=[doc])["ContextKeyNames"]
    assert sorted(keys) == ["aws:SecureTransport", "aws:username", "s3:prefix"]
    iam.create_role(RoleName="r", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="r", PolicyName="inline", PolicyDocument=doc)
    iam.attach_role_policy(RoleName="r", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSFullAccess")
    role_arn = iam.get_role(RoleName="r")["Role"]["Arn"]
    assert "s3:prefix" in iam.get_context_keys_for_principal_policy(PolicySourceArn=role_arn)["ContextKeyNames"]
    granting = iam.list_policies_granting_service_access(Arn=role_arn, ServiceNamespaces=["s3", "sqs", "ec2"])
    by_ns = {g["ServiceNamespace"]: g["Policies"] for g in granting["PoliciesGrantingServiceAccess"]}
    assert by_ns["s3"] == [{"PolicyName": "inline", "PolicyType": "INLINE", "EntityType": "ROLE", "EntityName": "r"}]
    assert by_ns["sqs"][0]["PolicyArn"] == "arn:aws:iam::aws:policy/AmazonSQSFullAccess"
    assert by_ns["ec2"] == []
    job = iam.generate_service_last_accessed_details(Arn=role_arn)["JobId"]
    details = iam.get_service_last_accessed_details(JobId=job)
    assert details["JobStatus"] == "COMPLETED"
    assert [s["ServiceNamespace"] for s in details["ServicesLastAccessed"]] == ["s3", "sqs"]
    with pytest.raises(ClientError) as e:
        iam.get_service_last_accessed_details(JobId="00000000-0000-0000-0000-000000000000")
    assert err(e) == ("NoSuchEntity", 404)


def test_mfa_tags_sts_preferences_and_outbound_federation(iam):
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="d")["VirtualMFADevice"]["SerialNumber"]
    iam.tag_mfa_device(SerialNumber=serial, Tags=[{"Key": "k", "Value": "v"}])
    assert iam.list_mfa_device_tags(SerialNumber=serial)["Tags"] == [{"Key": "k", "Value": "v"}]
    assert iam.get_mfa_device(SerialNumber=serial)["SerialNumber"] == serial
    iam.set_security_token_service_preferences(GlobalEndpointTokenVersion="v2Token")
    assert iam.get_account_summary()["SummaryMap"]["GlobalEndpointTokenVersion"] == 2
    with pytest.raises(ClientError) as e:
        iam.get_outbound_web_identity_federation_info()
    assert err(e) == ("FeatureDisabled", 404)
    issuer = iam.enable_outbound_web_identity_federation()["IssuerIdentifier"]
    assert issuer.startswith("https://")
    assert iam.get_outbound_web_identity_federation_info()["IssuerIdentifier"] == issuer
    with pytest.raises(ClientError) as e:
        iam.enable_outbound_web_identity_federation()
    assert err(e) == ("FeatureEnabled", 409)
    iam.disable_outbound_web_identity_federation()


def test_delegation_request_workflow(gateway):
    partner_account, owner_account = acct(), acct()
    partner = gateway.client("iam", account=partner_account)
    owner = gateway.client("iam", account=owner_account)
    rid = partner.create_delegation_request(
        OwnerAccountId=owner_account, Description="support access",
        Permissions={"PolicyTemplateArn": "arn:aws:iam::aws:policy-template/Support",
                     "Parameters": [{"Name": "bucket", "Values": ["b1"], "Type": "string"}]},
        RequestorWorkflowId="workflow-1", NotificationChannel="arn:aws:sns:us-east-1:111111111111:t",
        SessionDuration=3600,
    )["DelegationRequestId"]
    got = owner.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]
    assert got["State"] == "UNASSIGNED" and got["RequestorId"] == partner_account
    assert got["Permissions"]["Parameters"][0]["Values"] == ["b1"]
    with pytest.raises(ClientError) as e:
        owner.send_delegation_token(DelegationRequestId=rid)
    assert err(e) == ("InvalidInput", 400)
    owner.associate_delegation_request(DelegationRequestId=rid)
    owner.accept_delegation_request(DelegationRequestId=rid)
    assert owner.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]["State"] == "ACCEPTED"
    owner.send_delegation_token(DelegationRequestId=rid)
    assert partner.get_delegation_request(DelegationRequestId=rid)["DelegationRequest"]["State"] == "FINALIZED"
    with pytest.raises(ClientError) as e:
        owner.reject_delegation_request(DelegationRequestId=rid, Notes="too late")
    assert err(e) == ("InvalidInput", 400)
    assert [r["DelegationRequestId"] for r in partner.list_delegation_requests()["DelegationRequests"]] == [rid]
    with pytest.raises(ClientError) as e:
        gateway.client("iam", account=acct()).get_delegation_request(DelegationRequestId=rid)
    assert err(e) == ("NoSuchEntity", 404)


def test_unimplemented_operation_is_501(iam):
    with pytest.raises(ClientError) as e:
        iam.list_organizations_features()
    assert err(e)[1] == 501


def test_sts_assume_role_reads_the_iam_role(make_gateway, tmp_path):
    """With STS told to check roles in IAM, AssumeRole answers with the IAM
    role's id and refuses roles IAM does not have."""
    from conftest import ROOT
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(
        "[plugins.sts]\n"
        f'path = "{ROOT}/target/wasm32-wasip2/plugin/sts.wasm"\n'
        'capabilities = ["identity"]\n'
        "[plugins.sts.settings]\n"
        'check_roles_in_iam = "true"\n'
    )
    g = make_gateway(plugins_file=plugins)
    account = acct()
    iam = g.client("iam", account=account)
    role = iam.create_role(RoleName="app", Path="/svc/", AssumeRolePolicyDocument=json.dumps(TRUST),
                           MaxSessionDuration=7200)["Role"]
    sts = g.client("sts", account=account)
    out = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200)
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:s1"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=10800)
    assert err(e)[0] == "ValidationError"
    with pytest.raises(ClientError) as e:
        sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/missing", RoleSessionName="s1")
    assert err(e) == ("AccessDenied", 403)


def test_autocreate_aws_managed_setting(make_gateway, tmp_path):
    """With `autocreate_aws_managed`, AWS managed policies outside the
    built-in catalog resolve too (granting nothing in the simulator)."""
    from conftest import ROOT
    plugins = tmp_path / "plugins.toml"
    plugins.write_text(
        "[plugins.iam]\n"
        f'path = "{ROOT}/target/wasm32-wasip2/plugin/iam.wasm"\n'
        'capabilities = ["identity"]\n'
        "[plugins.iam.settings]\n"
        'autocreate_aws_managed = "true"\n'
    )
    g = make_gateway(plugins_file=plugins)
    iam = g.client("iam", account=acct())
    arn = "arn:aws:iam::aws:policy/service-role/AWSConfigRole"
    iam.create_role(RoleName="cfg", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.attach_role_policy(RoleName="cfg", PolicyArn=arn)
    p = iam.get_policy(PolicyArn=arn)["Policy"]
    assert p["PolicyName"] == "AWSConfigRole" and p["Path"] == "/service-role/" and p["AttachmentCount"] == 1
    role_arn = iam.get_role(RoleName="cfg")["Role"]["Arn"]
    r = iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=["config:Put*"])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny"


def test_concurrent_access_keys_all_work(gateway):
    """Concurrent CreateAccessKey calls in one account conflict and re-run;
    every key handed out is listed and works."""
    from concurrent.futures import ThreadPoolExecutor
    account = acct()
    iam = gateway.client("iam", account=account)
    for i in range(6):
        iam.create_user(UserName=f"c{i}")

    def make(i):
        return gateway.client("iam", account=account).create_access_key(UserName=f"c{i}")["AccessKey"]

    with ThreadPoolExecutor(6) as pool:
        keys = list(pool.map(make, range(6)))
    for i, k in enumerate(keys):
        assert [x["AccessKeyId"] for x in iam.list_access_keys(UserName=f"c{i}")["AccessKeyMetadata"]] == [k["AccessKeyId"]]
        me = gateway.client("sts", account=k["AccessKeyId"], secret=k["SecretAccessKey"]).get_caller_identity()
        assert me["Arn"] == f"arn:aws:iam::{account}:user/c{i}"
