package replay

import (
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
)

// SQSAPI is what SQSQueue and Forwarder need of an SQS client.
type SQSAPI interface {
	ReceiveMessage(context.Context, *awssqs.ReceiveMessageInput, ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessage(context.Context, *awssqs.DeleteMessageInput, ...func(*awssqs.Options)) (*awssqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(context.Context, *awssqs.ChangeMessageVisibilityInput, ...func(*awssqs.Options)) (*awssqs.ChangeMessageVisibilityOutput, error)
	SendMessage(context.Context, *awssqs.SendMessageInput, ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
}

var _ SQSAPI = (*awssqs.Client)(nil)

// SQSQueue is the SQS poison queue of `pusher serve`, in sqs.PoisonMarshaler's format.
type SQSQueue struct {
	client     SQSAPI
	url        string
	visibility time.Duration
	wait       time.Duration
	logger     *slog.Logger

	mu      sync.Mutex
	handles map[*message.Message]string // receipt handles of the messages List holds
}

var _ Queue = (*SQSQueue)(nil)

// NewSQSQueue returns the poison queue cfg.PoisonQueueURL.
func NewSQSQueue(cfg Config, client SQSAPI, logger *slog.Logger) (*SQSQueue, error) {
	cfg.setDefaults()
	if cfg.PoisonQueueURL == "" {
		return nil, errors.New("POISON_QUEUE_URL is not set: the SQS queue failed work is parked in")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &SQSQueue{client: client, url: cfg.PoisonQueueURL, visibility: cfg.VisibilityTimeout, wait: cfg.WaitTime,
		logger: logger, handles: map[*message.Message]string{}}, nil
}

// List receives every message of the queue (up to maxHeld in one pass), hiding each for
// the visibility timeout, then hands them to fn, from up to workers goroutines at once;
// at the end it makes those that were not deleted visible again (ChangeMessageVisibility
// 0). Receiving all first means that a message parked again while fn runs is not handed
// over a second time.
func (q *SQSQueue) List(ctx context.Context, workers int, fn func(*message.Message) error) error {
	held, err := receiveAll(ctx, q.client, q.url, q.visibility, q.wait, q.logger)
	defer func() { release(q.client, q.url, held, q.logger) }()
	if err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(max(workers, 1))
	var failed atomic.Bool
	for i, m := range held {
		if failed.Load() {
			break
		}
		msg, err := sqs.ParkedMessage(m)
		if err != nil {
			q.logger.Warn("skip a poison message that is not in the pusher's format", "message_id", aws.ToString(m.MessageId), "error", err)
			continue
		}
		q.mu.Lock()
		q.handles[msg] = aws.ToString(m.ReceiptHandle)
		q.mu.Unlock()
		g.Go(func() error {
			err := fn(msg)
			q.mu.Lock()
			if q.handles[msg] == "" {
				held[i].ReceiptHandle = nil // deleted: nothing to release
			}
			delete(q.handles, msg)
			q.mu.Unlock()
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	return g.Wait()
}

// Delete deletes m, which List handed over and still holds.
func (q *SQSQueue) Delete(ctx context.Context, m *message.Message) error {
	q.mu.Lock()
	handle, ok := q.handles[m]
	q.mu.Unlock()
	if !ok {
		return fmt.Errorf("delete %s: not held by a listing", m.UUID)
	}
	if _, err := q.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(handle)}); err != nil {
		return fmt.Errorf("delete %s from %s: %w", m.UUID, q.url, err)
	}
	q.mu.Lock()
	q.handles[m] = "" // deleted: nothing to release
	q.mu.Unlock()
	return nil
}

// Park sends m to the queue in sqs.PoisonMarshaler's format.
func (q *SQSQueue) Park(ctx context.Context, m *message.Message) error {
	sm, err := sqs.PoisonMarshaler{}.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := q.client.SendMessage(ctx, &awssqs.SendMessageInput{
		QueueUrl: aws.String(q.url), MessageBody: sm.Body, MessageAttributes: sm.MessageAttributes,
	}); err != nil {
		return fmt.Errorf("park %s on %s: %w", m.UUID, q.url, err)
	}
	return nil
}
