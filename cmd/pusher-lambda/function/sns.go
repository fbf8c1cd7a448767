package function

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SNS works on the records of an SNS event (one, as SNS invokes) and returns an error,
// for Lambda to retry the event, when one is not settled.
func (f *Function) SNS(ctx context.Context, e events.SNSEvent) error {
	start := time.Now()
	msgs := make([]*message.Message, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = snsMessage(r.SNS)
	}
	errs := f.processAll(ctx, msgs, nil)
	f.logInvocation(ctx, "sns", start, errs)
	for i, err := range errs {
		if err != nil {
			errs[i] = fmt.Errorf("SNS message %s: %w", e.Records[i].SNS.MessageID, err)
		}
	}
	return errors.Join(errs...)
}

// snsMessage reads an SNS notification: the request is its Message, the UUID its
// MessageId, and a correlation_id String attribute the correlation id.
func snsMessage(n events.SNSEntity) *message.Message {
	msg := message.NewMessage(n.MessageID, []byte(n.Message))
	if a, ok := n.MessageAttributes[sqs.CorrelationIDAttribute].(map[string]any); ok && a["Type"] == "String" {
		if v, ok := a["Value"].(string); ok && v != "" {
			middleware.SetCorrelationID(v, msg)
		}
	}
	return msg
}
