# CloudWatch alarms, when var.alarm_actions names where to send them: what an on-call
# operator must hear about, each on AWS's own metrics, by the dimensions AWS documents
# for them. SQS: AWS/SQS, dimension QueueName
# (docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html).
# Lambda: AWS/Lambda, dimension FunctionName, which aggregates every version and alias
# of the function ("Types of metrics for Lambda functions" and "Using dimensions",
# docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html). A period of no
# data (an idle function, an empty queue: SQS and Lambda send no zeroes for some of
# these) is not an alarm.
#
# Two resources say every alarm once: one on a single metric each (metric_alarms), one
# on a queue's messages (queue_alarms). Their keys are the alarms' names after
# local.name, and whether each exists is known when planning (the length of
# alarm_actions, the toggles), whatever ARNs the caller passes.

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

  # The "<name>-not-empty" alarms, by name: the queue and what to say.
  queue_alarms = local.alarms ? merge(
    # A dead-letter queue holds what was given up on outside the pusher: an
    # asynchronous invocation, a Kinesis batch, an EventBridge event, an SNS
    # notification, a request the function failed on as a whole maxReceiveCount times.
    { for name, queue in local.dead_letter_queues : name => {
      queue       = queue
      description = "The dead-letter queue ${queue} holds messages (deploy/README.md says what each holds)."
    } },
    # Something was parked: a malformed request, or a delivery that kept failing. Each
    # message waits for an operator (docs/runbook.md), and expires after the poison
    # queue's retention.
    { poison = {
      queue       = aws_sqs_queue.poison.name
      description = "The pusher parked messages in ${aws_sqs_queue.poison.name}: list them with `pusher replay list` (docs/runbook.md)."
    } },
  ) : {}

  # The alarms on one metric, by name: more than threshold in one five-minute period
  # of the function's Sum, unless the alarm says otherwise.
  metric_alarm_defaults = {
    enabled    = true
    namespace  = "AWS/Lambda"
    dimensions = { FunctionName = aws_lambda_function.pusher.function_name }
    statistic  = "Sum"
    threshold  = 0
    window     = { period = 300, evaluation_periods = 1, datapoints_to_alarm = null }
  }
  metric_alarms = { for name, alarm in {
    # A parked message is half-way to expiring unread: the poison queue deletes it at
    # the end of its retention. Blind to a message received more than three times
    # (listed, exported): SQS then leaves it out of ApproximateAgeOfOldestMessage and
    # reports the next oldest (sqs-available-cloudwatch-metrics.html), though it still
    # expires by its first sending. The README's Alarms says so.
    poison-expiring = {
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = aws_sqs_queue.poison.name }
      statistic   = "Maximum"
      threshold   = floor(var.poison_queue.message_retention_seconds / 2)
      description = "The oldest message of ${aws_sqs_queue.poison.name} is past half its retention: replay or export it before SQS deletes it (docs/runbook.md)."
    }

    # Requests wait unworked: the function fails or is stuck, or maximum_concurrency is
    # too low for the traffic. 3 of 5 minutes.
    requests-waiting = {
      enabled     = length(local.notifications_queue_arns) > 0
      namespace   = "AWS/SQS"
      metric      = "ApproximateAgeOfOldestMessage"
      dimensions  = { QueueName = var.notifications_queue_enabled ? split(":", var.notifications_queue_arn)[5] : null }
      statistic   = "Maximum"
      threshold   = var.queue_age_alarm_seconds
      window      = { period = 60, evaluation_periods = 5, datapoints_to_alarm = 3 }
      description = "The oldest request of the notifications queue is older than ${var.queue_age_alarm_seconds} s."
    }

    # Invocations that failed as a whole (a crash, a timeout, an SNS notification the
    # function asked to be retried); an SQS record it reports unsettled is no error.
    errors = {
      metric      = "Errors"
      description = "Invocations of ${aws_lambda_function.pusher.function_name} failed: see its logs."
    }

    # Invocations refused for want of concurrency: a $connect refused, an asynchronous
    # event delayed. The SQS mapping, held under the reserved concurrency by
    # maximum_concurrency, should cause none.
    throttles = {
      metric      = "Throttles"
      description = "Invocations of ${aws_lambda_function.pusher.function_name} were throttled: raise reserved_concurrent_executions or route_concurrency (deploy/README.md, \"Concurrency\")."
    }

    # Asynchronous events Lambda gave up on ("Asynchronous invocation metrics":
    # AsyncEventsDropped counts the events dropped without the function succeeding,
    # after their record was sent to the on-failure destination, the async failures
    # queue, which its own alarm watches too; a record that did not reach it is the
    # next alarm's).
    async-events-dropped = {
      enabled     = local.async_invoked
      metric      = "AsyncEventsDropped"
      description = "Lambda gave up on asynchronous events (SNS, EventBridge) of ${aws_lambda_function.pusher.function_name}: their records are in the async failures queue (deploy/README.md)."
    }

    # Records Lambda could not send to an on-failure destination: the async failures
    # queue (SNS's and EventBridge's invocations given up on) or the Kinesis mapping's
    # queue. The event is then lost but for this count: AsyncEventsDropped fires too,
    # and the queue stays empty ("If Lambda can't send a record to a destination you
    # have configured, it sends a DestinationDeliveryFailures metric":
    # invocation-async-retain-records.html; the metric counts event source mappings'
    # destinations too, monitoring-metrics-types.html). A queue deleted or its policy
    # changed, a record over SQS's size.
    destination-delivery-failures = {
      enabled     = local.async_invoked || length(local.kinesis_streams) > 0
      metric      = "DestinationDeliveryFailures"
      description = "Lambda could not record failed events of ${aws_lambda_function.pusher.function_name} in their on-failure queue (async failures, Kinesis): they are lost. Check the queues exist and the role may send to them (deploy/README.md)."
    }

    # The stream's records wait unworked: the age of the last record of a batch when
    # the function got it (AWS/Lambda IteratorAge, in milliseconds, by FunctionName:
    # monitoring-metrics-types.html). The Kinesis counterpart of requests-waiting: the
    # function fails or is stuck on a shard, or the shards outrun it. Past
    # kinesis_stream.maximum_record_age_in_seconds Lambda gives the batch up.
    records-waiting = {
      enabled     = length(local.kinesis_streams) > 0
      metric      = "IteratorAge"
      statistic   = "Maximum"
      threshold   = var.iterator_age_alarm_seconds * 1000
      window      = { period = 60, evaluation_periods = 5, datapoints_to_alarm = 3 }
      description = "The records of the Kinesis stream reach ${aws_lambda_function.pusher.function_name} more than ${var.iterator_age_alarm_seconds} s after they were written."
    }
  } : name => merge(local.metric_alarm_defaults, alarm) }
}

