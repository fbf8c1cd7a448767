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
