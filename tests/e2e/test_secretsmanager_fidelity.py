"""Secrets Manager fidelity (issue 25): other regions' and accounts' ARNs,
local conveniences (unknown KmsKeyId, rotation config without Lambda),
multi-Region replicas and events."""

import time
import uuid

import botocore
import pytest

ACCOUNT = "000000000000"


def uid():
    return uuid.uuid4().hex[:10]


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as e:
        call(*args, **kw)
    return e.value.response


@pytest.fixture
def sm(gateway):
    return gateway.client("secretsmanager")


def test_partial_and_full_arns_of_another_region_or_account(sm):
    name = f"fid/{uid()}"
    arn = sm.create_secret(Name=name, SecretString="v")["ARN"]
    partial = arn.rsplit("-", 1)[0]
    assert sm.get_secret_value(SecretId=partial)["SecretString"] == "v"
    for other in (arn.replace(":us-east-1:", ":us-west-2:"), partial.replace(":us-east-1:", ":us-west-2:")):
        err = error_of(sm.get_secret_value, SecretId=other)
        assert err["Error"]["Code"] == "ResourceNotFoundException", err
        err = error_of(sm.put_secret_value, SecretId=other, SecretString="w")
        assert err["Error"]["Code"] == "ResourceNotFoundException", err
    err = error_of(sm.get_secret_value, SecretId=partial.replace(ACCOUNT, "111122223333"))
    assert err["Error"]["Code"] == "AccessDeniedException", err
    assert sm.get_secret_value(SecretId=arn)["SecretString"] == "v"


def test_an_unknown_kms_key_id_is_accepted_and_echoed(sm):
    name = f"fid/{uid()}"
    key = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000"
    sm.create_secret(Name=name, SecretString="v", KmsKeyId=key)
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == key
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    sm.update_secret(SecretId=name, KmsKeyId="alias/not-in-kms", SecretString="w")
    assert sm.describe_secret(SecretId=name)["KmsKeyId"] == "alias/not-in-kms"
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "w"


def test_rotate_secret_without_a_lambda_plugin_records_the_configuration(make_gateway):
    g = make_gateway(env={"SERVICES": "secretsmanager"})
    sm = g.client("secretsmanager")
    name = f"fid/{uid()}"
    sm.create_secret(Name=name, SecretString="v")
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotator"
    out = sm.rotate_secret(SecretId=name, RotationLambdaARN=fn, RotationRules={"AutomaticallyAfterDays": 7})
    assert out["Name"] == name and out["VersionId"]
    d = sm.describe_secret(SecretId=name)
    assert d["RotationEnabled"] is True
    assert d["RotationLambdaARN"] == fn
    assert d["RotationRules"]["AutomaticallyAfterDays"] == 7
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"


# --- group 5: multi-Region replicas -----------------------------------------


