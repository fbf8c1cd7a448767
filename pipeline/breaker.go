package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/sony/gobreaker"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

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
