# The counter example, planned and applied with a mock AWS provider: its stage's
# throttling and access logs, its tables' recovery and protection. It needs the AWS
# provider 6.29 or newer (versions.tf); .ci/terraform skips it, saying so, where the
# local copy of the provider is older.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_apigatewayv2_api" {
    defaults = {
      id            = "abc123"
      api_endpoint  = "wss://abc123.execute-api.eu-west-1.amazonaws.com"
      execution_arn = "arn:aws:execute-api:eu-west-1:123456789012:abc123"
    }
  }

  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:counter-notifications"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/counter-notifications"
    }
  }

  mock_resource "aws_cloudwatch_log_group" {
    defaults = {
      arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mock"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }

  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock/invocations"
      version    = "1"
    }
  }

  mock_resource "aws_lambda_alias" {
    defaults = {
      arn        = "arn:aws:lambda:eu-west-1:123456789012:function:mock:live"
      invoke_arn = "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:mock:live/invocations"
    }
  }
}

override_resource {
  target = aws_dynamodb_table.connections
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/counter-connections"
  }
}

variables {
  pusher_zip_path  = "../../terraform/tests/bootstrap.zip"
  counter_zip_path = "../../terraform/tests/bootstrap.zip"
}

run "defaults" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_rate_limit == 1000 && aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_burst_limit == 500
    error_message = "The stage must throttle each route at 1000 requests a second, a burst of 500, by default."
  }

  assert {
    condition     = aws_apigatewayv2_stage.ws.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access[0].arn && jsondecode(aws_apigatewayv2_stage.ws.access_log_settings[0].format).requestId == "$context.requestId" && alltrue([for v in values(jsondecode(aws_apigatewayv2_stage.ws.access_log_settings[0].format)) : startswith(v, "$context.")])
    error_message = "The stage must write JSON access logs of $context variables, with the request id, to the example's log group."
  }

  assert {
    condition     = aws_dynamodb_table.connections.point_in_time_recovery[0].enabled && aws_dynamodb_table.counter.point_in_time_recovery[0].enabled && aws_dynamodb_table.connections.deletion_protection_enabled && aws_dynamodb_table.counter.deletion_protection_enabled
    error_message = "Both tables must have point-in-time recovery and refuse deletion by default."
  }

  # $connect and $disconnect invoke the module's alias, as its queue's mapping does:
  # moving the alias back moves them back too.
  assert {
    condition     = aws_apigatewayv2_integration.pusher.integration_uri == module.pusher.alias_invoke_arn && alltrue([for p in values(aws_lambda_permission.connection) : p.qualifier == module.pusher.alias_name])
    error_message = "The pusher's routes must invoke the module's alias, which their permissions name."
  }
}

run "no_logs_no_protection" {
  command = apply

  variables {
    access_logs            = false
    point_in_time_recovery = false
    deletion_protection    = false
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.access) == 0 && length(aws_apigatewayv2_stage.ws.access_log_settings) == 0 && !aws_dynamodb_table.counter.deletion_protection_enabled && !aws_dynamodb_table.counter.point_in_time_recovery[0].enabled
    error_message = "Access logs, recovery and protection must follow their inputs."
  }
}
