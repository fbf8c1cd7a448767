package pipeline

import (
	"errors"
	"math"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// second read, and the pipeline needs ShouldRetry to retry only transient errors.
func (p *Pipeline) retry(s stage) message.HandlerMiddleware {
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
