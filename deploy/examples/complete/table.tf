# The connections: one item per WebSocket connection, written by $connect, deleted by
# $disconnect or once the gateway reports it gone, expired by TTL otherwise.
resource "aws_dynamodb_table" "connections" {
  name         = "${var.prefix}-connections"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "user_id"
  range_key    = "connection_id"

  attribute {
    name = "user_id"
    type = "S"
  }

  attribute {
    name = "connection_id"
    type = "S"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  deletion_protection_enabled = var.deletion_protection
}

# Topic subscriptions: one item per topic and connection, written by the subscribe
# route (or $connect's query parameters), deleted by unsubscribe, by $disconnect and
# once the gateway reports the connection gone, found for that by the index
# by-connection (the name the pusher reads), expired by TTL with their connection
# otherwise. A table of its own: the connections table stays as the Python pusher's
# deployments have it. As that one, encrypted at rest with DynamoDB's own key; with
# point-in-time recovery and deletion protection as var.point_in_time_recovery and
# var.deletion_protection say: its rows live no longer than their connections, but a
# table deleted by mistake disconnects every client at once.
resource "aws_dynamodb_table" "subscriptions" {
  name         = "${var.prefix}-subscriptions"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "topic"
  range_key    = "connection_id"

  attribute {
    name = "topic"
    type = "S"
  }

  attribute {
    name = "connection_id"
    type = "S"
  }

  # A connection's subscriptions, for $disconnect and the prunes to delete them without
  # a Scan. Keys only: the table's keys are all they need.
  global_secondary_index {
    name            = "by-connection"
    hash_key        = "connection_id"
    range_key       = "topic"
    projection_type = "KEYS_ONLY"
  }

  ttl {
    attribute_name = local.ttl_attribute
    enabled        = true
  }

  point_in_time_recovery {
    enabled = var.point_in_time_recovery
  }

  deletion_protection_enabled = var.deletion_protection
}
