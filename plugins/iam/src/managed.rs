//! AWS managed policies (`arn:aws:iam::aws:policy/...`): a catalog of the
//! ones applications and IaC templates attach most, with their documents.
//! Read-only; the same in every account.

use crate::entities::{ManagedPolicy, PolicyVersion};

/// 2015-02-06, when most of these policies were published.
const PUBLISHED: f64 = 1_423_180_800.0;

fn allow(actions: &[&str]) -> String {
    let list: Vec<String> = actions.iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        "{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":[{}],\"Resource\":\"*\"}}]}}",
        list.join(",")
    )
}

/// (path, name, actions allowed on every resource).
const CATALOG: &[(&str, &str, &[&str])] = &[
    ("/", "AdministratorAccess", &["*"]),
    ("/", "PowerUserAccess", &["*"]),
    ("/", "ReadOnlyAccess", &["*:Describe*", "*:Get*", "*:List*"]),
    (
        "/",
        "IAMFullAccess",
        &["iam:*", "organizations:DescribeAccount"],
    ),
    (
        "/",
        "IAMReadOnlyAccess",
        &[
            "iam:Get*",
            "iam:List*",
            "iam:GenerateCredentialReport",
            "iam:SimulateCustomPolicy",
            "iam:SimulatePrincipalPolicy",
        ],
    ),
    ("/", "AmazonS3FullAccess", &["s3:*", "s3-object-lambda:*"]),
    (
        "/",
        "AmazonS3ReadOnlyAccess",
        &[
            "s3:Get*",
            "s3:List*",
            "s3:Describe*",
            "s3-object-lambda:Get*",
            "s3-object-lambda:List*",
        ],
    ),
    (
        "/",
        "AmazonDynamoDBFullAccess",
        &[
            "dynamodb:*",
            "application-autoscaling:*",
            "cloudwatch:*",
            "iam:PassRole",
        ],
    ),
    (
        "/",
        "AmazonDynamoDBReadOnlyAccess",
        &[
            "dynamodb:BatchGetItem",
            "dynamodb:Describe*",
            "dynamodb:List*",
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:Scan",
            "dynamodb:PartiQLSelect",
        ],
    ),
    ("/", "AmazonSQSFullAccess", &["sqs:*"]),
    (
        "/",
        "AmazonSQSReadOnlyAccess",
        &[
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ListDeadLetterSourceQueues",
            "sqs:ListQueues",
            "sqs:ListMessageMoveTasks",
            "sqs:ListQueueTags",
        ],
    ),
    ("/", "AmazonSNSFullAccess", &["sns:*"]),
    (
        "/",
        "AmazonSNSReadOnlyAccess",
        &["sns:GetTopicAttributes", "sns:List*"],
    ),
    (
        "/",
        "AWSLambda_FullAccess",
        &[
            "lambda:*",
            "cloudformation:DescribeStacks",
            "logs:*",
            "iam:PassRole",
        ],
    ),
    (
        "/",
        "AWSLambda_ReadOnlyAccess",
        &["lambda:Get*", "lambda:List*"],
    ),
    (
        "/",
        "AWSLambdaExecute",
        &["logs:*", "s3:GetObject", "s3:PutObject"],
    ),
    (
        "/service-role/",
        "AWSLambdaBasicExecutionRole",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSLambdaVPCAccessExecutionRole",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "ec2:CreateNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        ],
    ),
    (
        "/service-role/",
        "AWSLambdaDynamoDBExecutionRole",
        &[
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSLambdaSQSQueueExecutionRole",
        &[
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSLambdaKinesisExecutionRole",
        &[
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
            "kinesis:ListStreams",
            "kinesis:SubscribeToShard",
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AmazonECSTaskExecutionRolePolicy",
        &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AmazonEC2ContainerServiceforEC2Role",
        &[
            "ec2:DescribeTags",
            "ecs:CreateCluster",
            "ecs:DeregisterContainerInstance",
            "ecs:DiscoverPollEndpoint",
            "ecs:Poll",
            "ecs:RegisterContainerInstance",
            "ecs:StartTelemetrySession",
            "ecs:UpdateContainerInstancesState",
            "ecs:Submit*",
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSGlueServiceRole",
        &[
            "glue:*",
            "s3:GetBucketLocation",
            "s3:ListBucket",
            "s3:ListAllMyBuckets",
            "s3:GetBucketAcl",
            "ec2:Describe*",
            "iam:ListRolePolicies",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "cloudwatch:PutMetricData",
            "logs:*",
        ],
    ),
    (
        "/service-role/",
        "AmazonAPIGatewayPushToCloudWatchLogs",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:DescribeLogGroups",
            "logs:DescribeLogStreams",
            "logs:PutLogEvents",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSAppSyncPushToCloudWatchLogs",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
        ],
    ),
    (
        "/service-role/",
        "AWSIoTLogging",
        &[
            "logs:CreateLogGroup",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "logs:PutMetricFilter",
            "logs:PutRetentionPolicy",
            "logs:GetLogEvents",
            "logs:DeleteLogStream",
        ],
    ),
    (
        "/",
        "AmazonECS_FullAccess",
        &[
            "ecs:*",
            "elasticloadbalancing:*",
            "application-autoscaling:*",
            "logs:*",
            "iam:PassRole",
        ],
    ),
    (
        "/",
        "AmazonEC2FullAccess",
        &[
            "ec2:*",
            "elasticloadbalancing:*",
            "cloudwatch:*",
            "autoscaling:*",
        ],
    ),
    (
        "/",
        "AmazonEC2ReadOnlyAccess",
        &[
            "ec2:Describe*",
            "elasticloadbalancing:Describe*",
            "cloudwatch:ListMetrics",
            "cloudwatch:GetMetricStatistics",
            "cloudwatch:Describe*",
            "autoscaling:Describe*",
        ],
    ),
    (
        "/",
        "AmazonEC2ContainerRegistryReadOnly",
        &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetRepositoryPolicy",
            "ecr:DescribeRepositories",
            "ecr:ListImages",
            "ecr:DescribeImages",
            "ecr:BatchGetImage",
            "ecr:GetLifecyclePolicy",
            "ecr:GetLifecyclePolicyPreview",
            "ecr:ListTagsForResource",
            "ecr:DescribeImageScanFindings",
        ],
    ),
    (
        "/",
        "AmazonEC2ContainerRegistryFullAccess",
        &["ecr:*", "cloudtrail:LookupEvents"],
    ),
    (
        "/",
        "AmazonEC2ContainerRegistryPowerUser",
        &[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
            "ecr:PutImage",
            "ecr:InitiateLayerUpload",
            "ecr:UploadLayerPart",
            "ecr:CompleteLayerUpload",
            "ecr:DescribeRepositories",
            "ecr:ListImages",
            "ecr:DescribeImages",
        ],
    ),
    (
        "/",
        "AmazonEKSClusterPolicy",
        &[
            "autoscaling:DescribeAutoScalingGroups",
            "autoscaling:UpdateAutoScalingGroup",
            "ec2:*",
            "elasticloadbalancing:*",
            "iam:CreateServiceLinkedRole",
            "kms:DescribeKey",
        ],
    ),
    (
        "/",
        "AmazonEKSWorkerNodePolicy",
        &[
            "ec2:DescribeInstances",
            "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVolumes",
            "ec2:DescribeVolumesModifications",
            "ec2:DescribeVpcs",
            "eks:DescribeCluster",
            "eks-auth:AssumeRoleForPodIdentity",
        ],
    ),
    (
        "/",
        "AmazonEKS_CNI_Policy",
        &[
            "ec2:AssignPrivateIpAddresses",
            "ec2:AttachNetworkInterface",
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DescribeInstances",
            "ec2:DescribeTags",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeInstanceTypes",
            "ec2:DetachNetworkInterface",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:UnassignPrivateIpAddresses",
            "ec2:CreateTags",
        ],
    ),
    (
        "/",
        "AmazonSSMManagedInstanceCore",
        &[
            "ssm:DescribeAssociation",
            "ssm:GetDeployablePatchSnapshotForInstance",
            "ssm:GetDocument",
            "ssm:DescribeDocument",
            "ssm:GetManifest",
            "ssm:GetParameter",
            "ssm:GetParameters",
            "ssm:ListAssociations",
            "ssm:ListInstanceAssociations",
            "ssm:PutInventory",
            "ssm:PutComplianceItems",
            "ssm:PutConfigurePackageResult",
            "ssm:UpdateAssociationStatus",
            "ssm:UpdateInstanceAssociationStatus",
            "ssm:UpdateInstanceInformation",
            "ssmmessages:*",
            "ec2messages:*",
        ],
    ),
    (
        "/",
        "AmazonSSMFullAccess",
        &[
            "ssm:*",
            "cloudwatch:PutMetricData",
            "ec2:DescribeInstanceStatus",
            "ds:*",
            "logs:*",
            "iam:ListRoles",
        ],
    ),
    (
        "/",
        "AmazonSSMReadOnlyAccess",
        &["ssm:Describe*", "ssm:Get*", "ssm:List*"],
    ),
    (
        "/",
        "SecretsManagerReadWrite",
        &[
            "secretsmanager:*",
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:DescribeStackResource",
            "cloudformation:DescribeStacks",
            "cloudformation:ExecuteChangeSet",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "kms:DescribeKey",
            "kms:ListAliases",
            "kms:ListKeys",
            "lambda:ListFunctions",
            "rds:DescribeDBClusters",
            "rds:DescribeDBInstances",
            "redshift:DescribeClusters",
            "tag:GetResources",
        ],
    ),
    (
        "/",
        "AWSKeyManagementServicePowerUser",
        &[
            "kms:CreateAlias",
            "kms:CreateKey",
            "kms:DeleteAlias",
            "kms:Describe*",
            "kms:GenerateRandom",
            "kms:Get*",
            "kms:List*",
            "kms:TagResource",
            "kms:UntagResource",
            "iam:ListGroups",
            "iam:ListRoles",
            "iam:ListUsers",
        ],
    ),
    (
        "/",
        "CloudWatchFullAccess",
        &[
            "autoscaling:Describe*",
            "cloudwatch:*",
            "logs:*",
            "sns:*",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:GetRole",
        ],
    ),
    (
        "/",
        "CloudWatchReadOnlyAccess",
        &[
            "autoscaling:Describe*",
            "cloudwatch:Describe*",
            "cloudwatch:Get*",
            "cloudwatch:List*",
            "logs:Get*",
            "logs:List*",
            "logs:StartQuery",
            "logs:StopQuery",
            "logs:Describe*",
            "logs:TestMetricFilter",
            "logs:FilterLogEvents",
            "sns:Get*",
            "sns:List*",
        ],
    ),
    (
        "/",
        "CloudWatchLogsFullAccess",
        &["logs:*", "cloudwatch:GenerateQuery"],
    ),
    (
        "/",
        "CloudWatchLogsReadOnlyAccess",
        &[
            "logs:Describe*",
            "logs:Get*",
            "logs:List*",
            "logs:StartQuery",
            "logs:StopQuery",
            "logs:TestMetricFilter",
            "logs:FilterLogEvents",
        ],
    ),
    (
        "/",
        "CloudWatchAgentServerPolicy",
        &[
            "cloudwatch:PutMetricData",
            "ec2:DescribeVolumes",
            "ec2:DescribeTags",
            "logs:PutLogEvents",
            "logs:DescribeLogStreams",
            "logs:DescribeLogGroups",
            "logs:CreateLogStream",
            "logs:CreateLogGroup",
            "ssm:GetParameter",
        ],
    ),
    (
        "/",
        "AWSXrayWriteOnlyAccess",
        &[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
    ),
    (
        "/",
        "AWSXRayDaemonWriteAccess",
        &[
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
            "xray:GetSamplingStatisticSummaries",
        ],
    ),
    ("/", "AmazonKinesisFullAccess", &["kinesis:*"]),
    (
        "/",
        "AmazonKinesisReadOnlyAccess",
        &["kinesis:Get*", "kinesis:List*", "kinesis:Describe*"],
    ),
    ("/", "AmazonKinesisFirehoseFullAccess", &["firehose:*"]),
    (
        "/",
        "AWSStepFunctionsFullAccess",
        &["states:*", "iam:PassRole"],
    ),
    (
        "/",
        "AWSStepFunctionsReadOnlyAccess",
        &[
            "states:ListStateMachines",
            "states:ListActivities",
            "states:Describe*",
            "states:GetExecutionHistory",
        ],
    ),
    (
        "/",
        "AmazonEventBridgeFullAccess",
        &["events:*", "schemas:*", "scheduler:*", "pipes:*"],
    ),
    ("/", "AmazonAPIGatewayAdministrator", &["apigateway:*"]),
    (
        "/",
        "AmazonAPIGatewayInvokeFullAccess",
        &["execute-api:Invoke", "execute-api:ManageConnections"],
    ),
    (
        "/",
        "AmazonRDSFullAccess",
        &[
            "rds:*",
            "application-autoscaling:*",
            "cloudwatch:*",
            "ec2:Describe*",
            "sns:ListSubscriptions",
            "sns:ListTopics",
            "sns:Publish",
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
        ],
    ),
    (
        "/",
        "AmazonRDSReadOnlyAccess",
        &[
            "rds:Describe*",
            "rds:ListTagsForResource",
            "ec2:DescribeAccountAttributes",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeInternetGateways",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcs",
        ],
    ),
    (
        "/",
        "AmazonRoute53FullAccess",
        &[
            "route53:*",
            "route53domains:*",
            "cloudfront:ListDistributions",
            "elasticloadbalancing:DescribeLoadBalancers",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetBucketWebsite",
            "ec2:DescribeVpcs",
            "ec2:DescribeRegions",
            "sns:ListTopics",
            "sns:ListSubscriptionsByTopic",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:GetMetricStatistics",
        ],
    ),
    (
        "/",
        "AmazonCognitoPowerUser",
        &[
            "cognito-identity:*",
            "cognito-idp:*",
            "cognito-sync:*",
            "iam:ListRoles",
            "iam:ListOpenIdConnectProviders",
            "iam:GetRole",
            "iam:ListSAMLProviders",
            "iam:GetSAMLProvider",
            "kinesis:ListStreams",
            "lambda:GetPolicy",
            "lambda:ListFunctions",
            "sns:GetSMSAttributes",
            "sns:ListPlatformApplications",
            "ses:ListIdentities",
            "ses:GetIdentityVerificationAttributes",
            "mobiletargeting:GetApps",
            "acm:ListCertificates",
        ],
    ),
    ("/", "AmazonSESFullAccess", &["ses:*"]),
    ("/", "AWSCloudFormationFullAccess", &["cloudformation:*"]),
    (
        "/",
        "AWSCloudFormationReadOnlyAccess",
        &[
            "cloudformation:Describe*",
            "cloudformation:EstimateTemplateCost",
            "cloudformation:Get*",
            "cloudformation:List*",
            "cloudformation:ValidateTemplate",
            "cloudformation:Detect*",
        ],
    ),
    (
        "/",
        "AmazonAthenaFullAccess",
        &[
            "athena:*",
            "glue:*",
            "s3:GetBucketLocation",
            "s3:GetObject",
            "s3:ListBucket",
            "s3:ListBucketMultipartUploads",
            "s3:ListMultipartUploadParts",
            "s3:AbortMultipartUpload",
            "s3:CreateBucket",
            "s3:PutObject",
            "sns:ListTopics",
            "sns:GetTopicAttributes",
            "cloudwatch:PutMetricAlarm",
            "cloudwatch:DescribeAlarms",
            "cloudwatch:DeleteAlarms",
            "cloudwatch:GetMetricData",
            "lakeformation:GetDataAccess",
            "pricing:GetProducts",
        ],
    ),
    ("/", "AWSCodeCommitFullAccess", &["codecommit:*"]),
    ("/", "AWSCodeBuildAdminAccess", &["codebuild:*"]),
    ("/", "AWSCodePipeline_FullAccess", &["codepipeline:*"]),
    (
        "/",
        "AWSBackupFullAccess",
        &["backup:*", "backup-storage:*"],
    ),
    ("/", "AmazonElastiCacheFullAccess", &["elasticache:*"]),
    ("/", "AmazonMSKFullAccess", &["kafka:*"]),
    ("/", "AmazonOpenSearchServiceFullAccess", &["es:*"]),
    ("/", "AmazonBedrockFullAccess", &["bedrock:*"]),
    (
        "/",
        "AWSOrganizationsFullAccess",
        &["organizations:*", "account:*"],
    ),
    ("/", "AWSSupportAccess", &["support:*"]),
    (
        "/",
        "AWSBillingReadOnlyAccess",
        &[
            "aws-portal:View*",
            "budgets:ViewBudget",
            "ce:Get*",
            "ce:Describe*",
            "ce:List*",
            "cur:Describe*",
            "pricing:DescribeServices",
        ],
    ),
    (
        "/job-function/",
        "Billing",
        &[
            "aws-portal:*Billing",
            "aws-portal:*Usage",
            "aws-portal:*PaymentMethods",
            "budgets:ViewBudget",
            "budgets:ModifyBudget",
            "ce:UpdatePreferences",
            "ce:CreateReport",
            "ce:UpdateReport",
            "ce:DeleteReport",
            "cur:*",
        ],
    ),
    (
        "/job-function/",
        "ViewOnlyAccess",
        &["*:List*", "*:Describe*", "*:Get*"],
    ),
    (
        "/job-function/",
        "DatabaseAdministrator",
        &[
            "cloudwatch:*",
            "dynamodb:*",
            "rds:*",
            "redshift:*",
            "iam:PassRole",
        ],
    ),
    (
        "/job-function/",
        "NetworkAdministrator",
        &[
            "ec2:*",
            "route53:*",
            "elasticloadbalancing:*",
            "cloudfront:*",
        ],
    ),
    (
        "/job-function/",
        "SystemAdministrator",
        &[
            "ec2:*",
            "autoscaling:*",
            "cloudwatch:*",
            "iam:PassRole",
            "ssm:*",
        ],
    ),
    ("/", "AWSCloudTrail_FullAccess", &["cloudtrail:*"]),
    (
        "/",
        "AWSConfigUserAccess",
        &[
            "config:Get*",
            "config:Describe*",
            "config:Deliver*",
            "config:List*",
            "config:Select*",
            "tag:GetResources",
            "tag:GetTagKeys",
        ],
    ),
    (
        "/aws-service-role/",
        "AWSServiceRoleForAmazonEKSNodegroup",
        &["ec2:*", "autoscaling:*", "iam:PassRole"],
    ),
];

fn arn_of(path: &str, name: &str) -> String {
    format!("arn:aws:iam::aws:policy{path}{name}")
}

fn policy(path: &str, name: &str, actions: &[&str]) -> ManagedPolicy {
    let arn = arn_of(path, name);
    // A stable id per policy: ANPA + 17 characters from its name's digest.
    let digest = ministack_sdk::hash::sha256(arn.as_bytes());
    let id: String = digest
        .iter()
        .take(17)
        .map(|b| {
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
            alphabet[(*b as usize) % 32] as char
        })
        .collect();
    ManagedPolicy {
        name: name.to_string(),
        id: format!("ANPA{id}"),
        path: path.to_string(),
        arn,
        description: Some(format!("AWS managed policy {name}")),
        created: PUBLISHED,
        updated: PUBLISHED,
        default_version: "v1".to_string(),
        versions: vec![PolicyVersion {
            id: "v1".to_string(),
            document: allow(actions),
            created: PUBLISHED,
        }],
        next_version: 2,
        tags: Vec::new(),
    }
}

/// An AWS managed policy by ARN.
pub fn find(arn: &str) -> Option<ManagedPolicy> {
    CATALOG
        .iter()
        .find(|(path, name, _)| arn_of(path, name) == arn)
        .map(|(path, name, actions)| policy(path, name, actions))
}

/// An AWS managed policy the catalog does not know, for accounts that
/// resolve any such ARN (plugin setting `autocreate_aws_managed = "true"`):
/// its document grants nothing (`NotAction: *`), so the simulator never
/// claims a permission it cannot know.
pub fn placeholder(arn: &str) -> Option<ManagedPolicy> {
    let rest = arn.strip_prefix("arn:aws:iam::aws:policy/")?;
    let (path, name) = match rest.rsplit_once('/') {
        Some((p, n)) => (format!("/{p}/"), n),
        None => ("/".to_string(), rest),
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return None;
    }
    let mut p = policy(&path, name, &[]);
    p.versions[0].document =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"NotAction\":\"*\",\"Resource\":\"*\"}]}"
            .to_string();
    Some(p)
}

pub fn all() -> Vec<ManagedPolicy> {
    CATALOG
        .iter()
        .map(|(path, name, actions)| policy(path, name, actions))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{PolicyKind, parse};

    #[test]
    fn catalog_documents_parse_and_resolve() {
        for p in all() {
            parse(p.default_document(), PolicyKind::Identity).unwrap();
            assert_eq!(find(&p.arn).unwrap().id, p.id);
            assert_eq!(p.id.len(), 21);
        }
        assert!(find("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole").is_some());
        assert!(find("arn:aws:iam::aws:policy/Nope").is_none());
        let p = placeholder("arn:aws:iam::aws:policy/service-role/Nope").unwrap();
        assert_eq!(
            (p.path.as_str(), p.name.as_str()),
            ("/service-role/", "Nope")
        );
        parse(p.default_document(), PolicyKind::Identity).unwrap();
        assert!(placeholder("arn:aws:iam::123456789012:policy/x").is_none());
    }
}
