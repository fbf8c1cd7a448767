package console

import (
	"sync"
	"time"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The pipeline calls these on its hot path, concurrently: each takes a lock for a few
// additions and returns. Streams read what they record later, at their own pace.
// ParkFailed and BreakerChanged are NopObserver's: a request a failed park leaves
// unsettled shows when it settles with an error.
var _ pipeline.Observer = (*Console)(nil)

// RequestAdmitted implements pipeline.Observer: one more request in flight.
func (c *Console) RequestAdmitted() {
	c.meter.count(func(m *meter) { m.inFlight++ })
}

// RequestSettled implements pipeline.Observer: the request is kept for the streams, and
// counted.
func (c *Console) RequestSettled(res pipeline.Result) {
	c.meter.count(func(m *meter) {
		m.inFlight--
		m.cur.Requests++
	})
	c.recent.add(requestOf(res))
}

// Progressed implements pipeline.Observer: deliveries and prunes are counted.
func (c *Console) Progressed(delta pipeline.Stats) {
	c.meter.count(func(m *meter) {
		m.cur.Delivered += delta.Delivered
		m.cur.Pruned += delta.Pruned
	})
}

// Parked implements pipeline.Observer: the park is counted.
func (c *Console) Parked(string, pipeline.Class) {
	c.meter.count(func(m *meter) { m.cur.Parked++ })
}

// Posted implements pipeline.Observer: the post attempt and its time are counted, and
// a 429 as throttled. pipeline.PostResult says which, as it does for the metrics and
// EMF adapters, so that the console's 429s are their result="throttled".
func (c *Console) Posted(took time.Duration, err error) {
	throttled := pipeline.PostResult(err) == "throttled"
	c.meter.count(func(m *meter) {
		m.cur.Posts++
		m.postSum += took
		m.postMax = max(m.postMax, took)
		if throttled {
			m.cur.Throttled++
		}
	})
}

// PostQueued implements pipeline.Observer: the delivery's wait for its turn is counted.
func (c *Console) PostQueued(waited time.Duration) {
	c.meter.count(func(m *meter) {
		m.cur.Waits++
		m.waitSum += waited
	})
}

// PostRate implements pipeline.Observer: the rate is kept for the samples from this
// second on.
func (c *Console) PostRate(rate float64) {
	c.meter.count(func(m *meter) { m.postRate = rate })
}

// Request is a settled request, the `request` event.
type Request struct {
	CorrelationID string `json:"correlation_id"`
	Kind          string `json:"kind"`
	Users         int    `json:"users"`
	Topics        int    `json:"topics"`
	Connections   int    `json:"connections"`
	Delivered     int    `json:"delivered"`
	Pruned        int    `json:"pruned"`
	Connecting    int    `json:"connecting"`
	Failed        int    `json:"failed"`
	Split         int    `json:"split"`
	// DurationMs is the time from admission to settlement.
	DurationMs float64 `json:"duration_ms"`
	// Error says why the request could not be settled; empty when it settled.
	Error string `json:"error,omitempty"`
}

func requestOf(res pipeline.Result) Request {
	r := Request{CorrelationID: res.CorrelationID, Kind: res.Kind, Users: res.Users, Topics: res.Topics,
		Connections: res.Connections, Delivered: res.Delivered, Pruned: res.Pruned, Connecting: res.Connecting,
		Failed: res.Failed, Split: res.Split, DurationMs: ms(res.Duration)}
	if res.Err != nil {
		r.Error = res.Err.Error()
	}
	return r
}

// recent keeps the last settled requests, numbered, and wakes the streams waiting for
// the next one.
type recent struct {
	mu   sync.Mutex
	ring []Request
	next uint64        // the number the next request gets; ring holds those before it
	more chan struct{} // closed, and replaced, when a request is added
}

func newRecent(size int) *recent {
	return &recent{ring: make([]Request, size), more: make(chan struct{})}
}

func (r *recent) add(req Request) {
	r.mu.Lock()
	r.ring[r.next%uint64(len(r.ring))] = req
	r.next++
	close(r.more)
	r.more = make(chan struct{})
	r.mu.Unlock()
}

// since returns the requests numbered from n on that are still kept, oldest first, the
// number of the next one, and a channel closed when there is a next one.
func (r *recent) since(n uint64) (reqs []Request, next uint64, more <-chan struct{}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := max(n, r.next-min(r.next, uint64(len(r.ring))))
	for i := first; i < r.next; i++ {
		reqs = append(reqs, r.ring[i%uint64(len(r.ring))])
	}
	return reqs, r.next, r.more
}

// latest returns the number of the first of the last n requests.
func (r *recent) latest(n int) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.next - min(r.next, uint64(n))
}
