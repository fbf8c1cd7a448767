# Batches from the notifications queue. With ReportBatchItemFailures the function
# names the messages to deliver again; the others are deleted.
resource "aws_lambda_event_source_mapping" "notifications" {
  count = var.notifications_queue_arn == null ? 0 : 1

  event_source_arn                   = var.notifications_queue_arn
  function_name                      = aws_lambda_function.pusher.arn
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.maximum_batching_window_in_seconds
  function_response_types            = ["ReportBatchItemFailures"]

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

# Notifications from the topic, one invocation each.
resource "aws_sns_topic_subscription" "notifications" {
  count = var.notifications_topic_arn == null ? 0 : 1

  topic_arn = var.notifications_topic_arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.pusher.arn

  depends_on = [aws_lambda_permission.sns]
}

resource "aws_lambda_permission" "sns" {
  count = var.notifications_topic_arn == null ? 0 : 1

  statement_id  = "AllowNotificationsTopic"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pusher.function_name
  principal     = "sns.amazonaws.com"
  source_arn    = var.notifications_topic_arn
}
