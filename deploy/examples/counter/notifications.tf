# The notifications queue: the counter sends each click's broadcast request to it, and
# the pusher's event source mapping reads it.
resource "aws_sqs_queue" "notifications" {
  name = "${var.prefix}-notifications"
  # At least the pusher's timeout, or AWS refuses the event source mapping.
  visibility_timeout_seconds = 6 * local.function_timeout
  # SQS's own key: the counter sends with no KMS grant.
  sqs_managed_sse_enabled = true

  # Requests the pusher keeps failing on as a whole; those it can tell are bad it parks
  # in its own poison queue.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.notifications_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "notifications_dlq" {
  name                      = "${var.prefix}-notifications-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}
