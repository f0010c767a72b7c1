"""CloudFormation engine features through the whole gateway with boto3:
custom resources answered by a real Lambda function (python, urllib PUT on
the ResponseURL) and through an SNS topic, nested stacks from S3, wait
conditions signalled on their handle's URL, and independent resources
made at the same time, the SAM transform (`aws cloudformation deploy` and
`sam deploy`/`sam delete` with the SAM CLI from PyPI in target/sam-venv),
Fn::ForEach, Rules, the type registry."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import botocore.exceptions
import pytest
import requests

from stacks import outputs, unique, wait


def events(cf, name):
    out = cf.describe_stack_events(StackName=name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(out)]


def wait_deleted(cf, stack_id):
    stack = wait(cf, stack_id)
    assert stack["StackStatus"] == "DELETE_COMPLETE", events(cf, stack_id)


PROVIDER = """
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement:
          - {Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}
  Provider:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Timeout: 30
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          import json, urllib.request
          def handler(event, context):
              props = event["ResourceProperties"]
              if props.get("Silent") == "yes":
                  return
              old = event.get("OldResourceProperties", {})
              body = {
                  "Status": "FAILED" if props.get("Fail") == "yes" else "SUCCESS",
                  "Reason": "told to fail",
                  "PhysicalResourceId": "greeter-" + props["Name"],
                  "StackId": event["StackId"],
                  "RequestId": event["RequestId"],
                  "LogicalResourceId": event["LogicalResourceId"],
                  "Data": {
                      "Greeting": "hello " + props["Name"],
                      "RequestType": event["RequestType"],
                      "Old": old.get("Name", "-"),
                      "Same": str(event.get("PhysicalResourceId", "-")),
                      "Type": event["ResourceType"],
                  },
              }
              req = urllib.request.Request(event["ResponseURL"], data=json.dumps(body).encode(),
                                           method="PUT", headers={"Content-Type": ""})
              urllib.request.urlopen(req, timeout=10).read()
"""

CUSTOM = """
Parameters:
  Name: {Type: String, Default: world}
Resources:
""" + PROVIDER + """
  Greeter:
    Type: Custom::Greeter
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      Name: !Ref Name
  Plain:
    Type: AWS::CloudFormation::CustomResource
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      Name: plain
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      Tags: [{Key: greeting, Value: !GetAtt Greeter.Greeting}]
Outputs:
  Greeting: {Value: !GetAtt Greeter.Greeting}
  RequestType: {Value: !GetAtt Greeter.RequestType}
  Old: {Value: !GetAtt Greeter.Old}
  Same: {Value: !GetAtt Greeter.Same}
  Id: {Value: !Ref Greeter}
  Plain: {Value: !GetAtt Plain.Type}
"""


def test_custom_resource_through_a_lambda_function(gateway):
    cf = gateway.client("cloudformation")
    name = unique("cr")
    cf.create_stack(StackName=name, TemplateBody=CUSTOM, Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    assert out["Greeting"] == "hello world"
    assert out["RequestType"] == "Create"
    assert out["Old"] == "-" and out["Same"] == "-"
    assert out["Id"] == "greeter-world"
    assert out["Plain"] == "AWS::CloudFormation::CustomResource"
    res = cf.describe_stack_resource(StackName=name, LogicalResourceId="Greeter")["StackResourceDetail"]
    assert res["PhysicalResourceId"] == "greeter-world"
    assert res["ResourceType"] == "Custom::Greeter"

    # Update: the provider gets OldResourceProperties and the physical id;
    # a new physical id replaces the resource (the old one gets a Delete).
    cf.update_stack(StackName=name, TemplateBody=CUSTOM, Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": "Name", "ParameterValue": "moon"}])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    assert out["Greeting"] == "hello moon"
    assert out["RequestType"] == "Update"
    assert out["Old"] == "world" and out["Same"] == "greeter-world"
    assert out["Id"] == "greeter-moon"

    stack_id = stack["StackId"]
    cf.delete_stack(StackName=name)
    wait_deleted(cf, stack_id)
    assert ("Greeter", "DELETE_COMPLETE", "") in events(cf, stack_id)


FAILING = """
Resources:
""" + PROVIDER + """
  Bad:
    Type: Custom::Bad
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      Name: bad
      Fail: "yes"
"""

SILENT = """
Resources:
""" + PROVIDER + """
  Mute:
    Type: Custom::Mute
    Properties:
      ServiceToken: !GetAtt Provider.Arn
      ServiceTimeout: 2
      Name: mute
      Silent: "yes"
