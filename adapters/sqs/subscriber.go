package sqs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// ErrClosed is returned by Subscribe after Close.
var ErrClosed = errors.New("sqs subscriber closed")

// Subscriber is a message.Subscriber of one SQS queue: it hands out whole batches, up to
// Concurrency messages unsettled, deletes a message once acked and leaves a nacked one
// for SQS to deliver again. See the package documentation for how it stops.
type Subscriber struct {
	cfg    SubscriberConfig
	client *sqs.Client
	logger *slog.Logger

	// resolve finds the queue URL on the first Subscribe: NewSubscriberFinding's, such as
	// package sns's, which subscribes a queue to its topic.
	resolve  func(ctx context.Context) (string, error)
	queueMu  sync.Mutex
	queueURL string
	// visibility is how long a received message stays hidden: VisibilityTimeout, or the
	// queue's own. A message still unsettled is hidden again for as long every third of it,
	// so that a heartbeat late by a third still comes in time.
	visibility time.Duration

	// deletes merges the deletions of messages acked at about the same time into
	// DeleteMessageBatch calls; one acked alone is deleted at once.
	deletes *batcher[string]

	slots   chan struct{} // a token per message asked for or handed out, and not settled
	life    context.Context
	stop    context.CancelFunc // cancels life, the context of the messages handed out
	loops   sync.WaitGroup     // receive loops
	pending sync.WaitGroup     // messages handed out and not settled
	open    atomic.Int64       // pending's count, for Close's error

	mu        sync.Mutex    // orders Subscribe's loops.Add before Close's loops.Wait
	closing   chan struct{} // closed by Close
	closeOnce sync.Once
	closeErr  error
	onClose   []func() error
}

var _ message.Subscriber = (*Subscriber)(nil)

// NewSubscriber returns a Subscriber of the queue cfg.QueueURL, with an SQS client made
// of awsCfg and cfg.OptFns.
func NewSubscriber(awsCfg aws.Config, cfg SubscriberConfig) (*Subscriber, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sqs subscriber config: %w", err)
	}
	s := newSubscriber(awsCfg, cfg)
	s.queueURL = cfg.QueueURL
	return s, nil
}

// NewSubscriberFinding returns a Subscriber of the queue that findQueueURL finds, with
// the Subscriber's SQS client, on the first Subscribe; cfg.QueueURL is ignored. It is the
// hook of a queue made at run time, such as the one package sns subscribes to a topic,
// which keeps the SNS client out of this package. Close runs closers once the messages
// handed out have settled, and joins their errors to its own.
func NewSubscriberFinding(awsCfg aws.Config, cfg SubscriberConfig, findQueueURL func(ctx context.Context, client *sqs.Client) (string, error), closers ...func() error) (*Subscriber, error) {
	cfg.setDefaults()
	err := cfg.validateReceiving()
	if findQueueURL == nil {
		err = errors.Join(err, errors.New("no function to find the queue URL"))
	}
	if err != nil {
		return nil, fmt.Errorf("sqs subscriber config: %w", err)
	}
	s := newSubscriber(awsCfg, cfg)
	s.resolve = func(ctx context.Context) (string, error) { return findQueueURL(ctx, s.client) }
	s.onClose = closers
	return s, nil
}

// newSubscriber returns a Subscriber of a valid cfg whose queue is still to be set.
func newSubscriber(awsCfg aws.Config, cfg SubscriberConfig) *Subscriber {
	life, stop := context.WithCancel(context.Background())
	s := &Subscriber{
		cfg:     cfg,
		client:  sqs.NewFromConfig(awsCfg, cfg.OptFns...),
		logger:  cfg.Logger,
		slots:   make(chan struct{}, cfg.Concurrency),
		life:    life,
		stop:    stop,
		closing: make(chan struct{}),
	}
	s.deletes = &batcher[string]{
		maxItems:    maxBatchEntries,
		maxBytes:    math.MaxInt, // receipt handles: the count bounds a batch
		maxInFlight: 4,
		timeout:     deleteTimeout,
		life:        life, // Close gives up on the deletes with the messages' context
		send:        s.deleteBatch,
	}
	return s
}

// deleteTimeout bounds one DeleteMessageBatch call, the SDK's retries included.
const deleteTimeout = 20 * time.Second

