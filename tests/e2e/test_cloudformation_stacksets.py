"""CloudFormation StackSets through the whole gateway with boto3 (and the
aws CLI): instances are real stacks in the target accounts and regions,
operations honour their preferences (region order, concurrency, failure
tolerance), can be stopped, and a running one survives a kill -9."""

import json
import time

import botocore.exceptions
import pytest
import requests

from stacks import unique, wait

ADMIN = "000000000000"
OTHER = "111111111111"

QUEUE = """
Parameters:
  Visibility: {Type: Number, Default: 30}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-q"
      VisibilityTimeout: !Ref Visibility
Outputs:
  Url: {Value: !Ref Queue}
"""


def wait_op(cf, name, op_id, timeout=90):
    deadline = time.time() + timeout
    while time.time() < deadline:
        op = cf.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]
        if op["Status"] not in ("RUNNING", "STOPPING", "QUEUED"):
            return op
        time.sleep(0.05)
    raise AssertionError(f"operation {op_id} still {op['Status']}")


def results(cf, name, op_id):
    out = cf.list_stack_set_operation_results(StackSetName=name, OperationId=op_id)["Summaries"]
    return {(r["Account"], r["Region"]): r for r in out}


def instances(cf, name):
    out = cf.list_stack_instances(StackSetName=name)["Summaries"]
    return {(i["Account"], i["Region"]): i for i in out}


def stack_of(gateway, instance):
    cf = gateway.client("cloudformation", account=instance["Account"], region=instance["Region"])
    return cf.describe_stacks(StackName=instance["StackId"])["Stacks"][0]


