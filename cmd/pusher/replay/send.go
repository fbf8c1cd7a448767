package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Target is where a send re-injects a message.
type Target string

const (
	// ToStage re-injects each message at the stage it failed in.
	ToStage Target = "stage"
	// ToQueue sends each parked request back to the notifications queue; deliveries
	// are skipped.
	ToQueue Target = "queue"
)

// SendConfig is the configuration of a Send.
type SendConfig struct {
	// Filter selects the messages sent.
	Filter Filter
	// DryRun changes nothing: it reports what would be sent.
	DryRun bool
	// Rate is the most messages sent per second; 0 is no limit.
	Rate float64
	// Concurrency is how many messages are replayed at once; default
	// DefaultSendConcurrency. A replay after an outage holds thousands of deliveries:
	// one at a time, each waiting for its post and its delete, they would take minutes.
	Concurrency int
	// Target tells where the messages go; default ToStage. The Replayer must match it.
	Target Target
	// Timeout bounds the replay of one message, which goes on when the send is
	// cancelled; default pipeline.DefaultCloseTimeout, the pipeline's default grace.
	// What is left of it then is cut short, and the message stays parked.
	Timeout time.Duration
	// Progress is told of each message; default none.
	Progress Progress
	// Logger logs each message; default slog.Default().
	Logger *slog.Logger
}

