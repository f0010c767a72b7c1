# CloudWatch Logs and CloudWatch resources, applied, planned again (no
# changes) and destroyed by tests/e2e/test_terraform_logs.py.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "endpoint" { type = string }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    kinesis        = var.endpoint
    sts            = var.endpoint
  }
}

resource "aws_cloudwatch_log_group" "app" {
  name              = "/tf/app"
  retention_in_days = 14
  tags              = { team = "obs" }
}

resource "aws_cloudwatch_log_metric_filter" "errors" {
  name           = "tf-errors"
  log_group_name = aws_cloudwatch_log_group.app.name
  pattern        = "ERROR"
  metric_transformation {
    name      = "ErrorCount"
    namespace = "TfApp"
    value     = "1"
  }
}

resource "aws_kinesis_stream" "records" {
  name        = "tf-log-records"
  shard_count = 1
}

resource "aws_cloudwatch_log_subscription_filter" "to_kinesis" {
  name            = "tf-to-kinesis"
  log_group_name  = aws_cloudwatch_log_group.app.name
  filter_pattern  = ""
  destination_arn = aws_kinesis_stream.records.arn
  role_arn        = "arn:aws:iam::000000000000:role/tf-cwl"
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "tf-errors"
  namespace           = "TfApp"
  metric_name         = "ErrorCount"
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  tags                = { team = "obs" }
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = "tf-main"
  dashboard_body = jsonencode({
    widgets = [{
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        metrics = [["TfApp", "ErrorCount"]]
        period  = 60
        stat    = "Sum"
        region  = "us-east-1"
        title   = "Errors"
      }
    }]
  })
}
