package lambda

import (
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SNSMessages reads the notifications of an SNS event (one, as SNS invokes) as
// sqs.Unmarshaler reads a queue's message: each one's Message is the body (a request,
// an EventBridge event a rule published to the topic, or a bare event its
// sqs.EventSourceAttribute names), the UUID its MessageId (or the event's id), and a
// correlation_id String attribute the correlation id.
func SNSMessages(e events.SNSEvent) []*message.Message {
	msgs := make([]*message.Message, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = snsMessage(r.SNS)
	}
	return msgs
}

func snsMessage(n events.SNSEntity) *message.Message {
	attrs := map[string]types.MessageAttributeValue{}
	for _, name := range []string{sqs.CorrelationIDAttribute, sqs.EventSourceAttribute} {
		if a, ok := n.MessageAttributes[name].(map[string]any); ok && a["Type"] == "String" {
			if v, ok := a["Value"].(string); ok && v != "" {
				attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
			}
		}
	}
	// Unmarshal fails only on a nil message.
	msg, _ := sqs.Unmarshaler{}.Unmarshal(&types.Message{
		MessageId: aws.String(n.MessageID), Body: aws.String(n.Message), MessageAttributes: attrs,
	})
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
