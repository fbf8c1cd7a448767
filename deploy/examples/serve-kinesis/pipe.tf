# The Pipe from the stream to the queue. Without an input template the queue receives
# each record as the Pipe's Kinesis event, one message per record
# (docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html):
#
#   {"eventSource": "aws:kinesis", "eventID": "shardId-000000000000:4959...",
#    "partitionKey": "v-42", "sequenceNumber": "4959...", "data": "eyJWZWhpY2xlSUQiOi...",
#    "approximateArrivalTimestamp": 1545084650.987, "eventSourceARN": "arn:aws:kinesis:...", ...}
#
# which the pusher reads as the Kinesis record it is: its data, base64-decoded, mapped
# by KINESIS_MAPPING ({topics: [VehicleID]}: the frame is the record, to the vehicle's
# topic).
resource "aws_pipes_pipe" "vehicles" {
  name     = "${var.prefix}-positions"
  role_arn = aws_iam_role.pipe.arn
  source   = aws_kinesis_stream.vehicles.arn
  target   = aws_sqs_queue.notifications.arn

  source_parameters {
    kinesis_stream_parameters {
      starting_position = "LATEST"
      # SQS takes at most 10 messages a batch, so a Pipe to a queue reads at most 10
      # records at once (docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-batching-concurrency.html).
      batch_size                         = 10
      maximum_batching_window_in_seconds = 1
      # A batch the Pipe cannot put on the queue (its policy, its key) is halved and
      # retried, at most 10 times and for an hour, then recorded in the dead-letter
      # queue (its shard and sequence numbers), and the shard goes on.
      on_partial_batch_item_failure = "AUTOMATIC_BISECT"
      maximum_retry_attempts        = 10
      maximum_record_age_in_seconds = 3600

      dead_letter_config {
        arn = aws_sqs_queue.pipe_dlq.arn
      }
    }
  }

  # With a FIFO queue: one message group per partition key (dynamic path parameters,
  # docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-event-target.html).
  dynamic "target_parameters" {
    for_each = var.fifo ? [1] : []
    content {
      sqs_queue_parameters {
        message_group_id         = "$.partitionKey"
        message_deduplication_id = "$.eventID"
      }
    }
  }

  depends_on = [aws_iam_role_policy.pipe]
}

resource "aws_sqs_queue" "pipe_dlq" {
  name                      = "${var.prefix}-positions-pipe-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}

# The Pipe's role: only EventBridge Pipes of this account may assume it.
resource "aws_iam_role" "pipe" {
  name = "${var.prefix}-positions-pipe"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "pipes.amazonaws.com" }
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
}

data "aws_caller_identity" "current" {}

resource "aws_iam_role_policy" "pipe" {
  name   = "pipe"
  role   = aws_iam_role.pipe.id
  policy = data.aws_iam_policy_document.pipe.json
}

# Read the stream, send to the queue and to the dead-letter queue, nothing else
# (docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-permissions.html).
data "aws_iam_policy_document" "pipe" {
  statement {
    sid = "Stream"
    actions = [
      "kinesis:DescribeStream",
      "kinesis:DescribeStreamSummary",
      "kinesis:GetRecords",
      "kinesis:GetShardIterator",
      "kinesis:ListShards",
    ]
    resources = [aws_kinesis_stream.vehicles.arn]
  }

  statement {
    sid       = "Queue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications.arn]
  }

  statement {
    sid       = "DeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.pipe_dlq.arn]
  }
}
