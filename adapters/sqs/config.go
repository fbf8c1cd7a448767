package sqs

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"time"

	wmsqs "github.com/ThreeDotsLabs/watermill-aws/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// Defaults of the subscribers, the poison queue and the task queue.
const (
	// DefaultConcurrency is how many messages a subscriber works on at once.
	DefaultConcurrency = 10
	// DefaultCloseTimeout is how long Close lets the messages in flight settle.
	DefaultCloseTimeout = 30 * time.Second
	// DefaultBatchesInFlight is how many SendMessageBatch calls the poison and task
	// queues keep in flight.
	DefaultBatchesInFlight = 4
	// DefaultSendTimeout bounds one SendMessageBatch call, the SDK's retries included.
	DefaultSendTimeout = 10 * time.Second
)

// SQS's limits on ReceiveMessage and on a queue's visibility timeout.
const (
	maxBatch             = 10
	maxWaitTime          = 20 * time.Second
	maxVisibilityTimeout = 12 * time.Hour
)

// SubscriberConfig configures a Subscriber. Every field but QueueURL has a default.
type SubscriberConfig struct {
	// QueueURL is the queue to receive from, such as NOTIFICATIONS_QUEUE_URL. Required
	// by NewSubscriber; NewSubscriberFinding finds it itself.
	QueueURL string
	// Concurrency bounds the messages handed out and not yet acked or nacked, over all
	// Subscribe calls; default 10.
	Concurrency int
	// MaxMessages is how many messages one ReceiveMessage call asks for, 1 to 10;
	// default 10.
	MaxMessages int
	// WaitTime is how long one ReceiveMessage call waits for a message to arrive (long
	// polling), 1s to 20s in whole seconds; default 20s.
	WaitTime time.Duration
	// VisibilityTimeout hides each message received from other receivers for this long,
	// in whole seconds; zero keeps the queue's own setting. Make it longer than a request
	// takes to settle, or the request is received again while still in the works.
	VisibilityTimeout time.Duration
	// CloseTimeout is how long Close waits for the messages handed out to be acked and
	// deleted, or nacked, before it cancels their context; default 30s, the pipeline's
	// own CloseTimeout, which it should not be shorter than.
	CloseTimeout time.Duration
	// RetryInterval is the wait after a failed ReceiveMessage call; default 1s.
	RetryInterval time.Duration
	// Unmarshaler turns an SQS message into a Watermill message; default Unmarshaler{}.
	Unmarshaler wmsqs.Unmarshaler
	// OptFns adjust the SQS client, for example its BaseEndpoint.
	OptFns []func(*sqs.Options)
	// Logger logs the failures of receiving and deleting; default slog.Default().
	Logger *slog.Logger
}

func (c *SubscriberConfig) setDefaults() {
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.MaxMessages = cmp.Or(c.MaxMessages, maxBatch)
	c.WaitTime = cmp.Or(c.WaitTime, maxWaitTime)
	c.CloseTimeout = cmp.Or(c.CloseTimeout, DefaultCloseTimeout)
	c.RetryInterval = cmp.Or(c.RetryInterval, time.Second)
	if c.Unmarshaler == nil {
		c.Unmarshaler = Unmarshaler{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every setting that cannot work.
func (c SubscriberConfig) Validate() error {
	var errs []error
	if c.QueueURL == "" {
		errs = append(errs, errors.New("QueueURL is required"))
	}
	return errors.Join(append(errs, c.validateReceiving())...)
}

// validateReceiving checks all but the queue, which NewSubscriberFinding finds itself.
func (c SubscriberConfig) validateReceiving() error {
	var errs []error
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("Concurrency is %d, want at least 1", c.Concurrency))
	}
	if c.MaxMessages < 1 || c.MaxMessages > maxBatch {
		errs = append(errs, fmt.Errorf("MaxMessages is %d, want 1 to %d", c.MaxMessages, maxBatch))
	}
	if c.WaitTime < time.Second || c.WaitTime > maxWaitTime || c.WaitTime%time.Second != 0 {
		errs = append(errs, fmt.Errorf("WaitTime is %s, want 1s to %s in whole seconds", c.WaitTime, maxWaitTime))
	}
	if c.VisibilityTimeout < 0 || c.VisibilityTimeout > maxVisibilityTimeout || c.VisibilityTimeout%time.Second != 0 {
		errs = append(errs, fmt.Errorf("VisibilityTimeout is %s, want 0 to %s in whole seconds", c.VisibilityTimeout, maxVisibilityTimeout))
	}
	if c.CloseTimeout < 0 {
		errs = append(errs, fmt.Errorf("CloseTimeout is %s, want at least 0", c.CloseTimeout))
	}
	if c.RetryInterval < 0 {
		errs = append(errs, fmt.Errorf("RetryInterval is %s, want at least 0", c.RetryInterval))
	}
	return errors.Join(errs...)
}

// PoisonConfig configures a PoisonQueue. Every field but QueueURL has a default.
type PoisonConfig struct {
	// QueueURL is the poison queue, such as POISON_QUEUE_URL. Required.
	QueueURL string
	// MaxMessageBytes is the largest message parked, as SQS counts it (the body and
	// each attribute's name, type and value), 1,024 to 1,048,576: no more than the
	// queue's MaximumMessageSize. A message that would be larger is compressed, and if
	// that is not enough, its payload truncated. Default DefaultMaxMessageBytes
	// (262,144), which a queue takes unless set lower.
	MaxMessageBytes int
	// BatchesInFlight bounds the SendMessageBatch calls in flight at once; default 4.
	BatchesInFlight int
	// SendTimeout bounds one SendMessageBatch call, the SDK's retries included; default
	// 10s.
	SendTimeout time.Duration
	// OptFns adjust the SQS client, for example its BaseEndpoint.
	OptFns []func(*sqs.Options)
	// Logger logs the payloads that had to be compressed or truncated; default
	// slog.Default().
	Logger *slog.Logger
}

func (c *PoisonConfig) setDefaults() {
	c.MaxMessageBytes = cmp.Or(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.BatchesInFlight = cmp.Or(c.BatchesInFlight, DefaultBatchesInFlight)
	c.SendTimeout = cmp.Or(c.SendTimeout, DefaultSendTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports every setting that cannot work.
func (c PoisonConfig) Validate() error {
	var errs []error
	if c.QueueURL == "" {
		errs = append(errs, errors.New("QueueURL is required"))
	}
	errs = append(errs, validateSending(c.MaxMessageBytes, c.BatchesInFlight, c.SendTimeout)...)
	return errors.Join(errs...)
}

// validateSending reports the settings of a batcher's sends, the poison queue's or the
// task queue's, that cannot work.
func validateSending(messageBytes, inFlight int, timeout time.Duration) []error {
	var errs []error
	if messageBytes < minMessageBytes || messageBytes > maxMessageBytes {
		errs = append(errs, fmt.Errorf("MaxMessageBytes is %d, want %d to %d", messageBytes, minMessageBytes, maxMessageBytes))
	}
	if inFlight < 1 {
		errs = append(errs, fmt.Errorf("BatchesInFlight is %d, want at least 1", inFlight))
	}
	if timeout <= 0 {
		errs = append(errs, fmt.Errorf("SendTimeout is %s, want more than 0", timeout))
	}
	return errs
}
