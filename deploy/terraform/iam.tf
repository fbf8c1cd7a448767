# The function's role. The trust policy is written inline so that every
# aws_iam_policy_document of this module is a grant: terraform_test.go holds them to
# exactly the actions below.
resource "aws_iam_role" "pusher" {
  name = local.name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
  tags = var.common_tags
}

resource "aws_iam_role_policy" "pusher" {
  name   = "pusher"
  role   = aws_iam_role.pusher.id
  policy = data.aws_iam_policy_document.pusher.json
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

  statement {
    sid       = "PoisonQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.poison.arn]
  }

  # Posting to connections (POST @connections/ID) and deleting them.
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
