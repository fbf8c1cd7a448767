package function

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
)

// Handle serves one invocation: an SQS or SNS event of requests or an API Gateway
// WebSocket route, told apart by shape (lambda.Decode). It answers an SQS event with an
// events.SQSEventResponse, a WebSocket route with an events.APIGatewayProxyResponse, and
// an SNS event with nothing but an error when a record should be retried.
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
	errs := f.processAll(ctx, msgs, groups)
	f.logInvocation(ctx, "sqs", start, errs)
	return lambda.SQSResponse(e, errs)
}

// SNS works on the records of an SNS event (one, as SNS invokes) and returns an error,
// for Lambda to retry the event, when one is not settled.
func (f *Function) SNS(ctx context.Context, e events.SNSEvent) error {
	start := time.Now()
	errs := f.processAll(ctx, lambda.SNSMessages(e), nil)
	f.logInvocation(ctx, "sns", start, errs)
	return lambda.SNSError(e, errs)
}

// WebSocket serves a route of the API Gateway WebSocket API, as lambda.Routes.Serve
// does: it stores and removes connections and subscribes them to topics, and leaves the
// pipeline alone.
func (f *Function) WebSocket(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	return f.routes.Serve(ctx, req)
}
