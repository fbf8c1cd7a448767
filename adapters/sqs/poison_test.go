package sqs_test

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// parked returns a message as the poison middleware parks a failed delivery: every
// metadata key of package pipeline and Watermill's own.
func parked(payload string) *message.Message {
	msg := message.NewMessage("0196f7a2-uuid", []byte(payload))
	msg.Metadata = message.Metadata{
		middleware.ReasonForPoisonedKey:  "post a1: 410 Gone: the connection is gone",
		middleware.PoisonedHandlerKey:    "post",
		middleware.PoisonedTopicKey:      "after-fanout",
		middleware.PoisonedSubscriberKey: "*gochannel.GoChannel",
		pipeline.RequestIDKey:            "01JREQUEST",
		pipeline.CorrelationIDKey:        "corr-1",
		pipeline.UserIDKey:               "alice",
		pipeline.ConnectionIDKey:         "a1=",
		pipeline.AttemptsKey:             "5",
		pipeline.ErrorClassKey:           "transient",
		pipeline.FirstFailedAtKey:        "2026-01-02T03:04:05.123456789Z",
		pipeline.LastFailedAtKey:         "2026-01-02T03:04:06.5Z",
		pipeline.CursorKey:               `{"user_id":"alice","connection_id":"a1="}`,
		"custom_empty":                   "",
		"custom_control":                 "tab\tand \x01 bell",
	}
	return msg
}

// TestPoisonQueueRoundTrip parks messages on an SQS queue, receives them with the SDK,
// and rebuilds them with ParkedMessage: UUID, payload and every metadata key intact.
func TestPoisonQueueRoundTrip(t *testing.T) {
	tests := []struct {
		name, payload, wantBody, wantEncoding string
	}{
		{name: "request", payload: `{"users":["alice"],"data":{"n":1}}`, wantBody: `{"users":["alice"],"data":{"n":1}}`},
		{name: "frame", payload: `{"n":1}`, wantBody: `{"n":1}`},
		{name: "not UTF-8", payload: "\xff\xfe binary \x00", wantBody: "//4gYmluYXJ5IAA=", wantEncoding: "base64"},
		{name: "empty", payload: "", wantBody: "(empty payload)", wantEncoding: "empty"},
	}
	e := newEmulator(t)
	queue := e.queue(t, "poison", 30)
	q, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{QueueURL: queue, OptFns: e.options(), Logger: quiet})
	if err != nil {
		t.Fatalf("NewPoisonQueue: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := parked(tt.payload)
			if err := q.Publish("poison", want); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			out, err := e.client.ReceiveMessage(t.Context(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(queue), WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
			})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("ReceiveMessage: %d messages, %v", len(out.Messages), err)
			}
			m := out.Messages[0]
			t.Cleanup(func() {
				_, _ = e.client.DeleteMessage(t.Context(), &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle})
			})

			if aws.ToString(m.Body) != tt.wantBody {
				t.Errorf("body = %q, want %q", aws.ToString(m.Body), tt.wantBody)
			}
			if n := len(m.MessageAttributes); n > 10 {
				t.Errorf("%d message attributes, over SQS's 10", n)
			}
			for name, want := range map[string]string{
				"handler_poisoned": "post", "reason_poisoned": "post a1: 410 Gone: the connection is gone",
				"error_class": "transient", "attempts": "5", "correlation_id": "corr-1", "request_id": "01JREQUEST",
				"user_id": "alice", "_watermill_message_uuid": "0196f7a2-uuid", "pusher_body_encoding": tt.wantEncoding,
			} {
				if got := aws.ToString(m.MessageAttributes[name].StringValue); got != want {
					t.Errorf("attribute %s = %q, want %q", name, got, want)
				}
			}

			got, err := pushersqs.ParkedMessage(m)
			if err != nil {
				t.Fatalf("ParkedMessage: %v", err)
			}
			if got.UUID != want.UUID || string(got.Payload) != tt.payload {
				t.Errorf("rebuilt %s %q, want %s %q", got.UUID, got.Payload, want.UUID, tt.payload)
			}
			if !maps.Equal(got.Metadata, want.Metadata) {
				t.Errorf("metadata = %v\nwant       %v", got.Metadata, want.Metadata)
			}
			p := pipeline.ParkedFrom(got)
			wantFirst, _ := time.Parse(time.RFC3339Nano, "2026-01-02T03:04:05.123456789Z")
			if p.Stage != "post" || p.Attempts != 5 || p.Class != "transient" || p.UserID != "alice" ||
				p.ConnectionID != "a1=" || !p.FirstFailedAt.Equal(wantFirst) || p.Payload != tt.payload {
				t.Errorf("ParkedFrom = %+v", p)
			}
		})
	}
}

