package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
)

// AdoptConfig is the configuration of an Adopt.
type AdoptConfig struct {
	// From is the URL of the SQS queue adopted from: the module's async failures queue
	// (the on-failure destination of SNS's and EventBridge's invocations) or the SNS
	// subscription's dead-letter queue.
	From string
	// VisibilityTimeout is how long Adopt hides the messages it received; default
	// DefaultVisibilityTimeout. Those it did not delete are made visible again at its
	// end.
	VisibilityTimeout time.Duration
	// WaitTime is the long poll of a receive; default DefaultWaitTime.
	WaitTime time.Duration
	// Logger logs each message left in the queue, and why; default slog.Default().
	Logger *slog.Logger
}

func (c *AdoptConfig) setDefaults() {
	c.VisibilityTimeout = cmp.Or(c.VisibilityTimeout, DefaultVisibilityTimeout)
	c.WaitTime = cmp.Or(c.WaitTime, DefaultWaitTime)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a setting that cannot work.
func (c AdoptConfig) Validate() error {
	switch {
	case c.From == "":
		return errors.New("no queue to adopt from: give --from, the URL of the async failures queue or the SNS dead-letter queue")
	case c.VisibilityTimeout < 0:
		return fmt.Errorf("visibility timeout %s is below 0", c.VisibilityTimeout)
	}
	return nil
}

// Adoption counts what an Adopt did: requests parked, and messages of the source
// queue deleted or left there.
type Adoption struct {
	// Received is how many messages the source queue gave.
	Received int `json:"received"`
	// Parked is how many requests were parked in the poison queue.
	Parked int `json:"parked"`
	// Duplicates is how many requests were not parked, being parked already: by an
	// earlier adoption whose delete failed, or twice in the source queue.
	Duplicates int `json:"duplicates"`
	// Deleted is how many messages of the source queue were deleted, everything they
	// hold being parked.
	Deleted int `json:"deleted"`
	// Unreadable is how many messages were neither an invocation record nor an SNS
	// notification that Adopt can read; they stay in the source queue.
	Unreadable int `json:"unreadable"`
	// Failed is how many messages could not be parked whole, or deleted once parked;
	// they stay in the source queue.
	Failed int `json:"failed"`
	// Left is how many were not reached because the adoption was cancelled; they stay.
	Left int `json:"left"`
}

// Kept is how many messages stay in the source queue.
func (a Adoption) Kept() int { return a.Unreadable + a.Failed + a.Left }

// Adopt moves into the poison queue q the requests that the function's asynchronous
// invocations lost: each message of the queue cfg.From (Lambda's invocation record, or
// the notification SNS could not deliver: see lostRequests) is read, each request it
// holds parked at stage decode as the function would have parked it, with a reason
// saying where it came from, and the message deleted only once all of them are parked.
// A message it cannot read stays in its queue, and the log says why. The operator's
// `pusher replay list` and `send` then take them as any other parked request.
//
// A request is parked under a UUID made of its own id (adoptedUUID), and one whose
// UUID is parked already is not parked again, as Import does: adopting a message twice
// (its delete failed, or SNS sent it twice) parks its requests once. The UUIDs of q are
// read first, with a listing: one another listing holds hidden at that moment is not
// seen.
func Adopt(ctx context.Context, client SQSAPI, q Queue, cfg AdoptConfig) (Adoption, error) {
	cfg.setDefaults()
	var rep Adoption
	if err := cfg.Validate(); err != nil {
		return rep, fmt.Errorf("adopt config: %w", err)
	}
	parked := map[string]bool{}
	if err := q.List(ctx, 1, func(m *message.Message) error {
		parked[m.UUID] = true
		return nil
	}); err != nil {
		return rep, fmt.Errorf("read what is parked: %w", err)
	}
	held, err := receiveAll(ctx, client, cfg.From, cfg.VisibilityTimeout, cfg.WaitTime, cfg.Logger)
	defer func() { release(client, cfg.From, held, cfg.Logger) }()
	if err != nil {
		return rep, err
	}
	rep.Received = len(held)
	for i := range held {
		if ctx.Err() != nil {
			rep.Left++
			continue
		}
		log := cfg.Logger.With("queue_url", cfg.From, "message_id", aws.ToString(held[i].MessageId))
		reqs, err := lostRequests(held[i])
		if err != nil {
			rep.Unreadable++
			log.Warn("left in the queue: cannot read it", "error", err)
			continue
		}
		if !parkAll(ctx, q, reqs, parked, &rep, log) {
			rep.Failed++
			continue
		}
		if _, err := client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(cfg.From), ReceiptHandle: held[i].ReceiptHandle}); err != nil {
			rep.Failed++
			log.Error("parked, but not deleted from the queue: adopting it again parks nothing twice", "error", err)
			continue
		}
		held[i].ReceiptHandle = nil // deleted: nothing to release
		rep.Deleted++
		log.Info("adopted", "requests", len(reqs))
	}
	if rep.Left > 0 {
		return rep, fmt.Errorf("adopt stopped with %d messages left in the queue: %w", rep.Left, context.Cause(ctx))
	}
	return rep, nil
}

// parkAll parks in q each of reqs not parked already, and reports whether all of them
// are parked now.
func parkAll(ctx context.Context, q Queue, reqs []*message.Message, parked map[string]bool, rep *Adoption, log *slog.Logger) bool {
	for _, m := range reqs {
		if parked[m.UUID] {
			rep.Duplicates++
			continue
		}
		if err := q.Park(ctx, m); err != nil {
			log.Error("left in the queue: a request could not be parked", "uuid", m.UUID, "error", err)
			return false
		}
		parked[m.UUID] = true
		rep.Parked++
	}
	return true
}

// WriteAdoption writes what an Adopt did as an operator reads it: how many messages the
// queue gave, then one line per count with what it means.
func WriteAdoption(w io.Writer, a Adoption) error {
	fmt.Fprintf(w, "received %d\n", a.Received)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	lines := []struct {
		name    string
		n       int
		meaning string
		always  bool
	}{
		{"adopted", a.Parked, "requests parked in the poison queue at stage decode: pusher replay list and send take them from there", true},
		{"parked already", a.Duplicates, "requests an earlier adopt parked (same uuid): not parked twice", false},
		{"deleted", a.Deleted, "messages whose requests are all parked: deleted from the queue", true},
		{"unreadable", a.Unreadable, "neither a Lambda invocation record nor an SNS notification: left in the queue, the log says why", true},
		{"failed", a.Failed, "a request could not be parked, or the message deleted: left in the queue, the log says why; adopt again", true},
		{"left", a.Left, "not reached: the adopt was stopped; left in the queue", false},
	}
	for _, l := range lines {
		if l.n > 0 || l.always {
			fmt.Fprintf(tw, "  %s\t%d\t%s\n", l.name, l.n, l.meaning)
		}
	}
	return tw.Flush()
}
