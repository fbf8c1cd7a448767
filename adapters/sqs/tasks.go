package sqs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// SegmentAttribute is the message attribute of a segment task that names its segment,
// "index/total", for the SQS console and tools to show; the body says it too.
const SegmentAttribute = "pusher_segment"

// TaskQueueConfig configures a TaskQueue. Every field but the queue has a default.
type TaskQueueConfig struct {
	// QueueURL is the notifications queue the tasks go on, the one the fleet reads
	// (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// FindQueueURL finds the queue when QueueURL is empty, on the first Enqueue: such
	// as Subscriber.QueueURL, for the queue a topic's subscriber subscribes.
	FindQueueURL func(ctx context.Context) (string, error)
	// MaxMessageBytes is the largest task sent, as SQS counts it: the queue's
	// MaximumMessageSize, 1,024 to 1,048,576. A larger one is refused, permanently,
	// without a call. Default DefaultMaxMessageBytes (262,144), which a queue takes
	// unless set lower.
	MaxMessageBytes int
	// BatchesInFlight bounds the SendMessageBatch calls in flight at once; default 4.
	BatchesInFlight int
	// SendTimeout bounds one SendMessageBatch call, the SDK's retries included; default
	// 10s.
	SendTimeout time.Duration
	// OptFns adjust the SQS client, for example its BaseEndpoint.
	OptFns []func(*sqs.Options)
}

func (c *TaskQueueConfig) setDefaults() {
	c.MaxMessageBytes = cmp.Or(c.MaxMessageBytes, DefaultMaxMessageBytes)
	c.BatchesInFlight = cmp.Or(c.BatchesInFlight, DefaultBatchesInFlight)
	c.SendTimeout = cmp.Or(c.SendTimeout, DefaultSendTimeout)
}

// Validate reports every setting that cannot work.
func (c TaskQueueConfig) Validate() error {
	var errs []error
	if c.QueueURL == "" && c.FindQueueURL == nil {
		errs = append(errs, errors.New("QueueURL or FindQueueURL is required"))
	}
	errs = append(errs, validateSending(c.MaxMessageBytes, c.BatchesInFlight, c.SendTimeout)...)
	return errors.Join(errs...)
}

// TaskQueue puts the segment tasks of a split broadcast on the notifications queue, as
// plain requests that any pusher reading the queue takes: the body is the task's
// request, CorrelationIDAttribute its correlation id, SegmentAttribute its segment.
// It implements pipeline.TaskQueue. Tasks go out in SendMessageBatch calls of up to
// 10, several in flight.
type TaskQueue struct {
	client   *sqs.Client
	cfg      TaskQueueConfig
	batches  *batcher[types.SendMessageBatchRequestEntry]
	queueMu  sync.Mutex
	queueURL string
}

var _ pipeline.TaskQueue = (*TaskQueue)(nil)

// NewTaskQueue returns a TaskQueue of the queue of cfg, with an SQS client made of
// awsCfg and cfg.OptFns. It never creates the queue.
func NewTaskQueue(awsCfg aws.Config, cfg TaskQueueConfig) (*TaskQueue, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("task queue config: %w", err)
	}
	q := &TaskQueue{client: sqs.NewFromConfig(awsCfg, cfg.OptFns...), cfg: cfg, queueURL: cfg.QueueURL}
	q.batches = &batcher[types.SendMessageBatchRequestEntry]{
		maxItems:    maxBatchEntries,
		maxBytes:    cfg.MaxMessageBytes, // within SendMessageBatch's 1 MiB: see NewPoisonQueue
		maxInFlight: cfg.BatchesInFlight,
		timeout:     cfg.SendTimeout,
		send: func(ctx context.Context, entries []types.SendMessageBatchRequestEntry) []error {
			return sendBatch(ctx, q.client, q.queueURL, entries)
		},
	}
	return q, nil
}