// TestPoisonMarshalerKeepsAnyMetadata checks the round trip without SQS, for metadata
// SQS could not carry as attributes of their own.
func TestPoisonMarshalerKeepsAnyMetadata(t *testing.T) {
	msg := parked(`{"data":1}`)
	msg.Metadata.Set(middleware.ReasonForPoisonedKey, "bad \x00 byte")
	msg.Metadata.Set(pipeline.UserIDKey, "")
	m, err := pushersqs.PoisonMarshaler{}.Marshal(msg)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	if _, ok := m.MessageAttributes[middleware.ReasonForPoisonedKey]; ok {
		t.Error("a reason with a NUL is an attribute, which SQS refuses")
	}
	if _, ok := m.MessageAttributes[pipeline.UserIDKey]; ok {
		t.Error("an empty user id is an attribute, which SQS refuses")
	}
	m.MessageId = aws.String("sqs-1")
	got, err := pushersqs.ParkedMessage(*m)
	if err != nil {
		t.Fatalf("ParkedMessage: %v", err)
	}
	if !maps.Equal(got.Metadata, msg.Metadata) || got.UUID != msg.UUID {
		t.Errorf("rebuilt %s %v\nwant    %s %v", got.UUID, got.Metadata, msg.UUID, msg.Metadata)
	}
}

func TestParkedMessageOfAnotherFormat(t *testing.T) {
	got, err := pushersqs.ParkedMessage(types.Message{
		MessageId: aws.String("sqs-1"),
		Body:      aws.String("body"),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"stage": {DataType: aws.String("String"), StringValue: aws.String("decode")},
			"bin":   {DataType: aws.String("Binary"), BinaryValue: []byte{1}},
		},
	})
	if err != nil {
		t.Fatalf("ParkedMessage: %v", err)
	}
	if got.UUID != "sqs-1" || string(got.Payload) != "body" || !maps.Equal(got.Metadata, message.Metadata{"stage": "decode"}) {
		t.Errorf("got %s %q %v", got.UUID, got.Payload, got.Metadata)
	}

	for name, attrs := range map[string]map[string]types.MessageAttributeValue{
		"bad metadata JSON": {pushersqs.MetadataAttribute: {DataType: aws.String("String"), StringValue: aws.String("{")}},
		"bad base64":        {pushersqs.BodyEncodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("base64")}},
		"unknown encoding":  {pushersqs.BodyEncodingAttribute: {DataType: aws.String("String"), StringValue: aws.String("rot13")}},
	} {
		_, err := pushersqs.ParkedMessage(types.Message{MessageId: aws.String("sqs-1"), Body: aws.String("!!"), MessageAttributes: attrs})
		if err == nil || !strings.Contains(err.Error(), "sqs-1") {
			t.Errorf("%s: %v, want an error naming the message", name, err)
		}
	}
}

func TestNewPoisonQueueWantsAQueue(t *testing.T) {
	if _, err := pushersqs.NewPoisonQueue(awstest.Config(), pushersqs.PoisonConfig{}); err == nil {
		t.Error("NewPoisonQueue without a queue URL succeeded")
	}
}
