variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "eu-west-1"
}

variable "prefix" {
  description = "Prefix of every name in the stack."
  type        = string
  default     = "counter"
}

variable "stage_name" {
  description = "Stage of the WebSocket API; the page connects to wss://API_ID.execute-api.REGION.amazonaws.com/STAGE."
  type        = string
  default     = "prod"
}

variable "pusher_zip_path" {
  description = "Path of the zip of the pusher's bootstrap (./cmd/pusher-lambda), built for arm64 (see docs/counter.md)."
  type        = string
}

variable "counter_zip_path" {
  description = "Path of the zip of the counter's bootstrap (./cmd/counter-lambda), built for arm64 (see docs/counter.md)."
  type        = string
}
