package lambda_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/lambda"
)

const fifoARN = "arn:aws:sqs:us-east-1:123456789012:notifications.fifo"

// sqsRecord is a record of a standard queue, as SQS invokes the function with it.
func sqsRecord(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId:      id,
		ReceiptHandle:  "AQEB" + id,
		Body:           body,
		Attributes:     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183"},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:notifications",
		AWSRegion:      "us-east-1",
	}
}

// fifoRecord is a record of the FIFO queue fifoARN in group.
func fifoRecord(id, group string) events.SQSMessage {
	r := sqsRecord(id, `{"users":["alice"],"data":{}}`)
	r.EventSourceARN = fifoARN
	r.Attributes["MessageGroupId"] = group
	r.Attributes["SequenceNumber"] = "18849496460467696128"
	r.Attributes["MessageDeduplicationId"] = id
	return r
}

func TestSQSMessages(t *testing.T) {
	correlated := sqsRecord("059f36b4-87a3-44ab-83d2-661975830a7d", `{"users":["alice"],"data":{"n":1}}`)
	correlated.MessageAttributes = map[string]events.SQSMessageAttribute{
		"correlation_id": {DataType: "String", StringValue: new("order-42")},
		// A binary attribute has no string value: it is left out.
		"trace": {DataType: "Binary", BinaryValue: []byte{1, 2}},
	}
	envelope, _ := json.Marshal(map[string]any{
		"Type": "Notification", "MessageId": "a1b2c3d4-5e6f-5a7b-8c9d-0e1f2a3b4c5d",
		"TopicArn": "arn:aws:sns:us-east-1:123456789012:notifications",
		"Message":  `{"users":["alice"],"data":{"n":2}}`, "Timestamp": "2026-11-26T12:00:00.000Z",
		"MessageAttributes": map[string]any{"correlation_id": map[string]string{"Type": "String", "Value": "sns-7"}},
	})
	e := events.SQSEvent{Records: []events.SQSMessage{
		correlated,
		sqsRecord("7b4f0c1e-2d3a-4f5b-8c6d-9e0f1a2b3c4d", string(envelope)),
		sqsRecord("2e1424d4-f796-459a-8184-9c92662be6da", `{"users":["alice"],"data":`),
	}}
	msgs, groups := lambda.SQSMessages(e)
	if len(msgs) != 3 || !slices.Equal(groups, []string{"", "", ""}) {
		t.Fatalf("%d messages of groups %q, want 3 of none", len(msgs), groups)
	}
	for i, want := range []struct{ payload, correlationID string }{
		{`{"users":["alice"],"data":{"n":1}}`, "order-42"},
		{`{"users":["alice"],"data":{"n":2}}`, "sns-7"}, // the envelope's message
		{`{"users":["alice"],"data":`, ""},              // for the decode stage to park
	} {
		m := msgs[i]
		// Named by the record's message id, even for an envelope: what SQSResponse reports.
		if m.UUID != e.Records[i].MessageId || string(m.Payload) != want.payload || middleware.MessageCorrelationID(m) != want.correlationID {
			t.Errorf("message %d: %s %q correlation %q, want %s %q correlation %q", i, m.UUID, m.Payload,
				middleware.MessageCorrelationID(m), e.Records[i].MessageId, want.payload, want.correlationID)
		}
	}
}

func TestSQSMessagesOfFIFOQueues(t *testing.T) {
	other := fifoRecord("8a1f0d3e-0000-4000-8000-00000000c001", "group-a")
	other.EventSourceARN = "arn:aws:sqs:us-east-1:123456789012:other.fifo"
	e := events.SQSEvent{Records: []events.SQSMessage{
		fifoRecord("8a1f0d3e-0000-4000-8000-00000000a001", "group-a"),
		fifoRecord("8a1f0d3e-0000-4000-8000-00000000b001", "group-b"),
		sqsRecord("8a1f0d3e-0000-4000-8000-00000000d001", `{}`),
		fifoRecord("8a1f0d3e-0000-4000-8000-00000000a002", "group-a"),
		other,
	}}
	_, groups := lambda.SQSMessages(e)
	a, b := groups[0], groups[1]
	if a == "" || b == "" || a == b || groups[3] != a {
		t.Errorf("groups %q: want group-a's records in one group, group-b's in another", groups)
	}
	if groups[2] != "" {
		t.Errorf("the standard queue's record is in group %q", groups[2])
	}
	if groups[4] == "" || groups[4] == a {
		t.Errorf("group-a of another queue is in group %q, want one of its own", groups[4])
	}
}

func TestSQSResponse(t *testing.T) {
	e := events.SQSEvent{Records: []events.SQSMessage{sqsRecord("m1", "{}"), sqsRecord("m2", "{}"), sqsRecord("m3", "{}"), sqsRecord("m4", "{}")}}
	failed := errors.New("post: 500")
	for _, tc := range []struct {
		name string
		errs []error
		want []events.SQSBatchItemFailure
	}{
		{"all settled", make([]error, 4), []events.SQSBatchItemFailure{}},
		{"two not settled", []error{nil, failed, nil, failed}, []events.SQSBatchItemFailure{{ItemIdentifier: "m2"}, {ItemIdentifier: "m4"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := lambda.SQSResponse(e, tc.errs)
			if !slices.Equal(resp.BatchItemFailures, tc.want) {
				t.Errorf("batch item failures %v, want %v", resp.BatchItemFailures, tc.want)
			}
			// SQS reads the response as JSON: a list, never null.
			if out, _ := json.Marshal(resp); tc.name == "all settled" && string(out) != `{"batchItemFailures":[]}` {
				t.Errorf("answered %s", out)
			}
		})
	}
}