def test_self_managed_stack_set_across_accounts_and_regions(gateway):
    cf = gateway.client("cloudformation")
    name = unique("set")
    set_id = cf.create_stack_set(StackSetName=name, TemplateBody=QUEUE, Description="queues",
                                 Parameters=[{"ParameterKey": "Visibility", "ParameterValue": "40"}])["StackSetId"]
    assert set_id.startswith(f"{name}:")
    described = cf.describe_stack_set(StackSetName=name)["StackSet"]
    assert described["Status"] == "ACTIVE" and described["PermissionModel"] == "SELF_MANAGED"
    assert described["StackSetARN"] == f"arn:aws:cloudformation:us-east-1:{ADMIN}:stackset/{set_id}"
    assert described["AdministrationRoleARN"].endswith(":role/AWSCloudFormationStackSetAdministrationRole")
    assert described["ExecutionRoleName"] == "AWSCloudFormationStackSetExecutionRole"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_set(StackSetName=name, TemplateBody=QUEUE)
    assert e.value.response["Error"]["Code"] == "NameAlreadyExistsException"

    op_id = cf.create_stack_instances(
        StackSetName=name, Accounts=[ADMIN, OTHER], Regions=["us-east-1", "eu-west-1"],
        OperationPreferences={"RegionOrder": ["eu-west-1", "us-east-1"], "MaxConcurrentCount": 2,
                              "FailureToleranceCount": 1},
    )["OperationId"]
    op = wait_op(cf, name, op_id)
    assert op["Status"] == "SUCCEEDED", results(cf, name, op_id)
    assert op["Action"] == "CREATE" and op["EndTimestamp"] >= op["CreationTimestamp"]
    assert {r["Status"] for r in results(cf, name, op_id).values()} == {"SUCCEEDED"}

    found = instances(cf, name)
    assert set(found) == {(a, r) for a in (ADMIN, OTHER) for r in ("us-east-1", "eu-west-1")}
    created = {}
    for (account, region), inst in found.items():
        assert inst["Status"] == "CURRENT" and inst["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED"
        assert f":{region}:{account}:stack/StackSet-{name}-" in inst["StackId"]
        stack = stack_of(gateway, inst)
        assert stack["StackStatus"] == "CREATE_COMPLETE"
        created[(account, region)] = stack["CreationTime"]
        # The queue is in the instance's own account and region.
        sqs = gateway.client("sqs", account=account, region=region)
        url = sqs.get_queue_url(QueueName=f"{stack['StackName']}-q")["QueueUrl"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "40"
    # RegionOrder: every eu-west-1 stack began before any us-east-1 one.
    assert max(created[(a, "eu-west-1")] for a in (ADMIN, OTHER)) <= min(created[(a, "us-east-1")] for a in (ADMIN, OTHER))
    assert sorted(cf.describe_stack_set(StackSetName=name)["StackSet"]["Regions"]) == ["eu-west-1", "us-east-1"]

    # A new parameter value reaches every instance.
    op_id = cf.update_stack_set(StackSetName=name, UsePreviousTemplate=True,
                                Parameters=[{"ParameterKey": "Visibility", "ParameterValue": "50"}])["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED", results(cf, name, op_id)
    for inst in instances(cf, name).values():
        stack = stack_of(gateway, inst)
        assert stack["StackStatus"] == "UPDATE_COMPLETE"
        assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]} == {"Visibility": "50"}

    # An override for one instance.
    op_id = cf.update_stack_instances(StackSetName=name, Accounts=[OTHER], Regions=["eu-west-1"],
                                      ParameterOverrides=[{"ParameterKey": "Visibility", "ParameterValue": "60"}])["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED"
    inst = cf.describe_stack_instance(StackSetName=name, StackInstanceAccount=OTHER, StackInstanceRegion="eu-west-1")["StackInstance"]
    assert inst["ParameterOverrides"] == [{"ParameterKey": "Visibility", "ParameterValue": "60"}]
    assert inst["LastOperationId"] == op_id
    sqs = gateway.client("sqs", account=OTHER, region="eu-west-1")
    url = sqs.get_queue_url(QueueName=f"{stack_of(gateway, inst)['StackName']}-q")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "60"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.update_stack_instances(StackSetName=name, Accounts=["222222222222"], Regions=["eu-west-1"])
    assert e.value.response["Error"]["Code"] == "StackInstanceNotFoundException"

    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.delete_stack_set(StackSetName=name)
    assert e.value.response["Error"]["Code"] == "StackSetNotEmptyException"

    # Delete: one instance keeps its stack (RetainStacks), the others go.
    kept = found[(ADMIN, "us-east-1")]
    op_id = cf.delete_stack_instances(StackSetName=name, Accounts=[ADMIN], Regions=["us-east-1"], RetainStacks=True)["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED"
    assert stack_of(gateway, kept)["StackStatus"] == "UPDATE_COMPLETE"
    op_id = cf.delete_stack_instances(StackSetName=name, Accounts=[ADMIN, OTHER], Regions=["us-east-1", "eu-west-1"],
                                      RetainStacks=False, OperationPreferences={"MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 100})["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED", results(cf, name, op_id)
    assert instances(cf, name) == {}
    for key, inst in found.items():
        if key != (ADMIN, "us-east-1"):
            assert stack_of(gateway, inst)["StackStatus"] == "DELETE_COMPLETE"

    ops = cf.list_stack_set_operations(StackSetName=name)["Summaries"]
    assert [o["Action"] for o in ops] == ["DELETE", "DELETE", "UPDATE", "UPDATE", "CREATE"]
    cf.delete_stack_set(StackSetName=name)
    assert name not in [s["StackSetName"] for s in cf.list_stack_sets(Status="ACTIVE")["Summaries"]]
    assert set_id in [s["StackSetId"] for s in cf.list_stack_sets(Status="DELETED")["Summaries"]]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_stack_set(StackSetName=name)
    assert e.value.response["Error"]["Code"] == "StackSetNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


REFUSES_ONE_ACCOUNT = """
Rules:
  NotThisOne:
    Assertions:
      - Assert: !Not [!Equals [!Ref "AWS::AccountId", "222222222222"]]
        AssertDescription: account 222222222222 is refused
Resources:
  Topic:
    Type: AWS::SNS::Topic
"""


def test_failure_tolerance_cancels_the_rest(gateway):
    cf = gateway.client("cloudformation")
    accounts = ["333333333333", "222222222222", "444444444444", "555555555555"]
    name = unique("tol")
    cf.create_stack_set(StackSetName=name, TemplateBody=REFUSES_ONE_ACCOUNT)
    op_id = cf.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["us-east-1"],
                                      OperationPreferences={"MaxConcurrentCount": 1, "FailureToleranceCount": 0})["OperationId"]
    op = wait_op(cf, name, op_id)
    assert op["Status"] == "FAILED"
    assert op["StatusDetails"]["FailedStackInstancesCount"] == 1
    got = results(cf, name, op_id)
    assert got[("333333333333", "us-east-1")]["Status"] == "SUCCEEDED"
    assert got[("222222222222", "us-east-1")]["Status"] == "FAILED"
    assert "account 222222222222 is refused" in got[("222222222222", "us-east-1")]["StatusReason"]
    assert got[("444444444444", "us-east-1")]["Status"] == "CANCELLED"
    assert got[("555555555555", "us-east-1")]["Status"] == "CANCELLED"
    found = instances(cf, name)
    assert found[("444444444444", "us-east-1")]["StackInstanceStatus"]["DetailedStatus"] == "CANCELLED"
    assert found[("444444444444", "us-east-1")]["Status"] == "OUTDATED"
    assert "StackId" not in found[("444444444444", "us-east-1")]
    failed = cf.list_stack_set_operation_results(
        StackSetName=name, OperationId=op_id,
        Filters=[{"Name": "OPERATION_RESULT_STATUS", "Values": "FAILED"}])["Summaries"]
    assert [r["Account"] for r in failed] == ["222222222222"]

    # Tolerating one failure, the operation goes on past it and succeeds.
    op_id = cf.update_stack_set(StackSetName=name, UsePreviousTemplate=True,
                                OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1})["OperationId"]
    op = wait_op(cf, name, op_id)
    assert op["Status"] == "SUCCEEDED"
    got = results(cf, name, op_id)
    assert [got[(a, "us-east-1")]["Status"] for a in accounts] == ["SUCCEEDED", "FAILED", "SUCCEEDED", "SUCCEEDED"]
    assert instances(cf, name)[("555555555555", "us-east-1")]["Status"] == "CURRENT"

    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_instances(StackSetName=name, Accounts=["666666666666"], Regions=["us-east-1"],
                                  OperationPreferences={"MaxConcurrentCount": 3, "MaxConcurrentPercentage": 50})
    assert e.value.response["Error"]["Code"] == "ValidationError"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_instances(StackSetName=name, Accounts=["not-an-account"], Regions=["us-east-1"])
    assert e.value.response["Error"]["Code"] == "ValidationError"


WAITS = """
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
  Waiter:
    Type: AWS::CloudFormation::WaitCondition
    Properties: {Handle: !Ref Handle, Timeout: 120}
"""


def handle_url(cf, stack_name):
    deadline = time.time() + 30
    while time.time() < deadline:
        for r in cf.describe_stack_resources(StackName=stack_name)["StackResources"]:
            if r["LogicalResourceId"] == "Handle" and r["ResourceStatus"] == "CREATE_COMPLETE":
                return r["PhysicalResourceId"]
        time.sleep(0.05)
    raise AssertionError("no wait handle")


def test_stop_operation_and_operation_in_progress(gateway):
    cf = gateway.client("cloudformation")
    name = unique("stop")
    accounts = ["710000000001", "710000000002", "710000000003"]
    cf.create_stack_set(StackSetName=name, TemplateBody=WAITS)
    op_id = cf.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["us-east-1"])["OperationId"]
    deadline = time.time() + 30
    while True:
        first = instances(cf, name)[(accounts[0], "us-east-1")]
        if "StackId" in first:
            break
        assert time.time() < deadline
        time.sleep(0.05)
    assert first["StackInstanceStatus"]["DetailedStatus"] == "RUNNING"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["eu-west-1"])
    assert e.value.response["Error"]["Code"] == "OperationInProgressException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409

    cf.stop_stack_set_operation(StackSetName=name, OperationId=op_id)
    assert cf.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]["Status"] == "STOPPING"
    # The running instance finishes (its wait condition is signalled), the rest never start.
    target = gateway.client("cloudformation", account=accounts[0])
    url = handle_url(target, first["StackId"])
    assert requests.put(url, data=json.dumps({"Status": "SUCCESS", "UniqueId": "a", "Data": "d", "Reason": "r"})).status_code == 200
    op = wait_op(cf, name, op_id)
    assert op["Status"] == "STOPPED"
    got = results(cf, name, op_id)
    assert [got[(a, "us-east-1")]["Status"] for a in accounts] == ["SUCCEEDED", "CANCELLED", "CANCELLED"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.stop_stack_set_operation(StackSetName=name, OperationId=op_id)
    assert e.value.response["Error"]["Code"] == "InvalidOperationException"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_stack_set_operation(StackSetName=name, OperationId="nope")
    assert e.value.response["Error"]["Code"] == "OperationNotFoundException"


def test_service_managed_targets_organizational_units(gateway):
    cf = gateway.client("cloudformation")
    name = unique("org")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_set(StackSetName=name, TemplateBody=QUEUE, PermissionModel="SERVICE_MANAGED")
    assert e.value.response["Error"]["Code"] == "ValidationError"
    cf.create_stack_set(StackSetName=name, TemplateBody=QUEUE, PermissionModel="SERVICE_MANAGED",
                        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    described = cf.describe_stack_set(StackSetName=name)["StackSet"]
    assert described["PermissionModel"] == "SERVICE_MANAGED"
    assert described["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert "AdministrationRoleARN" not in described
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack_instances(StackSetName=name, Accounts=[OTHER], Regions=["us-east-1"])
    assert e.value.response["Error"]["Code"] == "ValidationError"

    ou = "ou-ab12-cdef3456"
    op_id = cf.create_stack_instances(
        StackSetName=name, Regions=["us-west-2"],
        DeploymentTargets={"OrganizationalUnitIds": [ou], "Accounts": ["810000000001", "810000000002"],
                           "AccountFilterType": "INTERSECTION"},
        OperationPreferences={"MaxConcurrentPercentage": 100, "FailureTolerancePercentage": 50},
    )["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED"
    found = instances(cf, name)
    assert set(found) == {("810000000001", "us-west-2"), ("810000000002", "us-west-2")}
    assert {i["OrganizationalUnitId"] for i in found.values()} == {ou}
    assert cf.describe_stack_set(StackSetName=name)["StackSet"]["OrganizationalUnitIds"] == [ou]
    assert results(cf, name, op_id)[("810000000001", "us-west-2")]["OrganizationalUnitId"] == ou
    op = cf.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]
    assert op["DeploymentTargets"]["OrganizationalUnitIds"] == [ou]

    # The OU alone selects its instances for deletion.
    op_id = cf.delete_stack_instances(StackSetName=name, Regions=["us-west-2"], RetainStacks=False,
                                      DeploymentTargets={"OrganizationalUnitIds": [ou]},
                                      OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1})["OperationId"]
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED"
    assert instances(cf, name) == {}
    cf.delete_stack_set(StackSetName=name)


def test_stack_sets_with_the_cli(gateway, tmp_path):
    name = unique("cli")
    body = tmp_path / "t.yaml"
    body.write_text(QUEUE)
    out = json.loads(gateway.aws("cloudformation", "create-stack-set", "--stack-set-name", name,
                                 "--template-body", f"file://{body}").stdout)
    assert out["StackSetId"].startswith(name)
    op_id = json.loads(gateway.aws("cloudformation", "create-stack-instances", "--stack-set-name", name,
                                   "--accounts", OTHER, "--regions", "ap-southeast-2").stdout)["OperationId"]
    cf = gateway.client("cloudformation")
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED"
    listed = json.loads(gateway.aws("cloudformation", "list-stack-instances", "--stack-set-name", name).stdout)
    assert [(i["Account"], i["Region"], i["Status"]) for i in listed["Summaries"]] == [(OTHER, "ap-southeast-2", "CURRENT")]


def test_stack_set_operation_survives_a_restart(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    cf = g.client("cloudformation")
    name = unique("durable")
    resources = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(10)}
    cf.create_stack_set(StackSetName=name, TemplateBody=json.dumps({"Resources": resources}))
    accounts = [f"91000000000{i}" for i in range(4)]
    op_id = cf.create_stack_instances(StackSetName=name, Accounts=accounts, Regions=["us-east-1"])["OperationId"]
    # Killed while the operation runs: the first instance's stack has begun.
    deadline = time.time() + 30
    while "StackId" not in instances(cf, name).get((accounts[0], "us-east-1"), {}):
        assert time.time() < deadline
        time.sleep(0.01)
    assert cf.describe_stack_set_operation(StackSetName=name, OperationId=op_id)["StackSetOperation"]["Status"] == "RUNNING"
    g.kill()
    g.start()
    cf = g.client("cloudformation")
    op = wait_op(cf, name, op_id)
    assert op["Status"] == "SUCCEEDED", results(cf, name, op_id)
    for account in accounts:
        target = g.client("cloudformation", account=account)
        stacks = [s for s in target.list_stacks()["StackSummaries"] if s["StackName"].startswith(f"StackSet-{name}-")]
        # One stack per instance, not a second one from the resumed run.
        assert [s["StackStatus"] for s in stacks] == ["CREATE_COMPLETE"], stacks
        assert len(g.client("sqs", account=account).list_queues().get("QueueUrls", [])) == 10


def test_parallel_regions_start_together(gateway):
    cf = gateway.client("cloudformation")
    name = unique("par")
    account = "720000000001"
    regions = ["us-east-1", "eu-central-1"]
    cf.create_stack_set(StackSetName=name, TemplateBody=WAITS)
    op_id = cf.create_stack_instances(StackSetName=name, Accounts=[account], Regions=regions,
                                      OperationPreferences={"RegionConcurrencyType": "PARALLEL"})["OperationId"]
    # Both regions' stacks wait on their handles at the same time (in
    # sequence, the second region would not begin before the first ends).
    deadline = time.time() + 30
    while True:
        found = instances(cf, name)
        if all("StackId" in found[(account, r)] for r in regions):
            break
        assert time.time() < deadline, found
        time.sleep(0.05)
    for r in regions:
        assert found[(account, r)]["StackInstanceStatus"]["DetailedStatus"] == "RUNNING"
        target = gateway.client("cloudformation", account=account, region=r)
        url = handle_url(target, found[(account, r)]["StackId"])
        assert requests.put(url, data=json.dumps({"Status": "SUCCESS", "UniqueId": r, "Data": "d", "Reason": "r"})).status_code == 200
    assert wait_op(cf, name, op_id)["Status"] == "SUCCEEDED", results(cf, name, op_id)
    assert {i["Status"] for i in instances(cf, name).values()} == {"CURRENT"}
