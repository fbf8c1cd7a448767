# The complete example, planned and applied with a mock AWS provider (no credentials,
# nothing created): in each of its modes, what a platform team relies on of the stack
# around the module. .ci/terraform runs it where a local copy of the provider is found.
# The module's own resources are held by deploy/terraform/tests.

# Made-up values for what AWS computes, well formed where the module reads them
# (validation of ARNs, split() of a queue's ARN into its URL).
mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
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
      arn = "arn:aws:sqs:eu-west-1:123456789012:pusher-example-notifications"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/pusher-example-notifications"
    }
  }

  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:eu-west-1:123456789012:pusher-example-notifications"
    }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pusher-example-connect-token-AbC123"
    }
  }

  mock_resource "aws_secretsmanager_secret_version" {
    defaults = {
      arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pusher-example-connect-token-AbC123"
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
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

# Each table's ARN names it: the module checks that its name and ARN agree.
override_resource {
  target = aws_dynamodb_table.connections
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/pusher-example-connections"
  }
}

override_resource {
  target = aws_dynamodb_table.subscriptions
  values = {
    arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/pusher-example-subscriptions"
  }
}

variables {
  lambda_zip_path = "../../terraform/tests/bootstrap.zip"
}

# The defaults: the topic feeds the queue, the example's own HS256 key, access logs,
# throttling, tables with point-in-time recovery and deletion protection.
run "defaults" {
  command = apply

  assert {
    condition     = aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_rate_limit == 1000 && aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_burst_limit == 500
    error_message = "The stage must throttle each route at 1000 requests a second, a burst of 500, by default."
  }

  assert {
    condition     = length(aws_apigatewayv2_stage.ws.access_log_settings) == 1 && aws_apigatewayv2_stage.ws.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access[0].arn
    error_message = "The stage must write its access logs to the example's log group."
  }

  # AWS requires $context.requestId in an access log's format; the others are what an
  # operator looks for: which connection, which route, what API Gateway answered and
  # why the function or the authorizer failed.
  assert {
    condition = alltrue([for k, v in {
      requestId        = "$context.requestId"
      connectionId     = "$context.connectionId"
      eventType        = "$context.eventType"
      routeKey         = "$context.routeKey"
      status           = "$context.status"
      integrationError = "$context.integration.error"
      authorizerError  = "$context.authorizer.error"
      errorMessage     = "$context.error.message"
    } : try(jsondecode(aws_apigatewayv2_stage.ws.access_log_settings[0].format)[k], "") == v])
    error_message = "The access log's format must be JSON with the request, connection, event, route, status and the integration's, authorizer's and API Gateway's errors."
  }

  # Only $context variables: a message's body ($input, $request.body) never reaches
  # the logs.
  assert {
    condition     = alltrue([for v in values(jsondecode(aws_apigatewayv2_stage.ws.access_log_settings[0].format)) : startswith(v, "$context.")])
    error_message = "The access log's format must hold $context variables only, never the request's body."
  }

  assert {
    condition     = aws_cloudwatch_log_group.access[0].retention_in_days == 30 && aws_cloudwatch_log_group.access[0].kms_key_id == null
    error_message = "The access logs must be kept 30 days by default, with CloudWatch Logs' own key."
  }

  assert {
    condition     = aws_dynamodb_table.connections.point_in_time_recovery[0].enabled && aws_dynamodb_table.subscriptions.point_in_time_recovery[0].enabled
    error_message = "Both tables must have point-in-time recovery by default."
  }

  assert {
    condition     = aws_dynamodb_table.connections.deletion_protection_enabled && aws_dynamodb_table.subscriptions.deletion_protection_enabled
    error_message = "Both tables must refuse deletion by default."
  }

  # The topic feeds the queue, and the function does not subscribe to it as well: each
  # request would be delivered twice.
  assert {
    condition     = length(aws_sns_topic_subscription.queue) == 1 && aws_sns_topic_subscription.queue[0].raw_message_delivery && length(aws_sqs_queue_policy.topic_to_queue) == 1
    error_message = "With topic_through_queue, the topic must deliver raw messages to the queue, which lets it."
  }

  # The routes invoke the module's alias, as its sources do: moving the alias back
  # moves $connect, $disconnect and the message routes back too.
  assert {
    condition     = aws_apigatewayv2_integration.pusher.integration_uri == module.pusher.alias_invoke_arn && alltrue([for p in concat(values(aws_lambda_permission.connection), values(aws_lambda_permission.message)) : p.qualifier == module.pusher.alias_name && p.function_name == module.pusher.function_name])
    error_message = "The routes' integration must invoke the module's alias, which each route's permission names."
  }

  # $connect goes through the module's authorizer, with the example's own key.
  assert {
    condition     = aws_apigatewayv2_route.connection["$connect"].authorization_type == "CUSTOM" && aws_apigatewayv2_route.connection["$connect"].authorizer_id == module.pusher.authorizer_id && module.pusher.authorizer_id != null
    error_message = "The $connect route must be authorized by the module's authorizer."
  }

  assert {
    condition     = aws_apigatewayv2_route.connection["$disconnect"].authorization_type == "NONE"
    error_message = "Only $connect takes an authorizer on a WebSocket API."
  }

  assert {
    condition     = length(aws_secretsmanager_secret.connect_token) == 1 && output.connect_token_secret_arn == aws_secretsmanager_secret.connect_token[0].arn
    error_message = "Without token_jwks_url, the example must keep its own HS256 key in Secrets Manager."
  }

  assert {
    condition     = output.websocket_url == aws_apigatewayv2_stage.ws.invoke_url && output.poison_queue_url == module.pusher.poison_queue_url
    error_message = "The outputs must name the stage's URL and the module's poison queue."
  }
}

# The function subscribes to the topic itself, as the Python pusher's deployments did.
run "topic_to_function" {
  command = apply

  variables {
    topic_through_queue = false
  }

  assert {
    condition     = length(aws_sns_topic_subscription.queue) == 0 && length(aws_sqs_queue_policy.topic_to_queue) == 0
    error_message = "Without topic_through_queue, the topic must not feed the queue (the function subscribes to it)."
  }
}

# Tokens signed by an identity provider's keys (a Cognito user pool's, say): no key of
# the example's own.
run "jwks" {
  command = apply

  variables {
    token_jwks_url = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example/.well-known/jwks.json"
    token_issuer   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example"
  }

  assert {
    condition     = length(aws_secretsmanager_secret.connect_token) == 0 && length(aws_secretsmanager_secret_version.connect_token) == 0 && output.connect_token_secret_arn == null
    error_message = "With token_jwks_url, the example must create no key of its own."
  }

  assert {
    condition     = aws_apigatewayv2_route.connection["$connect"].authorizer_id == module.pusher.authorizer_id && module.pusher.authorizer_id != null
    error_message = "With token_jwks_url, $connect must still go through the module's authorizer."
  }
}

# What a team sets for a throwaway stack, or an account without API Gateway's
# CloudWatch Logs role: no access logs, tables that can be destroyed.
run "alarms" {
  command = apply

  variables {
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
  }

  assert {
    condition     = contains(keys(module.pusher.alarm_arns), "pusher-example-pusher-notifications-dlq-not-empty") && contains(keys(module.pusher.alarm_arns), "pusher-example-pusher-poison-not-empty")
    error_message = "With alarm_actions, the example must alarm on the poison queue and on its notifications queue's redrive queue: ${jsonencode(keys(module.pusher.alarm_arns))}"
  }
}

run "no_alarms_by_default" {
  command = apply

  assert {
    condition     = length(module.pusher.alarm_arns) == 0
    error_message = "Without alarm_actions, the example must make no alarms."
  }
}

run "no_logs_no_protection" {
  command = apply

  variables {
    access_logs            = false
    point_in_time_recovery = false
    deletion_protection    = false
    throttling_rate_limit  = 50
    throttling_burst_limit = 0
  }

  assert {
    condition     = length(aws_cloudwatch_log_group.access) == 0 && length(aws_apigatewayv2_stage.ws.access_log_settings) == 0
    error_message = "With access_logs = false, the stage must write no access logs (AWS would refuse it without the account's role)."
  }

  assert {
    condition     = !aws_dynamodb_table.connections.point_in_time_recovery[0].enabled && !aws_dynamodb_table.subscriptions.point_in_time_recovery[0].enabled && !aws_dynamodb_table.connections.deletion_protection_enabled && !aws_dynamodb_table.subscriptions.deletion_protection_enabled
    error_message = "The tables' point-in-time recovery and deletion protection must follow their inputs."
  }

  assert {
    condition     = aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_rate_limit == 50 && aws_apigatewayv2_stage.ws.default_route_settings[0].throttling_burst_limit == 0
    error_message = "The stage's throttling must follow its inputs."
  }
}

run "access_logs_with_a_key" {
  command = apply

  variables {
    access_log_kms_key_arn       = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    access_log_retention_in_days = 365
  }

  assert {
    condition     = aws_cloudwatch_log_group.access[0].kms_key_id == "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" && aws_cloudwatch_log_group.access[0].retention_in_days == 365
    error_message = "The access logs must be encrypted with access_log_kms_key_arn and kept access_log_retention_in_days."
  }
}

# Values AWS would refuse at apply, refused when planning.
run "throttling_above_the_account" {
  command = plan

  variables {
    throttling_rate_limit  = 20000
    throttling_burst_limit = 1.5
  }

  expect_failures = [var.throttling_rate_limit, var.throttling_burst_limit]
}

run "retention_not_cloudwatch_s" {
  command = plan

  variables {
    access_log_retention_in_days = 10
    access_log_kms_key_arn       = "alias/aws/logs"
  }

  expect_failures = [var.access_log_retention_in_days, var.access_log_kms_key_arn]
}
