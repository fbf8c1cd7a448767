package sqs

import (
	"cmp"
	"errors"

	"github.com/ThreeDotsLabs/watermill"
	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// CorrelationIDAttribute is the message attribute, of an SQS message or of the SNS
// message an envelope carries, whose string value becomes the correlation id.
const CorrelationIDAttribute = "correlation_id"

// EventSourceAttribute is the message attribute, of an SQS message or of the SNS
// message an envelope carries, whose string value names the source of a body that is a
// bare event rather than a request (handlers.SourceKinesis, handlers.SourceEventBridge):
// decode reads it with that source's mapping. `pusher replay send --to queue` sets it
// on a parked event it sends back, whose payload is the event alone.
const EventSourceAttribute = "pusher_event_source"

// Unmarshaler reads what producers put on a notification queue:
//   - the raw JSON of a request;
//   - the SNS envelope in which a topic delivers a message to a queue without raw
//     delivery, unwrapped first: its message is read as a body of the queue;
//   - an EventBridge event, which a rule whose target is the queue (or a topic the
//     queue subscribes to) delivers: the payload is the whole event, from
//     handlers.SourceEventBridge, so that a mapping sees its source and detail-type;
//   - a Kinesis record, which an EventBridge Pipe from a stream to the queue delivers:
//     the payload is the record's data, decoded, from handlers.SourceKinesis;
//   - a bare event whose EventSourceAttribute names its source.
//
// The source goes in the pipeline.EventSourceKey metadata. The UUID is SQS's message
// id, or SNS's for an envelope, or the event's id or the record's eventID; and a
// CorrelationIDAttribute becomes the correlation id.
//
// It never fails on a body: one that is none of these is handed over as is, for the
// decode stage to park with its reason, rather than dropped or left to come back
// forever.
type Unmarshaler struct{}

var _ wmsqs.Unmarshaler = Unmarshaler{}

// Unmarshal implements watermill-aws's sqs.Unmarshaler.
func (Unmarshaler) Unmarshal(m *types.Message) (*message.Message, error) {
	if m == nil {
		return nil, errors.New("unmarshal an SQS message: nil")
	}
	uuid := aws.ToString(m.MessageId)
	payload := []byte(aws.ToString(m.Body))
	corr := stringAttribute(m.MessageAttributes[CorrelationIDAttribute])
	source := stringAttribute(m.MessageAttributes[EventSourceAttribute])
	if env, ok := snsEnvelope(payload); ok {
		payload = []byte(env.message)
		uuid = cmp.Or(env.messageID, uuid)
		corr = cmp.Or(env.correlationID, corr)
		source = cmp.Or(env.eventSource, source)
	}
	if source == "" {
		if id, ok := eventBridgeEvent(payload); ok {
			// EventBridge retries a delivery to its target until the queue takes it,
			// and may deliver an event more than once: each delivery is a message of
			// its own id, but the event keeps its id, the one PutEvents returned to
			// the producer. Logs and parked records name the event by it, whatever
			// delivery brought it.
			source, uuid = handlers.SourceEventBridge, cmp.Or(id, uuid)
		} else if rec, ok := pipeKinesisRecord(payload); ok {
			// The record's eventID, its shard and sequence number, names it in the
			// stream whatever message the Pipe sent it in.
			source, uuid, payload = handlers.SourceKinesis, cmp.Or(rec.eventID, uuid), rec.data
		}
	}
	msg := message.NewMessage(cmp.Or(uuid, watermill.NewUUID()), payload)
	if corr != "" {
		middleware.SetCorrelationID(corr, msg)
	}
	if source != "" {
		msg.Metadata.Set(pipeline.EventSourceKey, source)
	}
	return msg, nil
}

func stringAttribute(v types.MessageAttributeValue) string {
	if aws.ToString(v.DataType) != "String" {
		return ""
	}
	return aws.ToString(v.StringValue)
}
