locals {
  name = "${var.prefix}-pusher"

  # Zero or one ARN: the queue's IAM statement and event source mapping exist only
  # when a queue is given.
  notifications_queue_arns = var.notifications_queue_arn == null ? [] : [var.notifications_queue_arn]

  # Zero or one table: its IAM statements and SUBSCRIPTIONS_TABLE_NAME exist only when
  # a subscriptions table is given. A list, not count: its length is known when
  # planning even if the ARN of a table created in the same apply is not.
  subscriptions_tables = var.subscriptions_table == null ? [] : [var.subscriptions_table]
}

# The pusher: one function for SQS batches, SNS notifications and the WebSocket API's
# routes ($connect, $disconnect, subscribe, unsubscribe), told apart by the event's shape.
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
    }, { for t in local.subscriptions_tables : "SUBSCRIPTIONS_TABLE_NAME" => t.name })
  }

  tags = var.common_tags

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
