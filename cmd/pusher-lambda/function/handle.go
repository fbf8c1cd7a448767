package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
)

// Handle serves one invocation: an SQS, SNS, Kinesis or EventBridge event of requests
// (or of events a mapping makes requests of) or an API Gateway WebSocket route, told
// apart by shape (lambda.Decode). It answers an SQS event with an
// events.SQSEventResponse, a Kinesis event with an events.KinesisEventResponse, a
// WebSocket route with an events.APIGatewayProxyResponse, and an SNS or EventBridge
// event with nothing but an error when it should be retried.
func (f *Function) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	defer func() {
		if err := f.metrics.Flush(); err != nil {
			f.logger.Warn("write metrics", "error", err)
		}
	}()
	ev, err := lambda.Decode(payload)
	if err != nil {
		return nil, err
	}
	switch ev.Kind {
	case lambda.KindSQS:
		return f.SQS(ctx, ev.SQS), nil
	case lambda.KindSNS:
		return nil, f.SNS(ctx, ev.SNS)
	case lambda.KindKinesis:
		return f.Kinesis(ctx, ev.Kinesis), nil
	case lambda.KindEventBridge:
		return nil, f.EventBridge(ctx, ev)
	case lambda.KindAuthorizer:
		// Answered as the $connect route its request context names, it would store a
		// connection and give API Gateway no policy.
		return nil, errors.New("an API Gateway authorizer event reached the pusher: deploy the $connect authorizer as its own function, with PUSHER_ROLE=authorizer")
	}
	return f.WebSocket(ctx, ev.WebSocket)
}

// SQS works on a batch of requests at once and names, in the response, the records
// that are not settled, for SQS to redeliver (lambda.SQSResponse): those whose work
// could neither be done nor parked, and those still in flight near the deadline. A
// record parked in the poison queue is settled. The records of a FIFO queue keep the
// order of their message group (see processAll).
func (f *Function) SQS(ctx context.Context, e events.SQSEvent) events.SQSEventResponse {
	start := time.Now()
	msgs, groups := lambda.SQSMessages(e)
	errs := f.processAll(ctx, msgs, groups, nil)
	f.logInvocation(ctx, "sqs", start, errs)
	return lambda.SQSResponse(e, errs)
}

// SNS works on the records of an SNS event (one, as SNS invokes) and returns an error,
// for Lambda to retry the event, when one is not settled.
func (f *Function) SNS(ctx context.Context, e events.SNSEvent) error {
	start := time.Now()
	errs := f.processAll(ctx, lambda.SNSMessages(e), nil, nil)
	f.logInvocation(ctx, "sns", start, errs)
	return lambda.SNSError(e, errs)
}

// Kinesis works on the records of a stream's batch, those of a partition key in order,
// and names in the response the first record of each shard that is not settled and
// every record after it, for Lambda to retry from there (lambda.KinesisResponse). Once
// a record of a shard is not settled, the shard's later records are not started.
func (f *Function) Kinesis(ctx context.Context, e events.KinesisEvent) events.KinesisEventResponse {
	start := time.Now()
	msgs, groups, shards := lambda.KinesisMessages(e)
	errs := f.processAll(ctx, msgs, groups, shards)
	resp, redone := lambda.KinesisResponse(e, errs)
	f.logInvocation(ctx, "kinesis", start, errs, "redelivered_settled", redone)
	return resp
}

// EventBridge works on an event a rule delivered and returns an error, for Lambda to
// retry the event (an asynchronous invocation), when it is not settled.
func (f *Function) EventBridge(ctx context.Context, ev lambda.Event) error {
	start := time.Now()
	errs := f.processAll(ctx, []*message.Message{lambda.EventBridgeMessage(ev)}, nil, nil)
	f.logInvocation(ctx, "eventbridge", start, errs)
	if errs[0] != nil {
		return fmt.Errorf("EventBridge event %s: %w", ev.EventBridge.ID, errs[0])
	}
	return nil
}

// WebSocket serves a route of the API Gateway WebSocket API, as lambda.Routes.Serve
// does: it stores and removes connections and subscribes them to topics, and leaves the
// pipeline alone.
func (f *Function) WebSocket(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return f.routes.Serve(ctx, req)
}
