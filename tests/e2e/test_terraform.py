"""Terraform (AWS provider v5) against the gateway: apply a stack across the
default bundle's services, check it with boto3, plan again (no changes:
what the gateway answers reads back as written), destroy, check it is gone.

Needs `terraform` on PATH and the AWS provider in a local filesystem mirror
(TF_PROVIDER_MIRROR, or a folder holding registry.terraform.io in the usual
places); without them the test is skipped and says so."""

import gzip
import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest
import requests
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
MIRRORS = [
    os.environ.get("TF_PROVIDER_MIRROR", ""),
    "/opt/tf-plugins",
    str(Path.home() / ".terraform.d" / "plugins"),
    "/usr/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
]


def provider_mirror():
    for folder in MIRRORS:
        if folder and (Path(folder) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return folder
    return None


def terraform_in(tmp_path, folder, tf_vars):
    """A `terraform` runner for the configuration in tests/e2e/<folder>,
    copied into `tmp_path` and initialised against the provider mirror;
    every command but init gets `tf_vars`. Skips, saying why, without
    terraform or the mirror."""
    if not shutil.which("terraform"):
        pytest.skip("Terraform not tested: no `terraform` on PATH")
    mirror = provider_mirror()
    if not mirror:
        pytest.skip("Terraform not tested: no AWS provider mirror (set TF_PROVIDER_MIRROR)")
    (tmp_path / "cli.tfrc").write_text(
        'provider_installation {\n'
        f'  filesystem_mirror {{\n    path = "{mirror}"\n    include = ["registry.terraform.io/hashicorp/aws"]\n  }}\n'
        '  direct { exclude = ["registry.terraform.io/hashicorp/aws"] }\n}\n'
    )
    shutil.copy(HERE / folder / "main.tf", tmp_path / "main.tf")
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
           "CHECKPOINT_DISABLE": "1"}

    def run(*args, check=True):
        began = time.time()
        r = subprocess.run(["terraform", *args, "-no-color", "-input=false"]
                           + (tf_vars if args[0] != "init" else []),
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
        print(f"terraform {args[0]}: {time.time() - began:.1f} s")
        if check and r.returncode != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    run("init")
    return run


@pytest.fixture
def terraform(tmp_path, gateway):
    plugins = {p["name"] for p in requests.get(gateway.url + "/_ministack/plugins").json()["plugins"]}
    tf_vars = [
        "-var", f"endpoint={gateway.url}",
        "-var", f"with_ssm={'true' if 'ssm' in plugins else 'false'}",
        "-var", f"with_sns={'true' if 'sns' in plugins else 'false'}",
        "-var", f"with_lambda={'true' if 'lambda' in plugins else 'false'}",
        "-var", f"lambda_zip={tmp_path / 'lambda.zip'}",
    ]
    # The function's code, built here (terraform uploads it as ZipFile).
    with zipfile.ZipFile(tmp_path / "lambda.zip", "w") as z:
        z.writestr("app.py", "def handler(event, context):\n    return {'stage': 'tf', 'records': len(event.get('Records', []))}\n")
    run = terraform_in(tmp_path, "terraform", tf_vars)
    run.plugins = plugins
    return run


def test_stack_applies_reads_back_unchanged_and_destroys(terraform, gateway):
    terraform("apply", "-auto-approve")

    s3 = gateway.client("s3")
    assert s3.get_object(Bucket="tf-site", Key="index.html")["Body"].read() == b"<h1>hello from terraform</h1>"
    assert s3.get_bucket_versioning(Bucket="tf-site")["Status"] == "Enabled"
    table = gateway.client("dynamodb").describe_table(TableName="tf-orders")["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["by-status"]
    sqs = gateway.client("sqs")
    url = sqs.get_queue_url(QueueName="tf-jobs")["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
        "VisibilityTimeout": "45"}
    iam = gateway.client("iam")
    attached = iam.list_attached_role_policies(RoleName="tf-worker")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["tf-read"]
    kms = gateway.client("kms")
    key_id = kms.describe_key(KeyId="alias/tf-data")["KeyMetadata"]["KeyId"]
    assert kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"])["Plaintext"] == b"x"
    sm = gateway.client("secretsmanager")
    assert sm.get_secret_value(SecretId="tf-db-password")["SecretString"] == "s3cr3t"
    if "ssm" in terraform.plugins:
        assert gateway.client("ssm").get_parameter(Name="/tf/queue-url")["Parameter"]["Value"] == url
    if "sns" in terraform.plugins:
        subs = gateway.client("sns").list_subscriptions()["Subscriptions"]
        assert any(s["Endpoint"].endswith(":tf-jobs") for s in subs)

    if "lambda" in terraform.plugins:
        lam = gateway.client("lambda")
        conf = lam.get_function_configuration(FunctionName="tf-worker")
        assert (conf["Runtime"], conf["Environment"]["Variables"]) == ("python3.12", {"STAGE": "tf"})
        out = lam.invoke(FunctionName="tf-worker", Payload=b"{}")
        assert json.loads(out["Payload"].read()) == {"stage": "tf", "records": 0}
        [mapping] = lam.list_event_source_mappings(FunctionName="tf-worker")["EventSourceMappings"]
        assert (mapping["EventSourceArn"].endswith(":tf-jobs"), mapping["BatchSize"]) == (True, 5)
        # The provider adds its own FunctionURLAllowPublicAccess statement for
        # the URL, in parallel with ours: look ours up by Sid, not position.
        statements = json.loads(lam.get_policy(FunctionName="tf-worker")["Policy"])["Statement"]
        allow_s3 = [st for st in statements if st["Sid"] == "AllowS3"]
        assert len(allow_s3) == 1 and allow_s3[0]["Principal"] == {"Service": "s3.amazonaws.com"}, statements
        url = lam.get_function_url_config(FunctionName="tf-worker")["FunctionUrl"]
        url_id = url.split("//", 1)[1].split(".", 1)[0]
        r = requests.get(f"{gateway.url}/_aws/lambda-url/{url_id}/", timeout=10)
        assert r.status_code == 200 and r.json() == {"stage": "tf", "records": 0}

    kinesis = gateway.client("kinesis")
    stream = kinesis.describe_stream_summary(StreamName="tf-events")["StreamDescriptionSummary"]
    assert (stream["OpenShardCount"], stream["RetentionPeriodHours"]) == (2, 48)
    firehose = gateway.client("firehose")
    described = firehose.describe_delivery_stream(DeliveryStreamName="tf-archive")["DeliveryStreamDescription"]
    assert described["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"] == stream["StreamARN"]
    # A record put on the stream reaches the bucket through the delivery stream (gzip'd).
    kinesis.put_record(StreamName="tf-events", PartitionKey="k", Data=b'{"order": 1}')
    deadline = time.time() + 20
    while time.time() < deadline:
        objects = s3.list_objects_v2(Bucket="tf-archive", Prefix="events/").get("Contents", [])
        if objects:
            break
        time.sleep(0.2)
    assert len(objects) == 1, objects
    body = s3.get_object(Bucket="tf-archive", Key=objects[0]["Key"])["Body"].read()
    assert gzip.decompress(body) == b'{"order": 1}'

    # A second plan finds nothing to change (exit code 0, not 2).
    plan = terraform("plan", "-detailed-exitcode", check=False)
    assert plan.returncode == 0, plan.stdout[-4000:]

    terraform("destroy", "-auto-approve")
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="tf-site")
    assert e.value.response["Error"]["Code"] in ("404", "NoSuchBucket")
    with pytest.raises(ClientError) as e:
        iam.get_role(RoleName="tf-worker")
    assert e.value.response["Error"]["Code"] == "NoSuchEntity"
    assert "tf-orders" not in gateway.client("dynamodb").list_tables()["TableNames"]
    # The gateway is shared with other test files: look for this stack's names only.
    assert "tf-events" not in kinesis.list_streams()["StreamNames"]
    assert "tf-archive" not in firehose.list_delivery_streams()["DeliveryStreamNames"]
