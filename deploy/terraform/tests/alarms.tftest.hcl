# The module's alarms, planned and applied with a mock AWS provider: none without
# alarm_actions; with them, the poison queue, each dead-letter queue (the module's own
# and the caller's), the notifications queue's oldest request, the function's errors,
# throttles and, when something invokes it asynchronously, its dropped events; each by
# the name deploy/README.md lists, keyed by it in aws_cloudwatch_metric_alarm.metric
# (one metric) or .queue_not_empty (a queue's messages).

# Made-up values for what AWS computes: mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

# The mock's queue ARN would name every queue "mock": the poison queue's name is the
# module's, and the alarms' dimensions are read from it.
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

run "no_alarm_actions_no_alarms" {
  command = apply

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    notifications_topic_enabled = true
    notifications_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:test-notifications"
    alarm_dead_letter_queues    = { notifications-dlq = "test-notifications-dlq" }
  }

  assert {
    condition     = output.alarm_arns == {} && length(aws_cloudwatch_metric_alarm.queue_not_empty) == 0 && length(aws_cloudwatch_metric_alarm.metric) == 0
    error_message = "Without alarm_actions the module must make no alarm."
  }
}

run "alarms_on_every_source" {
  command = apply

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    notifications_topic_enabled = true
    notifications_topic_arn     = "arn:aws:sns:eu-west-1:123456789012:test-notifications"
    alarm_dead_letter_queues    = { notifications-dlq = "test-notifications-dlq" }
    alarm_actions               = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
    ok_actions                  = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
  }

  # The messages visible and those in flight: `pusher replay list` receives the
  # messages it shows, which hides them, and the alarm must not turn OK for it.
  assert {
    condition     = aws_cloudwatch_metric_alarm.queue_not_empty["poison"].threshold == 0 && aws_cloudwatch_metric_alarm.queue_not_empty["poison"].metric_name == null && one([for q in aws_cloudwatch_metric_alarm.queue_not_empty["poison"].metric_query : q if q.id == "messages"]).expression == "visible + not_visible" && one([for q in aws_cloudwatch_metric_alarm.queue_not_empty["poison"].metric_query : q if q.id == "messages"]).return_data
    error_message = "A message in the poison queue, visible or in flight, must raise an alarm."
  }

  assert {
    condition = alltrue([for id, name in { visible = "ApproximateNumberOfMessagesVisible", not_visible = "ApproximateNumberOfMessagesNotVisible" } :
    one([for q in aws_cloudwatch_metric_alarm.queue_not_empty["poison"].metric_query : q.metric[0].namespace == "AWS/SQS" && q.metric[0].metric_name == name && q.metric[0].dimensions == tomap({ QueueName = "test-pusher-poison" }) && q.metric[0].stat == "Maximum" && q.metric[0].period == 300 if q.id == id])])
    error_message = "The poison queue's alarm must add its messages visible and not visible, by QueueName."
  }

  # Half of the 14 days' retention.
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["poison-expiring"].metric_name == "ApproximateAgeOfOldestMessage" && aws_cloudwatch_metric_alarm.metric["poison-expiring"].dimensions == tomap({ QueueName = "test-pusher-poison" }) && aws_cloudwatch_metric_alarm.metric["poison-expiring"].threshold == 604800
    error_message = "A parked message half-way to expiring must raise an alarm."
  }

  # SNS invokes the function: the async failures queue and the subscription's
  # dead-letter queue are watched, as is the caller's dead-letter queue of the
  # notifications queue.
  assert {
    condition = toset(keys(aws_cloudwatch_metric_alarm.queue_not_empty)) == toset(["poison", "async-failures", "sns-dlq", "notifications-dlq"]) && alltrue([for key, queue in { notifications-dlq = "test-notifications-dlq", async-failures = aws_sqs_queue.async_failures[0].name, sns-dlq = aws_sqs_queue.sns_dlq[0].name } :
    toset([for q in aws_cloudwatch_metric_alarm.queue_not_empty[key].metric_query : "${q.metric[0].metric_name} ${q.metric[0].dimensions.QueueName}" if q.id != "messages"]) == toset(["ApproximateNumberOfMessagesVisible ${queue}", "ApproximateNumberOfMessagesNotVisible ${queue}"])])
    error_message = "Each dead-letter queue, the module's and the caller's, must have its alarm, on its messages visible and not visible."
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["requests-waiting"].metric_name == "ApproximateAgeOfOldestMessage" && aws_cloudwatch_metric_alarm.metric["requests-waiting"].dimensions == tomap({ QueueName = "test-notifications" }) && aws_cloudwatch_metric_alarm.metric["requests-waiting"].threshold == 300
    error_message = "Requests waiting in the notifications queue over 5 minutes must raise an alarm."
  }

  assert {
    condition = alltrue([for a in [aws_cloudwatch_metric_alarm.metric["errors"], aws_cloudwatch_metric_alarm.metric["throttles"], aws_cloudwatch_metric_alarm.metric["async-events-dropped"]] :
    a.namespace == "AWS/Lambda" && a.dimensions == tomap({ FunctionName = aws_lambda_function.pusher.function_name })])
    error_message = "The function's errors, throttles and dropped asynchronous events must be watched, by its name."
  }

  assert {
    condition     = toset([aws_cloudwatch_metric_alarm.metric["errors"].metric_name, aws_cloudwatch_metric_alarm.metric["throttles"].metric_name, aws_cloudwatch_metric_alarm.metric["async-events-dropped"].metric_name]) == toset(["Errors", "Throttles", "AsyncEventsDropped"])
    error_message = "The function's alarms must be on Errors, Throttles and AsyncEventsDropped."
  }

  assert {
    condition = alltrue([for a in concat(values(aws_cloudwatch_metric_alarm.metric), values(aws_cloudwatch_metric_alarm.queue_not_empty)) :
    a.alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:on-call"]) && a.ok_actions == toset(["arn:aws:sns:eu-west-1:123456789012:on-call"]) && a.treat_missing_data == "notBreaching"])
    error_message = "Every alarm must notify alarm_actions and ok_actions, and take no data (an idle queue) as no alarm."
  }

  # Lambda sends the records of SNS's failed invocations to the async failures queue;
  # one it cannot send is lost but for this metric.
  assert {
    condition     = aws_cloudwatch_metric_alarm.metric["destination-delivery-failures"].metric_name == "DestinationDeliveryFailures" && aws_cloudwatch_metric_alarm.metric["destination-delivery-failures"].namespace == "AWS/Lambda" && aws_cloudwatch_metric_alarm.metric["destination-delivery-failures"].dimensions == tomap({ FunctionName = aws_lambda_function.pusher.function_name }) && aws_cloudwatch_metric_alarm.metric["destination-delivery-failures"].statistic == "Sum" && aws_cloudwatch_metric_alarm.metric["destination-delivery-failures"].threshold == 0
    error_message = "A record Lambda could not send to the async failures queue must raise an alarm."
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.metric), "records-waiting")
    error_message = "Without a stream, no alarm on its records' age."
  }

  # The names deploy/README.md's Alarms lists.
  assert {
    condition = toset(keys(output.alarm_arns)) == toset([for n in ["poison-not-empty", "poison-expiring", "async-failures-not-empty", "sns-dlq-not-empty", "notifications-dlq-not-empty",
    "requests-waiting", "errors", "throttles", "async-events-dropped", "destination-delivery-failures"] : "test-pusher-${n}"])
    error_message = "The alarm_arns output must name the 10 alarms: ${jsonencode(keys(output.alarm_arns))}"
  }

  # An age over 3 of 5 minutes; a count in one period of five.
  assert {
    condition = alltrue([for name, window in { requests-waiting = [60, 5, 3], poison-expiring = [300, 1, null], errors = [300, 1, null], destination-delivery-failures = [300, 1, null] } :
    jsonencode([aws_cloudwatch_metric_alarm.metric[name].period, aws_cloudwatch_metric_alarm.metric[name].evaluation_periods, aws_cloudwatch_metric_alarm.metric[name].datapoints_to_alarm]) == jsonencode(window)])
    error_message = "requests-waiting must fire on 3 of 5 one-minute periods, the others on one of five minutes."
  }
}

