# The WebSocket API the page connects to: wss://API_ID.execute-api.REGION.amazonaws.com/STAGE.
# $connect and $disconnect go to the pusher, which keeps the connections; the client's
# messages {"action":"plus"}, {"action":"minus"} and {"action":"state"} go to the
# counter, which answers each with the state; any other message goes to the counter too
# ($default), which answers it with an error frame naming its routes.

locals {
  # Route keys, and the statement id of each one's permission.
  connection_routes = {
    "$connect"    = "AllowConnectRoute"
    "$disconnect" = "AllowDisconnectRoute"
  }

  # The counter's routes, by the action the route selection expression reads: two-way,
  # so that the clicker, and a page that opens, get the state back. $default takes the
  # messages of any other action, and those that are not JSON: with no route that
  # matches and no $default route, API Gateway answers the client with an error of its
  # own, which the page cannot read ("Create routes for WebSocket APIs in API Gateway",
  # docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html);
  # the counter answers them 400, with an error frame naming its routes.
  counter_routes = {
    "plus"     = "AllowPlusRoute"
    "minus"    = "AllowMinusRoute"
    "state"    = "AllowStateRoute"
    "$default" = "AllowDefaultRoute"
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

resource "aws_apigatewayv2_integration" "counter" {
  api_id             = aws_apigatewayv2_api.ws.id
  integration_type   = "AWS_PROXY"
  integration_method = "POST"
  integration_uri    = aws_lambda_function.counter.invoke_arn
}

resource "aws_apigatewayv2_route" "connection" {
  for_each = local.connection_routes

  api_id    = aws_apigatewayv2_api.ws.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.pusher.id}"
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
# only from a route with a route response: "$default", the only key WebSocket APIs take,
# selected by the route's route response selection expression "$default"
# (docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html).
resource "aws_apigatewayv2_route" "counter" {
  for_each = local.counter_routes

  api_id                              = aws_apigatewayv2_api.ws.id
  route_key                           = each.key
  target                              = "integrations/${aws_apigatewayv2_integration.counter.id}"
  route_response_selection_expression = "$default"
}

resource "aws_apigatewayv2_route_response" "counter" {
  for_each = local.counter_routes

  api_id             = aws_apigatewayv2_api.ws.id
  route_id           = aws_apigatewayv2_route.counter[each.key].id
  route_response_key = "$default"
}

resource "aws_lambda_permission" "counter" {
  for_each = local.counter_routes

  statement_id  = each.value
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.counter.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ws.execution_arn}/${var.stage_name}/${each.key}"
}

resource "aws_apigatewayv2_deployment" "ws" {
  api_id = aws_apigatewayv2_api.ws.id

  triggers = {
    redeployment = sha1(jsonencode([
      aws_apigatewayv2_integration.pusher,
      aws_apigatewayv2_integration.counter,
      aws_apigatewayv2_route.connection,
      aws_apigatewayv2_route.counter,
      aws_apigatewayv2_route_response.counter,
    ]))
  }

  lifecycle {
    create_before_destroy = true
  }
}

# The stage's throttling bounds the clicks and $connects on each route (stage-level
# route throttling overrides the account's limits for this stage's routes, and cannot
# exceed them: "Protect your WebSocket APIs in API Gateway",
# docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html).
# The account's bucket of the Region is shared with the pusher's broadcasts of each new
# state, so clicks cannot take the share the broadcasts need. Access logs
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
