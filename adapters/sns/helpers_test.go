package sns_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	pushersqs "github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// The helpers of adapters/sqs's tests that these need, copied: test files do not
// export.

// emulator is a goaws of one test, and an SQS client of it.
type emulator struct {
	endpoint string
	client   *sqs.Client
}

func newEmulator(t *testing.T) emulator {
	endpoint := awstest.GoAWS(t)
	return emulator{endpoint: endpoint, client: awstest.SQSClient(endpoint)}
}

// config is a subscriber's configuration for tests: short polls, a short wait on
// close for a test that failed with messages open, quiet logs.
func (e emulator) config(queue string) pushersqs.SubscriberConfig {
	return pushersqs.SubscriberConfig{
		QueueURL:     queue,
		WaitTime:     time.Second,
		CloseTimeout: 5 * time.Second,
		OptFns:       []func(*sqs.Options){func(o *sqs.Options) { o.BaseEndpoint = aws.String(e.endpoint) }},
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// messages returns how many messages queue holds, visible or not.
func (e emulator) messages(t *testing.T, queue string) int {
	return awstest.QueueDepth(t, e.client, queue)
}

// waitEmpty waits up to 5s for queue to hold no message.
func (e emulator) waitEmpty(t *testing.T, queue string) { awstest.WaitQueueEmpty(t, e.client, queue) }

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

// subscribe subscribes sub until the test ends.
func subscribe(t *testing.T, sub message.Subscriber) <-chan *message.Message {
	t.Helper()
	ch, err := sub.Subscribe(t.Context(), "notifications")
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	return ch
}
