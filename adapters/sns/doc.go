// Package sns receives notification requests from an SNS topic (NOTIFICATIONS_TOPIC_ARN)
// for `pusher serve`: NewSubscriber subscribes a queue of its own to the topic, through
// watermill-aws's sns.Subscriber, which creates the queue when missing, lets the topic
// send to it and subscribes it on the first Subscribe; then package sqs's Subscriber
// receives from that queue, so a topic's requests are worked on, deleted and redelivered
// exactly as a queue's are (adapters/sqs/doc.go says how).
//
// It is a package of its own so that what links package sqs without subscribing to a
// topic, the Lambda function above all, does not link watermill-aws's sns package and
// the SDK's SNS client with it: SNS invokes the function directly, and its bootstrap has
// to stay under 10 MiB (cmd/pusher-lambda/function's TestBootstrapSize).
package sns
