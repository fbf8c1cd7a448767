# Asynchronous invocations: SNS's (notifications_topic_arn) and those of EventBridge
# rules that target the function. Lambda queues the event and answers the caller at
# once; an invocation that fails is retried (async_maximum_retry_attempts), an event
# that could not run in time is given up (async_maximum_event_age_in_seconds), and
# without a destination either is then dropped, counted only by AsyncEventsDropped
# (docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).

locals {
  # Whether anything invokes the function asynchronously: known when planning (a
  # toggle and the rules' names), so the queue and configuration below can use it.
  async_invoked = var.notifications_topic_enabled || length(local.function_rules) > 0
}

# Where Lambda sends the record of an asynchronous invocation it gave up on. Not the
# poison queue: the record is Lambda's, a JSON object wrapping the event
# (requestContext: the function, the condition, the attempts; requestPayload: the SNS
# or EventBridge event as invoked; responsePayload: the function's error), not a
# message the pusher parked with its stage and reason, which is what `pusher replay`
# reads. The README says how to send its requests again. SQS-managed keys: Lambda
# sends with the function's role and needs no KMS grant.
resource "aws_sqs_queue" "async_failures" {
  count = local.async_invoked ? 1 : 0

  name                      = "${local.name}-async-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.common_tags
}

# The alias's configuration, the one the sources invoke: Lambda applies an event
# invoke configuration per version or alias.
resource "aws_lambda_function_event_invoke_config" "pusher" {
  count = length(aws_sqs_queue.async_failures)

  function_name                = aws_lambda_function.pusher.function_name
  qualifier                    = aws_lambda_alias.pusher.name
  maximum_retry_attempts       = var.async_maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_maximum_event_age_in_seconds

  destination_config {
    on_failure {
      destination = aws_sqs_queue.async_failures[0].arn
    }
  }

  # Lambda checks, when it is set, that the role may send to the destination.
  depends_on = [aws_iam_role_policy.pusher]
}