resource "aws_cloudwatch_metric_alarm" "metric" {
  for_each = { for name, alarm in local.metric_alarms : name => alarm if local.alarms && alarm.enabled }

  alarm_name          = "${local.name}-${each.key}"
  alarm_description   = each.value.description
  namespace           = each.value.namespace
  metric_name         = each.value.metric
  dimensions          = each.value.dimensions
  statistic           = each.value.statistic
  period              = each.value.window.period
  evaluation_periods  = each.value.window.evaluation_periods
  datapoints_to_alarm = each.value.window.datapoints_to_alarm
  comparison_operator = "GreaterThanThreshold"
  threshold           = each.value.threshold
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.ok_actions
  tags                = var.common_tags
}

# A queue holds messages, visible or in flight: `pusher replay list` receives the
# messages it shows, which hides them for their visibility timeout, and an alarm on the
# visible alone would go back to OK while the operator reads them and fire again after.
resource "aws_cloudwatch_metric_alarm" "queue_not_empty" {
  for_each = local.queue_alarms

  alarm_name          = "${local.name}-${each.key}-not-empty"
  alarm_description   = each.value.description
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

  dynamic "metric_query" {
    for_each = { visible = "ApproximateNumberOfMessagesVisible", not_visible = "ApproximateNumberOfMessagesNotVisible" }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/SQS"
        metric_name = metric_query.value
        dimensions  = { QueueName = each.value.queue }
        stat        = "Maximum"
        period      = 300
      }
    }
  }

  lifecycle {
    # The poison queue's alarm has this name.
    precondition {
      condition     = !contains(keys(var.alarm_dead_letter_queues), "poison")
      error_message = "alarm_dead_letter_queues must not name a queue \"poison\": the module's poison queue has the alarm \"${local.name}-poison-not-empty\"."
    }
  }
}
