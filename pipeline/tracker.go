package pipeline

import (
	"errors"
	"sync"
	"time"
)

// Stats counts what became of one request's deliveries.
type Stats struct {
	// Connections is how many deliveries fan-out made.
	Connections int `json:"connections"`
	// Delivered is how many the gateway took.
	Delivered int `json:"delivered"`
	// Pruned is how many stale connections were deleted.
	Pruned int `json:"pruned"`
	// Connecting is how many deliveries the gateway answered 410 for a connection too
	// young to prune: one still in $connect (see Config.PruneGrace).
	Connecting int `json:"connecting"`
	// Failed is how many messages were parked in the poison queue.
	Failed int `json:"failed"`
}

// Result is what the pipeline reports for an admitted request once nothing derived
// from it is in flight any more.
type Result struct {
	Stats
	// Duration is the time from admission to settlement.
	Duration time.Duration
	// Err is non-nil when some work could neither be done nor parked; the source
	// message must then be redelivered, not acknowledged.
	Err error
}

// tracker settles requests: it counts, per request, the messages derived from it that
// are still in flight, and reports the request's Result when the count reaches zero.
// A stage adds the messages it emits before it settles the one it took, so the count
// cannot reach zero while work is left.
type tracker struct {
	mu       sync.Mutex
	requests map[string]*pending
}

type pending struct {
	inFlight int
	started  time.Time
	result   Result
	done     chan Result
}

func newTracker() *tracker {
	return &tracker{requests: make(map[string]*pending)}
}

// begin registers a request with one message in flight and returns the channel its
// Result arrives on.
func (t *tracker) begin(id string) <-chan Result {
	p := &pending{inFlight: 1, started: time.Now(), done: make(chan Result, 1)}
	t.mu.Lock()
	t.requests[id] = p
	t.mu.Unlock()
	return p.done
}

// add records n more (or, negative, fewer) messages in flight for the request.
func (t *tracker) add(id string, n int) {
	if n == 0 {
		return
	}
	t.mu.Lock()
	if p := t.requests[id]; p != nil {
		p.inFlight += n
	}
	t.mu.Unlock()
}

// settle records that one message of the request is settled, counting what became of
// it with note and, for work that could not be parked, err.
func (t *tracker) settle(id string, note func(*Stats), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.requests[id]
	if p == nil {
		return
	}
	if note != nil {
		note(&p.result.Stats)
	}
	p.result.Err = errors.Join(p.result.Err, err)
	p.inFlight--
	if p.inFlight > 0 {
		return
	}
	delete(t.requests, id)
	p.result.Duration = time.Since(p.started)
	p.done <- p.result
}

// abandon forgets a request whose first message could not even be published.
func (t *tracker) abandon(id string) {
	t.mu.Lock()
	delete(t.requests, id)
	t.mu.Unlock()
}

// open returns how many requests are unsettled.
func (t *tracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.requests)
}