// Subscribe starts receiving from the queue and returns the channel of the messages
// received. The topic is ignored: the queue is the configured one. The channel closes
// when ctx is done or the Subscriber is closed. Each call receives on its own, sharing
// the Concurrency bound.
func (s *Subscriber) Subscribe(ctx context.Context, _ string) (<-chan *message.Message, error) {
	select {
	case <-s.closing:
		return nil, ErrClosed
	default:
	}
	queueURL, visibility, err := s.queue(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.closing:
		return nil, ErrClosed
	default:
	}
	out := make(chan *message.Message)
	s.loops.Add(1)
	go func() {
		defer s.loops.Done()
		defer close(out)
		s.receive(ctx, queueURL, visibility, out)
	}()
	return out, nil
}

// queue returns the queue URL, resolving it on first use, and the visibility timeout
// its messages are kept hidden for.
func (s *Subscriber) queue(ctx context.Context) (string, time.Duration, error) {
	s.queueMu.Lock()
	defer s.queueMu.Unlock()
	if s.queueURL == "" {
		url, err := s.resolve(ctx)
		if err != nil {
			return "", 0, err
		}
		s.queueURL = url
	}
	if s.visibility == 0 {
		s.visibility = s.cfg.VisibilityTimeout
		if s.visibility == 0 {
			s.visibility = s.queueVisibility(ctx)
		}
	}
	return s.queueURL, s.visibility, nil
}

// queueVisibility reads the queue's visibility timeout; 0 if it cannot, and then
// messages are not kept hidden past it.
func (s *Subscriber) queueVisibility(ctx context.Context) time.Duration {
	out, err := s.client.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(s.queueURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameVisibilityTimeout},
	})
	if err != nil {
		s.logger.Warn("read the queue's visibility timeout; long requests may be delivered twice",
			"queue", s.queueURL, "error", err)
		return 0
	}
	secs, err := strconv.Atoi(out.Attributes[string(types.QueueAttributeNameVisibilityTimeout)])
	if err != nil || secs <= 0 {
		return 0
	}
	return time.Duration(secs) * time.Second
}

// receive hands out the messages of queueURL on out until ctx is done or s closes.
func (s *Subscriber) receive(ctx context.Context, queueURL string, visibility time.Duration, out chan<- *message.Message) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		WaitTimeSeconds:             int32(s.cfg.WaitTime / time.Second),
		VisibilityTimeout:           int32(s.cfg.VisibilityTimeout / time.Second),
		MessageAttributeNames:       []string{"All"},
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
	}
	for {
		n := s.acquire(ctx)
		if n == 0 {
			return
		}
		in.MaxNumberOfMessages = int32(n)
		res, err := s.client.ReceiveMessage(ctx, in)
		if err != nil {
			s.release(n)
			if ctx.Err() != nil {
				return
			}
			s.logger.Error("receive from SQS", "queue", queueURL, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cfg.RetryInterval):
			}
			continue
		}
		s.release(n - len(res.Messages))
		for i, m := range res.Messages {
			if !s.handOut(ctx, queueURL, visibility, out, m) {
				s.release(len(res.Messages) - i)
				s.giveBack(queueURL, res.Messages[i:])
				return
			}
		}
	}
}

