terraform {
  # 1.5: the module's optional() attributes and preconditions.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      # 6.29: aws_lambda_permission's invoked_via_function_url, which the page's
      # function URL needs (counter.tf).
      source  = "hashicorp/aws"
      version = ">= 6.29"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.common_tags
  }
}
