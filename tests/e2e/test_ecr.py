"""ECR plugin: repositories, policies, lifecycle policies, tags,
authorization tokens, and the image operations that answer empty."""

import base64
import json
import time

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def ecr(gateway):
    return gateway.client("ecr")


def code(exc):
    return exc.value.response["Error"]["Code"]


def test_repository_lifecycle(ecr):
    out = ecr.create_repository(
        repositoryName="team/app-one",
        imageTagMutability="IMMUTABLE",
        imageScanningConfiguration={"scanOnPush": True},
        encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "alias/mine"},
        tags=[{"Key": "env", "Value": "dev"}],
    )["repository"]
    assert out["repositoryName"] == "team/app-one"
    assert out["registryId"] == "000000000000"
    assert out["repositoryArn"] == "arn:aws:ecr:us-east-1:000000000000:repository/team/app-one"
    assert out["repositoryUri"] == "000000000000.dkr.ecr.us-east-1.amazonaws.com/team/app-one"
    assert out["imageTagMutability"] == "IMMUTABLE"
    assert out["imageScanningConfiguration"] == {"scanOnPush": True}
    assert out["encryptionConfiguration"] == {"encryptionType": "KMS", "kmsKey": "alias/mine"}
    assert abs(out["createdAt"].timestamp() - time.time()) < 60

    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="team/app-one")
    assert code(e) == "RepositoryAlreadyExistsException"

    plain = ecr.create_repository(repositoryName="plain-repo")["repository"]
    assert plain["imageTagMutability"] == "MUTABLE"
    assert plain["encryptionConfiguration"] == {"encryptionType": "AES256"}
    assert plain["imageScanningConfiguration"] == {"scanOnPush": False}

    got = ecr.describe_repositories(repositoryNames=["team/app-one"])["repositories"]
    assert [r["repositoryArn"] for r in got] == [out["repositoryArn"]]
    names = {r["repositoryName"] for r in ecr.describe_repositories()["repositories"]}
    assert {"team/app-one", "plain-repo"} <= names
    page = ecr.describe_repositories(maxResults=1)
    assert len(page["repositories"]) == 1 and page["nextToken"]

    ecr.put_image_tag_mutability(repositoryName="plain-repo", imageTagMutability="IMMUTABLE")
    ecr.put_image_scanning_configuration(repositoryName="plain-repo", imageScanningConfiguration={"scanOnPush": True})
    again = ecr.describe_repositories(repositoryNames=["plain-repo"])["repositories"][0]
    assert again["imageTagMutability"] == "IMMUTABLE"
    assert again["imageScanningConfiguration"] == {"scanOnPush": True}

    deleted = ecr.delete_repository(repositoryName="plain-repo")["repository"]
    assert deleted["repositoryName"] == "plain-repo"
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=["plain-repo"])
    assert code(e) == "RepositoryNotFoundException"
    assert "does not exist in the registry with id '000000000000'" in str(e.value)
    with pytest.raises(ClientError) as e:
        ecr.delete_repository(repositoryName="plain-repo")
    assert code(e) == "RepositoryNotFoundException"
    ecr.delete_repository(repositoryName="team/app-one", force=True)


def test_bad_input(ecr):
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="Upper-Case")
    assert code(e) == "InvalidParameterException"
    assert "regular expression" in str(e.value)
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="ok-name", tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert code(e) == "InvalidTagParameterException"
    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName="ok-name", encryptionConfiguration={"encryptionType": "AES256", "kmsKey": "k"})
    assert code(e) == "InvalidParameterException"
    # Nothing was created by the failed calls.
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=["ok-name"])
    assert code(e) == "RepositoryNotFoundException"


def test_policies(ecr):
    ecr.create_repository(repositoryName="policy-repo")
    with pytest.raises(ClientError) as e:
        ecr.get_repository_policy(repositoryName="policy-repo")
    assert code(e) == "RepositoryPolicyNotFoundException"
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})
    out = ecr.set_repository_policy(repositoryName="policy-repo", policyText=policy)
    assert out["policyText"] == policy
    assert ecr.get_repository_policy(repositoryName="policy-repo")["policyText"] == policy
    with pytest.raises(ClientError) as e:
        ecr.set_repository_policy(repositoryName="policy-repo", policyText="not json")
    assert code(e) == "InvalidParameterException"
    assert ecr.delete_repository_policy(repositoryName="policy-repo")["policyText"] == policy
    with pytest.raises(ClientError) as e:
        ecr.delete_repository_policy(repositoryName="policy-repo")
    assert code(e) == "RepositoryPolicyNotFoundException"

    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName="policy-repo")
    assert code(e) == "LifecyclePolicyNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy_preview(repositoryName="policy-repo")
    assert code(e) == "LifecyclePolicyPreviewNotFoundException"
    lifecycle = json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}, "action": {"type": "expire"}}]})
    ecr.put_lifecycle_policy(repositoryName="policy-repo", lifecyclePolicyText=lifecycle)
    assert ecr.get_lifecycle_policy(repositoryName="policy-repo")["lifecyclePolicyText"] == lifecycle
    with pytest.raises(ClientError) as e:
        ecr.put_lifecycle_policy(repositoryName="policy-repo", lifecyclePolicyText=json.dumps({"rules": [], "description": "x" * 100}))
    assert code(e) == "InvalidParameterException"
    started = ecr.start_lifecycle_policy_preview(repositoryName="policy-repo")
    assert started["status"] == "COMPLETE" and started["lifecyclePolicyText"] == lifecycle
    preview = ecr.get_lifecycle_policy_preview(repositoryName="policy-repo")
    assert preview["status"] == "COMPLETE"
    assert preview["previewResults"] == []
    assert preview["summary"]["expiringImageTotalCount"] == 0
    ecr.delete_lifecycle_policy(repositoryName="policy-repo")
    with pytest.raises(ClientError) as e:
        ecr.get_lifecycle_policy(repositoryName="policy-repo")
    assert code(e) == "LifecyclePolicyNotFoundException"
    ecr.delete_repository(repositoryName="policy-repo")