"""


def test_custom_resource_failure_and_timeout_roll_back(gateway):
    cf = gateway.client("cloudformation")
    name = unique("crf")
    cf.create_stack(StackName=name, TemplateBody=FAILING, Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", events(cf, name)
    failed = [e for e in events(cf, name) if e[0] == "Bad" and e[1] == "CREATE_FAILED"]
    assert failed and "told to fail" in failed[0][2], events(cf, name)

    name = unique("crt")
    cf.create_stack(StackName=name, TemplateBody=SILENT, Capabilities=["CAPABILITY_IAM"])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", events(cf, name)
    failed = [e for e in events(cf, name) if e[0] == "Mute" and e[1] == "CREATE_FAILED"]
    assert failed and "did not receive a response" in failed[0][2], events(cf, name)


SNS_CUSTOM = """
Parameters:
  QueueArn: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
  Subscription:
    Type: AWS::SNS::Subscription
    Properties: {TopicArn: !Ref Topic, Protocol: sqs, Endpoint: !Ref QueueArn, RawMessageDelivery: "true"}
  Thing:
    Type: Custom::Thing
    DependsOn: Subscription
    Properties:
      ServiceToken: !Ref Topic
      Size: 3
Outputs:
  Answer: {Value: !GetAtt Thing.Answer}
  Id: {Value: !Ref Thing}
"""


def answer_from_queue(sqs, url, status="SUCCESS", data=None, physical=None):
    deadline = time.time() + 30
    while time.time() < deadline:
        msgs = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
        if msgs:
            request = json.loads(msgs[0]["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=msgs[0]["ReceiptHandle"])
            body = {"Status": status, "RequestId": request["RequestId"], "StackId": request["StackId"],
                    "LogicalResourceId": request["LogicalResourceId"],
                    "PhysicalResourceId": physical or request.get("PhysicalResourceId", "thing-1"),
                    "Data": data or {}}
            r = requests.put(request["ResponseURL"], data=json.dumps(body))
            assert r.status_code == 200, r.text
            return request
    raise AssertionError("no custom resource request arrived")


def test_custom_resource_through_an_sns_topic(gateway):
    sqs = gateway.client("sqs")
    url = sqs.create_queue(QueueName=unique("crq"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    cf = gateway.client("cloudformation")
    name = unique("crs")
    cf.create_stack(StackName=name, TemplateBody=SNS_CUSTOM,
                    Parameters=[{"ParameterKey": "QueueArn", "ParameterValue": arn}])
    request = answer_from_queue(sqs, url, data={"Answer": 42})
    assert request["RequestType"] == "Create"
    assert request["ResourceType"] == "Custom::Thing"
    assert request["ResourceProperties"]["Size"] == "3" or request["ResourceProperties"]["Size"] == 3
    assert request["ResponseURL"].split("/_ministack/")[0].endswith(":" + gateway.url.rsplit(":", 1)[1])
    assert "/_ministack/cloudformation/response/" in request["ResponseURL"]
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    assert outputs(stack) == {"Answer": "42", "Id": "thing-1"}
    stack_id = stack["StackId"]
    cf.delete_stack(StackName=name)
    request = answer_from_queue(sqs, url)
    assert request["RequestType"] == "Delete" and request["PhysicalResourceId"] == "thing-1"
    wait_deleted(cf, stack_id)
    # A response to an unknown or malformed request is refused.
    r = requests.put(request["ResponseURL"], data="not json")
    assert r.status_code == 400


CHILD = """
Parameters:
  Prefix: {Type: String}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${Prefix}-child"}
Outputs:
  QueueUrl: {Value: !Ref Queue}
  QueueArn: {Value: !GetAtt Queue.Arn}
"""

PARENT = """
Parameters:
  Prefix: {Type: String}
  Url: {Type: String}
Resources:
  Child:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Ref Url
      Parameters: {Prefix: !Ref Prefix}
  Param:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Child.Outputs.QueueArn}
Outputs:
  ChildUrl: {Value: !GetAtt Child.Outputs.QueueUrl}
  ChildId: {Value: !Ref Child}
