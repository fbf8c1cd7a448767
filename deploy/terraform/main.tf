data "aws_partition" "current" {}

locals {
  name = "${var.prefix}-pusher"

  # Zero or one ARN: the queue's IAM statement and event source mapping exist only
  # when the queue is enabled. A toggle, not whether the ARN is null: a queue created
  # in the same configuration has an ARN unknown when planning, and the number of
  # mappings must be known then.
  notifications_queue_arns = var.notifications_queue_enabled ? [var.notifications_queue_arn] : []

  # The same of the topic: its subscription and permission.
  notifications_topic_arns = var.notifications_topic_enabled ? [var.notifications_topic_arn] : []

  # Zero or one table: its IAM statements and SUBSCRIPTIONS_TABLE_NAME exist only when
  # a subscriptions table is given. A list, not count: its length is known when
  # planning even if the ARN of a table created in the same apply is not.
  subscriptions_tables = var.subscriptions_table == null ? [] : [var.subscriptions_table]

  # Zero or one queue: the notifications queue, when broadcasts are split into segment
  # tasks put back on it; the function may send to it then only. (Without a queue the
  # function's precondition refuses the split.)
  task_queue_arns = var.broadcast_split == null || !var.notifications_queue_enabled ? [] : [var.notifications_queue_arn]

  # The notifications queue's URL, made of its ARN (arn:PARTITION:sqs:REGION:ACCOUNT:NAME
  # is https://sqs.REGION.DNS_SUFFIX/ACCOUNT/NAME, the suffix the partition's:
  # amazonaws.com, amazonaws.com.cn, ...), or null without a queue.
  notifications_queue_url = var.notifications_queue_enabled ? format("https://sqs.%s.%s/%s/%s", split(":", var.notifications_queue_arn)[3], data.aws_partition.current.dns_suffix, split(":", var.notifications_queue_arn)[4], split(":", var.notifications_queue_arn)[5]) : null

  # The function's settings of splitting, with the queue's URL.
  split_environment = merge([for arn in local.task_queue_arns : {
    NOTIFICATIONS_QUEUE_URL = local.notifications_queue_url
    BROADCAST_SPLIT_ABOVE   = tostring(var.broadcast_split.above)
    BROADCAST_SEGMENT_SIZE  = tostring(var.broadcast_split.segment_size)
    BROADCAST_MAX_SEGMENTS  = tostring(var.broadcast_split.max_segments)
  }]...)

  # The pace of posts (docs/pacing.md), without the rates not given: each instance's,
  # and the one the segment tasks of a split broadcast share.
  pace_environment = { for k, v in {
    POST_RATE       = var.post_rate
    FLEET_POST_RATE = var.fleet_post_rate
  } : k => tostring(v) if v != null }

  # The settings that are inputs of their own, without those not given (Lambda takes
  # no null value): the mappings of foreign events (seeds 002 and 003) and who may
  # connect without a user, following which topics.
  settings_environment = { for k, v in {
    KINESIS_MAPPING       = var.kinesis_mapping
    EVENTBRIDGE_MAPPING   = var.eventbridge_mapping
    ANONYMOUS_CONNECTIONS = var.anonymous_connections ? "true" : null
    TOPIC_PARAMS          = var.topic_params == null ? null : join(",", var.topic_params)
  } : k => v if v != null }
}

# The pusher: one function for SQS batches, SNS notifications, Kinesis batches,
# EventBridge events and the WebSocket API's routes ($connect, $disconnect, subscribe,
# unsubscribe), told apart by the event's shape.
resource "aws_lambda_function" "pusher" {
  function_name    = local.name
  description      = "Pushes notification requests to API Gateway WebSocket connections."
  role             = aws_iam_role.pusher.arn
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  memory_size      = var.memory_size
  timeout          = var.timeout

  environment {
    # The module's own settings win: the role is scoped to exactly these resources.
    variables = merge(var.environment, {
      APIGW_ENDPOINT         = var.apigw_endpoint
      CONNECTIONS_TABLE_NAME = var.connections_table.name
      POISON_QUEUE_URL       = aws_sqs_queue.poison.url
    }, { for t in local.subscriptions_tables : "SUBSCRIPTIONS_TABLE_NAME" => t.name }, local.pace_environment, local.split_environment, local.authorizer_required, local.settings_environment)
  }

  # Every instance of the function, from every source, counts against it; null
  # leaves the function in the account's unreserved pool (Lambda's -1).
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)

  # Each deployment a version, for the alias (alias.tf) to point to.
  publish = var.publish

  tags = var.common_tags

  lifecycle {
    # Segment tasks go on the queue the function reads; a FIFO queue would lose its
    # order to them.
    precondition {
      condition     = var.broadcast_split == null || (var.notifications_queue_enabled && !endswith(coalesce(var.notifications_queue_arn, "none"), ".fifo"))
      error_message = "The broadcast_split needs notifications_queue_enabled and notifications_queue_arn, a standard (not FIFO) queue: the segment tasks go on it."
    }
    # The toggles say what exists; an ARN given without its toggle would be ignored,
    # a toggle without its ARN would fail at apply. (An ARN unknown when planning is
    # checked at apply.)
    precondition {
      condition     = var.notifications_queue_enabled == (var.notifications_queue_arn != null)
      error_message = "The notifications_queue_enabled must be true exactly when notifications_queue_arn is given."
    }
    precondition {
      condition     = var.notifications_topic_enabled == (var.notifications_topic_arn != null)
      error_message = "The notifications_topic_enabled must be true exactly when notifications_topic_arn is given."
    }
    # The reservation holds every source at its most at once: the queue's mapping at
    # maximum_concurrency, the stream's at parallelization_factor batches of each shard
    # at once (docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html), one instance
    # each, and route_concurrency for the WebSocket routes, SNS and
    # EventBridge. Less, and Lambda throttles the queue's or the stream's batches and
    # every $connect with them. Here, not on a mapping: it holds whichever sources
    # exist, none included. (The stream's shards are unknown while planning a stream
    # made in the same apply: checked at apply.)
    precondition {
      condition     = var.reserved_concurrent_executions == null || try(var.reserved_concurrent_executions >= (var.notifications_queue_enabled ? var.maximum_concurrency : 0) + (var.kinesis_stream == null ? 0 : var.kinesis_stream.shard_count * var.kinesis_stream.parallelization_factor) + var.route_concurrency, false)
      error_message = "The reserved_concurrent_executions must be at least maximum_concurrency (with the queue) plus kinesis_stream's shard_count × parallelization_factor (with the stream) plus route_concurrency, so that each source at its most and the WebSocket routes fit in it."
    }
    # A burst paces nothing without a rate: the pusher refuses POST_BURST above 0 without
    # a POST_RATE above 0 ("Pace.Burst is set without a Pace.Rate"), at every cold start.
    # (HCL's > reads the environment's string as a number; one that is none is the
    # pusher's to refuse.)
    precondition {
      condition     = !try(var.environment["POST_BURST"] > 0, false) || try(var.post_rate > 0, false)
      error_message = "The environment's POST_BURST needs a post_rate above 0: the function refuses a burst of posts without a rate to pace them at, and would fail at every cold start. Set post_rate, or leave POST_BURST out."
    }
  }

  # The log group must exist before the first invocation (the role may not create
  # it), and the role must be allowed what the function does.
  depends_on = [
    aws_cloudwatch_log_group.pusher,
    aws_iam_role_policy.pusher,
  ]
}

# Lambda's default log group of the function, made here so that it has a retention
# period and the role needs no logs:CreateLogGroup.
resource "aws_cloudwatch_log_group" "pusher" {
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.common_tags
}