def test_tags(ecr):
    arn = ecr.create_repository(repositoryName="tag-repo", tags=[{"Key": "a", "Value": "1"}])["repository"]["repositoryArn"]
    ecr.tag_resource(resourceArn=arn, tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    tags = {t["Key"]: t["Value"] for t in ecr.list_tags_for_resource(resourceArn=arn)["tags"]}
    assert tags == {"a": "3", "b": "2"}
    ecr.untag_resource(resourceArn=arn, tagKeys=["a"])
    assert ecr.list_tags_for_resource(resourceArn=arn)["tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as e:
        ecr.list_tags_for_resource(resourceArn=arn.replace("tag-repo", "nope-repo"))
    assert code(e) == "RepositoryNotFoundException"
    ecr.delete_repository(repositoryName="tag-repo")


def test_authorization_token_and_images(ecr):
    data = ecr.get_authorization_token()["authorizationData"][0]
    user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
    assert user == "AWS" and len(password) >= 32
    assert data["proxyEndpoint"] == "https://000000000000.dkr.ecr.us-east-1.amazonaws.com"
    assert data["expiresAt"].timestamp() > time.time() + 11 * 3600

    ecr.create_repository(repositoryName="img-repo")
    assert ecr.describe_images(repositoryName="img-repo")["imageDetails"] == []
    assert ecr.list_images(repositoryName="img-repo")["imageIds"] == []
    got = ecr.batch_get_image(repositoryName="img-repo", imageIds=[{"imageTag": "latest"}])
    assert got["images"] == []
    assert got["failures"][0]["failureCode"] == "ImageNotFound"
    with pytest.raises(ClientError) as e:
        ecr.describe_images(repositoryName="img-repo", imageIds=[{"imageTag": "latest"}])
    assert code(e) == "ImageNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.list_images(repositoryName="no-such-repo")
    assert code(e) == "RepositoryNotFoundException"
    ecr.delete_repository(repositoryName="img-repo")


def test_unimplemented_operation(ecr):
    with pytest.raises(ClientError) as e:
        ecr.initiate_layer_upload(repositoryName="x-repo")
    assert code(e) == "NotImplemented"


def test_cloudformation_repository(gateway, ecr):
    cfn = gateway.client("cloudformation")
    template = {
        "Resources": {
            "Repo": {
                "Type": "AWS::ECR::Repository",
                "Properties": {
                    "RepositoryName": "cfn-repo",
                    "ImageTagMutability": "IMMUTABLE",
                    "ImageScanningConfiguration": {"ScanOnPush": True},
                    "LifecyclePolicy": {"LifecyclePolicyText": json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 5}, "action": {"type": "expire"}}]})},
                    "RepositoryPolicyText": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["ecr:BatchGetImage"]}]},
                    "Tags": [{"Key": "team", "Value": "x"}],
                },
            },
            "Unnamed": {"Type": "AWS::ECR::Repository"},
        },
        "Outputs": {
            "Name": {"Value": {"Ref": "Repo"}},
            "Arn": {"Value": {"Fn::GetAtt": ["Repo", "Arn"]}},
            "Uri": {"Value": {"Fn::GetAtt": ["Repo", "RepositoryUri"]}},
            "Other": {"Value": {"Ref": "Unnamed"}},
        },
    }
    cfn.create_stack(StackName="ecr-stack", TemplateBody=json.dumps(template))
    cfn.get_waiter("stack_create_complete").wait(StackName="ecr-stack", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName="ecr-stack")["Stacks"][0]["Outputs"]}
    repo = ecr.describe_repositories(repositoryNames=["cfn-repo"])["repositories"][0]
    assert outputs["Name"] == "cfn-repo"
    assert outputs["Arn"] == repo["repositoryArn"]
    assert outputs["Uri"] == repo["repositoryUri"]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert "ecr:BatchGetImage" in ecr.get_repository_policy(repositoryName="cfn-repo")["policyText"]
    assert "imageCountMoreThan" in ecr.get_lifecycle_policy(repositoryName="cfn-repo")["lifecyclePolicyText"]
    assert ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])["tags"] == [{"Key": "team", "Value": "x"}]
    other = outputs["Other"]
    assert other.startswith("ecr-stack-unnamed-") and other == other.lower()
    ecr.describe_repositories(repositoryNames=[other])

    cfn.delete_stack(StackName="ecr-stack")
    cfn.get_waiter("stack_delete_complete").wait(StackName="ecr-stack", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    for name in ["cfn-repo", other]:
        with pytest.raises(ClientError) as e:
            ecr.describe_repositories(repositoryNames=[name])
        assert code(e) == "RepositoryNotFoundException"
