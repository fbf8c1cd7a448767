output "websocket_url" {
  description = "URL clients connect to, with ?token=JWT (see deploy/README.md)."
  value       = aws_apigatewayv2_stage.ws.invoke_url
}

output "notifications_topic_arn" {
  description = "Topic backends may publish notification requests to."
  value       = aws_sns_topic.notifications.arn
}

output "notifications_queue_url" {
  description = "Queue backends may send notification requests to."
  value       = aws_sqs_queue.notifications.url
}

output "poison_queue_url" {
  description = "Where the pusher parks what it could neither deliver nor retry."
  value       = module.pusher.poison_queue_url
}

output "function_name" {
  description = "The pusher's Lambda function."
  value       = module.pusher.function_name
}

output "connect_token_secret_arn" {
  description = "Secrets Manager secret holding the HS256 key of $connect tokens, or null with token_jwks_url."
  value       = one(aws_secretsmanager_secret.connect_token[*].arn)
}
