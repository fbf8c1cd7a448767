package awstest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// TestGoAWSServesSQS checks that a plain SQS client, which speaks the JSON protocol,
// works against goaws through GoAWS's endpoint: attributes, receipt and errors.
func TestGoAWSServesSQS(t *testing.T) {
	client := awstest.SQSClient(awstest.GoAWS(t))
	ctx := t.Context()
	queue := awstest.CreateQueue(t, client, "q", map[string]string{"VisibilityTimeout": "5"})

	sent, err := client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:    aws.String(queue),
		MessageBody: aws.String(`{"data":"hi"}`),
		MessageAttributes: map[string]types.MessageAttributeValue{
			"correlation_id": {DataType: aws.String("String"), StringValue: aws.String("c-1")},
			"raw":            {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2}},
		},
	})
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	// Without MaxNumberOfMessages, one message, as SQS does.
	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queue), MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(got.Messages) != 1 {
		t.Fatalf("received %d messages, want 1", len(got.Messages))
	}
	m := got.Messages[0]
	if aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) || aws.ToString(m.Body) != `{"data":"hi"}` {
		t.Errorf("received %s %s, want %s {\"data\":\"hi\"}", aws.ToString(m.MessageId), aws.ToString(m.Body), aws.ToString(sent.MessageId))
	}
	if v := aws.ToString(m.MessageAttributes["correlation_id"].StringValue); v != "c-1" {
		t.Errorf("correlation_id = %q, want c-1", v)
	}
	if v := m.MessageAttributes["raw"].BinaryValue; string(v) != "\x00\x01\x02" {
		t.Errorf("raw = %q, want 00 01 02", v)
	}

	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameAll},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if v := attrs.Attributes["VisibilityTimeout"]; v != "5" {
		t.Errorf("VisibilityTimeout = %q, want 5", v)
	}
	if v := attrs.Attributes["ApproximateNumberOfMessagesNotVisible"]; v != "1" {
		t.Errorf("ApproximateNumberOfMessagesNotVisible = %q, want 1", v)
	}

	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
		t.Fatalf("DeleteMessage: %v", err)
	}
	if _, err := client.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queue), ReceiptHandle: m.ReceiptHandle}); err == nil {
		t.Error("DeleteMessage of a deleted message succeeded")
	}
	_, err = client.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("missing")})
	if _, ok := errors.AsType[*types.QueueDoesNotExist](err); !ok {
		t.Errorf("GetQueueUrl of a missing queue: %v, want QueueDoesNotExist", err)
	}
}

// TestGoAWSDeliversSNSToQueues checks a topic's delivery to a subscribed queue, in an
// envelope and raw.
func TestGoAWSDeliversSNSToQueues(t *testing.T) {
	endpoint := awstest.GoAWS(t)
	sq, sn := awstest.SQSClient(endpoint), awstest.SNSClient(endpoint)
	ctx := t.Context()
	topic := awstest.CreateTopic(t, sn, "notifications")
	enveloped := awstest.CreateQueue(t, sq, "enveloped", nil)
	raw := awstest.CreateQueue(t, sq, "raw", nil)
	awstest.SubscribeQueue(t, sn, sq, topic, enveloped, false)
	awstest.SubscribeQueue(t, sn, sq, topic, raw, true)

	_, err := sn.Publish(ctx, &sns.PublishInput{
		TopicArn: aws.String(topic),
		Message:  aws.String(`{"data":1}`),
		MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"correlation_id": {DataType: aws.String("String"), StringValue: aws.String("c-2")},
		},
	})
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	receive := func(queue string) types.Message {
		t.Helper()
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(queue), WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"},
		})
		if err != nil || len(out.Messages) != 1 {
			t.Fatalf("ReceiveMessage from %s: %d messages, %v", queue, len(out.Messages), err)
		}
		return out.Messages[0]
	}

	var envelope struct {
		Type, MessageId, TopicArn, Message string
		MessageAttributes                  map[string]struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(aws.ToString(receive(enveloped).Body)), &envelope); err != nil {
		t.Fatalf("envelope: %v", err)
	}
	if envelope.Type != "Notification" || envelope.TopicArn != topic || envelope.Message != `{"data":1}` ||
		envelope.MessageId == "" || envelope.MessageAttributes["correlation_id"].Value != "c-2" {
		t.Errorf("envelope = %+v", envelope)
	}

	m := receive(raw)
	if aws.ToString(m.Body) != `{"data":1}` || aws.ToString(m.MessageAttributes["correlation_id"].StringValue) != "c-2" {
		t.Errorf("raw delivery = %s %v", aws.ToString(m.Body), m.MessageAttributes)
	}
}

