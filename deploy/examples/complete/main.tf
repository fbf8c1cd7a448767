# A complete stack around the pusher: the WebSocket API (websocket.tf), the tables of
# connections and of topic subscriptions (table.tf), a topic and a queue of
# notification requests (notifications.tf), the key of $connect tokens
# (connect_token.tf), and the pusher itself with its $connect authorizer.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  common_tags = {
    Project = "apigw-pusher-example"
  }

  # The function's timeout; the queue's visibility timeout is six times it.
  function_timeout = 30

  ttl_attribute = "expires_at"

  # The module creates its event source mapping and subscription with count, which
  # Terraform must know when planning. The ARN attributes of a queue and topic created
  # in the same apply are not known then, so the ARNs are spelled out from names that
  # are; referring to the resources keeps them created first.
  arn_prefix     = "arn:${data.aws_partition.current.partition}"
  region_account = "${var.region}:${data.aws_caller_identity.current.account_id}"
  queue_arn      = "${local.arn_prefix}:sqs:${local.region_account}:${aws_sqs_queue.notifications.name}"
  topic_arn      = "${local.arn_prefix}:sns:${local.region_account}:${aws_sns_topic.notifications.name}"
}

module "pusher" {
  source = "../../terraform"

  prefix = var.prefix
  # On top of the provider's default_tags.
  common_tags = { Component = "pusher" }

  # Both from the API, not from the stage: the stage's deployment needs the routes,
  # whose integration needs the function.
  agma_arn       = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/POST/@connections"
  apigw_endpoint = "${replace(aws_apigatewayv2_api.ws.api_endpoint, "wss://", "https://")}/${var.stage_name}"

  connections_table = {
    name = aws_dynamodb_table.connections.name
    arn  = aws_dynamodb_table.connections.arn
  }
  # Requests may name topics, and clients subscribe to them; null for none.
  subscriptions_table = {
    name = aws_dynamodb_table.subscriptions.name
    arn  = aws_dynamodb_table.subscriptions.arn
  }
  notifications_queue_arn = local.queue_arn
  notifications_topic_arn = var.topic_through_queue ? null : local.topic_arn

  lambda_zip_path = var.lambda_zip_path
  architecture    = "arm64"
  timeout         = local.function_timeout

  # Who may connect as whom: a JWT in ?token=, checked on $connect (websocket.tf) by
  # the module's authorizer with the key of connect_token.tf or of token_jwks_url's
  # set. The version's ARN is the secret's: the authorizer comes after its key.
  authorizer = {
    jwks_url   = var.token_jwks_url
    secret_arn = one(aws_secretsmanager_secret_version.connect_token[*].arn)
    issuer     = var.token_issuer
    audience   = var.token_audience
  }

  environment = {
    TTL_ATTRIBUTE = local.ttl_attribute
    # API Gateway closes a connection after two hours at most.
    CONNECTION_TTL = "3h"
    LOG_LEVEL      = "info"
    # Who may follow which topic; without a rule, only what an authorizer grants. Here
    # a connection may follow its own user's topics, such as user:alice:orders.
    TOPICS_USER_SCOPED = "user:{user}:*"
  }
}
