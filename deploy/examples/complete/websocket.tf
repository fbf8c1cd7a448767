# The WebSocket API clients connect to: wss://API_ID.execute-api.REGION.amazonaws.com/STAGE?token=JWT.
# $connect goes first to the module's authorizer, which checks the token and names the
# user (and the topic patterns the token grants), then to the pusher's function, which
# stores the connection under that user; $disconnect, and the messages
# {"action":"subscribe","topic":"T"} and {"action":"unsubscribe","topic":"T"}, which it
# answers with an ack or an error frame, go to the function, with the user API Gateway
# keeps from $connect's authorizer.

locals {
  # Route keys, and the statement id of each one's permission.
  connection_routes = {
    "$connect"    = "AllowConnectRoute"
    "$disconnect" = "AllowDisconnectRoute"
  }

  # The client's messages, by the action the route selection expression reads: two-way
  # routes, whose answer reaches the client.
  message_routes = {
    "subscribe"   = "AllowSubscribeRoute"
    "unsubscribe" = "AllowUnsubscribeRoute"
  }
}

resource "aws_apigatewayv2_api" "ws" {
  name                       = "${var.prefix}-ws"
  protocol_type              = "WEBSOCKET"
  route_selection_expression = "$request.body.action"
}

resource "aws_apigatewayv2_integration" "pusher" {
  api_id             = aws_apigatewayv2_api.ws.id
  integration_type   = "AWS_PROXY"
  integration_method = "POST"
  # The alias, which every source of the module invokes: moving it back to the
  # version before (the rollback) moves these routes back too.
  integration_uri = module.pusher.alias_invoke_arn
}

resource "aws_apigatewayv2_route" "connection" {
  for_each = local.connection_routes

  api_id    = aws_apigatewayv2_api.ws.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.pusher.id}"
  # A WebSocket API takes an authorizer on $connect only; the later routes of the
  # connection carry its answer.
  authorization_type = each.key == "$connect" ? "CUSTOM" : "NONE"
  authorizer_id      = each.key == "$connect" ? module.pusher.authorizer_id : null
}

resource "aws_lambda_permission" "connection" {
  for_each = local.connection_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
  qualifier     = module.pusher.alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"
}

# API Gateway passes the function's answer (the body of its response) on to the client
# only from a route with a route response: "$default", the only key WebSocket APIs
# take, selected by the route's route response selection expression "$default"
# (docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html,
# and "Route response selection expressions" in apigateway-websocket-api-selection-expressions.html).
resource "aws_apigatewayv2_route" "message" {
  for_each = local.message_routes

  api_id                              = aws_apigatewayv2_api.ws.id
  route_key                           = each.key
  target                              = "integrations/${aws_apigatewayv2_integration.pusher.id}"
  route_response_selection_expression = "$default"
}

resource "aws_apigatewayv2_route_response" "message" {
  for_each = local.message_routes

  api_id             = aws_apigatewayv2_api.ws.id
  route_id           = aws_apigatewayv2_route.message[each.key].id
  route_response_key = "$default"
}

resource "aws_lambda_permission" "message" {
  for_each = local.message_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = module.pusher.function_name
  qualifier     = module.pusher.alias_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"
}

resource "aws_apigatewayv2_deployment" "ws" {
  api_id = aws_apigatewayv2_api.ws.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_apigatewayv2_integration.pusher,
      aws_apigatewayv2_route.connection,
      aws_apigatewayv2_route.message,
      aws_apigatewayv2_route_response.message,
      module.pusher.authorizer_id,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The stage's throttling bounds the clients' $connect requests and messages on each
# route (stage-level route throttling overrides the account's limits for this stage's
# routes, and cannot exceed them: "Protect your WebSocket APIs in API Gateway",
# docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html).
# The account's bucket of the Region is shared with the pusher's own posts to
# @connections, so chatty clients cannot take the share a broadcast needs. Access logs
# (access_logs.tf): one line per $connect, message and $disconnect.
resource "aws_apigatewayv2_stage" "ws" {
  api_id        = aws_apigatewayv2_api.ws.id
  name          = var.stage_name
  deployment_id = aws_apigatewayv2_deployment.ws.id

  default_route_settings {
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
  }

  dynamic "access_log_settings" {
    for_each = aws_cloudwatch_log_group.access[*].arn
    content {
      destination_arn = access_log_settings.value
      format          = local.access_log_format
    }
  }
}
