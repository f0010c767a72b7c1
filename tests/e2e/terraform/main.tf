# A small stack across the default bundle's services, applied, planned
# again (must show no changes: what the gateway answers reads back exactly
# as written) and destroyed by tests/e2e/test_terraform.py.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "endpoint" { type = string }
variable "with_ssm" { type = bool }
variable "with_sns" { type = bool }
variable "with_lambda" { type = bool }
# A python zip the test builds (handler app.handler).
variable "lambda_zip" { type = string }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
  endpoints {
    dynamodb       = var.endpoint
    firehose       = var.endpoint
    iam            = var.endpoint
    kinesis        = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    s3             = var.endpoint
    secretsmanager = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    ssm            = var.endpoint
    sts            = var.endpoint
  }
}

resource "aws_s3_bucket" "site" { bucket = "tf-site" }

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration { status = "Enabled" }
}

resource "aws_s3_object" "index" {
  bucket       = aws_s3_bucket.site.id
  key          = "index.html"
  content      = "<h1>hello from terraform</h1>"
  content_type = "text/html"
  depends_on   = [aws_s3_bucket_versioning.site]
}

resource "aws_dynamodb_table" "orders" {
  name         = "tf-orders"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"
  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "N"
  }
  attribute {
    name = "status"
    type = "S"
  }
  global_secondary_index {
    name            = "by-status"
    hash_key        = "status"
    projection_type = "ALL"
  }
  tags = { team = "tf" }
}

resource "aws_sqs_queue" "jobs" {
  name                       = "tf-jobs"
  visibility_timeout_seconds = 45
}

resource "aws_iam_role" "worker" {
  name = "tf-worker"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" }]
  })
  tags = { team = "tf" }
}

resource "aws_iam_policy" "read" {
  name   = "tf-read"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "s3:GetObject", Resource = "*" }] })
}

resource "aws_iam_role_policy_attachment" "worker_read" {
  role       = aws_iam_role.worker.name
  policy_arn = aws_iam_policy.read.arn
}

resource "aws_kms_key" "data" { description = "tf data key" }

resource "aws_kms_alias" "data" {
  name          = "alias/tf-data"
  target_key_id = aws_kms_key.data.key_id
}

resource "aws_secretsmanager_secret" "db" { name = "tf-db-password" }

resource "aws_secretsmanager_secret_version" "db" {
  secret_id     = aws_secretsmanager_secret.db.id
  secret_string = "s3cr3t"
}

resource "aws_ssm_parameter" "queue_url" {
  count = var.with_ssm ? 1 : 0
  name  = "/tf/queue-url"
  type  = "String"
  value = aws_sqs_queue.jobs.url
}

resource "aws_sns_topic" "events" {
  count = var.with_sns ? 1 : 0
  name  = "tf-events"
}

resource "aws_sns_topic_subscription" "events_to_jobs" {
  count     = var.with_sns ? 1 : 0
  topic_arn = aws_sns_topic.events[0].arn
  protocol  = "sqs"
  endpoint  = aws_sqs_queue.jobs.arn
}

resource "aws_lambda_function" "worker" {
  count            = var.with_lambda ? 1 : 0
  function_name    = "tf-worker"
  role             = aws_iam_role.worker.arn
  runtime          = "python3.12"
  handler          = "app.handler"
  filename         = var.lambda_zip
  source_code_hash = filebase64sha256(var.lambda_zip)
  timeout          = 10
  environment {
    variables = { STAGE = "tf" }
  }
  tags = { team = "tf" }
}

resource "aws_lambda_event_source_mapping" "jobs" {
  count            = var.with_lambda ? 1 : 0
  event_source_arn = aws_sqs_queue.jobs.arn
  function_name    = aws_lambda_function.worker[0].arn
  batch_size       = 5
}

resource "aws_lambda_permission" "from_s3" {
  count         = var.with_lambda ? 1 : 0
  statement_id  = "AllowS3"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.worker[0].function_name
  principal     = "s3.amazonaws.com"
  source_arn    = aws_s3_bucket.site.arn
}

resource "aws_lambda_function_url" "worker" {
  count              = var.with_lambda ? 1 : 0
  function_name      = aws_lambda_function.worker[0].function_name
  authorization_type = "NONE"
}

# A Kinesis stream archived to S3 by a Firehose delivery stream reading it.
resource "aws_kinesis_stream" "events" {
  name             = "tf-events"
  shard_count      = 2
  retention_period = 48
  tags             = { team = "tf" }
}

resource "aws_s3_bucket" "archive" {
  bucket        = "tf-archive"
  force_destroy = true
}

resource "aws_kinesis_firehose_delivery_stream" "archive" {
  name        = "tf-archive"
  destination = "extended_s3"
  kinesis_source_configuration {
    kinesis_stream_arn = aws_kinesis_stream.events.arn
    role_arn           = aws_iam_role.worker.arn
  }
  extended_s3_configuration {
    role_arn            = aws_iam_role.worker.arn
    bucket_arn          = aws_s3_bucket.archive.arn
    prefix              = "events/"
    error_output_prefix = "errors/"
    buffering_interval  = 0
    buffering_size      = 1
    compression_format  = "GZIP"
  }
  tags = { team = "tf" }
}
