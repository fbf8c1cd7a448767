# The module's sources, planned and applied with a mock AWS provider: the SQS mapping's
# bounded concurrency and the reservation above it, the toggles that say which sources
# exist, and SNS's asynchronous invocations with their on-failure destination.

# Made-up values for what AWS computes: mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

# The mock would give every queue one ARN: the async failures queue's and the poison
# queue's differ, so that a destination on the wrong one fails.
override_resource {
  target = aws_sqs_queue.async_failures
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-pusher-async-failures"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-pusher-async-failures"
  }
}

override_resource {
  target = aws_sqs_queue.sns_dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-pusher-sns-dlq"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-pusher-sns-dlq"
  }
}

override_resource {
  target = aws_sqs_queue.poison
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:test-pusher-poison"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/test-pusher-poison"
  }
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

run "queue_bounded_by_default" {
  command = apply

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.notifications) == 1 && aws_lambda_event_source_mapping.notifications[0].scaling_config[0].maximum_concurrency == 10
    error_message = "The queue's mapping must run at most 10 invocations at once by default."
  }

  assert {
    condition     = aws_lambda_function.pusher.reserved_concurrent_executions == 20
    error_message = "The function must reserve 20 instances by default: the mapping's 10 and 10 for the routes."
  }

  # The mapping invokes the alias, so that moving it back is the rollback.
  assert {
    condition     = aws_lambda_event_source_mapping.notifications[0].function_name == aws_lambda_alias.pusher.arn && aws_lambda_alias.pusher.function_version == aws_lambda_function.pusher.version
    error_message = "The mapping must invoke the alias, which points at the version published."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.notifications[0].event_source_arn == "arn:aws:sqs:eu-west-1:123456789012:test-notifications" && aws_lambda_event_source_mapping.notifications[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping must read the queue given and let the function report partial failures."
  }

  # Nothing invokes the function asynchronously: no failures queue.
  assert {
    condition     = length(aws_sqs_queue.async_failures) == 0 && length(aws_lambda_function_event_invoke_config.pusher) == 0 && length(aws_sns_topic_subscription.notifications) == 0 && length(aws_sqs_queue.sns_dlq) == 0
    error_message = "Without a topic or rule invoking the function, there must be no async failures queue nor subscription."
  }
}

run "concurrency_set" {
  command = apply

  variables {
    notifications_queue_enabled    = true
    notifications_queue_arn        = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    maximum_concurrency            = 50
    reserved_concurrent_executions = 70
    route_concurrency              = 20
  }

  assert {
    condition     = aws_lambda_event_source_mapping.notifications[0].scaling_config[0].maximum_concurrency == 50 && aws_lambda_function.pusher.reserved_concurrent_executions == 70
    error_message = "The mapping's maximum and the reservation must follow their inputs."
  }
}

# A reservation with no room for $connect above the mapping's maximum: Lambda would
# throttle the queue's batches and every $connect with them.
run "reservation_without_headroom" {
  command = plan

  variables {
    notifications_queue_enabled    = true
    notifications_queue_arn        = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    maximum_concurrency            = 10
    reserved_concurrent_executions = 15
  }

  expect_failures = [aws_lambda_function.pusher]
}

# A stream alone takes shard_count × parallelization_factor instances of the
# reservation (4 × 2 here) beside the routes' 10: 17 is one short.
run "reservation_without_the_streams_share" {
  command = plan

  variables {
    kinesis_stream                 = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/test-vehicles", shard_count = 4, parallelization_factor = 2 }
    reserved_concurrent_executions = 17
  }

  expect_failures = [aws_lambda_function.pusher]
}

# The queue and the stream at their most, and the routes: 10 + 8 + 10.
run "reservation_holds_queue_and_stream" {
  command = apply

  variables {
    notifications_queue_enabled    = true
    notifications_queue_arn        = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    kinesis_stream                 = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/test-vehicles", shard_count = 4, parallelization_factor = 2 }
    reserved_concurrent_executions = 28
  }

  assert {
    condition     = aws_lambda_function.pusher.reserved_concurrent_executions == 28 && aws_lambda_event_source_mapping.kinesis[0].parallelization_factor == 2
    error_message = "A reservation that holds the queue, the stream and the routes must be taken."
  }
}

# No queue and no stream: the routes alone, and still checked.
run "reservation_under_the_routes" {
  command = plan

  variables {
    reserved_concurrent_executions = 5
  }

  expect_failures = [aws_lambda_function.pusher]
}

run "shard_count_zero" {
  command = plan

  variables {
    kinesis_stream = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/test-vehicles", shard_count = 0 }
  }

  expect_failures = [var.kinesis_stream]
}

run "unreserved" {
  command = apply

  variables {
    notifications_queue_enabled    = true
    notifications_queue_arn        = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    reserved_concurrent_executions = null
  }

  assert {
    condition     = aws_lambda_function.pusher.reserved_concurrent_executions == -1 && aws_lambda_event_source_mapping.notifications[0].scaling_config[0].maximum_concurrency == 10
    error_message = "With reserved_concurrent_executions = null the function must take the account's unreserved pool, the mapping still bounded."
  }
}

run "maximum_concurrency_out_of_range" {
  command = plan

  variables {
    maximum_concurrency = 1
  }

  expect_failures = [var.maximum_concurrency]
}

