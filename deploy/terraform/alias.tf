# The function's alias, which every source invokes (the SQS and Kinesis mappings, SNS's
# subscription, EventBridge's targets): with publish, each deployment is a version, and
# moving the alias back to the one before is the rollback
# (docs.aws.amazon.com/lambda/latest/dg/configuration-aliases.html). The WebSocket API's
# integration must invoke it too (output alias_invoke_arn, its permissions qualified by
# alias_name), or $connect, $disconnect and the message routes stay on the newest code
# when the alias moves back. The authorizer has an alias of the same name
# (authorizer.tf).
resource "aws_lambda_alias" "pusher" {
  name             = var.alias_name
  description      = "The version of the pusher its sources invoke."
  function_name    = aws_lambda_function.pusher.function_name
  function_version = var.publish ? aws_lambda_function.pusher.version : "$LATEST"
}
