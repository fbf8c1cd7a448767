# The WebSocket stage's access logs: one JSON line per $connect, message and
# $disconnect, with the connection, the route, API Gateway's status and the
# integration's error, never a message's body (the fields are $context variables only:
# "Configure logging for WebSocket APIs in API Gateway",
# docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-logging.html).
#
# API Gateway writes them with the account's CloudWatch Logs role of the Region, as it
# does execution logs: "To set up API logging, you must ... have configured an
# appropriate CloudWatch Logs role ARN for your account" ("Set up CloudWatch API
# logging", docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html).
# Without one, AWS refuses the stage: "CloudWatch Logs role ARN must be set in account
# settings to enable logging". The role is one setting of the account and Region,
# shared by all its APIs (aws_api_gateway_account), so this example does not take it
# over: see var.access_logs.

locals {
  # $context.requestId first: AWS requires it in an access log's format. No authorizer's
  # fields: the page connects without a user.
  access_log_format = jsonencode({
    requestId          = "$context.requestId"
    requestTimeEpoch   = "$context.requestTimeEpoch"
    connectionId       = "$context.connectionId"
    eventType          = "$context.eventType"
    routeKey           = "$context.routeKey"
    status             = "$context.status"
    sourceIp           = "$context.identity.sourceIp"
    integrationStatus  = "$context.integration.status"
    integrationLatency = "$context.integrationLatency"
    integrationError   = "$context.integration.error"
    errorMessage       = "$context.error.message"
    errorResponseType  = "$context.error.responseType"
  })
}

# Encrypted with CloudWatch Logs' own key unless access_log_kms_key_arn names one.
#trivy:ignore:aws-cloudwatch-log-group-customer-key
resource "aws_cloudwatch_log_group" "access" {
  count = var.access_logs ? 1 : 0

  name              = "/aws/apigateway/${var.prefix}-ws/${var.stage_name}/access"
  retention_in_days = var.access_log_retention_in_days
  kms_key_id        = var.access_log_kms_key_arn
}
