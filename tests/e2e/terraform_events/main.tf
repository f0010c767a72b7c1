# EventBridge and Scheduler resources, applied, planned again (no changes)
# and destroyed by tests/e2e/test_terraform_events.py.
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
    events    = var.endpoint
    scheduler = var.endpoint
    pipes     = var.endpoint
    sts       = var.endpoint
  }
}

# A queue ARN as a literal: the target need not exist for Terraform, and the
# aws_sqs_queue resource's waiters would add ~25 s here.
locals { inbox_arn = "arn:aws:sqs:us-east-1:000000000000:tf-events-inbox" }

resource "aws_cloudwatch_event_bus" "orders" {
  name = "tf-orders"
  tags = { team = "shop" }
}

resource "aws_cloudwatch_event_rule" "paid" {
  name           = "tf-order-paid"
  event_bus_name = aws_cloudwatch_event_bus.orders.name
  description    = "orders that were paid"
  event_pattern = jsonencode({
    source      = ["shop.orders"]
    detail-type = ["Order Paid"]
    detail      = { amount = [{ numeric = [">", 100] }] }
  })
  tags = { kind = "pattern" }
}

resource "aws_cloudwatch_event_target" "paid_to_inbox" {
  rule           = aws_cloudwatch_event_rule.paid.name
  event_bus_name = aws_cloudwatch_event_bus.orders.name
  target_id      = "inbox"
  arn            = local.inbox_arn
  input_transformer {
    input_paths    = { id = "$.detail.id" }
    input_template = "{\"order\": <id>}"
  }
  retry_policy {
    maximum_retry_attempts       = 3
    maximum_event_age_in_seconds = 600
  }
}

resource "aws_cloudwatch_event_rule" "nightly" {
  name                = "tf-nightly"
  schedule_expression = "cron(0 2 * * ? *)"
}

resource "aws_cloudwatch_event_target" "nightly_to_inbox" {
  rule  = aws_cloudwatch_event_rule.nightly.name
  arn   = local.inbox_arn
  input = jsonencode({ job = "nightly" })
}

resource "aws_cloudwatch_event_archive" "orders" {
  name             = "tf-orders-archive"
  event_source_arn = aws_cloudwatch_event_bus.orders.arn
  retention_days   = 7
}

resource "aws_scheduler_schedule_group" "jobs" { name = "tf-jobs" }

resource "aws_scheduler_schedule" "report" {
  name                         = "tf-report"
  group_name                   = aws_scheduler_schedule_group.jobs.name
  schedule_expression          = "cron(0 9 ? * MON-FRI *)"
  schedule_expression_timezone = "Europe/Paris"
  flexible_time_window { mode = "OFF" }
  target {
    arn      = local.inbox_arn
    role_arn = "arn:aws:iam::000000000000:role/scheduler"
    input    = jsonencode({ report = "daily" })
  }
}

# The pipe's source queue is made by the test with boto3 (see locals above).
resource "aws_pipes_pipe" "orders" {
  name        = "tf-orders-pipe"
  description = "orders to the inbox"
  role_arn    = "arn:aws:iam::000000000000:role/pipes"
  source      = "arn:aws:sqs:us-east-1:000000000000:tf-pipe-source"
  target      = local.inbox_arn
  source_parameters {
    sqs_queue_parameters {
      batch_size = 5
    }
    filter_criteria {
      filter {
        pattern = jsonencode({ body = { kind = ["order"] } })
      }
    }
  }
  target_parameters {
    input_template = "{\"id\": <$.messageId>}"
  }
  tags = { team = "shop" }
}
