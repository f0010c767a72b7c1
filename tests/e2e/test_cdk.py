"""AWS CDK v2 against the gateway: `cdk bootstrap`, `cdk deploy` and
`cdk destroy` of a small JavaScript app (a bucket, a queue, a topic, a table
and a Lambda function with inline code fed by an SQS event source, plus a
function whose code is a file asset), and an update deployed through a
change set in between.

The CLI is configured only through the environment (AWS_ENDPOINT_URL,
credentials, CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION). npm installs
`aws-cdk`, `aws-cdk-lib` and `constructs` once into target/cdk-cache (kept
between runs); without npm or the registry the test is skipped and says so.
Both versions of the app are synthesized by one node process while the
environment bootstraps, and deploy and destroy read those cloud assemblies
(`--app cdk.out`), so aws-cdk-lib is loaded once."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import botocore.exceptions
import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "target" / "cdk-cache"
PACKAGES = ["aws-cdk@2", "aws-cdk-lib@2", "constructs@10"]
# An account of its own: the bootstrap stack and roles stay out of other tests' way.
ACCOUNT = "123456789012"
REGION = "us-east-1"
QUALIFIER = "hnb659fds"

APP = r"""
const cdk = require('aws-cdk-lib');
const s3 = require('aws-cdk-lib/aws-s3');
const sqs = require('aws-cdk-lib/aws-sqs');
const sns = require('aws-cdk-lib/aws-sns');
const dynamodb = require('aws-cdk-lib/aws-dynamodb');
const lambda = require('aws-cdk-lib/aws-lambda');
const sources = require('aws-cdk-lib/aws-lambda-event-sources');
const subs = require('aws-cdk-lib/aws-sns-subscriptions');
const path = require('path');

