package pipeline

import (
	"context"
	"log/slog"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// estimateTimeout bounds one ask for the store's estimate, which the other broadcasts
// of the instance wait for.
const estimateTimeout = 10 * time.Second

// estimates keeps the store's estimate of its size for the split decision, so that a
// burst of broadcasts asks the store once, not once each.
type estimates struct {
	counter handlers.ConnectionCounter
	maxAge  time.Duration
	logger  *slog.Logger

	asking   chan struct{} // held while the estimate is asked for: one ask at a time
	asked    time.Time     // when the store was last asked, whatever it answered
	estimate int           // its last estimate, if known
	known    bool
	err      error // why the last ask failed, while no estimate is known
}

func newEstimates(counter handlers.ConnectionCounter, maxAge time.Duration, logger *slog.Logger) *estimates {
	return &estimates{counter: counter, maxAge: maxAge, logger: logger, asking: make(chan struct{}, 1)}
}

// connections returns the store's estimate, asking it at most once every maxAge,
// whether it answered or failed. Once one is known, a failed ask keeps it, as the best
// guess there is.
func (e *estimates) connections(ctx context.Context) (int, error) {
	select {
	case e.asking <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-e.asking }()
	if e.stale() {
		e.ask(ctx)
	}
	if !e.known {
		return 0, e.err
	}
	return e.estimate, nil
}

// stale reports whether the store is due to be asked again.
func (e *estimates) stale() bool {
	return e.asked.IsZero() || time.Since(e.asked) >= e.maxAge
}

// ask asks the store for its estimate and keeps what it answered.
func (e *estimates) ask(ctx context.Context) {
	e.asked = time.Now()
	ctx, cancel := context.WithTimeout(ctx, estimateTimeout)
	n, err := e.counter.EstimateConnections(ctx)
	cancel()
	switch {
	case err == nil:
		e.estimate, e.known, e.err = n, true, nil
	case e.known:
		e.logger.Warn("estimate the connections: keeping the last estimate", "estimate", e.estimate, "error", err)
	default:
		e.err = err
	}
}
