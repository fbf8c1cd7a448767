# The counter's function (./cmd/counter-lambda): the plus, minus, state and $default
# routes of the WebSocket API (websocket.tf), and the page, from its function URL. Its role may
# move and read the counter and send to the notifications queue, nothing else.

locals {
  counter_name = "${var.prefix}-counter"
}

resource "aws_lambda_function" "counter" {
  function_name    = local.counter_name
  description      = "Seed 004's counter: the plus, minus, state and $default routes, and the page."
  role             = aws_iam_role.counter.arn
  filename         = var.counter_zip_path
  source_code_hash = filebase64sha256(var.counter_zip_path)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  memory_size      = 128
  timeout          = 10

  environment {
    variables = {
      COUNTER_TABLE           = aws_dynamodb_table.counter.name
      NOTIFICATIONS_QUEUE_URL = aws_sqs_queue.notifications.url
      COUNTER_WEBSOCKET_URL   = local.websocket_url
      LOG_LEVEL               = "info"
    }
  }

  # The log group must exist before the first invocation (the role may not create it),
  # and the role must be allowed what the function does.
  depends_on = [
    aws_cloudwatch_log_group.counter,
    aws_iam_role_policy.counter,
  ]
}

resource "aws_cloudwatch_log_group" "counter" {
  name              = "/aws/lambda/${local.counter_name}"
  retention_in_days = 14
}

resource "aws_iam_role" "counter" {
  name = local.counter_name
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Action    = "sts:AssumeRole"
      Principal = { Service = "lambda.amazonaws.com" }
    }]
  })
}

resource "aws_iam_role_policy" "counter" {
  name   = "counter"
  role   = aws_iam_role.counter.id
  policy = data.aws_iam_policy_document.counter.json
}

# Least privilege: one statement per resource, each action one the function calls.
data "aws_iam_policy_document" "counter" {
  # A click (UpdateItem ADD, answering the new item), a page that opens (GetItem,
  # strongly consistent).
  statement {
    sid       = "CounterTable"
    actions   = ["dynamodb:UpdateItem", "dynamodb:GetItem"]
    resources = [aws_dynamodb_table.counter.arn]
  }

  # Each click's broadcast request.
  statement {
    sid       = "NotificationsQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications.arn]
  }

  # The log group is made here, so no logs:CreateLogGroup.
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [
      aws_cloudwatch_log_group.counter.arn,
      "${aws_cloudwatch_log_group.counter.arn}:*",
    ]
  }
}

# The page, at https://URL_ID.lambda-url.REGION.on.aws/: public, as the seed's is.
resource "aws_lambda_function_url" "counter" {
  function_name      = aws_lambda_function.counter.function_name
  authorization_type = "NONE"
}

# A public function URL needs both statements: lambda:InvokeFunctionUrl for the URL's
# auth type NONE, and lambda:InvokeFunction only when invoked through the URL (without
# that condition, anyone could invoke the function with the Lambda API, routes
# included). "Control access to Lambda function URLs",
# docs.aws.amazon.com/lambda/latest/dg/urls-auth.html.
resource "aws_lambda_permission" "page_url" {
  statement_id           = "AllowPublicPageUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.counter.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

resource "aws_lambda_permission" "page_invoke" {
  statement_id             = "AllowPublicPageInvoke"
  action                   = "lambda:InvokeFunction"
  function_name            = aws_lambda_function.counter.function_name
  principal                = "*"
  invoked_via_function_url = true
}