# SNS invokes the function asynchronously: Lambda retries a failure twice, then sends
# its record to the async failures queue instead of dropping it.
run "topic_with_on_failure_destination" {
  command = apply

  variables {
    notifications_topic_enabled = true
    notifications_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:test-notifications"
  }

  assert {
    condition     = length(aws_sqs_queue.async_failures) == 1 && aws_lambda_function_event_invoke_config.pusher[0].destination_config[0].on_failure[0].destination == "arn:aws:sqs:eu-west-1:123456789012:test-pusher-async-failures"
    error_message = "SNS's failed invocations must go to the module's async failures queue."
  }

  assert {
    condition     = aws_lambda_function_event_invoke_config.pusher[0].qualifier == aws_lambda_alias.pusher.name && aws_lambda_function_event_invoke_config.pusher[0].maximum_retry_attempts == 2 && aws_lambda_function_event_invoke_config.pusher[0].maximum_event_age_in_seconds == 21600
    error_message = "The on-failure configuration must be the alias's (the one SNS invokes), with 2 retries and 6 hours by default."
  }

  assert {
    condition     = aws_sns_topic_subscription.notifications[0].endpoint == aws_lambda_alias.pusher.arn && aws_lambda_permission.sns[0].qualifier == aws_lambda_alias.pusher.name && aws_lambda_permission.sns[0].source_arn == "arn:aws:sns:eu-west-1:123456789012:test-notifications"
    error_message = "The topic must invoke the alias, which it may invoke."
  }

  # Lambda sends the record with the function's role.
  assert {
    condition     = anytrue([for s in data.aws_iam_policy_document.pusher.statement : s.sid == "AsyncFailures" && toset(s.actions) == toset(["sqs:SendMessage"]) && toset(s.resources) == toset([aws_sqs_queue.async_failures[0].arn])])
    error_message = "The role must be allowed to send to the async failures queue, and only that."
  }

  assert {
    condition     = output.async_failures_queue_url == aws_sqs_queue.async_failures[0].url
    error_message = "The async failures queue's URL must be an output."
  }

  # What SNS cannot hand to Lambda at all (the alias or its permission gone, Lambda
  # refusing past SNS's retries) goes to the subscription's own dead-letter queue, not
  # discarded.
  assert {
    condition     = jsondecode(aws_sns_topic_subscription.notifications[0].redrive_policy).deadLetterTargetArn == "arn:aws:sqs:eu-west-1:123456789012:test-pusher-sns-dlq" && aws_sqs_queue.sns_dlq[0].name == "test-pusher-sns-dlq" && aws_sqs_queue.sns_dlq[0].sqs_managed_sse_enabled && output.sns_dlq_url == aws_sqs_queue.sns_dlq[0].url
    error_message = "The topic's subscription must redrive to the module's encrypted SNS dead-letter queue."
  }

  assert {
    condition = aws_sqs_queue_policy.sns_dlq[0].queue_url == aws_sqs_queue.sns_dlq[0].url && one([for s in data.aws_iam_policy_document.sns_dlq[0].statement :
      toset(s.actions) == toset(["sqs:SendMessage"]) && toset(s.resources) == toset([aws_sqs_queue.sns_dlq[0].arn]) &&
      one(s.principals).type == "Service" && toset(one(s.principals).identifiers) == toset(["sns.amazonaws.com"]) &&
    one(s.condition).test == "ArnEquals" && one(s.condition).variable == "aws:SourceArn" && toset(one(s.condition).values) == toset(["arn:aws:sns:eu-west-1:123456789012:test-notifications"])])
    error_message = "SNS, from the notifications topic alone, must be allowed to send to the dead-letter queue."
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.notifications) == 0
    error_message = "Without the queue's toggle there must be no mapping."
  }
}

# The toggles say what exists; an ARN without its toggle, or the reverse, is refused
# when planning rather than ignored or failed at apply.
run "queue_arn_without_toggle" {
  command = plan

  variables {
    notifications_queue_arn = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
  }

  expect_failures = [aws_lambda_function.pusher]
}

run "topic_arn_without_toggle" {
  command = plan

  variables {
    notifications_topic_arn = "arn:aws:sns:eu-west-1:123456789012:test-notifications"
  }

  expect_failures = [aws_lambda_function.pusher]
}

# The stream's mapping invokes the alias, as every source does: moving the alias back
# to the version before is the rollback of the stream's batches too.
run "kinesis_on_the_alias" {
  command = apply

  variables {
    kinesis_stream = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/test-vehicles" }
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kinesis[0].function_name == aws_lambda_alias.pusher.arn && aws_lambda_event_source_mapping.kinesis[0].function_name != aws_lambda_function.pusher.arn
    error_message = "The stream's mapping must invoke the alias, not the function."
  }
}

# The authorizer writes the context the pusher reads: it has an alias of the same name,
# which API Gateway invokes and may invoke, so that a rollback moves both back.
run "authorizer_on_its_alias" {
  command = apply

  variables {
    authorizer = { jwks_url = "https://issuer.example.com/.well-known/jwks.json" }
  }

  assert {
    condition     = aws_lambda_function.authorizer[0].publish && aws_lambda_alias.authorizer[0].name == "live" && aws_lambda_alias.authorizer[0].function_version == aws_lambda_function.authorizer[0].version
    error_message = "The authorizer must publish a version at each change, and its alias (alias_name) point to it."
  }

  assert {
    condition     = aws_apigatewayv2_authorizer.connect[0].authorizer_uri == aws_lambda_alias.authorizer[0].invoke_arn && aws_lambda_permission.authorizer[0].qualifier == "live"
    error_message = "API Gateway must invoke the authorizer's alias, which its permission names."
  }

  assert {
    condition     = output.authorizer_function_version == aws_lambda_function.authorizer[0].version
    error_message = "The authorizer's version its alias points to must be an output."
  }
}
