package sqs_test

import (
	"encoding/json"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// seed003Event is seed 003's EventBridge event as a rule whose target is a queue
// delivers it: every top-level field of an event ("Amazon EventBridge events",
// docs.aws.amazon.com/eventbridge/latest/ref/overiew-event-structure.html), its detail
// the producer's.
const seed003Event = `{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Entity Updated",` +
	`"source":"com.example.entities","account":"123456789012","time":"2026-12-07T09:00:00Z","region":"us-east-1",` +
	`"resources":[],"detail":{"entityId":"myTestEntityId","message":"Hello world"}}`

// pipeRecord is a Kinesis record as an EventBridge Pipe from the stream sends it to
// its SQS target, field by field as "Amazon Kinesis stream as a source"
// (docs.aws.amazon.com/eventbridge/latest/userguide/eb-pipes-kinesis.html) shows it;
// its data is seed 002's {"VehicleID":"v-42","lat":52.52}, base64-encoded.
const pipeRecord = `{"kinesisSchemaVersion":"1.0","partitionKey":"v-42",` +
	`"sequenceNumber":"49590338271490256608559692538361571095921575989136588898",` +
	`"data":"eyJWZWhpY2xlSUQiOiJ2LTQyIiwibGF0Ijo1Mi41Mn0=","approximateArrivalTimestamp":1545084650.987,` +
	`"eventSource":"aws:kinesis","eventVersion":"1.0",` +
	`"eventID":"shardId-000000000006:49590338271490256608559692538361571095921575989136588898",` +
	`"eventName":"aws:kinesis:record","invokeIdentityArn":"arn:aws:iam::123456789012:role/pipe-role",` +
	`"awsRegion":"us-east-1","eventSourceARN":"arn:aws:kinesis:us-east-1:123456789012:stream/vehicles"}`

// snsOf is the notification in which an SNS topic delivers message to a subscribed
// queue without raw message delivery, with the message attributes attrs (name: value,
// of type String).
func snsOf(message string, attrs map[string]string) string {
	n := map[string]any{
		"Type": "Notification", "MessageId": "sns-1", "TopicArn": "arn:aws:sns:us-east-1:123456789012:entities",
		"Message": message, "Timestamp": "2026-12-07T09:00:01.000Z", "SignatureVersion": "1",
	}
	if attrs != nil {
		typed := map[string]map[string]string{}
		for k, v := range attrs {
			typed[k] = map[string]string{"Type": "String", "Value": v}
		}
		n["MessageAttributes"] = typed
	}
	b, _ := json.Marshal(n)
	return string(b)
}

func TestUnmarshaler(t *testing.T) {
	attr := func(name, v string) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{name: {DataType: aws.String("String"), StringValue: aws.String(v)}}
	}
	corr := func(v string) map[string]types.MessageAttributeValue { return attr("correlation_id", v) }
	eventSource := func(v string) map[string]types.MessageAttributeValue { return attr("pusher_event_source", v) }
	const vehicle = `{"VehicleID":"v-42","lat":52.52}`
	const eventID = "6a7e8feb-b491-4cf7-a9f1-bf3703467718"
	const recordID = "shardId-000000000006:49590338271490256608559692538361571095921575989136588898"
	tests := []struct {
		name        string
		body        string
		attrs       map[string]types.MessageAttributeValue
		wantPayload string
		wantUUID    string
		wantCorr    string
		wantSource  string
	}{
		{name: "request", body: `{"data":1}`, wantPayload: `{"data":1}`, wantUUID: "sqs-1"},
		{name: "request with a correlation id", body: `{"data":1}`, attrs: corr("c-1"),
			wantPayload: `{"data":1}`, wantUUID: "sqs-1", wantCorr: "c-1"},
		{name: "envelope", body: `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:r:1:t","Message":"{\"data\":1}"}`,
			wantPayload: `{"data":1}`, wantUUID: "sns-1"},
		{name: "envelope's correlation id wins", attrs: corr("sqs"),
			body:        `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:r:1:t","Message":"x","MessageAttributes":{"correlation_id":{"Type":"String","Value":"sns"}}}`,
			wantPayload: "x", wantUUID: "sns-1", wantCorr: "sns"},
		{name: "envelope without a correlation id keeps SQS's", attrs: corr("sqs"),
			body:        `{"Type":"Notification","MessageId":"sns-1","TopicArn":"arn:aws:sns:r:1:t","Message":"x"}`,
			wantPayload: "x", wantUUID: "sns-1", wantCorr: "sqs"},
		{name: "envelope with an empty message", body: `{"Type":"Notification","MessageId":"sns-1","TopicArn":"t","Message":""}`,
			wantPayload: "", wantUUID: "sns-1"},
		{name: "envelope without a message id", body: `{"Type":"Notification","TopicArn":"t","Message":"x"}`,
			wantPayload: "x", wantUUID: "sqs-1"},
		{name: "binary correlation id ignored", body: "x",
			attrs:       map[string]types.MessageAttributeValue{"correlation_id": {DataType: aws.String("Binary"), BinaryValue: []byte("c")}},
			wantPayload: "x", wantUUID: "sqs-1"},
		{name: "subscription confirmation", body: `{"Type":"SubscriptionConfirmation","TopicArn":"t","Message":"confirm"}`,
			wantPayload: `{"Type":"SubscriptionConfirmation","TopicArn":"t","Message":"confirm"}`, wantUUID: "sqs-1"},
		{name: "names differ in case", body: `{"type":"Notification","topicArn":"t","message":"x"}`,
			wantPayload: `{"type":"Notification","topicArn":"t","message":"x"}`, wantUUID: "sqs-1"},
		{name: "message not a string", body: `{"Type":"Notification","TopicArn":"t","Message":{"data":1}}`,
			wantPayload: `{"Type":"Notification","TopicArn":"t","Message":{"data":1}}`, wantUUID: "sqs-1"},
		{name: "not JSON", body: `"TopicArn" but no JSON`, wantPayload: `"TopicArn" but no JSON`, wantUUID: "sqs-1"},
		{name: "empty", body: "", wantPayload: "", wantUUID: "sqs-1"},
		{name: "envelope with a null message", body: `{"Type":"Notification","TopicArn":"t","Message":null}`,
			wantPayload: `{"Type":"Notification","TopicArn":"t","Message":null}`, wantUUID: "sqs-1"},

		{name: "EventBridge event", body: seed003Event,
			wantPayload: seed003Event, wantUUID: eventID, wantSource: handlers.SourceEventBridge},
		{name: "EventBridge event with SQS's correlation id", body: seed003Event, attrs: corr("c-1"),
			wantPayload: seed003Event, wantUUID: eventID, wantCorr: "c-1", wantSource: handlers.SourceEventBridge},
		{name: "EventBridge event through SNS", body: snsOf(seed003Event, nil),
			wantPayload: seed003Event, wantUUID: eventID, wantSource: handlers.SourceEventBridge},
		{name: "EventBridge event without an id", body: `{"detail-type":"d","source":"s","detail":{}}`,
			wantPayload: `{"detail-type":"d","source":"s","detail":{}}`, wantUUID: "sqs-1", wantSource: handlers.SourceEventBridge},
		{name: "EventBridge event whose detail is a request", body: `{"id":"e-1","detail-type":"d","source":"s","detail":{"data":1}}`,
			wantPayload: `{"id":"e-1","detail-type":"d","source":"s","detail":{"data":1}}`, wantUUID: "e-1", wantSource: handlers.SourceEventBridge},
		{name: "no source: a request", body: `{"id":"e-1","detail-type":"d","detail":{},"data":1}`,
			wantPayload: `{"id":"e-1","detail-type":"d","detail":{},"data":1}`, wantUUID: "sqs-1"},
		{name: "null detail: a request", body: `{"id":"e-1","detail-type":"d","source":"s","detail":null,"data":1}`,
			wantPayload: `{"id":"e-1","detail-type":"d","source":"s","detail":null,"data":1}`, wantUUID: "sqs-1"},
		{name: "detail-type not a string: a request", body: `{"detail-type":1,"source":"s","detail":{},"data":1}`,
			wantPayload: `{"detail-type":1,"source":"s","detail":{},"data":1}`, wantUUID: "sqs-1"},
		{name: "Detail-Type in another case: a request", body: `{"Detail-Type":"d","source":"s","detail":{},"data":1}`,
			wantPayload: `{"Detail-Type":"d","source":"s","detail":{},"data":1}`, wantUUID: "sqs-1"},

		{name: "Kinesis record of a Pipe", body: pipeRecord,
			wantPayload: vehicle, wantUUID: recordID, wantSource: handlers.SourceKinesis},
		{name: "Kinesis record of a Pipe through SNS", body: snsOf(pipeRecord, nil),
			wantPayload: vehicle, wantUUID: recordID, wantSource: handlers.SourceKinesis},
		{name: "Kinesis record whose data is not base64: a request", body: `{"eventSource":"aws:kinesis","data":"{not base64}"}`,
			wantPayload: `{"eventSource":"aws:kinesis","data":"{not base64}"}`, wantUUID: "sqs-1"},
		{name: "Kinesis record of empty data", body: `{"eventSource":"aws:kinesis","data":"","eventID":"shardId-0:1"}`,
			wantPayload: "", wantUUID: "shardId-0:1", wantSource: handlers.SourceKinesis},
		{name: "another source's record: a request", body: `{"eventSource":"aws:dynamodb","data":"e30=","note":"aws:kinesis"}`,
			wantPayload: `{"eventSource":"aws:dynamodb","data":"e30=","note":"aws:kinesis"}`, wantUUID: "sqs-1"},

		{name: "a bare event named by its attribute", body: vehicle, attrs: eventSource("kinesis"),
			wantPayload: vehicle, wantUUID: "sqs-1", wantSource: handlers.SourceKinesis},
		{name: "the attribute wins over the shape", body: seed003Event, attrs: eventSource("eventbridge"),
			wantPayload: seed003Event, wantUUID: "sqs-1", wantSource: handlers.SourceEventBridge},
		{name: "the attribute of an SNS message", body: snsOf(vehicle, map[string]string{"pusher_event_source": "kinesis", "correlation_id": "c-2"}),
			wantPayload: vehicle, wantUUID: "sns-1", wantCorr: "c-2", wantSource: handlers.SourceKinesis},
		{name: "a binary attribute ignored", body: vehicle,
			attrs:       map[string]types.MessageAttributeValue{"pusher_event_source": {DataType: aws.String("Binary"), BinaryValue: []byte("kinesis")}},
			wantPayload: vehicle, wantUUID: "sqs-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := pushersqs.Unmarshaler{}.Unmarshal(&types.Message{
				MessageId: aws.String("sqs-1"), Body: aws.String(tt.body), MessageAttributes: tt.attrs,
			})
			if err != nil {
				t.Fatalf("Unmarshal: %v", err)
			}
			if string(msg.Payload) != tt.wantPayload || msg.UUID != tt.wantUUID {
				t.Errorf("got %s %q, want %s %q", msg.UUID, msg.Payload, tt.wantUUID, tt.wantPayload)
			}
			if got := middleware.MessageCorrelationID(msg); got != tt.wantCorr {
				t.Errorf("correlation id = %q, want %q", got, tt.wantCorr)
			}
			if got := msg.Metadata.Get(pipeline.EventSourceKey); got != tt.wantSource {
				t.Errorf("event source = %q, want %q", got, tt.wantSource)
			}
		})
	}
	if _, err := (pushersqs.Unmarshaler{}).Unmarshal(nil); err == nil {
		t.Error("Unmarshal(nil) succeeded")
	}
}
