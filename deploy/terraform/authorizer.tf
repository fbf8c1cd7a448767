# The $connect authorizer, when var.authorizer is given: the pusher's own zip run as
# a Lambda REQUEST authorizer (PUSHER_ROLE=authorizer), with a role of its own that may
# write its logs and read its key, and nothing of the pusher's tables or queues.

locals {
  authorizer_name = "${var.prefix}-pusher-authorizer"

  # Zero or one authorizer: its resources exist, and the pusher requires its user,
  # only when one is given.
  authorizers = var.authorizer == null ? [] : [var.authorizer]

  # The API of agma_arn ("<execution ARN>/STAGE/POST/@connections", the execution ARN
  # being arn:PARTITION:execute-api:REGION:ACCOUNT:API_ID), which the authorizer is on.
  api_execution_arn = split("/", var.agma_arn)[0]
  api_id            = split(":", local.api_execution_arn)[5]

  # The authorizer's HS256 key, zero or one of each: a Secrets Manager secret, read
  # with GetSecretValue, or an SSM parameter, read with GetParameter.
  connect_token_secrets    = [for a in local.authorizers : a.secret_arn if can(regex("^arn:[^:]+:secretsmanager:", a.secret_arn))]
  connect_token_parameters = [for a in local.authorizers : a.secret_arn if can(regex("^arn:[^:]+:ssm:", a.secret_arn))]

  # The authorizer's settings, without those not given (Lambda takes no null value).
  authorizer_environment = merge([for a in local.authorizers : { for k, v in {
    PUSHER_ROLE              = "authorizer"
    CONNECT_TOKEN_SECRET_ARN = a.secret_arn
    CONNECT_TOKEN_JWKS_URL   = a.jwks_url
    CONNECT_TOKEN_ISSUER     = a.issuer
    CONNECT_TOKEN_AUDIENCE   = a.audience
    CONNECT_TOKEN_PARAM      = a.token_param
    CONNECT_USER_CLAIM       = a.user_claim
    CONNECT_TOPICS_CLAIM     = a.topics_claim
  } : k => v if v != null }]...)

  # The pusher's part: with the authorizer, a $connect must come through it, and
  # ?user_id= is ignored.
  authorizer_required = { for a in local.authorizers : "AUTHORIZER_REQUIRED" => "true" }

  # What the authorizer takes of var.environment: the authorizer context's keys, which
  # it writes and the pusher reads, so that both agree, and the log level.
  authorizer_shared_environment = ["AUTHORIZER_USER_KEY", "TOPIC_GRANTS_KEY", "LOG_LEVEL"]
}

# Small and short: API Gateway calls it on every $connect, and it reads its key once
# per execution environment (a JWK set is fetched again only for an unknown kid).
resource "aws_lambda_function" "authorizer" {
  count = length(local.authorizers)

  function_name    = local.authorizer_name
  description      = "Checks the token of a WebSocket $connect for the pusher."
  role             = aws_iam_role.authorizer[0].arn
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  memory_size      = 128
  timeout          = 10

  # Each deployment a version, as the pusher's: the authorizer writes the context the
  # pusher reads, so both move back together.
  publish = var.publish

  environment {
    # The module's own settings win.
    variables = merge({ for k, v in var.environment : k => v if contains(local.authorizer_shared_environment, k) }, local.authorizer_environment)
  }

  tags = var.common_tags

  lifecycle {
    precondition {
      condition     = length(local.authorizer_name) <= 64
      error_message = "With an authorizer, the prefix must be at most 46 characters, so that \"<prefix>-pusher-authorizer\" is a valid function and role name."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.authorizer,
    aws_iam_role_policy.authorizer,
  ]
}

# The authorizer's alias, named as the pusher's (alias_name), which API Gateway invokes:
# the authorizer writes the context (AUTHORIZER_USER_KEY, TOPIC_GRANTS_KEY) that the
# pusher reads on every route, so a rollback moves both aliases to the versions of one
# deployment (README, "Roll back"); an unqualified authorizer would stay on the newest
# code while the pusher went back.
resource "aws_lambda_alias" "authorizer" {
  count = length(local.authorizers)

  name             = var.alias_name
  description      = "The version of the $connect authorizer API Gateway invokes."
  function_name    = aws_lambda_function.authorizer[0].function_name
  function_version = var.publish ? aws_lambda_function.authorizer[0].version : "$LATEST"
}

resource "aws_cloudwatch_log_group" "authorizer" {
  count = length(local.authorizers)

  name              = "/aws/lambda/${local.authorizer_name}"
  retention_in_days = var.log_retention_in_days
  tags              = var.common_tags
}

# REQUEST, the only type of authorizer a WebSocket API takes, on $connect only. With
# the token's query parameter as its identity source, API Gateway answers 401 to a
# $connect without it, without invoking the function. No result TTL: WebSocket APIs
# cache no authorizer's answer.
resource "aws_apigatewayv2_authorizer" "connect" {
  count = length(local.authorizers)

  api_id           = local.api_id
  name             = local.authorizer_name
  authorizer_type  = "REQUEST"
  authorizer_uri   = aws_lambda_alias.authorizer[0].invoke_arn
  identity_sources = ["route.request.querystring.${var.authorizer.token_param}"]
}

resource "aws_lambda_permission" "authorizer" {
  count = length(local.authorizers)

  statement_id  = "AllowConnectAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.authorizer[0].function_name
  qualifier     = aws_lambda_alias.authorizer[0].name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${local.api_execution_arn}/authorizers/${aws_apigatewayv2_authorizer.connect[0].id}"
}

# The authorizer's role, written as the pusher's (iam.tf): only Lambda may assume it,
# its one policy document is all it is allowed, and a new one (a new name) is made, with
# its policy, before the old one is deleted, so that the authorizer never runs on a
# deleted role.
resource "aws_iam_role" "authorizer" {
  count = length(local.authorizers)

  # Region-safe as the pusher's role is (iam.tf).
  name                 = local.authorizer_role_name
  name_prefix          = local.authorizer_role_name == null ? local.authorizer_role_name_prefix : null
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

resource "aws_iam_role_policy" "authorizer" {
  count = length(local.authorizers)

  name   = "authorizer"
  role   = aws_iam_role.authorizer[0].id
  policy = data.aws_iam_policy_document.authorizer[0].json

  lifecycle {
    create_before_destroy = true
  }
}

# Its logs and its key. A secret or parameter encrypted with a customer managed KMS key
# also needs kms:Decrypt on that key, which this role does not have: grant it on the
# role named by the output authorizer_role_name.
data "aws_iam_policy_document" "authorizer" {
  count = length(local.authorizers)

  dynamic "statement" {
    for_each = local.connect_token_secrets
    content {
      sid       = "ConnectTokenSecret"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = local.connect_token_parameters
    content {
      sid       = "ConnectTokenParameter"
      actions   = ["ssm:GetParameter"]
      resources = [statement.value]
    }
  }

  # The log group is the module's, so no logs:CreateLogGroup.
  statement {
    sid = "Logs"
    actions = [
      "logs:CreateLogStream",
      "logs:PutLogEvents",
    ]
    resources = [
      aws_cloudwatch_log_group.authorizer[0].arn,
      "${aws_cloudwatch_log_group.authorizer[0].arn}:*",
    ]
  }
}
