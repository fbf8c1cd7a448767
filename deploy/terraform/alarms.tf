# CloudWatch alarms, when var.alarm_actions names where to send them: what an on-call
# operator must hear about, each on AWS's own metrics, by the dimensions AWS documents
# for them. SQS: AWS/SQS, dimension QueueName
# (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
# Lambda: AWS/Lambda, dimension FunctionName, which aggregates every version and alias
# of the function ("Types of metrics for Lambda functions" and "Using dimensions",
# docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). A period of no
# data (an idle function, an empty queue: SQS and Lambda send no zeroes for some of
# these) is not an alarm.

locals {
  # Whether to alarm: the list's length is known when planning, its ARNs may not be.
  alarms = length(var.alarm_actions) > 0

  # The dead-letter queues to watch, by names known when planning: the module's own
  # that exist, and the caller's.
  dead_letter_queues = local.alarms ? merge(
    { for q in aws_sqs_queue.async_failures : "async-failures" => q.name },
    { for q in aws_sqs_queue.kinesis_dlq : "kinesis-dlq" => q.name },
    { for q in aws_sqs_queue.events_dlq : "events-dlq" => q.name },
    var.alarm_dead_letter_queues,
  ) : {}
}

# Something was parked: a malformed request, or a delivery that kept failing. Each
# message waits for an operator (docs/runbook.md), and expires after the poison
# queue's retention.
resource "aws_cloudwatch_metric_alarm" "poison_not_empty" {
  count = local.alarms ? 1 : 0

  alarm_name          = "${local.name}-poison-not-empty"
  alarm_description   = "The pusher parked messages in ${aws_sqs_queue.poison.name}: list them with `pusher replay list` (docs/runbook.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.poison.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# A parked message is half-way to expiring unread: the poison queue deletes it at the
# end of its retention.
resource "aws_cloudwatch_metric_alarm" "poison_oldest" {
  count = local.alarms ? 1 : 0

  alarm_name          = "${local.name}-poison-expiring"
  alarm_description   = "The oldest message of ${aws_sqs_queue.poison.name} is past half its retention: replay or export it before SQS deletes it (docs/runbook.md)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = aws_sqs_queue.poison.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = floor(var.poison_queue.message_retention_seconds / 2)
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# A dead-letter queue holds what was given up on outside the pusher: an asynchronous
# invocation, a Kinesis batch, an EventBridge event, a request the function failed on
# as a whole maxReceiveCount times.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${local.name}-${each.key}-not-empty"
  alarm_description   = "The dead-letter queue ${each.value} holds messages (deploy/README.md says what each holds)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# Requests wait unworked: the function fails or is stuck, or maximum_concurrency is
# too low for the traffic.
resource "aws_cloudwatch_metric_alarm" "queue_age" {
  count = local.alarms ? length(local.notifications_queue_arns) : 0

  alarm_name          = "${local.name}-requests-waiting"
  alarm_description   = "The oldest request of the notifications queue is older than ${var.queue_age_alarm_seconds} s."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = split(":", var.notifications_queue_arn)[5] }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.queue_age_alarm_seconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# Invocations that failed as a whole (a crash, a timeout, an SNS notification the
# function asked to be retried); an SQS record it reports unsettled is no error.
resource "aws_cloudwatch_metric_alarm" "errors" {
  count = local.alarms ? 1 : 0

  alarm_name          = "${local.name}-errors"
  alarm_description   = "Invocations of ${aws_lambda_function.pusher.function_name} failed: see its logs."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.pusher.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# Invocations refused for want of concurrency: a $connect refused, an asynchronous
# event delayed. The SQS mapping, held under the reserved concurrency by
# maximum_concurrency, should cause none.
resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = local.alarms ? 1 : 0

  alarm_name          = "${local.name}-throttles"
  alarm_description   = "Invocations of ${aws_lambda_function.pusher.function_name} were throttled: raise reserved_concurrent_executions or route_concurrency (deploy/README.md, \"Concurrency\")."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = aws_lambda_function.pusher.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# Asynchronous events Lambda gave up on ("Asynchronous invocation metrics":
# AsyncEventsDropped counts the events dropped without the function succeeding, after
# their record was sent to the on-failure destination, the async failures queue, which
# its own alarm watches too; DestinationDeliveryFailures would count a record that did
# not reach it).
resource "aws_cloudwatch_metric_alarm" "async_events_dropped" {
  count = local.alarms && local.async_invoked ? 1 : 0

  alarm_name          = "${local.name}-async-events-dropped"
  alarm_description   = "Lambda gave up on asynchronous events (SNS, EventBridge) of ${aws_lambda_function.pusher.function_name}: their records are in the async failures queue (deploy/README.md)."
  namespace           = "AWS/Lambda"
  metric_name         = "AsyncEventsDropped"
  dimensions          = { FunctionName = aws_lambda_function.pusher.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}