# The queue alone: nothing is invoked asynchronously, so no async queue to watch and no
# dropped events.
run "alarms_queue_only" {
  command = apply

  variables {
    notifications_queue_enabled = true
    notifications_queue_arn     = "arn:aws:sqs:eu-west-1:123456789012:test-notifications"
    alarm_actions               = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
    queue_age_alarm_seconds     = 120
  }

  assert {
    condition     = toset(keys(aws_cloudwatch_metric_alarm.metric)) == toset(["poison-expiring", "requests-waiting", "errors", "throttles"]) && toset(keys(aws_cloudwatch_metric_alarm.queue_not_empty)) == toset(["poison"]) && aws_cloudwatch_metric_alarm.metric["requests-waiting"].threshold == 120
    error_message = "With the queue alone: no async alarms, and the queue's age alarm at queue_age_alarm_seconds."
  }
}

# A stream alone: no queue whose oldest request would say its records wait, so the
# function's IteratorAge does (milliseconds); its mapping's on-failure queue is watched,
# and a record Lambda could not send there.
run "alarms_stream_only" {
  command = apply

  variables {
    kinesis_stream             = { arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/test-vehicles" }
    alarm_actions              = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
    iterator_age_alarm_seconds = 120
  }

  assert {
    condition     = !contains(keys(aws_cloudwatch_metric_alarm.metric), "requests-waiting") && aws_cloudwatch_metric_alarm.metric["records-waiting"].namespace == "AWS/Lambda" && aws_cloudwatch_metric_alarm.metric["records-waiting"].metric_name == "IteratorAge" && aws_cloudwatch_metric_alarm.metric["records-waiting"].statistic == "Maximum" && aws_cloudwatch_metric_alarm.metric["records-waiting"].dimensions == tomap({ FunctionName = aws_lambda_function.pusher.function_name }) && aws_cloudwatch_metric_alarm.metric["records-waiting"].threshold == 120000
    error_message = "With a stream, its records older than iterator_age_alarm_seconds (in milliseconds) when the function gets them must raise an alarm."
  }

  assert {
    condition     = contains(keys(aws_cloudwatch_metric_alarm.metric), "destination-delivery-failures") && toset(keys(aws_cloudwatch_metric_alarm.queue_not_empty)) == toset(["poison", "kinesis-dlq"]) && !contains(keys(aws_cloudwatch_metric_alarm.metric), "async-events-dropped")
    error_message = "With a stream: its on-failure queue and the records Lambda could not send there must be watched; no asynchronous invocations."
  }
}

# The poison queue's alarm is "<prefix>-pusher-poison-not-empty": a caller's queue of
# that name would take its place.
run "caller_queue_named_poison" {
  command = plan

  variables {
    alarm_actions            = ["arn:aws:sns:eu-west-1:123456789012:on-call"]
    alarm_dead_letter_queues = { poison = "test-poison" }
  }

  expect_failures = [aws_cloudwatch_metric_alarm.queue_not_empty]
}
