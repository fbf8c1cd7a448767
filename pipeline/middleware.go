package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// errRequestEnded marks the error of work cut short because its request ended: its
// deadline passed, its caller gave up, or the pipeline stopped. Such work is neither
// retried nor parked, and does not count against the gateway.
var errRequestEnded = errors.New("request ended")

// middleware returns the chain every stage runs behind, outermost first (see the
// package documentation).
func (p *Pipeline) middleware(s stage, in, next string) ([]message.HandlerMiddleware, error) {
	poison, err := middleware.PoisonQueueWithFilter(parking{poison: p.poison, retry: p.cfg.Retry, logger: p.logger},
		p.cfg.PoisonTopic, func(err error) bool { return !errors.Is(err, errRequestEnded) })
	if err != nil {
		return nil, err
	}
	chain := []message.HandlerMiddleware{
		middleware.InstantAck,
		p.forward(s, in, next),
		poison,
		annotate,
		p.retry(s),
	}
	if s.resumable {
		chain = append(chain, countStalls)
	}
	if s.name == StagePost && !p.cfg.Breaker.Disabled {
		chain = append(chain, p.breaker())
	}
	chain = append(chain, countAttempts, markEnded, middleware.Recoverer)
	return append(chain, p.extra...), nil
}

// stalledKey counts the runs in a row that failed without moving a resumable message's
// cursor on.
const stalledKey = "stalled_runs"

// stalledError is the error of a run of a resumable message, with the runs in a row that
// failed without moving its cursor on, this one included.
type stalledError struct {
	runs int
	err  error
}

func (e *stalledError) Error() string { return e.err.Error() }
func (e *stalledError) Unwrap() error { return e.err }

// countStalls bounds the retries of a stage that records its progress in CursorKey, the
// resolve stage, by its runs in a row that moved the cursor no further.
func countStalls(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		before := msg.Metadata.Get(CursorKey)
		out, err := h(msg)
		if err == nil {
			return out, nil
		}
		runs := 0
		if msg.Metadata.Get(CursorKey) == before {
			runs, _ = strconv.Atoi(msg.Metadata.Get(stalledKey))
			runs++
		}
		msg.Metadata.Set(stalledKey, strconv.Itoa(runs))
		return out, &stalledError{runs: runs, err: err}
	}
}

// forward publishes what the stage emitted to the next stage's topic and reports to the
// tracker what became of the message. It runs outside the poison middleware, so a parked
// message is settled; only work that could neither be done nor parked fails the request.
func (p *Pipeline) forward(s stage, in, next string) message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) (_ []*message.Message, err error) {
			id := msg.Metadata.Get(RequestIDKey)
			var delta Stats
			defer func() {
				if r := recover(); r != nil {
					p.logger.Error("panic in a stage's chain", "request_id", id, "stage", s.name,
						"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = fmt.Errorf("%s: panic outside the stage: %v", s.name, r)
				}
				p.flow.release(in)
				p.observers.Progressed(delta) // before settle: a settled request's progress is all observed
				p.tracker.settle(id, delta, err)
			}()
			if p.ended(msg) {
				return nil, nil
			}
			out, err := h(msg)
			if err == nil && len(out) > 0 {
				for i, m := range out {
					if m == msg { // passed on as it came: the bus hands messages over, and msg is still read here
						m = msg.Copy()
						m.SetContext(msg.Context())
						out[i] = m
					}
					carry(msg, m)
				}
				p.tracker.add(id, len(out))
				if sent, perr := p.flow.publish(msg.Context(), next, out...); perr != nil {
					p.tracker.add(id, sent-len(out)) // those sent are in flight and settle themselves
					err = fmt.Errorf("%s: forward: %w", s.name, perr)
				}
			}
			reason := msg.Metadata.Get(middleware.ReasonForPoisonedKey)
			switch {
			case p.ended(msg):
				return nil, nil
			case err == nil && reason != "":
				delta.Failed++
				p.observers.Parked(s.name, Class(msg.Metadata.Get(ErrorClassKey)))
				p.logger.Warn("message parked", "request_id", id, "stage", s.name,
					"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg),
					"error_class", msg.Metadata.Get(ErrorClassKey), "reason", reason)
			case err != nil && reason != "":
				p.observers.ParkFailed(s.name, err)
				p.logger.Error("message neither done nor parked", "request_id", id, "stage", s.name,
					"connection_id", msg.Metadata.Get(ConnectionIDKey), "attempts", attempts(msg), "error", err)
			case err == nil && s.note != nil:
				s.note(&delta, msg, out)
			}
			return nil, err
		}
	}
}

// ended reports whether msg's request has ended (its deadline passed, its caller gave up,
// the pipeline stopped) and, if so, makes sure the tracker reports it unsettled: what its
// messages do from then on counts for nothing, and its source redelivers it.
func (p *Pipeline) ended(msg *message.Message) bool {
	ctx := msg.Context()
	if ctx.Err() == nil {
		return false
	}
	p.tracker.expire(msg.Metadata.Get(RequestIDKey), context.Cause(ctx))
	return true
}

// markEnded marks the error of a run cut short because its request ended.
func markEnded(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil && msg.Context().Err() != nil {
			err = endedBy(msg.Context(), err)
		}
		return out, err
	}
}

// endedBy marks err as the error of work cut short because ctx, its request's, ended.
func endedBy(ctx context.Context, err error) error {
	return fmt.Errorf("%w (%v): %w", errRequestEnded, context.Cause(ctx), err)
}

// retry returns the middleware that runs a stage again after a transient error, up to
// Retry.MaxAttempts runs (a resumable stage's until countStalls bounds them), waiting
// the configured exponential backoff before each retry, unless its request ends first.
//
// It replaces Watermill's middleware.Retry, which reads its backoff twice per failed run
// once ShouldRetry is set (once for RetryParams.Delay, once to wait), so that it waited
// the interval after the configured one each time, about four times as long: 200ms,
// 800ms, 3.2s, 5s instead of 100, 200, 400, 800ms for 100ms ×2. No setting avoids the
// annotate records the class of a failure and when it happened.
func annotate(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			msg.Metadata.Set(ErrorClassKey, string(Classify(err)))
			if msg.Metadata.Get(FirstFailedAtKey) == "" {
				msg.Metadata.Set(FirstFailedAtKey, now)
			}
			msg.Metadata.Set(LastFailedAtKey, now)
		}
		return out, err
	}
}

// countAttempts counts each run of the handler, carrying on the count of a replayed message.
func countAttempts(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		msg.Metadata.Set(AttemptsKey, strconv.Itoa(attempts(msg)+1))
		return h(msg)
	}
}
