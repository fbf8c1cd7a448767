package lambda_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// snsRecord is a notification as SNS invokes the function with it, with its message
// attributes as SNS spells them ({"Type": ..., "Value": ...}).
func snsRecord(id, message string, attrs map[string]any) events.SNSEventRecord {
	return events.SNSEventRecord{
		EventVersion:         "1.0",
		EventSubscriptionArn: "arn:aws:sns:us-east-1:123456789012:notifications:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		EventSource:          "aws:sns",
		SNS: events.SNSEntity{
			Type: "Notification", MessageID: id, TopicArn: "arn:aws:sns:us-east-1:123456789012:notifications",
			Message: message, MessageAttributes: attrs, SignatureVersion: "1", Signature: "EXAMPLE",
		},
	}
}

func TestSNSMessages(t *testing.T) {
	e := events.SNSEvent{Records: []events.SNSEventRecord{
		snsRecord("95df01b4-ee98-5cb9-9903-4c221d41eb5e", `{"users":["alice"],"data":{"n":4}}`,
			map[string]any{"correlation_id": map[string]any{"Type": "String", "Value": "sns-alice"}}),
		snsRecord("6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b", `{"users":["dave"],"data":{}}`,
			map[string]any{"correlation_id": map[string]any{"Type": "Number", "Value": "7"}}),
	}}
	msgs := lambda.SNSMessages(e)
	for i, want := range []struct{ payload, correlationID string }{
		{`{"users":["alice"],"data":{"n":4}}`, "sns-alice"},
		{`{"users":["dave"],"data":{}}`, ""}, // only a String attribute is a correlation id
	} {
		m := msgs[i]
		if m.UUID != e.Records[i].SNS.MessageID || string(m.Payload) != want.payload || middleware.MessageCorrelationID(m) != want.correlationID {
			t.Errorf("message %d: %s %q correlation %q, want %q correlation %q", i, m.UUID, m.Payload,
				middleware.MessageCorrelationID(m), want.payload, want.correlationID)
		}
	}
}

// TestSNSMessagesOfEvents: an EventBridge event a rule published to the topic, and a
// bare event the pusher_event_source attribute names, are read as the queue's reader
// reads them: from their source, for decode to map.
func TestSNSMessagesOfEvents(t *testing.T) {
	event := `{"version":"0","id":"4e2a9b4c-1f3d-4a8e-9c5b-7d6e8f9a0b1c","detail-type":"Entity Updated","source":"entities",` +
		`"account":"123456789012","time":"2026-12-07T02:00:00Z","region":"us-east-1","resources":[],` +
		`"detail":{"entityId":"myTestEntityId","message":{"text":"Hello world"}}}`
	e := events.SNSEvent{Records: []events.SNSEventRecord{
		snsRecord("95df01b4-ee98-5cb9-9903-4c221d41eb5e", event, nil),
		snsRecord("6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b", `{"VehicleID":"v-42"}`,
			map[string]any{"pusher_event_source": map[string]any{"Type": "String", "Value": "kinesis"}}),
	}}
	msgs := lambda.SNSMessages(e)
	for i, want := range []struct{ uuid, payload, source string }{
		{"4e2a9b4c-1f3d-4a8e-9c5b-7d6e8f9a0b1c", event, handlers.SourceEventBridge},
		{"6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b", `{"VehicleID":"v-42"}`, handlers.SourceKinesis},
	} {
		m := msgs[i]
		if m.UUID != want.uuid || string(m.Payload) != want.payload || m.Metadata.Get(pipeline.EventSourceKey) != want.source {
			t.Errorf("message %d: %s %q from %q, want %s %q from %q", i, m.UUID, m.Payload,
				m.Metadata.Get(pipeline.EventSourceKey), want.uuid, want.payload, want.source)
		}
	}
}

func TestSNSError(t *testing.T) {
	e := events.SNSEvent{Records: []events.SNSEventRecord{
		snsRecord("95df01b4-ee98-5cb9-9903-4c221d41eb5e", "{}", nil),
		snsRecord("6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b", "{}", nil),
	}}
	if err := lambda.SNSError(e, []error{nil, nil}); err != nil {
		t.Errorf("all settled: %v", err)
	}
	failed := errors.New("post: 500")
	err := lambda.SNSError(e, []error{nil, failed})
	if err == nil || !errors.Is(err, failed) || err.Error() != "SNS message 6f2d9a1c-3b4e-5f60-8a9b-0c1d2e3f4a5b: post: 500" {
		t.Errorf("one not settled: %v, want an error naming it, for Lambda to retry the event", err)
	}
	if err := lambda.SNSError(e, []error{failed, failed}); err == nil || strings.Count(err.Error(), "SNS message ") != 2 {
		t.Errorf("two not settled: %v", err)
	}
}
