package sqs_test

import (
	"testing"

	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

func TestUnmarshaler(t *testing.T) {
	corr := func(v string) map[string]types.MessageAttributeValue {
		return map[string]types.MessageAttributeValue{
			"correlation_id": {DataType: aws.String("String"), StringValue: aws.String(v)},
		}
	}
	tests := []struct {
		name        string
		body        string
		attrs       map[string]types.MessageAttributeValue
		wantPayload string
		wantUUID    string
		wantCorr    string
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
		})
	}
	if _, err := (pushersqs.Unmarshaler{}).Unmarshal(nil); err == nil {
		t.Error("Unmarshal(nil) succeeded")
	}
}
