package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/sony/gobreaker"

	"github.com/apigw-pusher/apigw-pusher/handlers"
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

// breaker returns the post stage's circuit breaker, on sony/gobreaker as Watermill's
// middleware.CircuitBreaker is, but one that holds posts instead of refusing them: a
// post the open breaker refuses waits for it to half-open, then for its probes to
// decide, and is made once the breaker closes, within its request's deadline. A short
// outage so delays a broadcast by the time the breaker stays open and parks nothing;
// posts that fail meanwhile (the probes) go through the retries and the poison queue as
// any other; an outage longer than a request's deadline ends the request, which its
// source redelivers, rather than parking each of its posts.
func (p *Pipeline) breaker() message.HandlerMiddleware {
	b := p.cfg.Breaker
	gb := &gatewayBreaker{openFor: b.OpenFor, changed: make(chan struct{})}
	gb.cb = gobreaker.NewCircuitBreaker(gobreaker.Settings{
		Name:         StagePost,
		MaxRequests:  uint32(b.Probes),
		Timeout:      b.OpenFor,
		ReadyToTrip:  func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= uint32(b.Failures) },
		IsSuccessful: func(err error) bool { return !gatewayFailing(err) },
		OnStateChange: func(_ string, _, to gobreaker.State) {
			gb.changedTo(to)
			switch to {
			case gobreaker.StateOpen:
				p.logger.Warn("gateway circuit breaker open: posts wait until it half-opens", "open_for", b.OpenFor)
				p.observers.BreakerChanged(true)
			case gobreaker.StateClosed:
				p.logger.Info("gateway circuit breaker closed: posting again")
				p.observers.BreakerChanged(false)
			}
		},
	})
	return gb.middleware
}

// gatewayFailing tells what a post's outcome says of the gateway: it is failing when
// it answers 5xx or 408, nothing at all (a transient error without a status), or 401 or
// 403 (a signature, token or clock the poster's corrected retry did not mend, or a
// missing grant: every post would be refused alike). A post delivered, gone (410),
// refused for its own sake (413 too large, 400, no frame), throttled (429: the gateway
// is up and asks for less) or cut because its request ended counts as a success.
func gatewayFailing(err error) bool {
	switch {
	case err == nil, errors.Is(err, errRequestEnded), errors.Is(err, handlers.ErrGone), errors.Is(err, handlers.ErrThrottled):
		return false
	}
	var answer interface{ HTTPStatusCode() int }
	if errors.As(err, &answer) {
		s := answer.HTTPStatusCode()
		return s >= 500 || s == http.StatusRequestTimeout || s == http.StatusUnauthorized || s == http.StatusForbidden
	}
	return !handlers.IsPermanent(err)
}

// gatewayBreaker is a circuit breaker whose refused posts wait for it to change state.
// gobreaker moves from open to half-open only when asked after its timeout, so a post
// refused while it is open waits until then (halfOpen) and asks again; one refused
// while it is half-open, its probes all out, waits for them to close or open it.
type gatewayBreaker struct {
	cb      *gobreaker.CircuitBreaker
	openFor time.Duration

	mu       sync.Mutex
	changed  chan struct{} // closed at the next change of state
	halfOpen time.Time     // when the breaker last opened lets its probes through
}

// changedTo wakes the posts waiting for the breaker, which is now in state to. It
// runs under gobreaker's lock, so it does not call the breaker.
func (b *gatewayBreaker) changedTo(to gobreaker.State) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if to == gobreaker.StateOpen {
		b.halfOpen = time.Now().Add(b.openFor) // just after gobreaker's own
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// watch returns what a post refused after it must wait for.
func (b *gatewayBreaker) watch() (changed <-chan struct{}, halfOpen time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed, b.halfOpen
}

func (b *gatewayBreaker) middleware(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		for {
			changed, halfOpen := b.watch()
			ran := false
			out, err := b.cb.Execute(func() (any, error) {
				ran = true
				return h(msg)
			})
			if ran {
				res, _ := out.([]*message.Message)
				return res, err
			}
			if err := b.wait(msg.Context(), err, changed, halfOpen); err != nil {
				return nil, err
			}
		}
	}
}

// wait waits for the breaker that refused a post with refusal to change state, or, if
// it was open, to be due to half-open. It returns an error if the post's request ends
// first.
func (b *gatewayBreaker) wait(ctx context.Context, refusal error, changed <-chan struct{}, halfOpen time.Time) error {
	var due <-chan time.Time
	if errors.Is(refusal, gobreaker.ErrOpenState) {
		timer := time.NewTimer(max(time.Until(halfOpen), time.Millisecond))
		defer timer.Stop()
		due = timer.C
	}
	select {
	case <-changed:
	case <-due:
	case <-ctx.Done():
		return endedBy(ctx, fmt.Errorf("waiting for the gateway's circuit breaker (%v)", refusal))
	}
	return nil
}
