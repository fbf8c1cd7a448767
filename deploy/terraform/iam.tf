locals {
  # IAM is global: a role named after the function alone collides when the same
  # prefix is deployed in two Regions. The Region is the API's (of agma_arn), where the
  # function posts. A name over IAM's 64 characters falls back to a prefix of the
  # function's name, which IAM makes unique. The same for the authorizer's role
  # (authorizer.tf).
  role_region      = split(":", var.agma_arn)[3]
  role_full_name   = "${local.name}-${local.role_region}"
  role_name        = length(local.role_full_name) <= 64 ? local.role_full_name : null
  role_name_prefix = "${substr(local.name, 0, 37)}-"

  authorizer_role_full_name   = "${local.authorizer_name}-${local.role_region}"
  authorizer_role_name        = length(local.authorizer_role_full_name) <= 64 ? local.authorizer_role_full_name : null
  authorizer_role_name_prefix = "${substr(local.authorizer_name, 0, 37)}-"
}

# The function's role. The trust policy is written inline so that every
# aws_iam_policy_document of this module is a grant: terraform_test.go holds them to
# exactly the actions below.
#
# Replaced before it is destroyed: a new name (the Region's, from an older module's
# "<prefix>-pusher") makes a new role, and destroying the old one first would leave the
# function on a deleted role until it is updated, every cold start in between failing.
# Created first, with its policy: the function moves to it, then the old one goes. (So
# a replacement under the same name fails, IAM's names being unique: role_path, which
# IAM cannot change in place, is set once; see its description.)
resource "aws_iam_role" "pusher" {
  name                 = local.role_name
  name_prefix          = local.role_name == null ? local.role_name_prefix : null
  path                 = var.role_path
  permissions_boundary = var.role_permissions_boundary
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
  tags = var.common_tags

  lifecycle {
    create_before_destroy = true
  }
}

# Replaced with its role, and before the old one is deleted: the function keeps its
# grants until it has moved to the new role.
resource "aws_iam_role_policy" "pusher" {
  name   = "pusher"
  role   = aws_iam_role.pusher.id
  policy = data.aws_iam_policy_document.pusher.json

  lifecycle {
    create_before_destroy = true
  }
}

# Least privilege: one statement per resource, each action one the function calls.
data "aws_iam_policy_document" "pusher" {
  # Multicast (Query), broadcast (Scan), $connect (PutItem), $disconnect (DeleteItem),
  # pruning of gone connections (BatchWriteItem).
  statement {
    sid = "ConnectionsTable"
    actions = [
      "dynamodb:Query",
      "dynamodb:Scan",
      "dynamodb:PutItem",
      "dynamodb:DeleteItem",
      "dynamodb:BatchWriteItem",
    ]
    resources = [var.connections_table.arn]
  }

  # Topic subscriptions and each connection's record, when a table is given: a
  # request to a topic (Query), $connect's record (PutItem), a message route's or
  # $disconnect's read of it (GetItem, strongly consistent), subscribe (UpdateItem of
  # the record, bounded by a condition, and BatchWriteItem of the rows), unsubscribe
  # (DeleteItem, UpdateItem), forgetting a connection's subscriptions on $disconnect
  # or a prune (BatchWriteItem).
  dynamic "statement" {
    for_each = local.subscriptions_tables
    content {
      sid = "SubscriptionsTable"
      actions = [
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
      ]
      resources = [statement.value.arn]
    }
  }

  # A connection's subscriptions, to forget them and to bound them: a Query of the
  # index the pusher reads (dynamodb.DefaultSubscriptionsIndex), and of no other.
  dynamic "statement" {
    for_each = local.subscriptions_tables
    content {
      sid       = "SubscriptionsIndex"
      actions   = ["dynamodb:Query"]
      resources = ["${statement.value.arn}/index/by-connection"]
    }
  }

  # What Lambda's event source mapping does on the function's behalf.
  dynamic "statement" {
    for_each = local.notifications_queue_arns
    content {
      sid = "NotificationsQueue"
      actions = [
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
      ]
      resources = [statement.value]
    }
  }

  # Segment tasks of split broadcasts, put back on the notifications queue, when
  # broadcasts are split.
  dynamic "statement" {
    for_each = local.task_queue_arns
    content {
      sid       = "SegmentTasks"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  # Seed 002's stream, which the event source mapping reads on the function's behalf:
  # the actions Lambda's guide lists ("Process Amazon Kinesis Data Streams records with
  # Lambda", docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html) but
  # kinesis:SubscribeToShard, which only a mapping on an enhanced fan-out consumer
  # calls. Not kinesis:ListStreams, which AWSLambdaKinesisExecutionRole has: it lists
  # the account's streams and is no action on this one.
  dynamic "statement" {
    for_each = local.kinesis_streams
    content {
      sid = "KinesisStream"
      actions = [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
      ]
      resources = [statement.value.arn]
    }
  }

  # The records of a stream encrypted with a customer managed key
  # (docs.aws.amazon.com/streams/latest/dev/permissions-user-key-KMS.html); the key's
  # policy must allow the account's IAM policies, as a key's default policy does.
  dynamic "statement" {
    for_each = local.kinesis_keys
    content {
      sid       = "KinesisKey"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  # The mapping's on-failure destination, which Lambda sends to with this role.
  dynamic "statement" {
    for_each = aws_sqs_queue.kinesis_dlq
    content {
      sid       = "KinesisFailures"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value.arn]
    }
  }

  # The destination of failed asynchronous invocations (SNS's, an EventBridge rule's
  # that targets the function), which Lambda sends to with this role.
  dynamic "statement" {
    for_each = aws_sqs_queue.async_failures
    content {
      sid       = "AsyncFailures"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value.arn]
    }
  }

  # The customer managed keys of the queues it reads (Decrypt) and sends to
  # (GenerateDataKey, and Decrypt: "Configuring AWS KMS permissions",
  # docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
  # Without GenerateDataKey a split's SendMessage fails, and the broadcast falls back
  # to one invocation. One statement, or none: the list's length is known when
  # planning, its keys may not be.
  dynamic "statement" {
    for_each = length(var.kms_key_arns) == 0 ? [] : [var.kms_key_arns]
    content {
      sid       = "QueueKeys"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = statement.value
    }
  }

  # Parking (SendMessage), and the start-up check that the queue exists and may be
  # used (GetQueueAttributes: read-only, no message read).
  statement {
    sid       = "PoisonQueue"
    actions   = ["sqs:SendMessage", "sqs:GetQueueAttributes"]
    resources = [aws_sqs_queue.poison.arn]
  }

  # Posting to connections (POST @connections/ID): the grant's resource is under the
  # method agma_arn names, POST, so it covers no DeleteConnection (DELETE) nor
  # GetConnection (GET). The pusher prunes a gone
  # connection's row from the table, not the connection from the gateway.
  statement {
    sid       = "ManageConnections"
    actions   = ["execute-api:ManageConnections"]
    resources = ["${trimsuffix(var.agma_arn, "/*")}/*"]
  }

  # The log group is the module's, so no logs:CreateLogGroup.
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [
      aws_cloudwatch_log_group.pusher.arn,
      "${aws_cloudwatch_log_group.pusher.arn}:*",
    ]
  }
}
