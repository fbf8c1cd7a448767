# The function's environment, planned and applied with a mock AWS provider: the names
# Lambda reserves refused when planning (Lambda refuses them at apply: "Defined runtime
# environment variables",
# docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html), and the
# notifications queue's URL built with the partition's DNS suffix.

# Made-up values for what AWS computes: mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  prefix         = "test"
  agma_arn       = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/@connections"
  apigw_endpoint = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
  connections_table = {
    name = "test-connections"
    arn  = "arn:aws:dynamodb:eu-west-1:123456789012:table/test-connections"
  }
  lambda_zip_path = "tests/bootstrap.zip"
}

run "caller_settings_pass" {
  command = apply

  variables {
    environment = { LOG_LEVEL = "debug", CONNECTION_TTL = "3h" }
  }

  assert {
    condition     = aws_lambda_function.pusher.environment[0].variables["LOG_LEVEL"] == "debug" && aws_lambda_function.pusher.environment[0].variables["CONNECTIONS_TABLE_NAME"] == "test-connections"
    error_message = "The caller's settings must reach the function beside the module's own."
  }
}

run "aws_region_refused" {
  command = plan

  variables {
    environment = { AWS_REGION = "eu-west-1" }
  }

  expect_failures = [var.environment]
}

run "handler_refused" {
  command = plan

  variables {
    environment = { _HANDLER = "main" }
  }

  expect_failures = [var.environment]
}

run "aws_lambda_prefix_refused" {
  command = plan

  variables {
    environment = { AWS_LAMBDA_LOG_FORMAT = "JSON" }
  }

  expect_failures = [var.environment]
}

# The two AWS_LAMBDA_* names Lambda lists as not reserved, which a function may set.
run "unreserved_lambda_names_pass" {
  command = apply

  variables {
    environment = { AWS_LAMBDA_EXEC_WRAPPER = "/opt/wrapper", AWS_LAMBDA_DOTNET_PREJIT = "Never" }
  }

  assert {
    condition     = aws_lambda_function.pusher.environment[0].variables["AWS_LAMBDA_EXEC_WRAPPER"] == "/opt/wrapper" && aws_lambda_function.pusher.environment[0].variables["AWS_LAMBDA_DOTNET_PREJIT"] == "Never"
    error_message = "AWS_LAMBDA_EXEC_WRAPPER and AWS_LAMBDA_DOTNET_PREJIT, not reserved, must reach the function."
  }
}

run "module_setting_refused" {
  command = plan

  variables {
    environment = { POISON_QUEUE_URL = "https://sqs.eu-west-1.amazonaws.com/123456789012/other" }
  }

  expect_failures = [var.environment]
}

# The segment tasks' queue URL in the China partition: amazonaws.com.cn, from the
# partition, not from a list of two.
run "queue_url_in_china" {
  command = apply

  override_data {
    target = data.aws_partition.current
    values = {
      partition  = "aws-cn"
      dns_suffix = "amazonaws.com.cn"
    }
  }

  variables {
    agma_arn                    = "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/prod/POST/@connections"
    apigw_endpoint              = "https://abc123.execute-api.cn-north-1.amazonaws.com.cn/prod"
    connections_table           = { name = "test-connections", arn = "arn:aws-cn:dynamodb:cn-north-1:123456789012:table/test-connections" }
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws-cn:sqs:cn-north-1:123456789012:test-notifications"
    broadcast_split             = { above = 50000 }
  }

  assert {
    condition     = aws_lambda_function.pusher.environment[0].variables["NOTIFICATIONS_QUEUE_URL"] == "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/test-notifications"
    error_message = "The queue's URL must use the partition's DNS suffix."
  }
}

run "queue_url_in_european_sovereign_cloud" {
  command = apply

  override_data {
    target = data.aws_partition.current
    values = {
      partition  = "aws-eusc"
      dns_suffix = "amazonaws.eu"
    }
  }

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws-eusc:sqs:eusc-de-east-1:123456789012:test-notifications"
    broadcast_split             = { above = 50000 }
  }

  assert {
    condition     = aws_lambda_function.pusher.environment[0].variables["NOTIFICATIONS_QUEUE_URL"] == "https://sqs.eusc-de-east-1.amazonaws.eu/123456789012/test-notifications"
    error_message = "The queue's URL must use the partition's DNS suffix, whatever the partition."
  }
}
