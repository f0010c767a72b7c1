# A versioned bucket whose object is written in the same apply, with no
# ordering between the object and the versioning resource (they race), then
# destroyed by tests/e2e/test_s3_fidelity.py.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}

variable "endpoint" { type = string }
variable "name" { type = string }

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  s3_use_path_style           = true
  endpoints {
    s3  = var.endpoint
    sts = var.endpoint
  }
}

resource "aws_s3_bucket" "b" { bucket = var.name }

resource "aws_s3_bucket_versioning" "b" {
  bucket = aws_s3_bucket.b.id
  versioning_configuration { status = "Enabled" }
}

resource "aws_s3_object" "o" {
  bucket  = aws_s3_bucket.b.id
  key     = "index.html"
  content = "<h1>hello</h1>"
}
