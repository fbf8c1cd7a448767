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
# retried by Lambda, then kept in the async failures queue (async.tf).
resource "aws_sns_topic_subscription" "notifications" {
  count = length(local.notifications_topic_arns)

  topic_arn = var.notifications_topic_arn
  protocol  = "lambda"
  endpoint  = aws_lambda_alias.pusher.arn

  depends_on = [aws_lambda_permission.sns]
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
