"""CloudFormation through the whole gateway with boto3 and the aws CLI: a
multi-service YAML stack (each resource made by its own service's plugin
through the resource handlers), an update through a change set, delete,
`aws cloudformation deploy`, rollback of a failing resource, exports and
imports, template errors, and a deployment that survives a restart."""

import json
import time
import uuid

import botocore.exceptions
import pytest

from stacks import outputs, unique, wait


def events(cf, name):
    """(logical id, status) oldest first."""
    out = cf.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"]) for e in reversed(out)]


APP = """
AWSTemplateFormatVersion: "2010-09-09"
Description: multi-service app
Parameters:
  Env:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
  Visibility:
    Type: Number
    Default: 30
Mappings:
  Sizes:
    dev: {Retention: "3600"}
    prod: {Retention: "7200"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      VersioningConfiguration: {Status: Enabled}
      Tags:
        - {Key: env, Value: !Ref Env}
  DeadLetters:
    Type: AWS::SQS::Queue
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-work"
      VisibilityTimeout: !Ref Visibility
      MessageRetentionPeriod: !FindInMap [Sizes, !Ref Env, Retention]
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt DeadLetters.Arn
        maxReceiveCount: 4
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !Join ["-", [app, !Ref Env]]
  Subscription:
    Type: AWS::SNS::Subscription
    Properties:
      TopicArn: !Ref Topic
      Protocol: sqs
      Endpoint: !GetAtt Queue.Arn
      RawMessageDelivery: "true"
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - {AttributeName: pk, AttributeType: S}
      KeySchema:
        - {AttributeName: pk, KeyType: HASH}
      StreamSpecification: {StreamViewType: NEW_IMAGE}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {Service: lambda.amazonaws.com}
            Action: sts:AssumeRole
      Policies:
        - PolicyName: read-queue
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
              - {Effect: Allow, Action: "sqs:*", Resource: !GetAtt Queue.Arn}
  QueueArnParameter:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !GetAtt Queue.Arn
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: !Sub "key of ${AWS::StackName}"
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties:
      GenerateSecretString:
        SecretStringTemplate: '{"username": "admin"}'
        GenerateStringKey: password
        PasswordLength: 20
  Rule:
    Type: AWS::Events::Rule
    Condition: IsProd
    Properties:
      EventPattern: {source: [app.orders]}
      Targets:
        - {Id: queue, Arn: !GetAtt Queue.Arn}
Outputs:
  QueueUrl:
    Value: !Ref Queue
    Export: {Name: !Sub "${AWS::StackName}-queue-url"}
  QueueArn: {Value: !GetAtt Queue.Arn}
  BucketName: {Value: !Ref Bucket}
  BucketArn: {Value: !GetAtt Bucket.Arn}
  TopicArn: {Value: !Ref Topic}
  TableStream: {Value: !GetAtt Table.StreamArn}
  RoleArn: {Value: !GetAtt Role.Arn}
  Parameter: {Value: !Ref QueueArnParameter}
  KeyArn: {Value: !GetAtt Key.Arn}
  SecretArn: {Value: !Ref Secret}
  Region: {Value: !Sub "${AWS::Region}/${AWS::AccountId}"}
  RuleArn:
    Condition: IsProd
    Value: !GetAtt Rule.Arn
"""


