"""The resource types added for issue 17's list, in one stack: IAM
ServiceLinkedRole, KMS ReplicaKey, DynamoDB GlobalTable, Secrets Manager
RotationSchedule and SecretTargetAttachment, Lambda LayerVersion and
LayerVersionPermission, Events Archive / Connection / ApiDestination, Step
Functions Activity. Each Ref / GetAtt is checked against the owning
service's own API, and deleting the stack removes every resource."""

import io
import json
import time
import uuid
import zipfile

import botocore.exceptions
import pytest

from stacks import wait

ACCOUNT = "000000000000"


def failure_reasons(cf, name):
    return [
        (e["LogicalResourceId"], e.get("ResourceStatusReason"))
        for e in cf.describe_stack_events(StackName=name)["StackEvents"]
        if e["ResourceStatus"].endswith("FAILED")
    ]


def layer_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("python/helper.py", "VALUE = 42\n")
    return buf.getvalue()


def template(suffix, primary_arn, bucket):
    return {
        "Parameters": {"PrimaryKeyArn": {"Type": "String", "Default": primary_arn}},
        "Resources": {
            "LinkedRole": {
                "Type": "AWS::IAM::ServiceLinkedRole",
                "Properties": {"AWSServiceName": "autoscaling.amazonaws.com", "CustomSuffix": suffix, "Description": "cfn made"},
            },
            "Replica": {
                "Type": "AWS::KMS::ReplicaKey",
                "Properties": {
                    "PrimaryKeyArn": {"Ref": "PrimaryKeyArn"},
                    "Description": "replica",
                    "KeyPolicy": {"Version": "2012-10-17", "Statement": [{"Sid": "root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}]},
                },
            },
            "Global": {
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "TableName": f"global-{suffix}",
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
                    "TimeToLiveSpecification": {"AttributeName": "ttl", "Enabled": True},
                    "Replicas": [
                        {"Region": "us-east-1", "Tags": [{"Key": "team", "Value": "data"}]},
                        {"Region": "eu-west-1"},
                    ],
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}},
            },
            "Rotator": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Runtime": "python3.12",
                    "Handler": "index.handler",
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
                },
            },
            "Secret": {
                "Type": "AWS::SecretsManager::Secret",
                "Properties": {"Name": f"db-{suffix}", "SecretString": json.dumps({"username": "admin", "password": "pw"})},
            },
            "Rotation": {
                "Type": "AWS::SecretsManager::RotationSchedule",
                "Properties": {
                    "SecretId": {"Ref": "Secret"},
                    "RotationLambdaARN": {"Fn::GetAtt": ["Rotator", "Arn"]},
                    "RotateImmediatelyOnUpdate": False,
                    "RotationRules": {"AutomaticallyAfterDays": 10},
                },
            },
            "Attachment": {
                "Type": "AWS::SecretsManager::SecretTargetAttachment",
                "Properties": {"SecretId": {"Ref": "Secret"}, "TargetId": "orders-db", "TargetType": "AWS::RDS::DBInstance"},
            },
            "Layer": {
                "Type": "AWS::Lambda::LayerVersion",
                "Properties": {
                    "LayerName": f"helpers-{suffix}",
                    "Description": "shared helpers",
                    "CompatibleRuntimes": ["python3.12"],
                    "Content": {"S3Bucket": bucket, "S3Key": "layer.zip"},
                },
            },
            "LayerPermission": {
                "Type": "AWS::Lambda::LayerVersionPermission",
                "Properties": {"Action": "lambda:GetLayerVersion", "LayerVersionArn": {"Ref": "Layer"}, "Principal": "111122223333"},
            },
            "Archive": {
                "Type": "AWS::Events::Archive",
                "Properties": {
                    "ArchiveName": f"archive-{suffix}",
                    "SourceArn": {"Fn::Sub": "arn:aws:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"},
                    "RetentionDays": "7",
                    "EventPattern": {"source": ["app.orders"]},
                },
            },
            "Connection": {
                "Type": "AWS::Events::Connection",
                "Properties": {
                    "Name": f"conn-{suffix}",
                    "AuthorizationType": "API_KEY",
                    "AuthParameters": {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "s3cret"}},
                },
            },
            "Destination": {
                "Type": "AWS::Events::ApiDestination",
                "Properties": {
                    "Name": f"dest-{suffix}",
                    "ConnectionArn": {"Fn::GetAtt": ["Connection", "Arn"]},
                    "InvocationEndpoint": "https://example.com/hook",
                    "HttpMethod": "POST",
                    "InvocationRateLimitPerSecond": 10,
                },
            },
            "Activity": {
                "Type": "AWS::StepFunctions::Activity",
                "Properties": {"Name": f"activity-{suffix}", "Tags": [{"Key": "team", "Value": "flow"}]},
            },
        },
        "Outputs": {
            "LinkedRole": {"Value": {"Ref": "LinkedRole"}},
            "LinkedRoleName": {"Value": {"Fn::GetAtt": ["LinkedRole", "RoleName"]}},
            "ReplicaId": {"Value": {"Ref": "Replica"}},
            "ReplicaArn": {"Value": {"Fn::GetAtt": ["Replica", "Arn"]}},
            "Global": {"Value": {"Ref": "Global"}},
            "GlobalArn": {"Value": {"Fn::GetAtt": ["Global", "Arn"]}},
            "GlobalStream": {"Value": {"Fn::GetAtt": ["Global", "StreamArn"]}},
            "Rotation": {"Value": {"Ref": "Rotation"}},
            "Attachment": {"Value": {"Ref": "Attachment"}},
            "Layer": {"Value": {"Ref": "Layer"}},
            "LayerArn": {"Value": {"Fn::GetAtt": ["Layer", "LayerVersionArn"]}},
            "LayerPermission": {"Value": {"Ref": "LayerPermission"}},
            "Archive": {"Value": {"Ref": "Archive"}},
            "ArchiveArn": {"Value": {"Fn::GetAtt": ["Archive", "Arn"]}},
            "Connection": {"Value": {"Ref": "Connection"}},
            "ConnectionArn": {"Value": {"Fn::GetAtt": ["Connection", "Arn"]}},
            "ConnectionSecret": {"Value": {"Fn::GetAtt": ["Connection", "SecretArn"]}},
            "Destination": {"Value": {"Ref": "Destination"}},
            "DestinationArn": {"Value": {"Fn::GetAtt": ["Destination", "Arn"]}},
            "Activity": {"Value": {"Ref": "Activity"}},
            "ActivityName": {"Value": {"Fn::GetAtt": ["Activity", "Name"]}},
        },
    }


