# A complete stack around the pusher: the WebSocket API (websocket.tf), the tables of
# connections and of topic subscriptions (table.tf), a topic and a queue of
# notification requests (notifications.tf), the key of $connect tokens
# (connect_token.tf), and the pusher itself with its $connect authorizer.

locals {
  common_tags = {
    Project = "apigw-pusher-example"
  }

  # The function's timeout; the queue's visibility timeout is six times it.
  function_timeout = 30

  ttl_attribute = "expires_at"
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
  # Toggles, so that the ARNs of the queue and topic made here, unknown when planning,
  # can be passed as they are.
  notifications_queue_enabled = true
  notifications_queue_arn     = aws_sqs_queue.notifications.arn
  notifications_topic_enabled = !var.topic_through_queue
  notifications_topic_arn     = var.topic_through_queue ? null : aws_sns_topic.notifications.arn

  # Bounded: at most 10 batches at once, in 20 instances reserved for the function
  # (the rest for $connect and the topic's invocations). deploy/README.md,
  # "Concurrency", says how to size them.
  maximum_concurrency            = 10
  reserved_concurrent_executions = 20

  # With alarm_actions (an SNS topic's ARN, say) the module alarms on its queues and
  # the function, and on the notifications queue's redrive queue too.
  alarm_actions            = var.alarm_actions
  alarm_dead_letter_queues = { notifications-dlq = aws_sqs_queue.notifications_dlq.name }

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
