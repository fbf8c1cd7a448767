# Batches from the notifications queue. With ReportBatchItemFailures the function
# names the messages to deliver again; the others are deleted.
resource "aws_lambda_event_source_mapping" "notifications" {
  count = length(local.notifications_queue_arns)

  event_source_arn                   = var.notifications_queue_arn
  function_name                      = aws_lambda_alias.pusher.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  # Bounded: Lambda would otherwise scale the mapping to 1,000 invocations, each
  # posting POST_CONCURRENCY frames at once into the account's API Gateway quota.
  # "Configuring maximum concurrency for Amazon SQS event sources"
  # (docs.aws.amazon.com/lambda/latest/dg/services-sqs-scaling.html) asks for a
  # reserved concurrency at least the mappings' maximum, or Lambda throttles messages:
  # the function's precondition (main.tf) keeps it above, with the stream's share and
  # route_concurrency.
  scaling_config {
    maximum_concurrency = var.maximum_concurrency
  }

  lifecycle {
    precondition {
      condition     = var.batch_size <= 10 || var.maximum_batching_window_in_seconds >= 1
      error_message = "A batch_size over 10 needs maximum_batching_window_in_seconds of at least 1."
    }
    # Lambda takes at most 10 messages and no batching window from a FIFO queue
    # (docs.aws.amazon.com/lambda/latest/dg/services-sqs-parameters.html); the function
    # keeps each message group's order.
    precondition {
      condition     = !endswith(var.notifications_queue_arn, ".fifo") || (var.batch_size <= 10 && var.maximum_batching_window_in_seconds == 0)
      error_message = "A FIFO notifications queue takes a batch_size of at most 10 and maximum_batching_window_in_seconds = 0."
    }
  }

  # AWS checks, when the mapping is created, that the role may read the queue.
  depends_on = [aws_iam_role_policy.pusher]
}

# Notifications from the topic, one asynchronous invocation each: what fails is
# retried by Lambda, then kept in the async failures queue (async.tf). What SNS cannot
# hand to Lambda at all goes to the subscription's dead-letter queue below.
resource "aws_sns_topic_subscription" "notifications" {
  count = length(local.notifications_topic_arns)

  topic_arn      = var.notifications_topic_arn
  protocol       = "lambda"
  endpoint       = aws_lambda_alias.pusher.arn
  redrive_policy = jsonencode({ deadLetterTargetArn = aws_sqs_queue.sns_dlq[0].arn })

  # SNS may send to the queue before the first notification it cannot deliver.
  depends_on = [aws_lambda_permission.sns, aws_sqs_queue_policy.sns_dlq]
}

# The subscription's dead-letter queue: the notifications SNS could not deliver to the
# function at all, which it would otherwise discard ("Amazon SNS dead-letter queues
# (DLQs)", docs.aws.amazon.com/sns/latest/dg/sns-dead-letter-queues.html): at once on a
# client-side error (the alias or its permission gone: SNS does not retry those), or
# after its delivery policy's retries on a server-side one (Lambda unavailable or
# throttling the invoke; for Lambda endpoints SNS retries for days). Once Lambda has
# taken a notification, its failures are the async failures queue's. The same account
# and Region as the subscription, as SNS requires. SSE-SQS: no KMS key, so no key
# policy for SNS (SNS's note asks one of a queue under a customer managed KMS key).
resource "aws_sqs_queue" "sns_dlq" {
  count = length(local.notifications_topic_arns)

  name                      = "${local.name}-sns-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.common_tags
}

resource "aws_sqs_queue_policy" "sns_dlq" {
  count = length(aws_sqs_queue.sns_dlq)

  queue_url = aws_sqs_queue.sns_dlq[0].url
  policy    = data.aws_iam_policy_document.sns_dlq[0].json
}

# SNS may send the notifications of this topic alone
# (docs.aws.amazon.com/sns/latest/dg/sns-configure-dead-letter-queue.html).
data "aws_iam_policy_document" "sns_dlq" {
  count = length(aws_sqs_queue.sns_dlq)

  statement {
    sid       = "NotificationsTopic"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.sns_dlq[0].arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [var.notifications_topic_arn]
    }
  }
}

resource "aws_lambda_permission" "sns" {
  count = length(local.notifications_topic_arns)

  statement_id  = "AllowNotificationsTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pusher.function_name
  qualifier     = aws_lambda_alias.pusher.name
  principal     = "sns.amazonaws.com"
  source_arn    = var.notifications_topic_arn
}
