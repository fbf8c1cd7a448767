package pipeline

import (
	"errors"
	"math"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/cenkalti/backoff/v5"
)

// retry returns the middleware that runs a stage again after a transient error, up to
// Retry.MaxAttempts runs (a resumable stage's until countStalls bounds them), waiting
// the configured exponential backoff before each retry, unless its request ends first.
//
// It replaces Watermill's middleware.Retry, which reads its backoff twice per failed run
// once ShouldRetry is set (once for RetryParams.Delay, once to wait), so that it waited
// the interval after the configured one each time, about four times as long: 200ms,
// 800ms, 3.2s, 5s instead of 100, 200, 400, 800ms for 100ms ×2. No setting avoids the
// second read, and the pipeline needs ShouldRetry to retry only transient errors.
func (p *Pipeline) retry(s routerStage) message.HandlerMiddleware {
	r := p.cfg.Retry
	runs := r.MaxAttempts
	if s.resumable {
		runs = math.MaxInt // countStalls bounds them
	}
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			ctx := msg.Context()
			wait := newBackOff(r)
			for run := 1; ; run++ {
				msg.SetContext(ctx) // as Watermill's ResetContextOnRetry: a run may have replaced it
				out, err := h(msg)
				if err == nil || run >= runs || !retryable(err, r.MaxAttempts) {
					return out, err
				}
				timer := time.NewTimer(wait.NextBackOff())
				select {
				case <-timer.C:
				case <-ctx.Done():
					timer.Stop()
					return out, endedBy(ctx, err)
				}
				// A post's first run had its token at the gate (see gate); a rerun takes
				// one here, where it holds its credit: reruns are few.
				if pace := p.pace; pace != nil && s.name == StagePost && pace.wait(ctx) != nil {
					return out, endedBy(ctx, err)
				}
			}
		}
	}
}

// retryable reports whether a run that failed with err may pass if run again: a
// transient error of a request still on, and of a resumable message that got on
// within its last maxAttempts runs.
func retryable(err error, maxAttempts int) bool {
	var st *stalledError
	if errors.As(err, &st) && st.runs >= maxAttempts {
		return false
	}
	return Classify(err) == Transient && !errors.Is(err, errRequestEnded)
}

// newBackOff returns the waits between the runs of a message, or the parks of one, as r
// configures them. Each wait is read once, with NextBackOff, before it is waited.
func newBackOff(r RetryConfig) *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     r.InitialInterval,
		RandomizationFactor: max(r.Jitter, 0), // NoJitter is below 0
		Multiplier:          r.Multiplier,
		MaxInterval:         r.MaxInterval,
	}
	b.Reset()
	return b
}
