package lambda

import (
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SNSMessages reads the notifications of an SNS event (one, as SNS invokes): the
// request is each one's Message, the UUID its MessageId, and a correlation_id String
// attribute the correlation id, as sqs.Unmarshaler reads them from an SNS envelope.
func SNSMessages(e events.SNSEvent) []*message.Message {
	msgs := make([]*message.Message, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = snsMessage(r.SNS)
	}
	return msgs
}

func snsMessage(n events.SNSEntity) *message.Message {
	msg := message.NewMessage(n.MessageID, []byte(n.Message))
	if a, ok := n.MessageAttributes[sqs.CorrelationIDAttribute].(map[string]any); ok && a["Type"] == "String" {
		if v, ok := a["Value"].(string); ok && v != "" {
			middleware.SetCorrelationID(v, msg)
		}
	}
	return msg
}

// SNSError is the answer to an SNS event whose notifications' work ended with errs
// (errs[i] nil for one settled): nil when all are settled, else an error naming each
// one that is not, for Lambda to retry the event. SNS takes no other answer.
func SNSError(e events.SNSEvent, errs []error) error {
	var failed []error
	for i, err := range errs {
		if err != nil {
			failed = append(failed, fmt.Errorf("SNS message %s: %w", e.Records[i].SNS.MessageID, err))
		}
	}
	return errors.Join(failed...)
}