// TestGoAWSRefusesWhatSQSRefuses checks the limits of SQS that the proxy adds to goaws:
// each call is refused, or not, with the code and HTTP status SQS answers with.
func TestGoAWSRefusesWhatSQSRefuses(t *testing.T) {
	client := awstest.SQSClient(awstest.GoAWS(t))
	small := awstest.CreateQueue(t, client, "small", map[string]string{"MaximumMessageSize": "1024"})
	large := awstest.CreateQueue(t, client, "large", nil) // SQS's default: 1 MiB

	send := func(queue string, bodyBytes int, attrs map[string]types.MessageAttributeValue) func() error {
		return func() error {
			_, err := client.SendMessage(t.Context(), &sqs.SendMessageInput{
				QueueUrl: aws.String(queue), MessageBody: aws.String(strings.Repeat("x", bodyBytes)), MessageAttributes: attrs,
			})
			return err
		}
	}
	batch := func(queue string, ids []string, bodyBytes int) func() error {
		return func() error {
			entries := make([]types.SendMessageBatchRequestEntry, len(ids))
			for i, id := range ids {
				entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(id), MessageBody: aws.String(strings.Repeat("x", bodyBytes))}
			}
			_, err := client.SendMessageBatch(t.Context(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: entries})
			return err
		}
	}
	create := func(maxSize string) func() error {
		return func() error {
			_, err := client.CreateQueue(t.Context(), &sqs.CreateQueueInput{
				QueueName: aws.String("q" + maxSize), Attributes: map[string]string{"MaximumMessageSize": maxSize},
			})
			return err
		}
	}
	ids := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = fmt.Sprint("e-", i)
		}
		return s
	}
	// 1000 bytes of body and 25 of attribute: "k" (1), "String" (6) and 18 of value.
	attr := map[string]types.MessageAttributeValue{"k": {DataType: aws.String("String"), StringValue: aws.String(strings.Repeat("v", 18))}}

	tests := []struct {
		name string
		call func() error
		// wantCode is SQS's error code, as SDK clients report it; "" for none.
		wantCode string
		wantType func(error) bool
	}{
		{name: "message of the queue's size", call: send(small, 1024, nil)},
		{name: "message over the queue's size", call: send(small, 1025, nil), wantCode: "InvalidParameterValue"},
		{name: "attributes count", call: send(small, 1000, attr), wantCode: "InvalidParameterValue"},
		{name: "attributes within the size", call: send(small, 999, attr)},
		{name: "1 MiB on a queue of the default size", call: send(large, 1<<20, nil)},
		{name: "over 1 MiB on a queue of the default size", call: send(large, 1<<20+1, nil), wantCode: "InvalidParameterValue"},
		{name: "batch of 10", call: batch(large, ids(10), 10)},
		{name: "batch of 11", call: batch(large, ids(11), 10),
			wantCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", wantType: isA[*types.TooManyEntriesInBatchRequest]},
		{name: "empty batch", call: batch(large, nil, 10),
			wantCode: "AWS.SimpleQueueService.EmptyBatchRequest", wantType: isA[*types.EmptyBatchRequest]},
		{name: "repeated ids", call: batch(large, []string{"a", "b", "a"}, 10),
			wantCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", wantType: isA[*types.BatchEntryIdsNotDistinct]},
		{name: "id with a dot", call: batch(large, []string{"a.1"}, 10),
			wantCode: "AWS.SimpleQueueService.InvalidBatchEntryId", wantType: isA[*types.InvalidBatchEntryId]},
		{name: "id of 81 characters", call: batch(large, []string{strings.Repeat("a", 81)}, 10),
			wantCode: "AWS.SimpleQueueService.InvalidBatchEntryId", wantType: isA[*types.InvalidBatchEntryId]},
		{name: "batch of 1 MiB", call: batch(large, ids(2), 512<<10)},
		{name: "batch over 1 MiB", call: batch(large, ids(3), 350<<10),
			wantCode: "AWS.SimpleQueueService.BatchRequestTooLong", wantType: isA[*types.BatchRequestTooLong]},
		{name: "MaximumMessageSize of 1 KiB", call: create("1024")},
		{name: "MaximumMessageSize under 1 KiB", call: create("1023"),
			wantCode: "InvalidAttributeValue", wantType: isA[*types.InvalidAttributeValue]},
		{name: "MaximumMessageSize over 1 MiB", call: create("1048577"),
			wantCode: "InvalidAttributeValue", wantType: isA[*types.InvalidAttributeValue]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			apiErr, ok := errors.AsType[smithy.APIError](err)
			if !ok || apiErr.ErrorCode() != tt.wantCode {
				t.Fatalf("error %v, want code %s", err, tt.wantCode)
			}
			if respErr, ok := errors.AsType[*smithyhttp.ResponseError](err); !ok || respErr.HTTPStatusCode() != http.StatusBadRequest {
				t.Errorf("error %v, want HTTP status 400", err)
			}
			if tt.wantType != nil && !tt.wantType(err) {
				t.Errorf("error %T %v, not of the SDK's type for %s", err, err, tt.wantCode)
			}
		})
	}
}

