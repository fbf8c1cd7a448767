output "function_name" {
  description = "Name of the pusher's Lambda function."
  value       = aws_lambda_function.pusher.function_name
}

output "function_arn" {
  description = "ARN of the pusher's Lambda function."
  value       = aws_lambda_function.pusher.arn
}

output "function_invoke_arn" {
  description = "Invoke ARN of the function itself, unqualified ($LATEST). The WebSocket API's integration should take alias_invoke_arn instead, so that moving the alias back moves its routes back too."
  value       = aws_lambda_function.pusher.invoke_arn
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = aws_iam_role.pusher.arn
}

output "role_name" {
  description = "Name of the function's IAM role, to grant it more (a KMS key of an encrypted queue, say)."
  value       = aws_iam_role.pusher.name
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = aws_cloudwatch_log_group.pusher.name
}

output "poison_queue_url" {
  description = "URL of the poison queue, where the pusher parks what it could neither deliver nor retry."
  value       = aws_sqs_queue.poison.url
}

output "poison_queue_arn" {
  description = "ARN of the poison queue."
  value       = aws_sqs_queue.poison.arn
}

output "authorizer_id" {
  description = "Id of the $connect authorizer on the API of agma_arn, for the $connect route's authorizer_id (with authorization_type \"CUSTOM\"), or null without var.authorizer."
  value       = one(aws_apigatewayv2_authorizer.connect[*].id)
}

output "authorizer_function_name" {
  description = "Name of the authorizer's Lambda function, or null without var.authorizer."
  value       = one(aws_lambda_function.authorizer[*].function_name)
}

output "authorizer_function_version" {
  description = "The authorizer's version its alias (alias_name) points to, or null without var.authorizer: with function_version, what a rollback moves the aliases back from."
  value       = one(aws_lambda_alias.authorizer[*].function_version)
}

output "authorizer_role_name" {
  description = "Name of the authorizer's IAM role, to grant it more (kms:Decrypt on the customer managed key of its secret, say), or null without var.authorizer."
  value       = one(aws_iam_role.authorizer[*].name)
}

output "kinesis_dlq_url" {
  description = "URL of the queue where Lambda records the batches of kinesis_stream it gave up on (their shard and sequence numbers, not their data), or null without a stream."
  value       = one(aws_sqs_queue.kinesis_dlq[*].url)
}

output "events_dlq_url" {
  description = "URL of the queue of the EventBridge events that could not be delivered, or null without eventbridge_rules. (The function's failed invocations are in async_failures_queue_url.)"
  value       = one(aws_sqs_queue.events_dlq[*].url)
}

output "eventbridge_rule_arns" {
  description = "ARNs of the EventBridge rules, by their names in eventbridge_rules."
  value       = { for name, rule in aws_cloudwatch_event_rule.pusher : name => rule.arn }
}

output "function_version" {
  description = "The function's version the alias points to: the one published by this apply, or \"$LATEST\" without publish."
  value       = aws_lambda_alias.pusher.function_version
}

output "alias_name" {
  description = "Name of the function's alias, the qualifier of permissions that let a caller invoke it (the WebSocket API's, say)."
  value       = aws_lambda_alias.pusher.name
}

output "alias_arn" {
  description = "ARN of the function's alias, which the event source mappings, the SNS subscription and EventBridge's targets invoke."
  value       = aws_lambda_alias.pusher.arn
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the alias, for the WebSocket API's integration of its routes ($connect, $disconnect, subscribe, unsubscribe), with its lambda permissions qualified by alias_name: the routes then run the version every source runs."
  value       = aws_lambda_alias.pusher.invoke_arn
}

output "async_failures_queue_url" {
  description = "URL of the queue where Lambda records the asynchronous invocations (SNS's, EventBridge rules' targeting the function) it gave up on, or null without them."
  value       = one(aws_sqs_queue.async_failures[*].url)
}

output "sns_dlq_url" {
  description = "URL of the dead-letter queue of the topic's subscription: the notifications SNS could not deliver to the function (see the README), or null without notifications_topic_enabled."
  value       = one(aws_sqs_queue.sns_dlq[*].url)
}

output "alarm_arns" {
  description = "ARNs of the module's CloudWatch alarms, by name, or {} without alarm_actions."
  value       = { for a in concat(values(aws_cloudwatch_metric_alarm.metric), values(aws_cloudwatch_metric_alarm.queue_not_empty)) : a.alarm_name => a.arn }
}
