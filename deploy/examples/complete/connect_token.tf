# The key of the clients' $connect tokens, unless token_jwks_url names a JWK set (a
# Cognito user pool's, say): an HS256 key Secrets Manager generates, in a secret only
# the authorizer may read. Backends sign tokens with it; deploy/README.md says how to
# mint a test token and how to rotate it.

data "aws_secretsmanager_random_password" "connect_token" {
  count = var.token_jwks_url == null ? 1 : 0

  password_length     = 64
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "connect_token" {
  count = var.token_jwks_url == null ? 1 : 0

  name        = "${var.prefix}-connect-token"
  description = "HS256 key of the WebSocket API's $connect tokens."
  # A key nobody needs back: deleted at once, so that the example can be applied again
  # after a destroy.
  recovery_window_in_days = 0
}

resource "aws_secretsmanager_secret_version" "connect_token" {
  count = var.token_jwks_url == null ? 1 : 0

  secret_id     = aws_secretsmanager_secret.connect_token[0].id
  secret_string = data.aws_secretsmanager_random_password.connect_token[0].random_password

  lifecycle {
    # Generated once: the data source answers a new password at every plan.
    ignore_changes = [secret_string]
  }
}
