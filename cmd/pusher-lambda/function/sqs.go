package function

import (
	"context"
	"strings"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SQS works on a batch of requests at once and names, in the response, the records
// that are not settled, for SQS to redeliver: those whose work could neither be done
// nor parked, and those still in flight near the deadline. A record parked in the
// poison queue is settled. The records of a FIFO queue keep the order of their message
// group (see processAll). The event source mapping must report batch item failures
// (FunctionResponseTypes: ReportBatchItemFailures), or SQS takes the response for a
// success and deletes the whole batch.
func (f *Function) SQS(ctx context.Context, e events.SQSEvent) events.SQSEventResponse {
	start := time.Now()
	msgs := make([]*message.Message, len(e.Records))
	groups := make([]string, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = sqsMessage(r)
		if strings.HasSuffix(r.EventSourceARN, ".fifo") {
			groups[i] = r.EventSourceARN + "\x00" + r.Attributes["MessageGroupId"]
		}
	}
	errs := f.processAll(ctx, msgs, groups)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, err := range errs {
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: e.Records[i].MessageId})
		}
	}
	f.logInvocation(ctx, "sqs", start, errs)
	return resp
}

// sqsMessage reads a record as `pusher serve` reads an SQS message, with
// sqs.Unmarshaler: the request is the body, or the message of the SNS envelope it is,
// and a correlation_id attribute is the correlation id. The UUID is the record's
// message id, the name it is reported by.
func sqsMessage(r events.SQSMessage) *message.Message {
	attrs := make(map[string]types.MessageAttributeValue, len(r.MessageAttributes))
	for name, a := range r.MessageAttributes {
		if a.StringValue != nil {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String(a.DataType), StringValue: a.StringValue}
		}
	}
	// Unmarshal fails only on a nil message.
	msg, _ := sqs.Unmarshaler{}.Unmarshal(&types.Message{
		MessageId: aws.String(r.MessageId), Body: aws.String(r.Body), MessageAttributes: attrs,
	})
	msg.UUID = r.MessageId
	return msg
}
