# SSM beyond Parameter Store: documents (JSON and YAML, shared), a
# maintenance window with a target and a Run Command task, an association,
# a patch baseline with a patch group, a service setting. Applied, planned
# again (no changes) and destroyed by tests/e2e/test_terraform_ssm.py.
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
    ssm = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_ssm_document" "hello" {
  name          = "tf-hello"
  document_type = "Command"
  permissions = {
    type        = "Share"
    account_ids = "111122223333"
  }
  content = jsonencode({
    schemaVersion = "2.2"
    description   = "Say hello"
    parameters = {
      who = { type = "String", default = "world" }
    }
    mainSteps = [{
      action = "aws:runShellScript"
      name   = "hello"
      inputs = { runCommand = ["echo hello {{ who }}"] }
    }]
  })
  tags = { team = "ops" }
}

resource "aws_ssm_document" "yaml" {
  name            = "tf-hello-yaml"
  document_type   = "Command"
  document_format = "YAML"
  content         = <<-DOC
    schemaVersion: '2.2'
    description: Say hello in YAML
    mainSteps:
      - action: aws:runShellScript
        name: hello
        inputs:
          runCommand:
            - echo hello
  DOC
}

resource "aws_ssm_maintenance_window" "nightly" {
  name     = "tf-nightly"
  schedule = "cron(0 2 ? * * *)"
  duration = 3
  cutoff   = 1
  tags     = { team = "ops" }
}

resource "aws_ssm_maintenance_window_target" "web" {
  window_id     = aws_ssm_maintenance_window.nightly.id
  name          = "web"
  resource_type = "INSTANCE"
  targets {
    key    = "tag:Role"
    values = ["web"]
  }
}

resource "aws_ssm_maintenance_window_task" "hello" {
  window_id       = aws_ssm_maintenance_window.nightly.id
  task_type       = "RUN_COMMAND"
  task_arn        = aws_ssm_document.hello.name
  priority        = 1
  max_concurrency = "2"
  max_errors      = "1"
  targets {
    key    = "WindowTargetIds"
    values = [aws_ssm_maintenance_window_target.web.id]
  }
  task_invocation_parameters {
    run_command_parameters {
      parameter {
        name   = "who"
        values = ["night"]
      }
    }
  }
}

resource "aws_ssm_association" "hello" {
  name                = aws_ssm_document.hello.name
  association_name    = "tf-hello"
  schedule_expression = "rate(30 minutes)"
  targets {
    key    = "tag:Role"
    values = ["web"]
  }
  parameters = { who = "assoc" }
}

resource "aws_ssm_patch_baseline" "al2" {
  name             = "tf-al2"
  operating_system = "AMAZON_LINUX_2"
  description      = "security after a week"
  approval_rule {
    approve_after_days = 7
    patch_filter {
      key    = "CLASSIFICATION"
      values = ["Security"]
    }
  }
}

resource "aws_ssm_patch_group" "web" {
  baseline_id = aws_ssm_patch_baseline.al2.id
  patch_group = "tf-web"
}

# Provider v5 reads setting_id back as the setting's ARN: give it so.
resource "aws_ssm_service_setting" "tier" {
  setting_id    = "arn:aws:ssm:us-east-1:000000000000:servicesetting/ssm/parameter-store/default-parameter-tier"
  setting_value = "Advanced"
}
