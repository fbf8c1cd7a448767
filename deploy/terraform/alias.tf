# The function's alias, which every source invokes: with publish, each deployment is a
# version, and moving the alias back to the one before is the rollback
# (docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html). The WebSocket API's
# integration may use it too (output alias_invoke_arn, with its permissions qualified
# by alias_name).
resource "aws_lambda_alias" "pusher" {
  name             = var.alias_name
  description      = "The version of the pusher its sources invoke."
  function_name    = aws_lambda_function.pusher.function_name
  function_version = var.publish ? aws_lambda_function.pusher.version : "$LATEST"
}
