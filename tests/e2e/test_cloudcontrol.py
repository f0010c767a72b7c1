"""Cloud Control API through the whole gateway with boto3: CRUD-L of
resources of other plugins through their resource handlers (the same ones
CloudFormation uses), JSON Patch updates, request status, errors."""

import json
import uuid

import botocore.exceptions
import pytest


def test_queue_through_cloud_control(gateway):
    cc = gateway.client("cloudcontrol")
    sqs = gateway.client("sqs")
    name = f"cc-{uuid.uuid4().hex[:8]}"
    created = cc.create_resource(TypeName="AWS::SQS::Queue", DesiredState=json.dumps({"QueueName": name, "VisibilityTimeout": 40}))
    event = created["ProgressEvent"]
    assert event["OperationStatus"] == "SUCCESS" and event["Operation"] == "CREATE"
    url = event["Identifier"]
    assert url.endswith(f"/{name}")
    model = json.loads(event["ResourceModel"])
    assert model["Arn"] == f"arn:aws:sqs:us-east-1:000000000000:{name}"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "40"

    got = cc.get_resource(TypeName="AWS::SQS::Queue", Identifier=url)["ResourceDescription"]
    props = json.loads(got["Properties"])
    assert props["QueueName"] == name and props["VisibilityTimeout"] == "40"

    updated = cc.update_resource(
        TypeName="AWS::SQS::Queue", Identifier=url,
        PatchDocument=json.dumps([{"op": "replace", "path": "/VisibilityTimeout", "value": 90}]),
    )["ProgressEvent"]
    assert updated["OperationStatus"] == "SUCCESS"
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "90"
    # A create-only property cannot change.
    refused = cc.update_resource(
        TypeName="AWS::SQS::Queue", Identifier=url,
        PatchDocument=json.dumps([{"op": "replace", "path": "/QueueName", "value": "other"}]),
    )["ProgressEvent"]
    assert refused["OperationStatus"] == "FAILED" and refused["ErrorCode"] == "NotUpdatable"

    listed = cc.list_resources(TypeName="AWS::SQS::Queue")["ResourceDescriptions"]
    assert url in [d["Identifier"] for d in listed]

    status = cc.get_resource_request_status(RequestToken=updated["RequestToken"])["ProgressEvent"]
    assert status["OperationStatus"] == "SUCCESS" and status["Operation"] == "UPDATE"
    requests_ = cc.list_resource_requests(ResourceRequestStatusFilter={"Operations": ["CREATE"]})["ResourceRequestStatusSummaries"]
    assert created["ProgressEvent"]["RequestToken"] in [r["RequestToken"] for r in requests_]

    deleted = cc.delete_resource(TypeName="AWS::SQS::Queue", Identifier=url)["ProgressEvent"]
    assert deleted["OperationStatus"] == "SUCCESS"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cc.get_resource(TypeName="AWS::SQS::Queue", Identifier=url)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_failures_and_unknown_types(gateway):
    cc = gateway.client("cloudcontrol")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cc.create_resource(TypeName="AWS::Nope::Thing", DesiredState="{}")
    assert e.value.response["Error"]["Code"] == "TypeNotFoundException"
    # A handler's failure is a FAILED progress event with Cloud Control's error code.
    name = f"/cc/{uuid.uuid4().hex[:8]}"
    ok = cc.create_resource(TypeName="AWS::SSM::Parameter", DesiredState=json.dumps({"Name": name, "Type": "String", "Value": "v"}))
    assert ok["ProgressEvent"]["OperationStatus"] == "SUCCESS"
    again = cc.create_resource(TypeName="AWS::SSM::Parameter", DesiredState=json.dumps({"Name": name, "Type": "String", "Value": "v"}))
    assert again["ProgressEvent"]["OperationStatus"] == "FAILED"
    assert again["ProgressEvent"]["ErrorCode"] == "AlreadyExists", again["ProgressEvent"]
    missing = cc.create_resource(TypeName="AWS::SSM::Parameter", DesiredState=json.dumps({"Name": name + "x"}))
    assert missing["ProgressEvent"]["OperationStatus"] == "FAILED"
    assert missing["ProgressEvent"]["ErrorCode"] == "InvalidRequest"
    got = json.loads(cc.get_resource(TypeName="AWS::SSM::Parameter", Identifier=name)["ResourceDescription"]["Properties"])
    assert got["Value"] == "v"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cc.get_resource_request_status(RequestToken="nope")
    assert e.value.response["Error"]["Code"] == "RequestTokenNotFoundException"
    cc.delete_resource(TypeName="AWS::SSM::Parameter", Identifier=name)