func (c *SendConfig) setDefaults() {
	if c.Target == "" {
		c.Target = ToStage
	}
	if c.Timeout == 0 {
		c.Timeout = pipeline.DefaultCloseTimeout
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultSendConcurrency
	}
	if c.Progress == nil {
		c.Progress = nopProgress{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate reports a setting that cannot work.
func (c SendConfig) Validate() error {
	switch {
	case c.Target != ToStage && c.Target != ToQueue:
		return fmt.Errorf("target %q is neither %s nor %s", c.Target, ToStage, ToQueue)
	case c.Rate < 0:
		return fmt.Errorf("rate %v is below 0", c.Rate)
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d is below 0", c.Concurrency)
	case c.Timeout < 0:
		return fmt.Errorf("timeout %s is below 0", c.Timeout)
	}
	return nil
}

// Report counts what a Send did: each message selected is counted once, under its
// Outcome, as skipped or as left.
type Report struct {
	// Selected is how many messages the filter selected.
	Selected int `json:"selected"`
	// Delivered, Pruned, ParkedAgain, NoConnection and Requeued counted messages left
	// the poison queue (see their Outcome); Connecting and Failed ones are still in it.
	Delivered    int `json:"delivered"`
	Pruned       int `json:"pruned"`
	Connecting   int `json:"connecting"`
	ParkedAgain  int `json:"parked_again"`
	Failed       int `json:"failed"`
	NoConnection int `json:"no_connection"`
	Requeued     int `json:"requeued"`
	// Skipped is how many selected messages were not sent: deliveries with --to
	// queue, payloads truncated to fit the poison queue. They stay parked.
	Skipped int `json:"skipped"`
	// Left is how many selected messages were not reached because the send was
	// cancelled; they stay parked.
	Left int `json:"left"`
}

// Count returns how many messages had outcome o.
func (r Report) Count(o Outcome) int {
	switch o {
	case Delivered:
		return r.Delivered
	case Pruned:
		return r.Pruned
	case Connecting:
		return r.Connecting
	case ParkedAgain:
		return r.ParkedAgain
	case Failed:
		return r.Failed
	case NoConnection:
		return r.NoConnection
	case Requeued:
		return r.Requeued
	}
	return 0
}

// Parked is how many selected messages are still in the poison queue as they were:
// connecting, failed, skipped and left.
func (r Report) Parked() int { return r.Connecting + r.Failed + r.Skipped + r.Left }

func (r *Report) add(o Outcome) {
	switch o {
	case Delivered:
		r.Delivered++
	case Pruned:
		r.Pruned++
	case Connecting:
		r.Connecting++
	case ParkedAgain:
		r.ParkedAgain++
	case Failed:
		r.Failed++
	case NoConnection:
		r.NoConnection++
	case Requeued:
		r.Requeued++
	}
}

// errStopped stops a listing when the send is cancelled.
var errStopped = errors.New("send stopped")

// Send re-injects the selected messages of q through r, cfg.Concurrency at a time, and
// counts each under its Outcome. It deletes a message from q only once its replay is
// delivered, pruned or safely parked again (see Outcome.Leaves): one still connecting,
// or whose replay did not settle, stays parked. When ctx is done it stops taking more:
// those in flight finish (within cfg.Timeout) and every message is either done with
// or still parked. It returns ctx's error then.
func Send(ctx context.Context, q Queue, r Replayer, cfg SendConfig) (Report, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return Report{}, fmt.Errorf("send config: %w", err)
	}
	var tick <-chan time.Time
	if cfg.Rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
		defer t.Stop()
		tick = t.C
	}
	defer cfg.Progress.Close()
	var (
		mu    sync.Mutex // guards rep
		rep   Report
		first atomic.Bool
	)
	first.Store(true)
	count := func(f func(*Report)) {
		mu.Lock()
		f(&rep)
		mu.Unlock()
	}
	err := q.List(ctx, cfg.Concurrency, func(m *message.Message) error {
		p := pipeline.ParkedFrom(m)
		if !cfg.Filter.Match(p) {
			return nil
		}
		count(func(r *Report) { r.Selected++ })
		if ctx.Err() != nil {
			count(func(r *Report) { r.Left++ })
			return nil // counted, not sent: the listing releases it
		}
		log := cfg.Logger.With("uuid", p.UUID, "stage", p.Stage, "user_id", p.UserID, "connection_id", p.ConnectionID)
		if cfg.Target == ToQueue && !Requeueable(p) {
			count(func(r *Report) { r.Skipped++ })
			log.Info("skip: not a request, cannot go back to the queue")
			return nil
		}
		if from := m.Metadata.Get(sqs.TruncatedFromKey); from != "" {
			count(func(r *Report) { r.Skipped++ })
			log.Warn("skip: its payload was truncated to fit the poison queue; export it to see what is left", "payload_bytes", from)
			return nil
		}
		if cfg.DryRun {
			log.Info("would replay", "to", string(cfg.Target), "attempts", p.Attempts, "reason", p.Reason)
			return nil
		}
		if tick != nil && !first.CompareAndSwap(true, false) {
			select {
			case <-tick:
			case <-ctx.Done():
				count(func(r *Report) { r.Left++ })
				return nil
			}
		}
		// A replay that began finishes even if the send is cancelled: a half-done
		// replay could leave a message neither parked nor delivered.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.Timeout)
		defer cancel()
		o := settle(rctx, q, r, m, cfg.Target, log)
		count(func(r *Report) { r.add(o) })
		cfg.Progress.Done(p, o)
		return nil
	})
	if err != nil {
		return rep, err
	}
	if rep.Left > 0 {
		return rep, fmt.Errorf("send stopped with %d selected messages left parked: %w", rep.Left, context.Cause(ctx))
	}
	return rep, nil
}

// settle replays m through r and removes it from q once its replay is delivered,
// pruned, parked again or otherwise done with; a message still connecting, or whose
// replay did not settle, stays parked. It returns m's outcome.
func settle(ctx context.Context, q Queue, r Replayer, m *message.Message, to Target, log *slog.Logger) Outcome {
	stats, err := r.Replay(ctx, m)
	if err != nil {
		log.Error("replay did not settle: left parked", "error", err)
		return Failed
	}
	o := Classify(stats)
	if to == ToQueue {
		o = Requeued
	}
	log = log.With("outcome", string(o), "delivered", stats.Delivered, "pruned", stats.Pruned,
		"connecting", stats.Connecting, "failed", stats.Failed)
	if !o.Leaves() {
		log.Info("replayed: still connecting, left parked")
		return o
	}
	if err := q.Delete(ctx, m); err != nil {
		log.Error("replayed, but the parked copy could not be removed: it would be replayed again", "error", err)
		return Failed
	}
	log.Info("replayed")
	return o
}