def test_replicas_are_read_only_copies_that_follow_the_primary(gateway):
    primary = gateway.client("secretsmanager", region="us-east-1")
    replica_sm = gateway.client("secretsmanager", region="eu-west-1")
    name = f"fid/{uid()}"
    out = primary.create_secret(Name=name, SecretString="v1",
                                AddReplicaRegions=[{"Region": "eu-west-1"}])
    arn = out["ARN"]
    assert out["ReplicationStatus"][0]["Region"] == "eu-west-1"
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    replica_arn = arn.replace(":us-east-1:", ":eu-west-1:")
    d = replica_sm.describe_secret(SecretId=name)
    assert d["ARN"] == replica_arn and d["PrimaryRegion"] == "us-east-1"
    assert replica_sm.get_secret_value(SecretId=name)["SecretString"] == "v1"
    assert replica_sm.get_secret_value(SecretId=replica_arn)["SecretString"] == "v1"
    # The replica follows the primary.
    primary.put_secret_value(SecretId=name, SecretString="v2")
    primary.update_secret(SecretId=name, Description="shared")
    assert replica_sm.get_secret_value(SecretId=name)["SecretString"] == "v2"
    assert replica_sm.describe_secret(SecretId=name)["Description"] == "shared"
    # Writes to the replica are refused.
    for call in (
        lambda: replica_sm.put_secret_value(SecretId=name, SecretString="x"),
        lambda: replica_sm.update_secret(SecretId=name, Description="x"),
        lambda: replica_sm.delete_secret(SecretId=name),
        lambda: replica_sm.tag_resource(SecretId=name, Tags=[{"Key": "k", "Value": "v"}]),
    ):
        err = error_of(call)
        assert err["Error"]["Code"] == "InvalidRequestException", err
    # The primary is not deleted while replicated.
    err = error_of(primary.delete_secret, SecretId=name, ForceDeleteWithoutRecovery=True)
    assert err["Error"]["Code"] == "InvalidRequestException", err
    # Removing the region deletes the replica.
    out = primary.remove_regions_from_replication(SecretId=name, RemoveReplicaRegions=["eu-west-1"])
    assert out["ReplicationStatus"] == []
    err = error_of(replica_sm.describe_secret, SecretId=name)
    assert err["Error"]["Code"] == "ResourceNotFoundException"
    primary.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_an_existing_secret_in_the_region_needs_force_overwrite(gateway):
    primary = gateway.client("secretsmanager", region="us-east-1")
    other = gateway.client("secretsmanager", region="ap-south-1")
    name = f"fid/{uid()}"
    other.create_secret(Name=name, SecretString="theirs")
    primary.create_secret(Name=name, SecretString="ours")
    out = primary.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "ap-south-1"}])
    [status] = out["ReplicationStatus"]
    assert status["Status"] == "Failed" and "already exists" in status["StatusMessage"]
    assert other.get_secret_value(SecretId=name)["SecretString"] == "theirs"
    out = primary.replicate_secret_to_regions(SecretId=name, AddReplicaRegions=[{"Region": "ap-south-1"}],
                                              ForceOverwriteReplicaSecret=True)
    assert out["ReplicationStatus"][0]["Status"] == "InSync"
    assert other.get_secret_value(SecretId=name)["SecretString"] == "ours"
    assert other.describe_secret(SecretId=name)["PrimaryRegion"] == "us-east-1"


def test_a_promoted_replica_is_a_standalone_secret(gateway):
    primary = gateway.client("secretsmanager", region="us-east-1")
    replica_sm = gateway.client("secretsmanager", region="us-west-2")
    name = f"fid/{uid()}"
    primary.create_secret(Name=name, SecretString="v1", AddReplicaRegions=[{"Region": "us-west-2"}])
    err = error_of(primary.stop_replication_to_replica, SecretId=name)
    assert err["Error"]["Code"] == "InvalidRequestException"
    out = replica_sm.stop_replication_to_replica(SecretId=name)
    assert out["ARN"].split(":")[3] == "us-west-2"
    assert "PrimaryRegion" not in replica_sm.describe_secret(SecretId=name)
    replica_sm.put_secret_value(SecretId=name, SecretString="mine")
    assert replica_sm.get_secret_value(SecretId=name)["SecretString"] == "mine"
    assert primary.get_secret_value(SecretId=name)["SecretString"] == "v1"
    assert primary.describe_secret(SecretId=name).get("ReplicationStatus", []) == []
    primary.put_secret_value(SecretId=name, SecretString="v2")
    assert replica_sm.get_secret_value(SecretId=name)["SecretString"] == "mine"


def test_write_operations_reach_eventbridge(gateway, sm):
    import json

    events, sqs = gateway.client("events"), gateway.client("sqs")
    name = f"fid/{uid()}"
    rule = f"sm-{uid()}"
    events.put_rule(Name=rule, EventPattern=json.dumps({
        "source": ["aws.secretsmanager"], "detail": {"requestParameters": {"name": [name]}}}))
    url = sqs.create_queue(QueueName=f"sm-events-{uid()}")["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": qarn}])
    arn = sm.create_secret(Name=name, SecretString="top-secret")["ARN"]
    got = []
    for _ in range(20):
        got += sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if got:
            break
    assert got, "no event delivered"
    event = json.loads(got[0]["Body"])
    assert event["source"] == "aws.secretsmanager"
    assert event["detail-type"] == "AWS API Call via CloudTrail"
    assert event["resources"] == [arn]
    d = event["detail"]
    assert d["eventSource"] == "secretsmanager.amazonaws.com" and d["eventName"] == "CreateSecret"
    assert d["requestParameters"]["name"] == name
    assert "top-secret" not in got[0]["Body"]
