# A caller that creates its queue, topic and table in the same configuration as the
# module and passes their attributes as they are: none of them is known when planning.
# tests/same_config.tftest.hcl plans and applies it (issue 21: with a count on whether
# the ARN was null, planning failed with "Invalid count argument").

terraform {
  required_providers {
    aws = {
      source = "hashicorp/aws"
    }
  }
}

variable "lambda_zip_path" {
  description = "The zip of the function (the tests' stand-in)."
  type        = string
}

variable "kms_key_arns" {
  description = "Passed on to the module: keys that may be unknown when planning too."
  type        = list(string)
  default     = []
}

# Encrypted as a real caller's would be: SQS's and SNS's own keys (the customer managed
# key trivy's aws-sns-topic-encryption-use-cmk asks for is the caller's choice; the
# module's kms_key_arns input is tested with one).
resource "aws_sqs_queue" "q" {
  name                    = "same-config-notifications"
  sqs_managed_sse_enabled = true
}

#trivy:ignore:aws-sns-topic-encryption-use-cmk
resource "aws_sns_topic" "t" {
  name              = "same-config-notifications"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_dynamodb_table" "connections" {
  name         = "same-config-connections"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"
  range_key    = "connection_id"

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "connection_id"
    type = "S"
  }
}

#trivy:ignore:aws-sns-topic-encryption-use-cmk
resource "aws_sns_topic" "alarms" {
  name              = "same-config-alarms"
  kms_master_key_id = "alias/aws/sns"
}

module "pusher" {
  source = "../.."

  prefix         = "same"
  agma_arn       = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections"
  apigw_endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"

  connections_table = {
    name = aws_dynamodb_table.connections.name
    arn  = aws_dynamodb_table.connections.arn
  }

  notifications_queue_enabled = true
  notifications_queue_arn     = aws_sqs_queue.q.arn
  notifications_topic_enabled = true
  notifications_topic_arn     = aws_sns_topic.t.arn
  broadcast_split             = { above = 50000 }
  kms_key_arns                = var.kms_key_arns
  alarm_actions               = [aws_sns_topic.alarms.arn]

  lambda_zip_path = var.lambda_zip_path
}
