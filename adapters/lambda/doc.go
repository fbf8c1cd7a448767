// Package lambda translates the events AWS Lambda invokes the pusher with into what the
// pipeline and the connection store take, and their results back into the responses
// each event source expects. It is the Lambda function's adapter, as package sqs is
// `pusher serve`'s: the function (cmd/pusher-lambda/function) composes it with the
// pipeline and owns the invocation's deadline, metrics and logs.
//
//   - Decode tells an invocation's payload apart by the members its source sends, spelt
//     as AWS spells them, and decodes it into aws-lambda-go's event type: an SQS event
//     (records whose eventSource is aws:sqs), an SNS event (EventSource aws:sns), an
//     API Gateway WebSocket route (a requestContext with a routeKey or an eventType),
//     or an API Gateway REQUEST authorizer event, which carries a $connect request
//     context too and must not be taken for the route.
//   - SQSMessages reads an SQS batch as `pusher serve` reads a queue (sqs.Unmarshaler:
//     a request, or the SNS envelope of one) and SQSResponse names the records not
//     settled, for SQS to deliver again (the event source mapping needs
//     ReportBatchItemFailures). SNSMessages and SNSError do the same for an SNS event,
//     whose only answer is an error that makes Lambda retry it.
//   - Routes serves the routes of a WebSocket API: $connect stores the connection of
//     the user an authorizer or a query parameter names and subscribes it to the topics
//     its query string asks for, $disconnect deletes it, subscribe and unsubscribe
//     answer the client with a frame.
//
// The event types are aws-lambda-go's (package events); the package defines none of
// its own. The shapes are those of "Using Lambda with Amazon SQS", "Using Lambda with
// Amazon SNS" and "Setting up routes for a WebSocket API" (Lambda and API Gateway
// Developer Guides): only $connect carries the client's query string, and a route
// carries a user only when an authorizer gave one.
package lambda
