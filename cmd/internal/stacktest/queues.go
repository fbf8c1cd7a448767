package stacktest

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Send sends body to the notifications queue with a plain SDK SendMessage, as a backend
// would, and returns its message id.
func (s *Stack) Send(t testing.TB, body string) string {
	t.Helper()
	out, err := s.SQS.SendMessage(context.Background(), &awssqs.SendMessageInput{QueueUrl: aws.String(s.QueueURL), MessageBody: aws.String(body)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.MessageId)
}

// Queued counts the messages of a queue, visible or not (goaws counts both in
// ApproximateNumberOfMessages).
func (s *Stack) Queued(t testing.TB, queueURL string) int {
	t.Helper()
	out, err := s.SQS.GetQueueAttributes(context.Background(), &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{"ApproximateNumberOfMessages"},
	})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range out.Attributes {
		c, _ := strconv.Atoi(v)
		n += c
	}
	return n
}

// Parked receives and deletes the poison queue's messages until it has n of them.
func (s *Stack) Parked(t testing.TB, n int) []pipeline.Parked {
	t.Helper()
	var out []pipeline.Parked
	Eventually(t, fmt.Sprintf("%d messages parked", n), func() bool {
		resp, err := s.SQS.ReceiveMessage(context.Background(), &awssqs.ReceiveMessageInput{
			QueueUrl: aws.String(s.PoisonURL), MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range resp.Messages {
			msg, err := sqs.ParkedMessage(m)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, pipeline.ParkedFrom(msg))
			_, _ = s.SQS.DeleteMessage(context.Background(), &awssqs.DeleteMessageInput{QueueUrl: aws.String(s.PoisonURL), ReceiptHandle: m.ReceiptHandle})
		}
		return len(out) >= n
	})
	return out
}
