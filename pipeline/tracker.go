package pipeline

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/apigw-pusher/apigw-pusher/handlers"
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
	// Split is how many segment tasks the request was split into and put on the task
	// queue (see Pipeline.SplitTo), for the fleet to deliver.
	Split int `json:"split,omitempty"`
}

func (s *Stats) add(d Stats) {
	s.Connections += d.Connections
	s.Delivered += d.Delivered
	s.Pruned += d.Pruned
	s.Connecting += d.Connecting
	s.Failed += d.Failed
	s.Split += d.Split
}

// Shape is what a request addresses, once decoded.
type Shape struct {
	// Kind is multicast, topics (a multicast that names topics), broadcast or
	// exclusion; empty for a request that did not decode.
	Kind string `json:"kind,omitempty"`
	// Users and Topics count the distinct users and topics it names.
	Users  int `json:"users,omitempty"`
	Topics int `json:"topics,omitempty"`
	// Segment is the segment of a segment task, "index/total"; empty for a request.
	Segment string `json:"segment,omitempty"`
}

// KindOf returns the Shape.Kind of req.
func KindOf(req handlers.Request) string {
	if len(req.Topics) > 0 {
		return "topics"
	}
	return string(req.Kind())
}

// Result is what the pipeline reports for an admitted request once nothing derived
// from it is in flight any more, or once it ran out of time.
type Result struct {
	Stats
	Shape
	// CorrelationID is the request's correlation id: its source's, such as the
	// X-Correlation-Id of the dev intake, else the id of the message that carried it.
	CorrelationID string
	// Duration is the time from admission to settlement.
	Duration time.Duration
	// Err is non-nil, an *UnsettledError, when some work could neither be done nor
	// parked: the source message must then be redelivered, not acknowledged.
	Err error
}

// tracker settles requests: it counts, per request, the messages derived from it that
// are still in flight, and reports the request's Result when the count reaches zero.
// A stage adds the messages it emits before it settles the one it took, so the count
// cannot reach zero while work is left. A request whose context ends first is expired:
// its Result is reported at once, and what its messages do afterwards is ignored.
type tracker struct {
	mu       sync.Mutex
	requests map[string]*pending
}

type pending struct {
	inFlight  int
	started   time.Time
	shape     Shape
	stats     Stats
	unsettled unsettled
	load      load
	done      chan Result
}

// load is how a request weighs on the stages' credits (see gate): whether it is bulk,
// one of the large requests whose share of the resolve and fanout credits is capped,
// and the rate its posts are held to, if any (a segment task's share of the fleet's).
type load struct {
	bulk  bool
	share *rate.Limiter
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

// settle records that one message of the request is settled, having done delta, or,
// when err is not nil, having been neither done nor parked.
func (t *tracker) settle(id string, delta Stats, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.requests[id]
	if p == nil {
		return // expired, or abandoned at admission
	}
	p.stats.add(delta)
	if err != nil {
		p.unsettled.add(err)
	}
	p.inFlight--
	if p.inFlight == 0 {
		t.finish(id, p, nil)
	}
}

// describe records what the request addresses and how it weighs.
func (t *tracker) describe(id string, s Shape, l load) {
	t.mu.Lock()
	if p := t.requests[id]; p != nil {
		p.shape, p.load = s, l
	}
	t.mu.Unlock()
}

// loadOf returns how the request weighs, as described; nothing for one not described yet.
func (t *tracker) loadOf(id string) load {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.requests[id]; p != nil {
		return p.load
	}
	return load{}
}

// expire reports the request now, as unsettled because of cause, if it is still open.
func (t *tracker) expire(id string, cause error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p := t.requests[id]; p != nil {
		t.finish(id, p, cause)
	}
}

// finish reports the request's Result and forgets it. Call it with mu held.
func (t *tracker) finish(id string, p *pending, cause error) {
	delete(t.requests, id)
	res := Result{Stats: p.stats, Shape: p.shape, Duration: time.Since(p.started)}
	if cause != nil || p.unsettled.count > 0 {
		res.Err = p.unsettled.err(cause, p.inFlight)
	}
	p.done <- res
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
