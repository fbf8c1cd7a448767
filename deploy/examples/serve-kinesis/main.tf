# Seed 002 for `pusher serve`: a Kinesis stream of vehicle positions, pushed to the
# clients watching each vehicle. pusher serve has no shard-lease coordinator of its own
# (which shard each instance reads, where it checkpoints): an EventBridge Pipe reads the
# stream and puts each record on the notifications queue, which any number of instances
# share as they share any queue (pipe.tf). The pusher recognises a record the Pipe
# delivers (eventSource "aws:kinesis", its data base64) and maps its data with
# KINESIS_MAPPING. pusher serve's own settings, table and poison queue are those of the
# README's "On AWS": outputs.tf gives the values of this stack.

# The producer's stream: vehicles' positions, partitioned by vehicle id, so that a
# vehicle's records keep their order in one shard. Encrypted with Kinesis's AWS managed
# key, which its readers use with no grant of their own
# (docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html).
resource "aws_kinesis_stream" "vehicles" {
  name             = "${var.prefix}-positions"
  retention_period = 24
  encryption_type  = "KMS"
  kms_key_id       = "alias/aws/kinesis"

  stream_mode_details {
    stream_mode = "ON_DEMAND"
  }
}

# The queue pusher serve reads (NOTIFICATIONS_QUEUE_URL). With var.fifo, each
# vehicle's records are one message group, in order; their deduplication id is the
# record's event id (shard and sequence number), so that the Pipe retrying a batch
# puts no record twice, and two equal positions are still two messages.
resource "aws_sqs_queue" "notifications" {
  name                       = var.fifo ? "${var.prefix}-notifications.fifo" : "${var.prefix}-notifications"
  fifo_queue                 = var.fifo
  deduplication_scope        = var.fifo ? "messageGroup" : null
  fifo_throughput_limit      = var.fifo ? "perMessageGroupId" : null
  visibility_timeout_seconds = 60
  sqs_managed_sse_enabled    = true

  # Records the reader keeps failing on as a whole; the pusher parks the ones it can
  # tell are bad (not JSON, no VehicleID) in its own poison queue, with the reason.
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.notifications_dlq.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "notifications_dlq" {
  name                      = var.fifo ? "${var.prefix}-notifications-dlq.fifo" : "${var.prefix}-notifications-dlq"
  fifo_queue                = var.fifo
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
}