func isA[E error](err error) bool {
	_, ok := errors.AsType[E](err)
	return ok
}

// TestGoAWSBatchFailsOnlyTheEntryTooLarge checks that, as in SQS, an entry over the
// queue's MaximumMessageSize fails alone in a batch, and that the others arrive with
// their attributes.
func TestGoAWSBatchFailsOnlyTheEntryTooLarge(t *testing.T) {
	client := awstest.SQSClient(awstest.GoAWS(t))
	ctx := t.Context()
	queue := awstest.CreateQueue(t, client, "small", map[string]string{"MaximumMessageSize": "1024"})

	out, err := client.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(queue), Entries: []types.SendMessageBatchRequestEntry{
		{Id: aws.String("ok"), MessageBody: aws.String("hello"), MessageAttributes: map[string]types.MessageAttributeValue{
			"correlation_id": {DataType: aws.String("String"), StringValue: aws.String("c-1")},
		}},
		{Id: aws.String("big"), MessageBody: aws.String(strings.Repeat("x", 1025))},
	}})
	if err != nil {
		t.Fatalf("SendMessageBatch: %v", err)
	}
	if len(out.Successful) != 1 || aws.ToString(out.Successful[0].Id) != "ok" {
		t.Errorf("successful = %+v, want ok alone", out.Successful)
	}
	if len(out.Failed) != 1 {
		t.Fatalf("failed = %+v, want big alone", out.Failed)
	}
	f := out.Failed[0]
	if aws.ToString(f.Id) != "big" || aws.ToString(f.Code) != "InvalidParameterValue" || !f.SenderFault ||
		!strings.Contains(aws.ToString(f.Message), "shorter than 1024 bytes") {
		t.Errorf("failed entry = %s %s %q sender fault %v, want big InvalidParameterValue, shorter than 1024 bytes, sender fault",
			aws.ToString(f.Id), aws.ToString(f.Code), aws.ToString(f.Message), f.SenderFault)
	}

	got, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"},
	})
	if err != nil {
		t.Fatalf("ReceiveMessage: %v", err)
	}
	if len(got.Messages) != 1 || aws.ToString(got.Messages[0].Body) != "hello" ||
		aws.ToString(got.Messages[0].MessageAttributes["correlation_id"].StringValue) != "c-1" {
		t.Errorf("received %+v, want hello with correlation_id c-1 alone", got.Messages)
	}

	attrs, err := client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(queue), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameMaximumMessageSize},
	})
	if err != nil {
		t.Fatalf("GetQueueAttributes: %v", err)
	}
	if v := attrs.Attributes["MaximumMessageSize"]; v != "1024" {
		t.Errorf("MaximumMessageSize = %q, want 1024", v)
	}
}
