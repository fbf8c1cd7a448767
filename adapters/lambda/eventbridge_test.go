package lambda_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// entityEvent is seed 003's event as a rule delivers it, to the function or to a queue:
// field by field as "Amazon EventBridge events" documents an event
// (docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html).
func entityEvent(t *testing.T, id string, detail string) json.RawMessage {
	return marshal(t, events.EventBridgeEvent{
		Version:    "0",
		ID:         id,
		DetailType: "Entity Updated",
		Source:     "com.example.entities",
		AccountID:  "123456789012",
		Time:       time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC),
		Region:     "us-east-1",
		Resources:  []string{},
		Detail:     json.RawMessage(detail),
	})
}

func TestDecodeEventBridge(t *testing.T) {
	const id = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
	for _, tc := range []struct {
		name    string
		payload json.RawMessage
	}{
		{"seed 003's event", entityEvent(t, id, `{"entityId":"myTestEntityId","message":"Hello world"}`)},
		// Every event has a detail, {} when its source has nothing more to say:
		// recognised, for decode to park it with its reason rather than the invocation
		// to fail.
		{"a scheduled event", json.RawMessage(`{"version":"0","id":"` + id + `","detail-type":"Scheduled Event","source":"aws.events",` +
			`"account":"123456789012","time":"2026-12-07T09:00:00Z","region":"us-east-1",` +
			`"resources":["arn:aws:events:us-east-1:123456789012:rule/every-minute"],"detail":{}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := lambda.Decode(tc.payload)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Kind != lambda.KindEventBridge || ev.EventBridge.ID != id || string(ev.Raw) != string(tc.payload) {
				t.Fatalf("decoded %v %q with raw %s, want the EventBridge event %s as delivered", ev.Kind, ev.EventBridge.ID, ev.Raw, id)
			}
			msg := lambda.EventBridgeMessage(ev)
			// The whole event, for the mapping to see source and detail-type.
			if msg.UUID != id || string(msg.Payload) != string(tc.payload) || msg.Metadata.Get(pipeline.EventSourceKey) != handlers.SourceEventBridge {
				t.Errorf("message %s %s from %q, want the event by its id, from %q", msg.UUID, msg.Payload, msg.Metadata.Get(pipeline.EventSourceKey), handlers.SourceEventBridge)
			}
		})
	}
}

// TestSQSMessagesOfEvents: an SQS record whose body is an EventBridge event (a rule
// whose target is the queue) or a Kinesis record (an EventBridge Pipe from a stream to
// the queue) is read as `pusher serve` reads it, with the source its mapping needs;
// the message is still named by the record's message id, what SQSResponse reports.
func TestSQSMessagesOfEvents(t *testing.T) {
	event := entityEvent(t, "6a7e8feb-b491-4cf7-a9f1-bf3703467718", `{"entityId":"myTestEntityId","message":"Hello world"}`)
	const vehicle = `{"VehicleID":"v-42","lat":52.52}`
	// A Kinesis record as a Pipe sends it to its SQS target ("Amazon Kinesis stream as
	// a source", docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html).
	record := marshal(t, map[string]any{
		"kinesisSchemaVersion": "1.0", "partitionKey": "v-42", "sequenceNumber": "49590338271490256608559692538361571095921575989136588898",
		"data": base64.StdEncoding.EncodeToString([]byte(vehicle)), "approximateArrivalTimestamp": 1545084650.987,
		"eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": "shardId-000000000006:49590338271490256608559692538361571095921575989136588898",
		"eventName": "aws:kinesis:record", "invokeIdentityArn": "arn:aws:iam::123456789012:role/pipe-role",
		"awsRegion": "us-east-1", "eventSourceARN": "arn:aws:kinesis:us-east-1:123456789012:stream/vehicles",
	})
	replayed := sqsRecord("3c1d7a52-0000-4000-8000-00000000e003", vehicle)
	replayed.MessageAttributes = map[string]events.SQSMessageAttribute{
		"pusher_event_source": {DataType: "String", StringValue: new(handlers.SourceKinesis)},
		"correlation_id":      {DataType: "String", StringValue: new("order-42")},
	}
	e := events.SQSEvent{Records: []events.SQSMessage{
		sqsRecord("3c1d7a52-0000-4000-8000-00000000e001", string(event)),
		sqsRecord("3c1d7a52-0000-4000-8000-00000000e002", string(record)),
		replayed,
		sqsRecord("3c1d7a52-0000-4000-8000-00000000e004", `{"topics":["myTestEntityId"],"data":1}`),
	}}
	msgs, _ := lambda.SQSMessages(e)
	for i, want := range []struct{ payload, source, correlationID string }{
		{string(event), handlers.SourceEventBridge, ""},
		{vehicle, handlers.SourceKinesis, ""},
		{vehicle, handlers.SourceKinesis, "order-42"},
		{`{"topics":["myTestEntityId"],"data":1}`, "", ""},
	} {
		m := msgs[i]
		if m.UUID != e.Records[i].MessageId || string(m.Payload) != want.payload ||
			m.Metadata.Get(pipeline.EventSourceKey) != want.source || middleware.MessageCorrelationID(m) != want.correlationID {
			t.Errorf("message %d: %s %s from %q correlation %q, want %s %s from %q correlation %q", i, m.UUID, m.Payload,
				m.Metadata.Get(pipeline.EventSourceKey), middleware.MessageCorrelationID(m), e.Records[i].MessageId, want.payload, want.source, want.correlationID)
		}
	}
}
