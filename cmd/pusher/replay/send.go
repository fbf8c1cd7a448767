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

// Report counts what a Send did.
type Report struct {
	// Selected is how many messages the filter selected.
	Selected int `json:"selected"`
	// Replayed is how many were re-injected, settled and deleted: of them, Reparked
	// failed again and were parked again as new messages.
	Replayed int `json:"replayed"`
	Reparked int `json:"reparked"`
	// Failed is how many did not settle or could not be deleted; they stay parked,
	// except those whose delete failed after a replay (logged as such).
	Failed int `json:"failed"`
	// Skipped is how many selected messages the target cannot take (deliveries with
	// --to queue).
	Skipped int `json:"skipped"`
	// Left is how many selected messages were not reached because the send was
	// cancelled; they stay parked.
	Left int `json:"left"`
}

// errStopped stops a listing when the send is cancelled.
var errStopped = errors.New("send stopped")

// Send re-injects the selected messages of q through r, cfg.Concurrency at a time, and
// deletes each from q once its replay settled. When ctx is done it stops taking more:
// those in flight finish (within cfg.Timeout) and every message is either replayed and
// deleted or still parked. It returns ctx's error then.
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
			cfg.Progress.Done(p, nil)
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
		stats, err := r.Replay(rctx, m)
		if err != nil {
			count(func(r *Report) { r.Failed++ })
			log.Error("replay did not settle: left parked", "error", err)
			cfg.Progress.Done(p, err)
			return nil
		}
		if err := q.Delete(rctx, m); err != nil {
			count(func(r *Report) { r.Failed++ })
			log.Error("replayed, but the parked copy could not be deleted: it would be replayed again", "error", err)
			cfg.Progress.Done(p, err)
			return nil
		}
		count(func(r *Report) {
			r.Replayed++
			if stats.Failed > 0 {
				r.Reparked++
			}
		})
		log.Info("replayed", "delivered", stats.Delivered, "pruned", stats.Pruned, "failed", stats.Failed)
		cfg.Progress.Done(p, nil)
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
