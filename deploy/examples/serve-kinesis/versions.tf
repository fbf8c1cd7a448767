terraform {
  # 1.5: the module's optional() attributes; here, preconditions.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      # aws_pipes_pipe's sqs_queue_parameters and kinesis_stream_parameters.
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project = "apigw-pusher-serve-kinesis"
    }
  }
}
