package lambda

import (
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SQSMessages reads the records of an SQS event as `pusher serve` reads a queue's
// messages, with sqs.Unmarshaler: the request is the body, or the message of the SNS
// envelope it is, or an event of a source (an EventBridge event a rule sent to the
// queue, a Kinesis record's data a Pipe sent) for decode to read with that source's
// mapping; and a correlation_id String attribute is the correlation id. Each message's
// UUID is its record's message id, the name SQSResponse reports it by, even for an
// event that has an id of its own.
//
// groups[i] is the FIFO message group of msgs[i], empty for a record of a standard
// queue: the queue's ARN and the record's MessageGroupId, so that groups of two queues
// never mix. The records of one group must be worked on in order.
func SQSMessages(e events.SQSEvent) (msgs []*message.Message, groups []string) {
	msgs = make([]*message.Message, len(e.Records))
	groups = make([]string, len(e.Records))
	for i, r := range e.Records {
		msgs[i] = sqsMessage(r)
		if strings.HasSuffix(r.EventSourceARN, ".fifo") {
			groups[i] = r.EventSourceARN + "\x00" + r.Attributes["MessageGroupId"]
		}
	}
	return msgs, groups
}

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

// SQSResponse is the answer to an SQS event whose records' work ended with errs
// (errs[i] nil for a record settled): it names the records not settled, in order, for
// SQS to deliver again, and is an empty list when every one is. The event source
// mapping must report batch item failures
// (FunctionResponseTypes: ReportBatchItemFailures), or SQS takes the response for a
// success and deletes the whole batch.
func SQSResponse(e events.SQSEvent, errs []error) events.SQSEventResponse {
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, err := range errs {
		if err != nil {
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: e.Records[i].MessageId})
		}
	}
	return resp
}
