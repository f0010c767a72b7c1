# Step Functions resources, applied, planned again (no changes) and
# destroyed by tests/e2e/test_terraform_sfn.py.
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
    sfn = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_sfn_activity" "work" {
  name = "tf-work"
  tags = { team = "flows" }
}

resource "aws_sfn_state_machine" "flow" {
  name     = "tf-flow"
  role_arn = "arn:aws:iam::000000000000:role/tf-sfn"
  type     = "STANDARD"
  definition = jsonencode({
    StartAt = "Hello"
    States = {
      Hello = { Type = "Pass", Result = "hi", Next = "Work" }
      Work  = { Type = "Task", Resource = aws_sfn_activity.work.id, End = true }
    }
  })
  tags = { team = "flows" }
}
