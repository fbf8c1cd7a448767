package awstest_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

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
