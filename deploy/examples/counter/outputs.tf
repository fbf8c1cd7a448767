output "page_url" {
  description = "The counter's page: open it in two tabs and click."
  value       = aws_lambda_function_url.counter.function_url
}

output "websocket_url" {
  description = "URL of the WebSocket API the page connects to, without a user."
  value       = local.websocket_url
}

output "notifications_queue_url" {
  description = "Queue the counter sends its broadcast requests to, and the pusher reads."
  value       = aws_sqs_queue.notifications.url
}

output "poison_queue_url" {
  description = "Where the pusher parks what it could neither deliver nor retry."
  value       = module.pusher.poison_queue_url
}

output "counter_function_name" {
  description = "The counter's Lambda function (routes and page)."
  value       = aws_lambda_function.counter.function_name
}

output "pusher_function_name" {
  description = "The pusher's Lambda function."
  value       = module.pusher.function_name
}
