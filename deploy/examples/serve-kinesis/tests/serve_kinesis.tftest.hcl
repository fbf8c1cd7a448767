# The serve-kinesis example (seed 002 for pusher serve), planned and applied with a mock
# AWS provider in its two modes: a standard queue for pusher serve, and a FIFO queue
# whose message groups keep each vehicle's positions in order.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/mock"
    }
  }
}

override_resource {
  target = aws_kinesis_stream.vehicles
  values = {
    arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/pusher-vehicles-positions"
  }
}

override_resource {
  target = aws_sqs_queue.notifications
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:pusher-vehicles-notifications"
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/pusher-vehicles-notifications"
  }
}

override_resource {
  target = aws_sqs_queue.pipe_dlq
  values = {
    arn = "arn:aws:sqs:eu-west-1:123456789012:pusher-vehicles-positions-pipe-dlq"
  }
}

run "standard_queue_for_pusher_serve" {
  command = apply

  assert {
    condition     = !aws_sqs_queue.notifications.fifo_queue && aws_sqs_queue.notifications.name == "pusher-vehicles-notifications" && length(aws_pipes_pipe.vehicles.target_parameters) == 0
    error_message = "By default the queue must be standard (pusher serve refuses FIFO), with no message group."
  }

  assert {
    condition     = aws_pipes_pipe.vehicles.source == aws_kinesis_stream.vehicles.arn && aws_pipes_pipe.vehicles.target == aws_sqs_queue.notifications.arn
    error_message = "The Pipe must read the stream and put on the queue pusher serve reads."
  }

  # A batch that cannot be put is halved and retried a bounded number of times, then
  # recorded, and the shard goes on.
  assert {
    condition     = aws_pipes_pipe.vehicles.source_parameters[0].kinesis_stream_parameters[0].dead_letter_config[0].arn == aws_sqs_queue.pipe_dlq.arn && aws_pipes_pipe.vehicles.source_parameters[0].kinesis_stream_parameters[0].maximum_retry_attempts == 10 && aws_pipes_pipe.vehicles.source_parameters[0].kinesis_stream_parameters[0].on_partial_batch_item_failure == "AUTOMATIC_BISECT"
    error_message = "The Pipe must bisect and retry a failing batch at most 10 times, then record it in its dead-letter queue."
  }

  # SQS takes at most 10 messages a batch.
  assert {
    condition     = aws_pipes_pipe.vehicles.source_parameters[0].kinesis_stream_parameters[0].batch_size <= 10
    error_message = "A Pipe to a queue reads at most 10 records a batch."
  }

  assert {
    condition     = aws_kinesis_stream.vehicles.encryption_type == "KMS" && aws_sqs_queue.notifications.sqs_managed_sse_enabled && aws_sqs_queue.pipe_dlq.sqs_managed_sse_enabled
    error_message = "The stream and the queues must be encrypted at rest."
  }

  # The Pipe's role may read the stream and send to the two queues, nothing else.
  assert {
    condition = toset([for s in data.aws_iam_policy_document.pipe.statement : "${s.sid}=${join(",", sort(s.resources))}"]) == toset([
      "Stream=${aws_kinesis_stream.vehicles.arn}",
      "Queue=${aws_sqs_queue.notifications.arn}",
      "DeadLetters=${aws_sqs_queue.pipe_dlq.arn}",
    ])
    error_message = "The Pipe's role must be allowed the stream, the queue and its dead-letter queue, and nothing else."
  }

  assert {
    condition     = jsondecode(aws_iam_role.pipe.assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    error_message = "Only this account's Pipes may assume the Pipe's role."
  }
}

run "fifo_queue_for_the_function" {
  command = apply

  variables {
    fifo = true
  }

  assert {
    condition     = aws_sqs_queue.notifications.fifo_queue && endswith(aws_sqs_queue.notifications.name, ".fifo") && aws_sqs_queue.notifications_dlq.fifo_queue && endswith(aws_sqs_queue.notifications_dlq.name, ".fifo")
    error_message = "With fifo, the queue and its dead-letter queue must be FIFO (a FIFO queue's redrive target must be FIFO too)."
  }

  # One message group per vehicle, a record's event id deduplicating a retried batch.
  assert {
    condition     = aws_pipes_pipe.vehicles.target_parameters[0].sqs_queue_parameters[0].message_group_id == "$.partitionKey" && aws_pipes_pipe.vehicles.target_parameters[0].sqs_queue_parameters[0].message_deduplication_id == "$.eventID"
    error_message = "With fifo, each vehicle's records must be one message group, deduplicated by their event id."
  }

  assert {
    condition     = aws_sqs_queue.notifications.deduplication_scope == "messageGroup" && aws_sqs_queue.notifications.fifo_throughput_limit == "perMessageGroupId"
    error_message = "With fifo, the queue must deduplicate and scale by message group."
  }
}
