variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "eu-west-1"
}

variable "prefix" {
  description = "Prefix of every name in the stack."
  type        = string
  default     = "pusher-example"
}

variable "stage_name" {
  description = "Stage of the WebSocket API; clients connect to wss://API_ID.execute-api.REGION.amazonaws.com/STAGE."
  type        = string
  default     = "prod"
}

variable "lambda_zip_path" {
  description = "Path of the zip of the pusher's bootstrap binary, built for arm64 (see deploy/README.md)."
  type        = string
}

variable "topic_through_queue" {
  description = "true: the topic delivers to the queue (raw delivery), and the function reads both in batches from the queue; false: the function subscribes to the topic itself, as the Python pusher's deployments did."
  type        = bool
  default     = true
}

variable "token_jwks_url" {
  description = "JWK set URL of the keys that sign the clients' $connect tokens (RS256, ES256), such as a Cognito user pool's https://cognito-idp.REGION.amazonaws.com/POOL_ID/.well-known/jwks.json; null (the default): an HS256 key the example generates and keeps in Secrets Manager."
  type        = string
  default     = null
}

variable "token_issuer" {
  description = "Issuer (iss) the $connect tokens must name, such as https://cognito-idp.REGION.amazonaws.com/POOL_ID; null: not checked."
  type        = string
  default     = null
}

variable "token_audience" {
  description = "Audience (aud) the $connect tokens must name; null: not checked."
  type        = string
  default     = null
}

variable "throttling_rate_limit" {
  description = "Steady requests a second the stage lets through on each route: clients' $connect requests and messages (default_route_settings). API Gateway throttles all APIs of the account in the Region together, 10,000 a second by default, the pusher's posts to @connections included: what the clients take, a broadcast cannot use."
  type        = number
  default     = 1000
  nullable    = false

  validation {
    condition     = var.throttling_rate_limit > 0 && var.throttling_rate_limit <= 10000
    error_message = "The throttling_rate_limit must be above 0 and at most 10000 (the account's default limit a Region, which a stage's cannot exceed)."
  }
}

variable "throttling_burst_limit" {
  description = "Requests the stage lets through at once on each route above throttling_rate_limit (the token bucket's size)."
  type        = number
  default     = 500
  nullable    = false

  validation {
    condition     = var.throttling_burst_limit >= 0 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "The throttling_burst_limit must be a whole number from 0 to 5000 (the account's default burst a Region)."
  }
}

variable "access_logs" {
  description = "Whether the stage writes access logs (access_logs.tf). API Gateway writes them with the account's CloudWatch Logs role of the Region (aws_api_gateway_account's cloudwatch_role_arn, set once per account and Region for all its APIs, usually by the account's baseline); without one AWS refuses the stage with \"CloudWatch Logs role ARN must be set in account settings to enable logging\": set it, or set this to false."
  type        = bool
  default     = true
  nullable    = false
}

variable "access_log_retention_in_days" {
  description = "How many days the access logs are kept (one of CloudWatch Logs' retention periods)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.access_log_retention_in_days)
    error_message = "The access_log_retention_in_days must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "access_log_kms_key_arn" {
  description = "ARN of a customer managed KMS key to encrypt the access logs with, or null for CloudWatch Logs' own encryption. The key's policy must let the Region's CloudWatch Logs service use it (docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html)."
  type        = string
  default     = null

  validation {
    condition     = var.access_log_kms_key_arn == null || can(regex("^arn:[^:]+:kms:[^:]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.access_log_kms_key_arn))
    error_message = "The access_log_kms_key_arn must be a KMS key's ARN: arn:aws:kms:REGION:ACCOUNT:key/KEY_ID."
  }
}

variable "point_in_time_recovery" {
  description = "Whether the tables keep continuous backups (point-in-time recovery, 35 days): a table deleted or overwritten by mistake can be restored, with the connections and subscriptions it held."
  type        = bool
  default     = true
  nullable    = false
}

variable "deletion_protection" {
  description = "Whether the tables refuse to be deleted (DynamoDB's deletion protection): terraform destroy then fails on them until this is set to false and applied."
  type        = bool
  default     = true
  nullable    = false
}

variable "alarm_actions" {
  description = "ARNs to notify when one of the module's alarms fires (an SNS topic that pages the on-call, say), or [] for no alarms. docs/runbook.md says what each alarm means and what to do."
  type        = list(string)
  default     = []
  nullable    = false
}
