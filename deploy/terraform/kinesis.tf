# Seed 002's stream, when var.kinesis_stream is given: Lambda's event source mapping
# reads its shards and invokes the function with batches of records
# (docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html).

locals {
  # Zero or one stream: its mapping, its queue of failed batches and its grants exist
  # only when one is given. A list, not count on the ARN: its length is known when
  # planning even if the ARN of a stream created in the same apply is not.
  kinesis_streams = var.kinesis_stream == null ? [] : [var.kinesis_stream]

  # The stream's customer managed key, zero or one, which the role may decrypt with.
  kinesis_keys = [for s in local.kinesis_streams : s.kms_key_arn if s.kms_key_arn != null]
}

# What goes wrong with a batch, and where it ends:
#   - a record the function cannot read (not JSON, not what KINESIS_MAPPING reads) is
#     parked in the poison queue with its reason, and settled: no retry reads it;
#   - a record it cannot settle (posts failing past MAX_ATTEMPTS and the poison queue
#     unreachable, the invocation's deadline) is reported by its sequence number with
#     every record after it in its shard; Lambda retries from it;
#   - an invocation that fails as a whole (a crash, a timeout) is split in two and
#     retried (bisect_batch_on_function_error), the halves not counting as retries;
#   - past maximum_retry_attempts or maximum_record_age_in_seconds Lambda gives the
#     batch up and sends a record of it (its shard and its range of sequence numbers,
#     not its data) to the queue below, and the shard goes on.
resource "aws_lambda_event_source_mapping" "kinesis" {
  count = length(local.kinesis_streams)

  event_source_arn = var.kinesis_stream.arn
  # The alias, as every source: moving it back to the version before is the rollback
  # of the stream's batches too (alias.tf).
  function_name                      = aws_lambda_alias.pusher.arn
  starting_position                  = var.kinesis_stream.starting_position
  batch_size                         = var.kinesis_stream.batch_size
  maximum_batching_window_in_seconds = var.kinesis_stream.maximum_batching_window_in_seconds
  parallelization_factor             = var.kinesis_stream.parallelization_factor

  # The function names the first record of each shard it did not settle; without
  # this, Lambda takes its answer for a success and moves on.
  function_response_types        = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error = true
  maximum_retry_attempts         = var.kinesis_stream.maximum_retry_attempts
  maximum_record_age_in_seconds  = var.kinesis_stream.maximum_record_age_in_seconds

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.kinesis_dlq[0].arn
    }
  }

  # AWS checks, when the mapping is created, that the role may read the stream and
  # send to the destination.
  depends_on = [aws_iam_role_policy.pusher]
}

# The batches Lambda gave up on. A queue of its own, not the poison queue: what Lambda
# sends is a record of the invocation (the shard, the first and last sequence numbers,
# why), not the records, nor a message the pusher parked with its reason, which is
# what `pusher replay` reads. The records are read back from the stream while it keeps
# them (GetShardIterator AT_SEQUENCE_NUMBER; see the README). SQS-managed keys: Lambda
# sends with the function's role and needs no KMS grant.
resource "aws_sqs_queue" "kinesis_dlq" {
  count = length(local.kinesis_streams)

  name                      = "${local.name}-kinesis-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.common_tags
}
