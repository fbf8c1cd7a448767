package sqs_test

import (
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// emulator is a goaws of one test, and an SQS client of it.
type emulator struct {
	endpoint string
	client   *sqs.Client
}

func newEmulator(t *testing.T) emulator {
	endpoint := awstest.GoAWS(t)
	return emulator{endpoint: endpoint, client: awstest.SQSClient(endpoint)}
}

// queue creates a queue whose messages stay hidden for visibility seconds once received.
func (e emulator) queue(t *testing.T, name string, visibility int) string {
	return awstest.CreateQueue(t, e.client, name, map[string]string{"VisibilityTimeout": strconv.Itoa(visibility)})
}

func (e emulator) options() []func(*sqs.Options) {
	return []func(*sqs.Options){func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.endpoint) }}
}

// config is a subscriber's configuration for tests: short polls, a short wait on
// close for a test that failed with messages open, quiet logs.
func (e emulator) config(queue string) pushersqs.SubscriberConfig {
	return pushersqs.SubscriberConfig{
		QueueURL:     queue,
		WaitTime:     time.Second,
		CloseTimeout: 5 * time.Second,
		OptFns:       e.options(),
		Logger:       quiet,
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// subscriber returns a subscriber that is closed when the test ends.
func (e emulator) subscriber(t *testing.T, cfg pushersqs.SubscriberConfig) *pushersqs.Subscriber {
	t.Helper()
	sub, err := pushersqs.NewSubscriber(awstest.Config(), cfg)
	if err != nil {
		t.Fatalf("NewSubscriber: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	return sub
}

// send sends body with the string attributes attrs and returns SQS's message id.
func (e emulator) send(t *testing.T, queue, body string, attrs map[string]string) string {
	t.Helper()
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queue), MessageBody: aws.String(body)}
	for k, v := range attrs {
		if in.MessageAttributes == nil {
			in.MessageAttributes = map[string]types.MessageAttributeValue{}
		}
		in.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	out, err := e.client.SendMessage(t.Context(), in)
	if err != nil {
		t.Fatalf("SendMessage: %v", err)
	}
	return aws.ToString(out.MessageId)
}

// messages returns how many messages queue holds, visible or not.
func (e emulator) messages(t *testing.T, queue string) int {
	return awstest.QueueDepth(t, e.client, queue)
}

// waitEmpty waits up to 5s for queue to hold no message.
func (e emulator) waitEmpty(t *testing.T, queue string) { awstest.WaitQueueEmpty(t, e.client, queue) }

// receive waits up to timeout for a message on ch.
func receive(t *testing.T, ch <-chan *message.Message, timeout time.Duration) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if !ok {
			t.Fatal("the channel closed")
		}
		return msg
	case <-time.After(timeout):
		t.Fatalf("no message after %s", timeout)
		return nil
	}
}

// none checks that ch hands out nothing for d.
func none(t *testing.T, ch <-chan *message.Message, d time.Duration) {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if ok {
			t.Fatalf("got message %s %s, want none", msg.UUID, msg.Payload)
		}
	case <-time.After(d):
	}
}

// closed waits up to 5s for ch to close, failing on a message.
func closed(t *testing.T, ch <-chan *message.Message) {
	t.Helper()
	select {
	case msg, ok := <-ch:
		if ok {
			t.Fatalf("got message %s, want the channel closed", msg.UUID)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the channel is still open after 5s")
	}
}

// subscribe subscribes sub until the test ends.
func subscribe(t *testing.T, sub message.Subscriber) <-chan *message.Message {
	t.Helper()
	ch, err := sub.Subscribe(t.Context(), "notifications")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}