"""


def test_nested_stack_from_s3(gateway):
    s3 = gateway.client("s3")
    bucket = unique("nest")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="child.yaml", Body=CHILD.encode())
    cf = gateway.client("cloudformation")
    name = unique("parent")
    prefix = unique("p")
    params = [{"ParameterKey": "Prefix", "ParameterValue": prefix},
              {"ParameterKey": "Url", "ParameterValue": f"{gateway.url}/{bucket}/child.yaml"}]
    cf.create_stack(StackName=name, TemplateBody=PARENT, Parameters=params)
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    assert out["ChildUrl"].endswith(f"/{prefix}-child")
    child = cf.describe_stacks(StackName=out["ChildId"])["Stacks"][0]
    assert child["StackStatus"] == "CREATE_COMPLETE"
    assert child["ParentId"] == stack["StackId"] and child["RootId"] == stack["StackId"]
    assert child["StackName"].startswith(f"{name}-Child-")
    assert {"Prefix": prefix} == {p["ParameterKey"]: p["ParameterValue"] for p in child["Parameters"]}
    res = cf.describe_stack_resource(StackName=name, LogicalResourceId="Child")["StackResourceDetail"]
    assert res["PhysicalResourceId"] == out["ChildId"]
    sqs = gateway.client("sqs")
    assert sqs.get_queue_url(QueueName=f"{prefix}-child")["QueueUrl"].endswith(f"/000000000000/{prefix}-child")
    child_events = events(cf, out["ChildId"])
    assert child_events[0][1] == "CREATE_IN_PROGRESS" and child_events[-1][1] == "CREATE_COMPLETE"

    # Update through the parent: a new parameter value updates the child.
    prefix2 = unique("p")
    params[0]["ParameterValue"] = prefix2
    cf.update_stack(StackName=name, TemplateBody=PARENT, Parameters=params)
    stack = wait(cf, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE", events(cf, name)
    assert outputs(stack)["ChildUrl"].endswith(f"/{prefix2}-child")
    assert cf.describe_stacks(StackName=out["ChildId"])["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"

    cf.delete_stack(StackName=name)
    wait_deleted(cf, stack["StackId"])
    assert cf.describe_stacks(StackName=out["ChildId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.get_queue_url(QueueName=f"{prefix2}-child")


WAIT = """
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
  Waiter:
    Type: AWS::CloudFormation::WaitCondition
    Properties: {Handle: !Ref Handle, Timeout: 60, Count: 2}
  After:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !GetAtt Waiter.Data}
Outputs:
  Data: {Value: !GetAtt Waiter.Data}
  Url: {Value: !Ref Handle}
"""


def test_wait_condition_completes_on_signals(gateway):
    cf = gateway.client("cloudformation")
    name = unique("wc")
    cf.create_stack(StackName=name, TemplateBody=WAIT)
    url = None
    deadline = time.time() + 30
    while not url and time.time() < deadline:
        for r in cf.describe_stack_resources(StackName=name)["StackResources"]:
            if r["LogicalResourceId"] == "Handle" and r["ResourceStatus"] == "CREATE_COMPLETE":
                url = r["PhysicalResourceId"]
        time.sleep(0.05)
    assert url and "/_ministack/cloudformation/signal/" in url, url
    assert requests.put(url, data=json.dumps({"Status": "SUCCESS", "UniqueId": "a", "Data": "one", "Reason": "r"})).status_code == 200
    time.sleep(0.3)
    assert cf.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
    assert requests.put(url, data=json.dumps({"Status": "SUCCESS", "UniqueId": "b", "Data": "two", "Reason": "r"})).status_code == 200
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    assert json.loads(outputs(stack)["Data"]) == {"a": "one", "b": "two"}
    assert requests.put(url, data="{}").status_code == 400

    name = unique("wcf")
    cf.create_stack(StackName=name, TemplateBody=WAIT)
    url = None
    while not url:
        for r in cf.describe_stack_resources(StackName=name)["StackResources"]:
            if r["LogicalResourceId"] == "Handle" and r["ResourceStatus"] == "CREATE_COMPLETE":
                url = r["PhysicalResourceId"]
        time.sleep(0.05)
    requests.put(url, data=json.dumps({"Status": "FAILURE", "UniqueId": "x", "Data": "", "Reason": "broken"}))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE", events(cf, name)
    assert any(e[0] == "Waiter" and e[1] == "CREATE_FAILED" and "broken" in e[2] for e in events(cf, name))


def test_independent_resources_are_made_together(gateway):
    """Queues that depend on nothing start before any completes; the
    parameter that reads them starts after."""
    resources = {f"Q{i}": {"Type": "AWS::SQS::Queue"} for i in range(6)}
    resources["P"] = {"Type": "AWS::SSM::Parameter",
                      "Properties": {"Type": "String", "Value": {"Fn::GetAtt": ["Q0", "Arn"]}}}
    cf = gateway.client("cloudformation")
    name = unique("par")
    cf.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    ev = [(e[0], e[1], e[2]) for e in events(cf, name)]
    starts = [i for i, e in enumerate(ev) if e[0].startswith("Q") and e[1] == "CREATE_IN_PROGRESS" and not e[2]]
    completes = [i for i, e in enumerate(ev) if e[0].startswith("Q") and e[1] == "CREATE_COMPLETE"]
    assert len(starts) == 6 and max(starts) < min(completes), ev
    p_start = [i for i, e in enumerate(ev) if e[0] == "P" and e[1] == "CREATE_IN_PROGRESS"][0]
    assert p_start > max(completes)
    cf.delete_stack(StackName=name)
    wait_deleted(cf, stack["StackId"])
    ev = events(cf, stack["StackId"])
    p_deleted = [i for i, e in enumerate(ev) if e[0] == "P" and e[1] == "DELETE_COMPLETE"][0]
    q_deletes = [i for i, e in enumerate(ev) if e[0].startswith("Q") and e[1] == "DELETE_IN_PROGRESS"]
    assert len(q_deletes) == 6 and min(q_deletes) > p_deleted


SAM = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    Environment:
      Variables: {STAGE: test}
Resources:
  Work:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::Serverless::SimpleTable
    Properties:
      PrimaryKey: {Name: pk, Type: String}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      Handler: index.handler
      InlineCode: |
        import os
        def handler(event, context):
            return {"stage": os.environ["STAGE"], "table": os.environ["TABLE"]}
      Environment:
        Variables: {TABLE: !Ref Table}
      Policies:
        - AmazonSQSFullAccess
        - DynamoDBCrudPolicy: {TableName: !Ref Table}
      Events:
        FromQueue:
          Type: SQS
          Properties: {Queue: !GetAtt Work.Arn, BatchSize: 5}
        Tick:
          Type: Schedule
          Properties: {Schedule: rate(1 hour)}
Outputs:
  Fn: {Value: !Ref Worker}
  Role: {Value: !Ref WorkerRole}
"""


