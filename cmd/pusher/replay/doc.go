// Package replay is `pusher replay`: it lists the messages of a poison queue, sends
// them again, and exports and imports them, so that an operator who fixed what parked
// them (a gateway outage, a bad deployment) can deliver them without spamming the users
// who already got theirs.
//
// The pipeline parks at the smallest unit (a malformed request as the request, a
// failed delivery as that one delivery), so a replay re-injects each message at the
// stage it failed in (pipeline.Pipeline.Replay) and deletes it from the poison queue
// only once its replay settled: delivered, pruned, or parked again as a new message
// with its attempts counted on. A message is never lost and never twice in the queue.
//
// Adopt brings into the poison queue what the Lambda function's asynchronous
// invocations lost, which is not parked: the requests of Lambda's invocation records in
// the async failures queue (the on-failure destination of SNS's and EventBridge's
// invocations) and of the notifications in the SNS subscription's dead-letter queue,
// each parked at decode as the function would have built it; list and send then take
// them as any other.
//
// The poison queue is a Queue: SQSQueue for `pusher serve`'s SQS queue, DevQueue for
// `pusher dev`'s in-memory one over its HTTP API.
package replay