def test_new_resource_types(gateway):
    suffix = uuid.uuid4().hex[:8]
    cf = gateway.client("cloudformation")
    iam = gateway.client("iam")
    kms = gateway.client("kms")
    kms_west = gateway.client("kms", region="us-west-2")
    ddb = gateway.client("dynamodb")
    sm = gateway.client("secretsmanager")
    lam = gateway.client("lambda")
    events = gateway.client("events")
    sfn = gateway.client("stepfunctions")
    s3 = gateway.client("s3")

    primary = kms_west.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
    bucket = f"layers-{suffix}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="layer.zip", Body=layer_zip())

    name = f"types-{suffix}"
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template(suffix, primary["Arn"], bucket)), Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", failure_reasons(cf, name)
    out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}

    # IAM: a service-linked role under the service's path.
    role = iam.get_role(RoleName=out["LinkedRole"])["Role"]
    assert out["LinkedRole"] == out["LinkedRoleName"] == f"AWSServiceRoleForAutoScaling_{suffix}"
    assert role["Path"] == "/aws-service-role/autoscaling.amazonaws.com/"
    assert role["Description"] == "cfn made"

    # KMS: a multi-Region key in the stack's region, not the primary's.
    replica = kms.describe_key(KeyId=out["ReplicaId"])["KeyMetadata"]
    assert replica["Arn"] == out["ReplicaArn"]
    assert replica["Arn"].startswith(f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-")
    assert replica["MultiRegion"] is True and replica["Description"] == "replica"

    # DynamoDB: the table here, the other replica recorded.
    table = ddb.describe_table(TableName=out["Global"])["Table"]
    assert out["GlobalArn"] == table["TableArn"]
    assert out["GlobalStream"] == table["LatestStreamArn"]
    assert [r["RegionName"] for r in table["Replicas"]] == ["eu-west-1"]
    assert ddb.describe_time_to_live(TableName=out["Global"])["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert {"Key": "team", "Value": "data"} in ddb.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]

    # Secrets Manager: rotation configured, the target's id in the secret.
    secret = sm.describe_secret(SecretId=f"db-{suffix}")
    assert out["Rotation"] == out["Attachment"] == secret["ARN"]
    assert secret["RotationEnabled"] is True
    assert ":function:" in secret["RotationLambdaARN"]
    assert secret["RotationRules"]["AutomaticallyAfterDays"] == 10
    value = json.loads(sm.get_secret_value(SecretId=secret["ARN"])["SecretString"])
    assert value == {"username": "admin", "password": "pw", "dbInstanceIdentifier": "orders-db"}

    # Lambda: the layer version and its permission.
    layer = lam.get_layer_version_by_arn(Arn=out["Layer"])
    assert out["Layer"] == out["LayerArn"] == layer["LayerVersionArn"]
    assert layer["LayerVersionArn"] == f"arn:aws:lambda:us-east-1:{ACCOUNT}:layer:helpers-{suffix}:1"
    assert layer["CompatibleRuntimes"] == ["python3.12"] and layer["Description"] == "shared helpers"
    policy = json.loads(lam.get_layer_version_policy(LayerName=f"helpers-{suffix}", VersionNumber=1)["Policy"])
    statement = policy["Statement"][0]
    assert out["LayerPermission"] == f"{out['Layer']}#{statement['Sid']}"
    assert statement["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"} or statement["Principal"] == "111122223333"

    # EventBridge: archive, connection, API destination.
    archive = events.describe_archive(ArchiveName=out["Archive"])
    assert archive["ArchiveArn"] == out["ArchiveArn"] and archive["RetentionDays"] == 7
    assert json.loads(archive["EventPattern"]) == {"source": ["app.orders"]}
    conn = events.describe_connection(Name=out["Connection"])
    assert conn["ConnectionArn"] == out["ConnectionArn"] and conn["SecretArn"] == out["ConnectionSecret"]
    assert conn["AuthorizationType"] == "API_KEY"
    dest = events.describe_api_destination(Name=out["Destination"])
    assert dest["ApiDestinationArn"] == out["DestinationArn"]
    assert dest["ConnectionArn"] == conn["ConnectionArn"] and dest["InvocationRateLimitPerSecond"] == 10

    # Step Functions: the activity.
    activity = sfn.describe_activity(activityArn=out["Activity"])
    assert activity["name"] == out["ActivityName"] == f"activity-{suffix}"
    assert sfn.list_tags_for_resource(resourceArn=out["Activity"])["tags"] == [{"key": "team", "value": "flow"}]

    # Updates in place: the physical ids stay, the services see the change.
    updated = template(suffix, primary["Arn"], bucket)
    res = updated["Resources"]
    res["LinkedRole"]["Properties"]["Description"] = "cfn updated"
    res["Global"]["Properties"]["Replicas"].append({"Region": "ap-south-1"})
    res["Rotation"]["Properties"]["RotationRules"]["AutomaticallyAfterDays"] = 20
    res["Archive"]["Properties"]["RetentionDays"] = "14"
    res["Destination"]["Properties"]["InvocationRateLimitPerSecond"] = 20
    res["Activity"]["Properties"]["Tags"] = [{"Key": "team", "Value": "flow2"}]
    cf.update_stack(StackName=name, TemplateBody=json.dumps(updated), Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", failure_reasons(cf, name)
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == out
    assert iam.get_role(RoleName=out["LinkedRole"])["Role"]["Description"] == "cfn updated"
    replicas = ddb.describe_table(TableName=out["Global"])["Table"]["Replicas"]
    assert sorted(r["RegionName"] for r in replicas) == ["ap-south-1", "eu-west-1"]
    assert sm.describe_secret(SecretId=secret["ARN"])["RotationRules"]["AutomaticallyAfterDays"] == 20
    assert events.describe_archive(ArchiveName=out["Archive"])["RetentionDays"] == 14
    assert events.describe_api_destination(Name=out["Destination"])["InvocationRateLimitPerSecond"] == 20
    assert sfn.list_tags_for_resource(resourceArn=out["Activity"])["tags"] == [{"key": "team", "value": "flow2"}]

    cf.delete_stack(StackName=name)
    stack = wait(cf, stack["StackId"])
    assert stack["StackStatus"] == "DELETE_COMPLETE", failure_reasons(cf, stack["StackId"])

    def gone(call, code, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(**kw)
        assert e.value.response["Error"]["Code"] == code, (call, e.value.response["Error"])

    gone(iam.get_role, "NoSuchEntity", RoleName=out["LinkedRole"])
    assert kms.describe_key(KeyId=out["ReplicaId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    gone(ddb.describe_table, "ResourceNotFoundException", TableName=out["Global"])
    gone(sm.describe_secret, "ResourceNotFoundException", SecretId=secret["ARN"])
    gone(lam.get_layer_version_by_arn, "ResourceNotFoundException", Arn=out["Layer"])
    gone(events.describe_archive, "ResourceNotFoundException", ArchiveName=out["Archive"])
    gone(events.describe_connection, "ResourceNotFoundException", Name=out["Connection"])
    gone(events.describe_api_destination, "ResourceNotFoundException", Name=out["Destination"])
    gone(sfn.describe_activity, "ActivityDoesNotExist", activityArn=out["Activity"])


def test_replica_key_needs_a_multi_region_primary(gateway):
    cf = gateway.client("cloudformation")
    single = gateway.client("kms", region="us-west-2").create_key()["KeyMetadata"]
    name = f"replica-{uuid.uuid4().hex[:8]}"
    body = {
        "Resources": {
            "Replica": {
                "Type": "AWS::KMS::ReplicaKey",
                "Properties": {"PrimaryKeyArn": single["Arn"], "KeyPolicy": {"Version": "2012-10-17", "Statement": []}},
            }
        }
    }
    cf.create_stack(StackName=name, TemplateBody=json.dumps(body))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = dict(failure_reasons(cf, name))
    assert "is not a multi-Region key" in (reasons.get("Replica") or "")


def test_rules_check_the_cdk_bootstrap_version(gateway):
    """The CDK's CheckBootstrapVersion rule reads an SSM-typed parameter:
    a change set (how the CDK deploys) is refused while it fails."""
    cf = gateway.client("cloudformation")
    ssm = gateway.client("ssm")
    param = f"/rules-{uuid.uuid4().hex[:8]}/version"
    ssm.put_parameter(Name=param, Value="5", Type="String")
    body = json.dumps({
        "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": param}},
        "Rules": {"CheckBootstrapVersion": {"Assertions": [{
            "Assert": {"Fn::Not": [{"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}]},
            "AssertDescription": "CDK bootstrap stack version 6 required. Please run 'cdk bootstrap' with a recent version of the CDK CLI.",
        }]}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    })
    name = f"rules-{uuid.uuid4().hex[:8]}"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_change_set(StackName=name, ChangeSetName="one", ChangeSetType="CREATE", TemplateBody=body)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"].startswith("CDK bootstrap stack version 6 required.")
    ssm.put_parameter(Name=param, Value="30", Type="String", Overwrite=True)
    cf.create_change_set(StackName=name, ChangeSetName="two", ChangeSetType="CREATE", TemplateBody=body)
    cf.get_waiter("change_set_create_complete").wait(StackName=name, ChangeSetName="two", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    cf.execute_change_set(StackName=name, ChangeSetName="two")
    assert wait(cf, name)["StackStatus"] == "CREATE_COMPLETE"
    cf.delete_stack(StackName=name)