def test_sam_template_with_aws_cloudformation_deploy(gateway, tmp_path):
    name = unique("sam")
    template = tmp_path / "sam.yaml"
    template.write_text(SAM)
    gateway.aws("cloudformation", "deploy", "--template-file", str(template), "--stack-name", name,
                "--capabilities", "CAPABILITY_IAM")
    cf = gateway.client("cloudformation")
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    lam = gateway.client("lambda")
    result = lam.invoke(FunctionName=out["Fn"], Payload=b"{}")
    body = json.loads(result["Payload"].read())
    assert body["stage"] == "test" and body["table"].startswith(f"{name}-Table-")
    cfg = lam.get_function_configuration(FunctionName=out["Fn"])
    assert cfg["Timeout"] == 10 and cfg["Role"].endswith(out["Role"])
    mappings = lam.list_event_source_mappings(FunctionName=out["Fn"])["EventSourceMappings"]
    assert len(mappings) == 1 and mappings[0]["BatchSize"] == 5
    types = {r["ResourceType"] for r in cf.describe_stack_resources(StackName=name)["StackResources"]}
    assert {"AWS::Lambda::Function", "AWS::IAM::Role", "AWS::DynamoDB::Table", "AWS::Lambda::EventSourceMapping",
            "AWS::Events::Rule", "AWS::Lambda::Permission"} <= types
    # GetTemplate gives back the template as written; the stack deploys the processed one.
    assert "AWS::Serverless::Function" in cf.get_template(StackName=name)["TemplateBody"]
    # CreateStack with a macro needs CAPABILITY_AUTO_EXPAND, as on AWS.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack(StackName=unique("sam"), TemplateBody=SAM, Capabilities=["CAPABILITY_IAM"])
    assert "CAPABILITY_AUTO_EXPAND" in str(e.value)
    # API Gateway types are refused clearly.
    api = "Transform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n    Type: AWS::Serverless::Api\n    Properties: {StageName: v1}\n"
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.create_stack(StackName=unique("sam"), TemplateBody=api, Capabilities=["CAPABILITY_AUTO_EXPAND"])
    assert "API Gateway" in str(e.value)
    gateway.aws("cloudformation", "delete-stack", "--stack-name", name)
    gateway.aws("cloudformation", "wait", "stack-delete-complete", "--stack-name", name)


