# Seed 003's EventBridge rules, when var.eventbridge_rules has some: each matches its
# pattern on its bus and targets the notifications queue (seed 003's wiring: the
# function, or `pusher serve`, reads the event from SQS) or the function itself.

locals {
  # The rules by target. Their names are known when planning, so the resources below
  # exist by name even when the queue's ARN is not known yet.
  queue_rules    = { for name, r in var.eventbridge_rules : name => r if r.target == "queue" }
  function_rules = { for name, r in var.eventbridge_rules : name => r if r.target == "function" }
}

resource "aws_cloudwatch_event_rule" "pusher" {
  for_each = var.eventbridge_rules

  name           = "${local.name}-${each.key}"
  description    = coalesce(each.value.description, "Events the pusher pushes to WebSocket clients.")
  event_bus_name = each.value.event_bus_name
  event_pattern  = each.value.event_pattern
  tags           = var.common_tags

  lifecycle {
    precondition {
      condition     = length("${local.name}-${each.key}") <= 64
      error_message = "The rule \"${local.name}-${each.key}\" is longer than EventBridge's 64 characters: shorten the prefix or the rule's name."
    }
    # An SQS target takes one message group id of the rule's own on a FIFO queue: every
    # entity's events would queue behind one another.
    precondition {
      condition     = each.value.target == "function" || (var.notifications_queue_enabled && !endswith(coalesce(var.notifications_queue_arn, "none"), ".fifo"))
      error_message = "The rule ${each.key} targets the queue: it needs notifications_queue_enabled and notifications_queue_arn, a standard (not FIFO) queue; or target the function."
    }
  }
}

# A delivery EventBridge cannot make (the queue's policy or the function's permission
# missing, the queue's key refusing) is retried, then dead-lettered: an event is never
# dropped unseen.
resource "aws_cloudwatch_event_target" "pusher" {
  for_each = var.eventbridge_rules

  rule           = aws_cloudwatch_event_rule.pusher[each.key].name
  event_bus_name = each.value.event_bus_name
  target_id      = "pusher"
  arn            = each.value.target == "queue" ? var.notifications_queue_arn : aws_lambda_alias.pusher.arn

  retry_policy {
    maximum_retry_attempts       = each.value.maximum_retry_attempts
    maximum_event_age_in_seconds = each.value.maximum_event_age_in_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.events_dlq[0].arn
  }

  # Sending or invoking is allowed before the first event comes.
  depends_on = [
    aws_sqs_queue_policy.notifications,
    aws_lambda_permission.eventbridge,
  ]
}

# The notifications queue's policy: EventBridge may send to it from these rules alone
# (aws:SourceArn), and the caller's other statements
# (docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sqs-permissions).
# A queue has one policy: the module writes it when a rule targets the queue.
resource "aws_sqs_queue_policy" "notifications" {
  count = length(local.queue_rules) == 0 ? 0 : 1

  queue_url = local.notifications_queue_url
  policy    = data.aws_iam_policy_document.notifications_queue[0].json
}

data "aws_iam_policy_document" "notifications_queue" {
  count = length(local.queue_rules) == 0 ? 0 : 1

  source_policy_documents = var.notifications_queue_policy_documents

  statement {
    sid       = "EventBridgeRules"
    actions   = ["sqs:SendMessage"]
    resources = [var.notifications_queue_arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for name, rule in aws_cloudwatch_event_rule.pusher : rule.arn if contains(keys(local.queue_rules), name)]
    }
  }
}

# EventBridge invokes the function asynchronously: Lambda queues the event and answers
# at once, so EventBridge's retries and dead-letter queue only cover an invocation
# Lambda refused. The function's own errors are retried by Lambda, then the
# invocation's record, the event in it, goes to the async failures queue (async.tf).
resource "aws_lambda_permission" "eventbridge" {
  for_each = local.function_rules

  statement_id  = "AllowEventBridge-${each.key}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.pusher.function_name
  qualifier     = aws_lambda_alias.pusher.name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.pusher[each.key].arn
}

# The events EventBridge could not deliver (the function's failures are async.tf's).
# SQS-managed keys: EventBridge sends with the queue's policy below and needs no KMS
# grant.
resource "aws_sqs_queue" "events_dlq" {
  count = length(var.eventbridge_rules) == 0 ? 0 : 1

  name                      = "${local.name}-events-dlq"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = var.common_tags
}

resource "aws_sqs_queue_policy" "events_dlq" {
  count = length(aws_sqs_queue.events_dlq)

  queue_url = aws_sqs_queue.events_dlq[0].url
  policy    = data.aws_iam_policy_document.events_dlq[0].json
}

# EventBridge may dead-letter the events of these rules alone
# (docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
data "aws_iam_policy_document" "events_dlq" {
  count = length(aws_sqs_queue.events_dlq)

  statement {
    sid       = "EventBridgeRules"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.events_dlq[0].arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [for rule in aws_cloudwatch_event_rule.pusher : rule.arn]
    }
  }
}