// acquire waits for a free slot, then takes as many more as are free, up to
// MaxMessages. It returns how many it took: 0 once ctx is done.
func (s *Subscriber) acquire(ctx context.Context) int {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < s.cfg.MaxMessages {
		select {
		case s.slots <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func (s *Subscriber) release(n int) {
	for range n {
		<-s.slots
	}
}

// handOut sends m on out and watches for its ack or nack. It returns false if ctx is
// done first.
func (s *Subscriber) handOut(ctx context.Context, queueURL string, visibility time.Duration, out chan<- *message.Message, m types.Message) bool {
	msg := s.unmarshal(&m)
	// Not ctx: the pipeline waits on it for the request to settle, past the end of the
	// receiving.
	msg.SetContext(s.life)
	select {
	case out <- msg:
	case <-ctx.Done():
		return false
	}
	s.pending.Add(1)
	s.open.Add(1)
	go s.settle(queueURL, visibility, msg, m)
	return true
}

// unmarshal returns the Watermill message of m, or, when the Unmarshaler fails, one of
// m's body as is: the decode stage parks what it cannot read, whereas a message left in
// the queue would come back for ever.
func (s *Subscriber) unmarshal(m *types.Message) *message.Message {
	msg, err := s.cfg.Unmarshaler.Unmarshal(m)
	if err == nil && msg != nil {
		return msg
	}
	s.logger.Error("unmarshal an SQS message; handing its body over as is",
		"message_id", aws.ToString(m.MessageId), "error", err)
	msg, _ = Unmarshaler{}.Unmarshal(m)
	return msg
}

// settle deletes msg's SQS message m once msg is acked, and leaves it once it is nacked.
func (s *Subscriber) settle(queueURL string, visibility time.Duration, msg *message.Message, m types.Message) {
	defer s.pending.Done()
	defer s.open.Add(-1)
	defer s.release(1)
	// A request can take longer than the visibility timeout (a large broadcast, retries
	// with backoff): keep its message hidden meanwhile, or SQS delivers it again.
	var heartbeat <-chan time.Time
	if visibility > 0 {
		t := time.NewTicker(max(visibility/3, 500*time.Millisecond))
		defer t.Stop()
		heartbeat = t.C
	}
	for {
		select {
		case <-heartbeat:
			s.keepHidden(queueURL, visibility, m)
			continue
		case <-msg.Acked():
			if err := s.deletes.do([]string{aws.ToString(m.ReceiptHandle)}, []int{0})[0]; err != nil {
				s.logger.Error("delete an acked message: SQS will deliver it again", "queue", queueURL,
					"message_id", aws.ToString(m.MessageId), "error", err)
			}
		case <-msg.Nacked():
			// SQS delivers it again once its visibility timeout has passed.
		case <-s.life.Done():
			// Close gave up waiting for it: the same.
		}
		return
	}
}

// deleteBatch deletes the messages of receipts from the queue with one
// DeleteMessageBatch call and returns the result of each. It needs no grant beyond
// sqs:DeleteMessage: "setting permissions for SendMessage, DeleteMessage, or
// ChangeMessageVisibility sets permissions for the corresponding batch versions of the
// actions" ("Amazon SQS batch actions", Amazon SQS Developer Guide).
func (s *Subscriber) deleteBatch(ctx context.Context, receipts []string) []error {
	s.queueMu.Lock()
	queueURL := s.queueURL // set before any message is handed out
	s.queueMu.Unlock()
	entries := make([]types.DeleteMessageBatchRequestEntry, len(receipts))
	for i, r := range receipts {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r)}
	}
	out, err := s.client.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: entries})
	var done []*string
	var failed []types.BatchResultErrorEntry
	if err == nil {
		for _, d := range out.Successful {
			done = append(done, d.Id)
		}
		failed = out.Failed
	}
	return batchResults("DeleteMessageBatch", len(receipts), err, done, failed)
}

// keepHidden hides m for another visibility timeout.
func (s *Subscriber) keepHidden(queueURL string, visibility time.Duration, m types.Message) {
	_, err := s.client.ChangeMessageVisibility(s.life, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(queueURL),
		ReceiptHandle:     m.ReceiptHandle,
		VisibilityTimeout: int32(visibility / time.Second),
	})
	if err != nil {
		s.logger.Warn("keep an unsettled message hidden: SQS may deliver it again", "queue", queueURL,
			"message_id", aws.ToString(m.MessageId), "error", err)
	}
}

// giveBack makes messages received but not handed out visible again at once, rather
// than after their visibility timeout.
func (s *Subscriber) giveBack(queueURL string, msgs []types.Message) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, m := range msgs {
		_, err := s.client.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl:      aws.String(queueURL),
			ReceiptHandle: m.ReceiptHandle,
		})
		if err != nil {
			s.logger.Debug("give back a message not handed out", "queue", queueURL,
				"message_id", aws.ToString(m.MessageId), "error", err)
		}
	}
}

// Close stops the receiving, waits up to CloseTimeout for the messages handed out to be
// acked and deleted, or nacked, then cancels their context. It returns an error if some
// were still open: SQS delivers those again.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closing)
		s.mu.Unlock()
		s.loops.Wait() // no message is handed out from now on

		settled := make(chan struct{})
		go func() {
			s.pending.Wait()
			close(settled)
		}()
		timer := time.NewTimer(s.cfg.CloseTimeout)
		defer timer.Stop()
		select {
		case <-settled:
		case <-timer.C:
			s.closeErr = fmt.Errorf("close sqs subscriber: %d messages still open after %s; SQS will deliver them again",
				s.open.Load(), s.cfg.CloseTimeout)
		}
		s.stop()
		<-settled
		for _, c := range s.onClose {
			s.closeErr = errors.Join(s.closeErr, c())
		}
	})
	return s.closeErr
}
