variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "eu-west-1"
}

variable "prefix" {
  description = "Prefix of every name in the stack."
  type        = string
  default     = "pusher-vehicles"
}

variable "fifo" {
  description = "false (the default): a standard queue, which pusher serve reads, its records worked on concurrently; true: a FIFO queue whose message group is the record's partition key (the vehicle), which keeps each vehicle's positions in order for a reader that keeps message groups' order: the Lambda function (the module's notifications_queue_arn), not pusher serve, which refuses a FIFO queue."
  type        = bool
  default     = false
  nullable    = false
}