LANG = """
Transform: AWS::LanguageExtensions
Parameters:
  Names: {Type: CommaDelimitedList, Default: "a,b,c"}
  Env: {Type: String, AllowedPattern: "[a-z]+", Default: dev}
  Size: {Type: String, Default: small}
Rules:
  ProdIsLarge:
    RuleCondition: !Equals [!Ref Env, prod]
    Assertions:
      - Assert: !Contains [[large], !Ref Size]
        AssertDescription: prod needs Size large
Resources:
  Fn::ForEach::Queues:
    - N
    - !Ref Names
    - Queue${N}:
        Type: AWS::SQS::Queue
        Properties: {QueueName: !Sub "${AWS::StackName}-${N}"}
Outputs:
  Fn::ForEach::Urls:
    - N
    - !Ref Names
    - Url${N}: {Value: !Ref "Queue${N}"}
"""


def test_for_each_rules_and_allowed_pattern(gateway):
    cf = gateway.client("cloudformation")
    name = unique("lang")
    cf.create_stack(StackName=name, TemplateBody=LANG, Parameters=[{"ParameterKey": "Names", "ParameterValue": "x,y"}])
    stack = wait(cf, name)
    assert stack["StackStatus"] == "CREATE_COMPLETE", events(cf, name)
    out = outputs(stack)
    assert sorted(out) == ["Urlx", "Urly"] and out["Urly"].endswith(f"{name}-y")
    bad = [
        ([{"ParameterKey": "Env", "ParameterValue": "Prod1"}], "must match pattern [a-z]+"),
        ([{"ParameterKey": "Env", "ParameterValue": "prod"}], "prod needs Size large"),
    ]
    for params, message in bad:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            cf.create_stack(StackName=unique("lang"), TemplateBody=LANG, Parameters=params)
        assert message in str(e.value)
    cf.delete_stack(StackName=name)
    wait_deleted(cf, stack["StackId"])


def test_type_registry_and_account_limits(gateway):
    cf = gateway.client("cloudformation")
    names = [t["TypeName"] for t in cf.list_types(Type="RESOURCE", MaxResults=100)["TypeSummaries"]]
    assert {"AWS::SQS::Queue", "AWS::S3::Bucket", "AWS::CloudFormation::Stack"} <= set(names)
    sqs_only = cf.list_types(Type="RESOURCE", Filters={"TypeNamePrefix": "AWS::SQS::"})["TypeSummaries"]
    assert {t["TypeName"] for t in sqs_only} == {"AWS::SQS::Queue", "AWS::SQS::QueuePolicy"}
    page = cf.list_types(Type="RESOURCE", MaxResults=2)
    assert len(page["TypeSummaries"]) == 2 and page["NextToken"]
    t = cf.describe_type(Type="RESOURCE", TypeName="AWS::SQS::Queue")
    schema = json.loads(t["Schema"])
    assert schema["typeName"] == "AWS::SQS::Queue" and "/properties/QueueName" in schema["createOnlyProperties"]
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_type(Type="RESOURCE", TypeName="AWS::Nope::Thing")
    assert e.value.response["Error"]["Code"] == "TypeNotFoundException"
    limits = {l["Name"]: l["Value"] for l in cf.describe_account_limits()["AccountLimits"]}
    assert limits["StackLimit"] == 2000


def sam_cli():
    """The SAM CLI in a venv under target/ (installed from PyPI on first use)."""
    venv = Path(__file__).resolve().parents[2] / "target" / "sam-venv"
    sam = venv / "bin" / "sam"
    if not sam.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "aws-sam-cli"], check=True, timeout=900)
    return str(sam)


def test_sam_cli_deploy(gateway, tmp_path):
    sam = sam_cli()
    (tmp_path / "template.yaml").write_text(SAM)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "000000000000", "AWS_SECRET_ACCESS_KEY": "test",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": gateway.url, "SAM_CLI_TELEMETRY": "0",
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    name = unique("samcli")
    out = subprocess.run([sam, "deploy", "--template-file", "template.yaml", "--stack-name", name,
                          "--capabilities", "CAPABILITY_IAM", "--no-confirm-changeset", "--region", "us-east-1"],
                         env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert f"Successfully created/updated stack - {name}" in out.stdout
    cf = gateway.client("cloudformation")
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    fn = outputs(stack)["Fn"]
    body = json.loads(gateway.client("lambda").invoke(FunctionName=fn, Payload=b"{}")["Payload"].read())
    assert body["stage"] == "test"
    out = subprocess.run([sam, "delete", "--stack-name", name, "--no-prompts", "--region", "us-east-1"],
                         env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    assert wait(cf, stack["StackId"])["StackStatus"] == "DELETE_COMPLETE"
