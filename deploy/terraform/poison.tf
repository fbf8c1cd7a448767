# Where the pusher parks what it could neither deliver nor retry (POISON_QUEUE_URL):
# malformed requests and posts that kept failing, each with its reason, for replay.
resource "aws_sqs_queue" "poison" {
  name                      = "${local.name}-poison"
  message_retention_seconds = var.poison_queue.message_retention_seconds
  # SQS-managed keys: sending needs no KMS permission.
  sqs_managed_sse_enabled = true
  tags                    = var.common_tags
}
