output "notifications_queue_url" {
  description = "NOTIFICATIONS_QUEUE_URL of pusher serve (with KINESIS_MAPPING='{topics: [VehicleID]}'), or, with fifo, the module's notifications_queue_arn's queue."
  value       = aws_sqs_queue.notifications.url
}

output "notifications_queue_arn" {
  description = "ARN of the queue: the module's notifications_queue_arn when the function reads it."
  value       = aws_sqs_queue.notifications.arn
}

output "stream_name" {
  description = "The stream producers put vehicles' positions on, partition key the vehicle id."
  value       = aws_kinesis_stream.vehicles.name
}

output "pipe_dlq_url" {
  description = "Where the Pipe records the batches it could not put on the queue."
  value       = aws_sqs_queue.pipe_dlq.url
}