// One app, two versions: the update (v2) has a longer visibility timeout
// and the queue subscribed to the topic. Both cloud assemblies are written
// by this one process (node loads aws-cdk-lib once).
function build(variant, outdir) {
  const app = new cdk.App({ outdir, context: { variant } });
  const v2 = variant === 'v2';
  const stack = new cdk.Stack(app, 'MiniApp', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  const bucket = new s3.Bucket(stack, 'Bucket', { removalPolicy: cdk.RemovalPolicy.DESTROY });
  const queue = new sqs.Queue(stack, 'Queue', { visibilityTimeout: cdk.Duration.seconds(v2 ? 90 : 60) });
  const topic = new sns.Topic(stack, 'Topic');
  const table = new dynamodb.Table(stack, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    removalPolicy: cdk.RemovalPolicy.DESTROY,
  });
  const fn = new lambda.Function(stack, 'Handler', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'index.handler',
    code: lambda.Code.fromInline(
      'def handler(event, context):\n' +
      '    return {"records": len(event.get("Records", []))}\n'),
    environment: { TABLE: table.tableName, TOPIC: topic.topicArn },
  });
  fn.addEventSource(new sources.SqsEventSource(queue, { batchSize: 5 }));
  table.grantReadWriteData(fn);
  topic.grantPublish(fn);
  // Code from a file asset: zipped and published to the bootstrap bucket.
  const fromAsset = new lambda.Function(stack, 'AssetHandler', {
    runtime: lambda.Runtime.PYTHON_3_12,
    handler: 'main.handler',
    code: lambda.Code.fromAsset(path.join(__dirname, 'handler')),
  });
  if (v2) {
    topic.addSubscription(new subs.SqsSubscription(queue));
  }
  new cdk.CfnOutput(stack, 'BucketName', { value: bucket.bucketName });
  new cdk.CfnOutput(stack, 'QueueUrl', { value: queue.queueUrl });
  new cdk.CfnOutput(stack, 'QueueArn', { value: queue.queueArn });
  new cdk.CfnOutput(stack, 'TopicArn', { value: topic.topicArn });
  new cdk.CfnOutput(stack, 'TableName', { value: table.tableName });
  new cdk.CfnOutput(stack, 'FunctionName', { value: fn.functionName });
  new cdk.CfnOutput(stack, 'AssetFunctionName', { value: fromAsset.functionName });
  app.synth();
}
build('v1', process.argv[2]);
build('v2', process.argv[3]);
"""


def cdk_bin():
    """The CDK CLI from target/cdk-cache, installed there on first use."""
    cli = CACHE / "node_modules" / ".bin" / "cdk"
    lib = CACHE / "node_modules" / "aws-cdk-lib" / "package.json"
    if cli.exists() and lib.exists():
        return cli
    if not shutil.which("npm"):
        pytest.skip("CDK not tested: npm is not installed")
    CACHE.mkdir(parents=True, exist_ok=True)
    (CACHE / "package.json").write_text('{"name": "cdk-cache", "private": true}\n')
    out = subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *PACKAGES],
        cwd=CACHE, capture_output=True, text=True, timeout=600,
    )
    if out.returncode != 0 or not cli.exists():
        pytest.skip(f"CDK not tested: npm could not install {' '.join(PACKAGES)}: {out.stderr[-500:]}")
    return cli


def test_cdk_bootstrap_deploy_destroy(gateway, tmp_path):
    cli = str(cdk_bin())
    app = tmp_path / "app"
    app.mkdir()
    (app / "node_modules").symlink_to(CACHE / "node_modules")
    (app / "app.js").write_text(APP)
    (app / "handler").mkdir()
    (app / "handler" / "main.py").write_text("def handler(event, context):\n    return {'echo': event.get('name'), 'from': 'asset'}\n")
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": gateway.url,
        "AWS_ACCESS_KEY_ID": ACCOUNT,
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "CDK_DEFAULT_ACCOUNT": ACCOUNT,
        "CDK_DEFAULT_REGION": REGION,
        # No profile or credentials of the machine, no calls home.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    common = ["--no-notices", "--ci", "--no-color"]

    def start(*args, cwd=app):
        return subprocess.Popen(
            [cli, *args, *common], cwd=cwd, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )

    def finish(proc, what, timeout=240):
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            raise AssertionError(f"cdk {what} timed out:\n{out[-4000:]}")
        assert proc.returncode == 0, f"cdk {what} failed ({proc.returncode}):\n{out[-4000:]}\n{gateway.logs()[-3000:]}"
        return out

    began = time.time()
    # Synthesis needs no AWS call (the environment is explicit): it runs
    # while the environment bootstraps.
    synth = subprocess.Popen(
        ["node", "app.js", "cdk.out", "cdk.out.v2"], cwd=app, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    boot = start("bootstrap", f"aws://{ACCOUNT}/{REGION}", cwd=tmp_path)
    finish(synth, "synth")
    boot_out = finish(boot, "bootstrap")
    assert "bootstrapped" in boot_out
    bootstrapped = time.time()

    cf = gateway.client("cloudformation", account=ACCOUNT)
    ssm = gateway.client("ssm", account=ACCOUNT)
    s3 = gateway.client("s3", account=ACCOUNT)
    ecr = gateway.client("ecr", account=ACCOUNT)
    iam = gateway.client("iam", account=ACCOUNT)
    toolkit = cf.describe_stacks(StackName="CDKToolkit")["Stacks"][0]
    assert toolkit["StackStatus"] == "CREATE_COMPLETE"
    toolkit_out = {o["OutputKey"]: o["OutputValue"] for o in toolkit["Outputs"]}
    version = ssm.get_parameter(Name=f"/cdk-bootstrap/{QUALIFIER}/version")["Parameter"]["Value"]
    assert toolkit_out["BootstrapVersion"] == version and int(version) >= 20
    staging = f"cdk-{QUALIFIER}-assets-{ACCOUNT}-{REGION}"
    assert toolkit_out["BucketName"] == staging
    repo = f"cdk-{QUALIFIER}-container-assets-{ACCOUNT}-{REGION}"
    assert ecr.describe_repositories(repositoryNames=[repo])["repositories"][0]["imageTagMutability"] == "IMMUTABLE"
    for role in ["deploy", "file-publishing", "cfn-exec", "lookup", "image-publishing"]:
        iam.get_role(RoleName=f"cdk-{QUALIFIER}-{role}-role-{ACCOUNT}-{REGION}")

    deploy_out = finish(start("deploy", "--app", "cdk.out", "--require-approval", "never"), "deploy")
    # The CLI published the template through the file publishing role and
    # deployed through the deploy role (both assumed with STS).
    assert "MiniApp" in deploy_out and "✅" in deploy_out
    deployed = time.time()
    assets = [o["Key"] for o in s3.list_objects_v2(Bucket=staging).get("Contents", [])]
    assert any(k.endswith(".json") for k in assets), assets
    assert any(k.endswith(".zip") for k in assets), assets

    stack = cf.describe_stacks(StackName="MiniApp")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    out = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    s3.head_bucket(Bucket=out["BucketName"])
    sqs = gateway.client("sqs", account=ACCOUNT)
    assert sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "60"
    gateway.client("sns", account=ACCOUNT).get_topic_attributes(TopicArn=out["TopicArn"])
    table = gateway.client("dynamodb", account=ACCOUNT).describe_table(TableName=out["TableName"])["Table"]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    lam = gateway.client("lambda", account=ACCOUNT)
    fn = lam.get_function(FunctionName=out["FunctionName"])["Configuration"]
    assert fn["Runtime"] == "python3.12" and fn["Handler"] == "index.handler"
    assert fn["Environment"]["Variables"] == {"TABLE": out["TableName"], "TOPIC": out["TopicArn"]}
    mappings = lam.list_event_source_mappings(FunctionName=out["FunctionName"])["EventSourceMappings"]
    assert [(m["EventSourceArn"], m["BatchSize"]) for m in mappings] == [(out["QueueArn"], 5)]
    got = lam.invoke(FunctionName=out["AssetFunctionName"], Payload=json.dumps({"name": "cdk"}))
    assert json.loads(got["Payload"].read()) == {"echo": "cdk", "from": "asset"}
    # The role CDK made for the function may read and write the table.
    role_name = fn["Role"].rsplit("/", 1)[1]
    policies = iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    doc = json.dumps([iam.get_role_policy(RoleName=role_name, PolicyName=p)["PolicyDocument"] for p in policies])
    assert "dynamodb:PutItem" in doc and "sns:Publish" in doc

    # The event source mapping feeds the queue's messages to the function.
    sqs.send_message(QueueUrl=out["QueueUrl"], MessageBody="hello")
    deadline = time.time() + 30
    while True:
        attrs = sqs.get_queue_attributes(
            QueueUrl=out["QueueUrl"],
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if attrs == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}:
            break
        assert time.time() < deadline, f"the function did not consume the message: {attrs}"
        time.sleep(0.2)
    consumed = time.time()

    # An update through a change set: a changed property, two new resources.
    finish(start("deploy", "--app", "cdk.out.v2", "--require-approval", "never"), "deploy (update)")
    updated = time.time()
    stack = cf.describe_stacks(StackName="MiniApp")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"] == "90"
    subscriptions = gateway.client("sns", account=ACCOUNT).list_subscriptions_by_topic(TopicArn=out["TopicArn"])["Subscriptions"]
    assert [(x["Protocol"], x["Endpoint"]) for x in subscriptions] == [("sqs", out["QueueArn"])]
    types = {r["ResourceType"] for r in cf.describe_stack_resources(StackName="MiniApp")["StackResources"]}
    assert {"AWS::SNS::Subscription", "AWS::SQS::QueuePolicy"} <= types

    destroy_out = finish(start("destroy", "--app", "cdk.out.v2", "--force"), "destroy")
    assert "destroyed" in destroy_out
    destroyed = time.time()
    with pytest.raises(botocore.exceptions.ClientError) as e:
        cf.describe_stacks(StackName="MiniApp")
    assert "does not exist" in str(e.value)
    with pytest.raises(botocore.exceptions.ClientError):
        sqs.get_queue_attributes(QueueUrl=out["QueueUrl"], AttributeNames=["All"])
    with pytest.raises(botocore.exceptions.ClientError):
        s3.head_bucket(Bucket=out["BucketName"])
    with pytest.raises(botocore.exceptions.ClientError):
        lam.get_function(FunctionName=out["FunctionName"])
    print(
        f"cdk: bootstrap+synth {bootstrapped - began:.1f}s, deploy {deployed - bootstrapped:.1f}s, "
        f"message consumed {consumed - deployed:.1f}s, update {updated - consumed:.1f}s, "
        f"destroy {destroyed - updated:.1f}s, total {destroyed - began:.1f}s"
    )
