"""STS through the whole gateway with boto3 and the aws CLI: identities in
two accounts, issued credentials that work as access keys, AWS's errors."""

import base64
import datetime as dt
import json
import re

import botocore.exceptions
import pytest

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"


def test_caller_identity_defaults_to_the_account_root(gateway):
    ident = gateway.client("sts", account="test").get_caller_identity()
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"
    assert ident["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("account", [ACCOUNT_A, ACCOUNT_B])
def test_twelve_digit_access_key_is_the_account(gateway, account):
    ident = gateway.client("sts", account=account).get_caller_identity()
    assert ident["Account"] == account
    assert ident["Arn"] == f"arn:aws:iam::{account}:root"


def assume(gateway, caller, role_account, role="deployer", session="ci-run", **kw):
    sts = gateway.client("sts", account=caller)
    return sts.assume_role(RoleArn=f"arn:aws:iam::{role_account}:role/{role}", RoleSessionName=session, **kw)


@pytest.mark.parametrize("caller,role_account", [(ACCOUNT_A, ACCOUNT_A), (ACCOUNT_A, ACCOUNT_B)])
def test_assumed_role_credentials_act_as_the_role(gateway, caller, role_account):
    before = dt.datetime.now(dt.timezone.utc)
    out = assume(gateway, caller, role_account, DurationSeconds=900)
    creds = out["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", creds["AccessKeyId"])
    assert len(creds["SecretAccessKey"]) == 40
    assert creds["SessionToken"]
    lifetime = (creds["Expiration"] - before).total_seconds()
    assert 880 <= lifetime <= 920
    user = out["AssumedRoleUser"]
    assert user["Arn"] == f"arn:aws:sts::{role_account}:assumed-role/deployer/ci-run"
    assert re.fullmatch(r"AROA[A-Z0-9]{16}:ci-run", user["AssumedRoleId"])

    as_role = gateway.client(
        "sts", account=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
    )
    ident = as_role.get_caller_identity()
    assert ident["Arn"] == user["Arn"]
    assert ident["Account"] == role_account
    assert ident["UserId"] == user["AssumedRoleId"]

    info = gateway.client("sts", account=caller).get_access_key_info(AccessKeyId=creds["AccessKeyId"])
    assert info["Account"] == role_account


def test_session_token_and_federation_token(gateway):
    sts = gateway.client("sts", account=ACCOUNT_B)
    session = sts.get_session_token(DurationSeconds=3600)["Credentials"]
    assert re.fullmatch(r"ASIA[A-Z0-9]{16}", session["AccessKeyId"])
    ident = gateway.client("sts", account=session["AccessKeyId"], token=session["SessionToken"]).get_caller_identity()
    assert ident["Account"] == ACCOUNT_B

    fed = sts.get_federation_token(Name="bob", DurationSeconds=900)
    assert fed["FederatedUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:federated-user/bob"
    assert fed["FederatedUser"]["FederatedUserId"] == f"{ACCOUNT_B}:bob"
    ident = gateway.client("sts", account=fed["Credentials"]["AccessKeyId"]).get_caller_identity()
    assert ident["Arn"] == fed["FederatedUser"]["Arn"]


def jwt(claims):
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    return f"{enc({'alg': 'RS256', 'typ': 'JWT'})}.{enc(claims)}.c2lnbmF0dXJl"


def test_assume_role_with_web_identity(gateway):
    sts = gateway.client("sts", account=ACCOUNT_A)
    token = jwt({"sub": "user-123", "aud": "my-client", "iss": "https://issuer.example.com"})
    out = sts.assume_role_with_web_identity(
        RoleArn=f"arn:aws:iam::{ACCOUNT_A}:role/web", RoleSessionName="web-session", WebIdentityToken=token
    )
    assert out["SubjectFromWebIdentityToken"] == "user-123"
    assert out["Audience"] == "my-client"
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_A}:assumed-role/web/web-session"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"RoleArn": "arn:aws:iam::12345:role/too-short-account", "RoleSessionName": "ok"},
        {"RoleArn": "arn:aws:s3:::a-bucket-not-a-role", "RoleSessionName": "ok"},
        {"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "ok", "DurationSeconds": 43201},
        {"RoleArn": "arn:aws:iam::111111111111:role/r", "RoleSessionName": "bad name!"},
    ],
)
def test_invalid_assume_role_is_a_validation_error(gateway, kwargs):
    # Client-side validation off: these must be refused by the gateway itself.
    sts = gateway.client("sts", account=ACCOUNT_A, parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts.assume_role(**kwargs)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_required_parameter(gateway):
    sts = gateway.client("sts", account=ACCOUNT_A, parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as err:
        sts.assume_role(RoleSessionName="x")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_cli_round_trip(gateway):
    out = gateway.aws("sts", "get-caller-identity", account=ACCOUNT_B)
    ident = json.loads(out.stdout)
    assert ident["Account"] == ACCOUNT_B
    out = gateway.aws(
        "sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCOUNT_B}:role/cli", "--role-session-name", "s1",
        account=ACCOUNT_A,
    )
    assert json.loads(out.stdout)["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_B}:assumed-role/cli/s1"
    bad = gateway.aws(
        "sts", "assume-role", "--role-arn", "arn:aws:iam::12345:role/bad-account", "--role-session-name", "s1",
        check=False,
    )
    assert bad.returncode != 0
    assert "ValidationError" in bad.stderr


def test_issued_credentials_survive_a_restart_with_persistence(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    creds = assume(g, ACCOUNT_A, ACCOUNT_B)["Credentials"]
    g.restart()
    ident = g.client("sts", account=creds["AccessKeyId"], token=creds["SessionToken"]).get_caller_identity()
    assert ident["Account"] == ACCOUNT_B
