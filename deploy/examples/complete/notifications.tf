# Where backends send notification requests: publish to the topic or send to the queue.

# Encrypted at rest with SNS's AWS managed key: the backends of this account may publish
# without a KMS grant. A customer managed key (which trivy's aws-sns-topic-encryption-use-cmk
# asks for) would need a key policy for every publisher, and is the one to use when they
# are other accounts or AWS services
# (docs.aws.amazon.com/sns/latest/dg/sns-server-side-encryption.html).
#trivy:ignore:aws-sns-topic-encryption-use-cmk
resource "aws_sns_topic" "notifications" {
  name              = "${var.prefix}-notifications"
  kms_master_key_id = "alias/aws/sns"
}

resource "aws_sqs_queue" "notifications" {
  name = "${var.prefix}-notifications"
  # At least the function's timeout, or AWS refuses the event source mapping.
  visibility_timeout_seconds = 6 * local.function_timeout
  sqs_managed_sse_enabled    = true

  # Requests the function keeps failing on as a whole (it crashes, say); the pusher
  # parks the ones it can tell are bad in its own poison queue.
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

# With topic_through_queue the topic feeds the queue. Never both this and the module's
# own subscription of the function: each request would be delivered twice.
resource "aws_sns_topic_subscription" "queue" {
  count = var.topic_through_queue ? 1 : 0

  topic_arn            = aws_sns_topic.notifications.arn
  protocol             = "sqs"
  endpoint             = aws_sqs_queue.notifications.arn
  raw_message_delivery = true
}

resource "aws_sqs_queue_policy" "topic_to_queue" {
  count = var.topic_through_queue ? 1 : 0

  queue_url = aws_sqs_queue.notifications.id
  policy    = data.aws_iam_policy_document.topic_to_queue.json
}

data "aws_iam_policy_document" "topic_to_queue" {
  statement {
    sid       = "NotificationsTopic"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications.arn]

    principals {
      type        = "Service"
      identifiers = ["sns.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_sns_topic.notifications.arn]
    }
  }
}