def test_multi_service_stack_update_by_change_set_and_delete(gateway):
    cf = gateway.client("cloudformation")
    name = unique()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack(StackName=name, TemplateBody=APP)
    assert e.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"

    stack_id = cf.create_stack(StackName=name, TemplateBody=APP, Capabilities=["CAPABILITY_IAM"])["StackId"]
    assert stack_id.startswith(f"arn:aws:cloudformation:us-east-1:000000000000:stack/{name}/")
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    assert "RuleArn" not in out  # its condition is false in dev
    assert out["Region"] == "us-east-1/000000000000"

    # Every resource exists in its own service, as configured.
    sqs, s3, sns = gateway.client("sqs"), gateway.client("s3"), gateway.client("sns")
    attrs = sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert out["QueueUrl"].endswith(f"/{name}-work")
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MessageRetentionPeriod"] == "3600"
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 4
    assert attrs["QueueArn"] == out["QueueArn"]
    assert s3.get_bucket_versioning(Bucket=out["BucketName"])["Status"] == "Enabled"
    assert s3.get_bucket_tagging(Bucket=out["BucketName"])["TagSet"] == [{"Key": "env", "Value": "dev"}]
    assert out["BucketArn"] == f"arn:aws:s3:::{out['BucketName']}"
    assert sns.get_topic_attributes(TopicArn=out["TopicArn"])["Attributes"]["DisplayName"] == "app-dev"
    subs = sns.list_subscriptions_by_topic(TopicArn=out["TopicArn"])["Subscriptions"]
    assert [s["Endpoint"] for s in subs] == [out["QueueArn"]]
    # The subscription delivers: a publish lands in the queue, raw.
    sns.publish(TopicArn=out["TopicArn"], Message="hello")
    msgs = sqs.receive_message(QueueUrl=out["QueueUrl"], WaitTimeSeconds=2)["Messages"]
    assert msgs[0]["Body"] == "hello"
    table = gateway.client("dynamodb").describe_table(TableName=out["TableStream"].split("/")[1])["Table"]
    assert table["LatestStreamArn"] == out["TableStream"]
    role = gateway.client("iam").get_role(RoleName=out["RoleArn"].split("/")[-1])["Role"]
    assert role["Arn"] == out["RoleArn"]
    ssm = gateway.client("ssm")
    assert ssm.get_parameter(Name=out["Parameter"])["Parameter"]["Value"] == out["QueueArn"]
    key = gateway.client("kms").describe_key(KeyId=out["KeyArn"])["KeyMetadata"]
    assert key["Description"] == f"key of {name}"
    secret = json.loads(gateway.client("secretsmanager").get_secret_value(SecretId=out["SecretArn"])["SecretString"])
    assert secret["username"] == "admin" and len(secret["password"]) == 20

    # Events in AWS's order: the stack first and last, each resource
    # IN_PROGRESS twice then COMPLETE, dependencies before dependents.
    ev = events(cf, name)
    assert ev[0] == (name, "CREATE_IN_PROGRESS") and ev[-1] == (name, "CREATE_COMPLETE")
    queue_events = [s for (l, s) in ev if l == "Queue"]
    assert queue_events == ["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    order = [l for (l, s) in ev if s == "CREATE_COMPLETE"]
    assert order.index("DeadLetters") < order.index("Queue") < order.index("Subscription")
    resources = cf.describe_stack_resources(StackName=name)["StackResources"]
    assert {r["LogicalResourceId"] for r in resources} == {
        "Bucket", "DeadLetters", "Queue", "Topic", "Subscription", "Table", "Role",
        "QueueArnParameter", "Key", "Secret",
    }
    assert cf.list_exports()["Exports"][0]["Value"] == out["QueueUrl"] or any(
        x["Name"] == f"{name}-queue-url" for x in cf.list_exports()["Exports"]
    )
    body = cf.get_template(StackName=name)["TemplateBody"]
    assert "multi-service app" in (body if isinstance(body, str) else json.dumps(body))

    # Update through a change set: prod turns the rule on, a parameter
    # change updates the queue in place, the topic name change replaces it.
    cs = cf.create_change_set(
        StackName=name,
        ChangeSetName="to-prod",
        TemplateBody=APP,
        Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "Visibility", "ParameterValue": "60"}],
    )
    described = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert described["Status"] == "CREATE_COMPLETE" and described["ExecutionStatus"] == "AVAILABLE"
    changes = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"] for c in described["Changes"]}
    assert changes["Rule"]["Action"] == "Add"
    assert changes["Queue"]["Action"] == "Modify" and changes["Queue"]["Replacement"] == "False"
    assert "Bucket" in changes  # the env tag changes
    assert "DeadLetters" not in changes
    cf.execute_change_set(ChangeSetName="to-prod", StackName=name)
    stack = wait(cf, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", events(cf, name)
    out2 = outputs(stack)
    assert out2["QueueUrl"] == out["QueueUrl"]  # updated, not replaced
    attrs = sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "60" and attrs["MessageRetentionPeriod"] == "7200"
    events_client = gateway.client("events")
    rule_name = out2["RuleArn"].split("/")[-1]
    targets = events_client.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert targets[0]["Arn"] == out["QueueArn"]
    assert cf.describe_change_set(ChangeSetName=cs["Id"])["ExecutionStatus"] == "EXECUTE_COMPLETE"

    # The same template again: a change set with nothing to change fails as AWS's does.
    cf.create_change_set(
        StackName=name, ChangeSetName="same", TemplateBody=APP, Capabilities=["CAPABILITY_IAM"],
        Parameters=[{"ParameterKey": "Env", "UsePreviousValue": True}, {"ParameterKey": "Visibility", "UsePreviousValue": True}],
    )
    same = cf.describe_change_set(ChangeSetName="same", StackName=name)
    assert same["Status"] == "FAILED" and "didn't contain changes" in same["StatusReason"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.update_stack(StackName=name, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                        Parameters=[{"ParameterKey": "Env", "UsePreviousValue": True}, {"ParameterKey": "Visibility", "UsePreviousValue": True}])
    assert e.value.response["Error"]["Message"] == "No updates are to be performed."

    cf.delete_stack(StackName=name)
    deadline = time.time() + 30
    while time.time() < deadline:
        summaries = [s for s in cf.list_stacks()["StackSummaries"] if s["StackName"] == name]
        if summaries[0]["StackStatus"] == "DELETE_COMPLETE":
            break
        time.sleep(0.05)
    assert summaries[0]["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_stacks(StackName=name)
    assert "does not exist" in e.value.response["Error"]["Message"]
    assert cf.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.get_queue_attributes(QueueUrl=out["QueueUrl"])
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_bucket(Bucket=out["BucketName"])
    with pytest.raises(botocore.exceptions.ClientError):
        ssm.get_parameter(Name=out["Parameter"])
    assert not any(x["Name"] == f"{name}-queue-url" for x in cf.list_exports()["Exports"])


def test_failing_resource_rolls_back(gateway):
    cf = gateway.client("cloudformation")
    name = unique("fail")
    template = {
        "Resources": {
            "Good": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-good"}},
            "Bad": {
                "Type": "AWS::SQS::Queue",
                "DependsOn": "Good",
                "Properties": {"QueueName": "not a valid name!"},
            },
        }
    }
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    ev = events(cf, name)
    statuses = [s for (_, s) in ev]
    assert ("Bad", "CREATE_FAILED") in ev
    assert ("Good", "DELETE_COMPLETE") in ev
    assert statuses.index("ROLLBACK_IN_PROGRESS") < statuses.index("ROLLBACK_COMPLETE")
    failed = [e for e in cf.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert "Service: " in failed[0]["ResourceStatusReason"]
    sqs = gateway.client("sqs")
    assert not [u for u in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])]
    # A stack in ROLLBACK_COMPLETE can only be deleted.
    with pytest.raises(botocore.exceptions.ClientError):
        cf.update_stack(StackName=name, TemplateBody=json.dumps(template))
    cf.delete_stack(StackName=name)

    # DisableRollback keeps what was made.
    name2 = unique("keep")
    template["Resources"]["Good"]["Properties"]["QueueName"] = f"{name2}-good"
    cf.create_stack(StackName=name2, TemplateBody=json.dumps(template), DisableRollback=True)
    assert wait(cf, name2)["StackStatus"] == "CREATE_FAILED"
    assert sqs.list_queues(QueueNamePrefix=name2)["QueueUrls"]
    cf.delete_stack(StackName=name2)


def test_on_failure_delete_and_do_nothing(gateway):
    cf = gateway.client("cloudformation")
    sqs = gateway.client("sqs")
    name = unique("ondel")
    template = json.dumps({"Resources": {
        "Good": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-good"}},
        "Bad": {"Type": "AWS::SQS::Queue", "DependsOn": "Good", "Properties": {"QueueName": "not a valid name!"}},
    }})
    stack_id = cf.create_stack(StackName=name, TemplateBody=template, OnFailure="DELETE")["StackId"]
    stack = wait(cf, stack_id)
    assert stack["StackStatus"] == "DELETE_COMPLETE", events(cf, stack_id)
    raw = cf.describe_stack_events(StackName=stack_id)["StackEvents"]
    stack_events = [(e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(raw)
                    if e["LogicalResourceId"] == name]
    assert [s for s, _ in stack_events] == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE",
                                            "DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    assert stack_events[1][1] == "The following resource(s) failed to create: [Bad]. Delete requested by user."
    assert not sqs.list_queues(QueueNamePrefix=name).get("QueueUrls")
    # The name is free again.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_stacks(StackName=name)
    assert "does not exist" in str(e.value)

    # The default (ROLLBACK) says so in the reason; DO_NOTHING keeps what was made.
    name2 = unique("onroll")
    cf.create_stack(StackName=name2, TemplateBody=template.replace(name, name2))
    assert wait(cf, name2)["StackStatus"] == "ROLLBACK_COMPLETE"
    reasons = [e.get("ResourceStatusReason") for e in cf.describe_stack_events(StackName=name2)["StackEvents"]
               if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
    assert reasons == ["The following resource(s) failed to create: [Bad]. Rollback requested by user."]
    name3 = unique("onkeep")
    cf.create_stack(StackName=name3, TemplateBody=template.replace(name, name3), OnFailure="DO_NOTHING")
    stack = wait(cf, name3)
    assert stack["StackStatus"] == "CREATE_FAILED" and stack["DisableRollback"] is True
    assert sqs.list_queues(QueueNamePrefix=name3)["QueueUrls"]
    cf.delete_stack(StackName=name3)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack(StackName=unique("both"), TemplateBody=template, OnFailure="DELETE", DisableRollback=True)
    assert e.value.response["Error"]["Code"] == "ValidationError"


NEVER_SIGNALLED = """
Resources:
  Before:
    Type: AWS::SQS::Queue
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
  Waiter:
    Type: AWS::CloudFormation::WaitCondition
    DependsOn: Before
    Properties: {Handle: !Ref Handle, Timeout: 3600}
"""


def test_timeout_in_minutes_fails_and_rolls_back(gateway):
    cf = gateway.client("cloudformation")
    name = unique("timeout")
    began = time.time()
    unchecked = gateway.client("cloudformation", parameter_validation=False)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        unchecked.create_stack(StackName=name, TemplateBody=NEVER_SIGNALLED, TimeoutInMinutes=0)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    # One minute is the least AWS accepts: the test waits that long.
    cf.create_stack(StackName=name, TemplateBody=NEVER_SIGNALLED, TimeoutInMinutes=1)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["TimeoutInMinutes"] == 1
    stack = wait(cf, name, timeout=120)
    took = time.time() - began
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", events(cf, name)
    assert 59 <= took < 90, took
    raw = list(reversed(cf.describe_stack_events(StackName=name)["StackEvents"]))
    failed = [e for e in raw if e["LogicalResourceId"] == "Waiter" and e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed[0]["ResourceStatusReason"] == "Resource creation cancelled"
    rollback = [e for e in raw if e["ResourceStatus"] == "ROLLBACK_IN_PROGRESS"]
    assert rollback[0]["ResourceStatusReason"] == "Stack creation time exceeded the specified timeout. Rollback requested by user."
    assert ("Before", "DELETE_COMPLETE") in events(cf, name)
    cf.delete_stack(StackName=name)


def test_estimate_template_cost(gateway, tmp_path):
    cf = gateway.client("cloudformation")
    body = json.dumps({"Parameters": {"Size": {"Type": "Number", "Default": 5}},
                       "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    url = cf.estimate_template_cost(TemplateBody=body, Parameters=[{"ParameterKey": "Size", "ParameterValue": "7"}])["Url"]
    assert url.startswith("https://calculator.") and "cloudformation/" in url
    for bad, params in (("not: [valid", []), (body, [{"ParameterKey": "Nope", "ParameterValue": "1"}]),
                        (body, [{"ParameterKey": "Size", "ParameterValue": "seven"}])):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            cf.estimate_template_cost(TemplateBody=bad, Parameters=params)
        assert e.value.response["Error"]["Code"] == "ValidationError", bad
    template = tmp_path / "t.json"
    template.write_text(body)
    out = json.loads(gateway.aws("cloudformation", "estimate-template-cost", "--template-body", f"file://{template}").stdout)
    assert out["Url"].startswith("https://calculator.")


def test_failed_update_rolls_back_to_the_previous_state(gateway):
    cf = gateway.client("cloudformation")
    name = unique("upd")
    first = {"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 10}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(first))
    url = outputs_of_resource(cf, name, "Q")
    second = {
        "Resources": {
            "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 20}},
            "Bad": {"Type": "AWS::SQS::Queue", "DependsOn": "Q", "Properties": {"QueueName": "bad name"}},
        }
    }
    cf.update_stack(StackName=name, TemplateBody=json.dumps(second))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE", events(cf, name)
    attrs = gateway.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "10"
    assert [r["LogicalResourceId"] for r in cf.describe_stack_resources(StackName=name)["StackResources"]] == ["Q"]
    cf.delete_stack(StackName=name)


def outputs_of_resource(cf, name, logical):
    assert wait(cf, name)["StackStatus"].endswith("COMPLETE")
    return cf.describe_stack_resource(StackName=name, LogicalResourceId=logical)["StackResourceDetail"]["PhysicalResourceId"]


def test_exports_imports_and_retain(gateway):
    cf = gateway.client("cloudformation")
    a, b = unique("exp"), unique("imp")
    cf.create_stack(
        StackName=a,
        TemplateBody=json.dumps({
            "Resources": {"T": {"Type": "AWS::SNS::Topic", "DeletionPolicy": "Retain"}},
            "Outputs": {"Arn": {"Value": {"Ref": "T"}, "Export": {"Name": f"{a}-topic"}}},
        }),
    )
    topic = outputs(wait(cf, a))["Arn"]
    cf.create_stack(
        StackName=b,
        TemplateBody=json.dumps({
            "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
                "Name": f"/{b}/topic", "Type": "String", "Value": {"Fn::ImportValue": f"{a}-topic"}}}},
        }),
    )
    assert wait(cf, b)["StackStatus"] == "CREATE_COMPLETE"
    assert gateway.client("ssm").get_parameter(Name=f"/{b}/topic")["Parameter"]["Value"] == topic
    assert cf.list_imports(ExportName=f"{a}-topic")["Imports"] == [b]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.delete_stack(StackName=a)
    assert "in use by" in e.value.response["Error"]["Message"]
    cf.delete_stack(StackName=b)
    wait_deleted(cf, b)
    cf.delete_stack(StackName=a)
    wait_deleted(cf, a)
    ev = events(cf, a) if False else None
    # Retained: the topic outlives its stack.
    assert gateway.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic


def wait_deleted(cf, name):
    deadline = time.time() + 30
    while time.time() < deadline:
        s = [x for x in cf.list_stacks()["StackSummaries"] if x["StackName"] == name][0]
        if s["StackStatus"] == "DELETE_COMPLETE":
            return
        time.sleep(0.05)
    raise AssertionError(f"{name} not deleted")


def test_template_errors(gateway):
    cf = gateway.client("cloudformation")

    def error(call, **kw):
        with pytest.raises(botocore.exceptions.ClientError) as e:
            call(**kw)
        return e.value.response["Error"]

    e = error(cf.validate_template, TemplateBody="Resources: [unclosed")
    assert e["Code"] == "ValidationError" and "Template format error" in e["Message"]
    e = error(cf.create_stack, StackName=unique(), TemplateBody='{"Resources": {"X": {"Type": "AWS::Nope::Thing"}}}')
    assert "Unrecognized resource types: [AWS::Nope::Thing]" in e["Message"]
    e = error(cf.create_stack, StackName=unique(), TemplateBody='{"Parameters": {"P": {"Type": "String"}}, "Resources": {"X": {"Type": "AWS::SQS::Queue"}}}')
    assert e["Message"] == "Parameters: [P] must have values"
    e = error(cf.create_stack, StackName=unique(), TemplateBody='{"Resources": {"A": {"Type": "AWS::SQS::Queue", "DependsOn": "B"}, "B": {"Type": "AWS::SQS::Queue", "DependsOn": "A"}}}')
    assert "Circular dependency" in e["Message"]
    e = error(cf.describe_stacks, StackName="nope")
    assert e["Message"] == "Stack with id nope does not exist"
    summary = cf.get_template_summary(TemplateBody=APP)
    assert summary["Capabilities"] == ["CAPABILITY_IAM"]
    assert "AWS::SQS::Queue" in summary["ResourceTypes"]
    assert {p["ParameterKey"] for p in summary["Parameters"]} == {"Env", "Visibility"}
    valid = cf.validate_template(TemplateBody=APP)
    assert valid["Description"] == "multi-service app"


def test_aws_cli_deploy(gateway, tmp_path):
    name = unique("cli")
    template = tmp_path / "t.yaml"
    template.write_text(
        """
Parameters:
  Timeout: {Type: Number, Default: 30}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: !Ref Timeout
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: !Sub "/${AWS::StackName}/queue"
      Type: String
      Value: !GetAtt Queue.QueueName
Outputs:
  Url: {Value: !Ref Queue}
"""
    )
    gateway.aws("cloudformation", "deploy", "--template-file", str(template), "--stack-name", name)
    stack = json.loads(gateway.aws("cloudformation", "describe-stacks", "--stack-name", name).stdout)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    url = stack["Outputs"][0]["OutputValue"]
    # An update through deploy's change set.
    gateway.aws("cloudformation", "deploy", "--template-file", str(template), "--stack-name", name,
                "--parameter-overrides", "Timeout=90")
    stack = json.loads(gateway.aws("cloudformation", "describe-stacks", "--stack-name", name).stdout)["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    attrs = gateway.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])
    assert attrs["Attributes"]["VisibilityTimeout"] == "90"
    # Nothing to change: deploy says so and succeeds with --no-fail-on-empty-changeset.
    out = gateway.aws("cloudformation", "deploy", "--template-file", str(template), "--stack-name", name,
                      "--parameter-overrides", "Timeout=90", "--no-fail-on-empty-changeset")
    assert "No changes to deploy" in out.stdout
    gateway.aws("cloudformation", "delete-stack", "--stack-name", name)
    gateway.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", name)


def test_deployment_survives_a_restart(make_gateway):
    g = make_gateway(env={"PERSIST_STATE": "1"})
    cf = g.client("cloudformation")
    name = unique("restart")
    resources = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(30)}
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    g.kill()
    g.start()
    cf = g.client("cloudformation")
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    urls = g.client("sqs").list_queues(QueueNamePrefix=name)["QueueUrls"]
    assert len(urls) == 30
    physical = {r["PhysicalResourceId"] for r in cf.describe_stack_resources(StackName=name)["StackResources"]}
    # A queue URL's host follows whoever asked (the deployment task has no
    # client: it uses the configured endpoint); the path names the queue.
    path = lambda u: u.split("://", 1)[1].split("/", 1)[1]
    assert {path(u) for u in physical} == {path(u) for u in urls}


FUNCTION = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Environment:
        Variables: {GREETING: !Sub "hello from ${AWS::StackName}"}
      Code:
        ZipFile: |
          import os
          def handler(event, context):
              return {"greeting": os.environ["GREETING"], "n": event["n"] + 1}
  Topic:
    Type: AWS::SNS::Topic
  Permission:
    Type: AWS::Lambda::Permission
    Properties:
      FunctionName: !Ref Fn
      Action: lambda:InvokeFunction
      Principal: sns.amazonaws.com
      SourceArn: !Ref Topic
Outputs:
  Name: {Value: !Ref Fn}
  Arn: {Value: !GetAtt Fn.Arn}
"""


def test_inline_lambda_function_from_a_template_in_s3(gateway):
    s3 = gateway.client("s3")
    bucket = unique("tpl")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="fn.yaml", Body=FUNCTION.encode())
    cf = gateway.client("cloudformation")
    name = unique("fn")
    cf.create_stack(StackName=name, TemplateURL=f"{gateway.url}/{bucket}/fn.yaml", Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    lam = gateway.client("lambda")
    result = lam.invoke(FunctionName=out["Name"], Payload=json.dumps({"n": 41}))
    assert json.loads(result["Payload"].read()) == {"greeting": f"hello from {name}", "n": 42}
    policy = json.loads(lam.get_policy(FunctionName=out["Name"])["Policy"])
    assert policy["Statement"][0]["Principal"] == {"Service": "sns.amazonaws.com"}
    cf.delete_stack(StackName=name)
    wait_deleted(cf, name)
    with pytest.raises(botocore.exceptions.ClientError):
        lam.get_function(FunctionName=out["Name"])


def test_plugins_listing_shows_resource_types(gateway):
    import requests

    plugins = {p["name"]: p for p in requests.get(gateway.url + "/_ministack/plugins", timeout=30).json()["plugins"]}
    sqs_types = {t["TypeName"]: t for t in plugins["sqs"]["resource_types"]}
    assert set(sqs_types) == {"AWS::SQS::Queue", "AWS::SQS::QueuePolicy"}
    assert sqs_types["AWS::SQS::Queue"]["CreateOnly"] == ["QueueName", "FifoQueue"]
    assert "Arn" in sqs_types["AWS::SQS::Queue"]["Attributes"]
    # Plugins without handlers (and test plugins built without them) list none.
    assert plugins["sts"]["resource_types"] == []
    assert [t["TypeName"] for t in plugins["pipes"]["resource_types"]] == ["AWS::Pipes::Pipe"]
    # The count docs/resources.md gives ("N types in plugins").
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "resources.md").read_text()
    stated = int(re.search(r"(\d+) types in plugins", doc).group(1))
    total = sum(len(p["resource_types"]) for p in plugins.values())
    assert total == stated


def test_drift_detection_reads_resources_back(gateway):
    cf = gateway.client("cloudformation")
    name = unique("drift")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": 10}},
        "P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v1"}},
    }}))
    wait(cf, name)

    def detect():
        detection = cf.detect_stack_drift(StackName=name)["StackDriftDetectionId"]
        return cf.describe_stack_drift_detection_status(StackDriftDetectionId=detection)

    assert detect()["StackDriftStatus"] == "IN_SYNC"
    url = cf.describe_stack_resource(StackName=name, LogicalResourceId="Q")["StackResourceDetail"]["PhysicalResourceId"]
    gateway.client("sqs").set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "99"})
    param = cf.describe_stack_resource(StackName=name, LogicalResourceId="P")["StackResourceDetail"]["PhysicalResourceId"]
    gateway.client("ssm").delete_parameter(Name=param)
    status = detect()
    assert status["StackDriftStatus"] == "DRIFTED" and status["DriftedStackResourceCount"] == 2
    drifts = {d["LogicalResourceId"]: d for d in cf.describe_stack_resource_drifts(StackName=name)["StackResourceDrifts"]}
    assert drifts["Q"]["StackResourceDriftStatus"] == "MODIFIED"
    assert drifts["Q"]["PropertyDifferences"] == [
        {"PropertyPath": "/VisibilityTimeout", "ExpectedValue": "10", "ActualValue": "99", "DifferenceType": "NOT_EQUAL"}
    ]
    assert drifts["P"]["StackResourceDriftStatus"] == "DELETED"
    one = cf.detect_stack_resource_drift(StackName=name, LogicalResourceId="Q")["StackResourceDrift"]
    assert one["StackResourceDriftStatus"] == "MODIFIED"
    cf.delete_stack(StackName=name)
    wait_deleted(cf, name)


def test_scheduler_types(gateway):
    cf = gateway.client("cloudformation")
    name = unique("sched")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {
        "Q": {"Type": "AWS::SQS::Queue"},
        "G": {"Type": "AWS::Scheduler::ScheduleGroup", "Properties": {"Name": f"{name}-group"}},
        "S": {"Type": "AWS::Scheduler::Schedule", "Properties": {
            "GroupName": {"Ref": "G"},
            "ScheduleExpression": "rate(1 hour)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": {"Fn::GetAtt": ["Q", "Arn"]}, "RoleArn": "arn:aws:iam::000000000000:role/r"}}},
    }, "Outputs": {"Arn": {"Value": {"Fn::GetAtt": ["S", "Arn"]}}, "Name": {"Value": {"Ref": "S"}}}}))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    got = gateway.client("scheduler").get_schedule(Name=out["Name"], GroupName=f"{name}-group")
    assert got["Arn"] == out["Arn"] and got["ScheduleExpression"] == "rate(1 hour)"
    cf.delete_stack(StackName=name)
    wait_deleted(cf, name)
    with pytest.raises(botocore.exceptions.ClientError):
        gateway.client("scheduler").get_schedule_group(Name=f"{name}-group")


def test_logs_stepfunctions_and_kinesis_types(gateway):
    cf = gateway.client("cloudformation")
    name = unique("wave")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": f"/app/{name}", "RetentionInDays": 7}},
        "Machine": {"Type": "AWS::StepFunctions::StateMachine", "Properties": {
            "RoleArn": "arn:aws:iam::000000000000:role/sfn",
            "DefinitionString": {"Fn::Sub": '{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "${AWS::StackName}", "End": true}}}'}}},
        "Stream": {"Type": "AWS::Kinesis::Stream", "Properties": {"ShardCount": 2}},
    }, "Outputs": {
        "Machine": {"Value": {"Ref": "Machine"}},
        "Stream": {"Value": {"Ref": "Stream"}},
        "StreamArn": {"Value": {"Fn::GetAtt": ["Stream", "Arn"]}},
        "LogsArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}},
    }}))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    groups = gateway.client("logs").describe_log_groups(logGroupNamePrefix=f"/app/{name}")["logGroups"]
    assert groups[0]["retentionInDays"] == 7
    assert out["LogsArn"].endswith(f":log-group:/app/{name}:*")
    sfn = gateway.client("stepfunctions")
    run = sfn.start_execution(stateMachineArn=out["Machine"])
    for _ in range(100):
        ex = sfn.describe_execution(executionArn=run["executionArn"])
        if ex["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert json.loads(ex["output"]) == name
    summary = gateway.client("kinesis").describe_stream_summary(StreamName=out["Stream"])["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2 and summary["StreamARN"] == out["StreamArn"]
    cf.delete_stack(StackName=name)
    wait_deleted(cf, name)
    assert not gateway.client("logs").describe_log_groups(logGroupNamePrefix=f"/app/{name}")["logGroups"]
