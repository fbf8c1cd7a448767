# Seed 004's counter on AWS: a page with -, a value and +, shared live by every open
# tab. The page, served by the counter's function URL (counter.tf), connects to the
# WebSocket API (websocket.tf) without a user; $connect and $disconnect go to the
# pusher, which keeps the connections (table.tf); a click sends {"action":"plus"} or
# {"action":"minus"}, routed to the counter's function, which moves the counter in its
# table, answers the clicker and sends one broadcast request to the notifications queue
# (notifications.tf); the pusher reads it and posts the new state to every connection.

locals {
  common_tags = {
    Project = "apigw-pusher-counter"
  }

  # The pusher's timeout; the queue's visibility timeout is six times it.
  function_timeout = 30

  ttl_attribute = "expires_at"

  # The API's URL, the page's COUNTER_WEBSOCKET_URL: from the API and the stage's name,
  # not from the stage, whose deployment needs the routes, which need the function.
  websocket_url = "${aws_apigatewayv2_api.ws.api_endpoint}/${var.stage_name}"
}

module "pusher" {
  source = "../../terraform"

  prefix      = var.prefix
  common_tags = { Component = "pusher" }

  agma_arn       = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/POST/@connections"
  apigw_endpoint = "${replace(aws_apigatewayv2_api.ws.api_endpoint, "wss://", "https://")}/${var.stage_name}"

  connections_table = {
    name = aws_dynamodb_table.connections.name
    arn  = aws_dynamodb_table.connections.arn
  }
  notifications_queue_enabled = true
  notifications_queue_arn     = aws_sqs_queue.notifications.arn

  # The page connects without a user, as the seed's does: a broadcast reaches it.
  anonymous_connections = true

  lambda_zip_path = var.pusher_zip_path
  architecture    = "arm64"
  timeout         = local.function_timeout

  environment = {
    TTL_ATTRIBUTE = local.ttl_attribute
    # Without an authorizer, $disconnect names no user: a connection that closed stays
    # until its TTL or the first broadcast, which the gateway answers 410 and the pusher
    # prunes. API Gateway closes a connection after two hours at most.
    CONNECTION_TTL = "3h"
    LOG_LEVEL      = "info"
  }
}
