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
}