// Enqueue implements pipeline.TaskQueue: it puts each of tasks on the queue and returns
// the result of each. A task over MaxMessageBytes, or that SQS refuses for what it is
// (a SenderFault entry, such as one over the queue's MaximumMessageSize), fails with a
// permanent error.
func (q *TaskQueue) Enqueue(ctx context.Context, tasks []*message.Message) []error {
	errs := make([]error, len(tasks))
	url, err := q.queue(ctx)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		for i := range errs {
			errs[i] = fmt.Errorf("enqueue task %s: %w", tasks[i].UUID, err)
		}
		return errs
	}
	entries := make([]types.SendMessageBatchRequestEntry, 0, len(tasks))
	sizes := make([]int, 0, len(tasks))
	index := make([]int, 0, len(tasks)) // of each entry's task
	for i, t := range tasks {
		m := taskMessage(t)
		if size := messageSize(m); size > q.cfg.MaxMessageBytes {
			errs[i] = handlers.Permanent(fmt.Errorf("enqueue task %s on %s: it is %d bytes, over the queue's %d", t.UUID, url, size, q.cfg.MaxMessageBytes))
			continue
		}
		entries = append(entries, types.SendMessageBatchRequestEntry{MessageBody: m.Body, MessageAttributes: m.MessageAttributes})
		sizes = append(sizes, messageSize(m))
		index = append(index, i)
	}
	for j, err := range q.batches.do(entries, sizes) {
		if err != nil {
			if refusedForGood(err) {
				err = handlers.Permanent(err)
			}
			errs[index[j]] = fmt.Errorf("enqueue task %s on %s: %w", tasks[index[j]].UUID, url, err)
		}
	}
	return errs
}

// refusedForGood reports whether err, the failure of a whole SendMessageBatch call, is
// one that no retry passes: the role may not send to the queue, or the queue or its
// KMS key is not there or not usable (the errors of SendMessageBatch, Amazon SQS API
// Reference). Then the broadcast is resolved where it is, not parked after its tries.
func refusedForGood(err error) bool {
	var (
		noQueue    *types.QueueDoesNotExist
		address    *types.InvalidAddress
		security   *types.InvalidSecurity
		kmsDenied  *types.KmsAccessDenied
		kmsOff     *types.KmsDisabled
		kmsUsage   *types.KmsInvalidKeyUsage
		kmsState   *types.KmsInvalidState
		kmsMissing *types.KmsNotFound
		kmsOptIn   *types.KmsOptInRequired
	)
	if errors.As(err, &noQueue) || errors.As(err, &address) || errors.As(err, &security) || errors.As(err, &kmsDenied) ||
		errors.As(err, &kmsOff) || errors.As(err, &kmsUsage) || errors.As(err, &kmsState) || errors.As(err, &kmsMissing) ||
		errors.As(err, &kmsOptIn) {
		return true
	}
	// IAM's refusal is no error of SQS's model: "AccessDenied" in the query code SQS
	// sends along, AccessDeniedException in its JSON type.
	var api smithy.APIError
	return errors.As(err, &api) && (api.ErrorCode() == "AccessDenied" || api.ErrorCode() == "AccessDeniedException")
}

// queue returns the queue's URL, finding it on first use.
func (q *TaskQueue) queue(ctx context.Context) (string, error) {
	q.queueMu.Lock()
	defer q.queueMu.Unlock()
	if q.queueURL == "" {
		url, err := q.cfg.FindQueueURL(ctx)
		if err != nil {
			return "", fmt.Errorf("find the task queue: %w", err)
		}
		q.queueURL = url
	}
	return q.queueURL, nil
}

// taskMessage returns the SQS message of a task: its payload as the body, as a
// producer's request is, and its correlation id and segment as attributes.
func taskMessage(t *message.Message) *types.Message {
	attrs := map[string]types.MessageAttributeValue{}
	set := func(name, value string) {
		// SQS refuses empty attributes and some characters: such a value is left out.
		if value != "" && sqsText(value) {
			attrs[name] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(value)}
		}
	}
	set(CorrelationIDAttribute, t.Metadata.Get(pipeline.CorrelationIDKey))
	set(SegmentAttribute, t.Metadata.Get(pipeline.SegmentKey))
	return &types.Message{Body: aws.String(string(t.Payload)), MessageAttributes: attrs}
}

// Close waits for the batches under way to be sent.
func (q *TaskQueue) Close() error {
	q.batches.wait()
	return nil
}

// QueueURL returns the URL of the queue s receives from, finding it first if it is a
// topic's subscriber that has not subscribed yet: where a TaskQueue puts the tasks
// that s's fleet shares.
func (s *Subscriber) QueueURL(ctx context.Context) (string, error) {
	url, _, err := s.queue(ctx)
	return url, err
}
