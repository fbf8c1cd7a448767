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
    { for q in aws_sqs_queue.sns_dlq : "sns-dlq" => q.name },
    var.alarm_dead_letter_queues,
  ) : {}
}

# Something was parked: a malformed request, or a delivery that kept failing. Each
# message waits for an operator (docs/runbook.md), and expires after the poison
# queue's retention. The messages visible and those in flight: `pusher replay list`
# receives the messages it shows, which hides them for their visibility timeout, and
# an alarm on the visible alone would go back to OK while the operator reads them and
# fire again after.
resource "aws_cloudwatch_metric_alarm" "poison_not_empty" {
  count = local.alarms ? 1 : 0

  alarm_name          = "${local.name}-poison-not-empty"
  alarm_description   = "The pusher parked messages in ${aws_sqs_queue.poison.name}: list them with `pusher replay list` (docs/runbook.md)."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags

  metric_query {
    id          = "messages"
    expression  = "visible + not_visible"
    label       = "Messages, received or not"
    return_data = true
  }

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = aws_sqs_queue.poison.name }
      stat        = "Maximum"
      period      = 300
    }
  }

  metric_query {
    id = "not_visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = { QueueName = aws_sqs_queue.poison.name }
      stat        = "Maximum"
      period      = 300
    }
  }
}

# A parked message is half-way to expiring unread: the poison queue deletes it at the
# end of its retention. Blind to a message received more than three times (listed,
# exported): SQS then leaves it out of ApproximateAgeOfOldestMessage and reports the
# next oldest (sqs-available-cloudwatch-metrics.html), though it still expires by its
# first sending. The README's Alarms says so.
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
# invocation, a Kinesis batch, an EventBridge event, an SNS notification, a request the
# function failed on as a whole maxReceiveCount times. Visible and in flight, as the
# poison queue's: an operator reading the queue does not make it look empty.
resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${local.name}-${each.key}-not-empty"
  alarm_description   = "The dead-letter queue ${each.value} holds messages (deploy/README.md says what each holds)."
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags

  metric_query {
    id          = "messages"
    expression  = "visible + not_visible"
    label       = "Messages, received or not"
    return_data = true
  }

  metric_query {
    id = "visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesVisible"
      dimensions  = { QueueName = each.value }
      stat        = "Maximum"
      period      = 300
    }
  }

  metric_query {
    id = "not_visible"
    metric {
      namespace   = "AWS/SQS"
      metric_name = "ApproximateNumberOfMessagesNotVisible"
      dimensions  = { QueueName = each.value }
      stat        = "Maximum"
      period      = 300
    }
  }
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
# its own alarm watches too; a record that did not reach it is the next alarm's).
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

# Records Lambda could not send to an on-failure destination: the async failures queue
# (SNS's and EventBridge's invocations given up on) or the Kinesis mapping's queue. The
# event is then lost but for this count: AsyncEventsDropped fires too, and the queue
# stays empty ("If Lambda can't send a record to a destination you have configured, it
# sends a DestinationDeliveryFailures metric": invocation-async-retain-records.html; the
# metric counts event source mappings' destinations too, monitoring-metrics-types.html).
# A queue deleted or its policy changed, a record over SQS's size.
resource "aws_cloudwatch_metric_alarm" "destination_delivery_failures" {
  count = local.alarms && (local.async_invoked || length(local.kinesis_streams) > 0) ? 1 : 0

  alarm_name          = "${local.name}-destination-delivery-failures"
  alarm_description   = "Lambda could not record failed events of ${aws_lambda_function.pusher.function_name} in their on-failure queue (async failures, Kinesis): they are lost. Check the queues exist and the role may send to them (deploy/README.md)."
  namespace           = "AWS/Lambda"
  metric_name         = "DestinationDeliveryFailures"
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

# The stream's records wait unworked: the age of the last record of a batch when the
# function got it (AWS/Lambda IteratorAge, in milliseconds, by FunctionName:
# monitoring-metrics-types.html). The Kinesis counterpart of requests-waiting: the
# function fails or is stuck on a shard, or the shards outrun it. Past
# kinesis_stream.maximum_record_age_in_seconds Lambda gives the batch up.
resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  count = local.alarms ? length(local.kinesis_streams) : 0

  alarm_name          = "${local.name}-records-waiting"
  alarm_description   = "The records of the Kinesis stream reach ${aws_lambda_function.pusher.function_name} more than ${var.iterator_age_alarm_seconds} s after they were written."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.pusher.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.iterator_age_alarm_seconds * 1000
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}
