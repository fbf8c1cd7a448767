// Package sqs connects the pipeline to Amazon SQS, with watermill-aws and the AWS SDK:
//
//   - NewSubscriber receives notification requests from a queue (NOTIFICATIONS_QUEUE_URL):
//     it hands out up to Concurrency messages at once, deletes a message once it is
//     acked and leaves a nacked one for SQS to deliver again. NewSubscriberFinding
//     receives the same way from a queue it finds on the first Subscribe: package sns
//     uses it for the queue it subscribes to a topic (NOTIFICATIONS_TOPIC_ARN), so that
//     this package, which the Lambda function links, does not link the SNS client.
//   - Unmarshaler reads what producers put on a queue: a request's raw JSON, the SNS
//     envelope of a topic's delivery without raw delivery, an EventBridge event a rule
//     delivers, a Kinesis record an EventBridge Pipe delivers, or an event named by its
//     pusher_event_source attribute; the last three for decode to map.
//   - NewPoisonQueue parks failed messages on a queue (POISON_QUEUE_URL), merging
//     concurrent parks into SendMessageBatch calls and making each message fit the
//     queue's size (compressed, or at worst truncated and marked so), and
//     ParkedMessage reads them back for pipeline.ParkedFrom and replays.
//   - NewTaskQueue puts the segment tasks of a split broadcast back on the notifications
//     queue (pipeline.TaskQueue), as plain requests with their correlation id, in
//     SendMessageBatch calls, for every pusher reading the queue to share.
//
// Producers are plain SDK or boto3 calls: a body is the request itself, and a
// "correlation_id" string attribute, when present, becomes its correlation id.
//
// # Why not watermill-aws's sqs.Subscriber
//
// Its receive loop hands out one message and waits for its ack before the next, so a
// batch of ten is worked on one at a time while the visibility timeout of the other nine
// runs. And it deletes an acked message with the context of Subscribe: once that is
// cancelled, as the pipeline's source router does on shutdown before it waits for the
// requests in flight, acks are dropped and every request that settled during the
// shutdown is delivered again. Subscriber receives with the SDK instead, hands out a
// whole batch at once, and deletes with a context only Close ends.
//
// Cancelling the context of Subscribe stops the receiving and closes the channel, and
// nothing more: the messages handed out keep their context and are deleted when acked,
// so the source router, which cancels it and then waits for the requests in flight, gets
// every one of them deleted. Close waits up to CloseTimeout for them, then cancels their
// context; it returns only once the last deletes are made. A message in the works is
// kept hidden: its visibility timeout is extended every third of it. watermill-aws
// still does the rest: its sqs.Unmarshaler and sqs.Marshaler interfaces and, in
// package sns, the SNS subscription (its sns.Subscriber). Its publisher sends one
// SendMessage per message, so the poison queue sends its batches with the SDK.
package sqs
