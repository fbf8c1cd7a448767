package pipeline

import (
	"context"
	"slices"
	"sync"
	"time"
)

// gate hands out the credits of one topic (see flow) to the messages of many requests,
// so that a request with little to do is not queued behind a large one, and large ones
// share. Each request is a lane of waiting messages, and the credits that free go round
// the lanes in turn, one message each, a lane that has had none yet first: a multicast
// sent during a broadcast waits for the next credit, not for the broadcast's backlog,
// and two broadcasts get one credit each in turn.
//
// A stage whose messages hold their credit long (resolve holds one for a whole
// broadcast, fanout one per page until its deliveries are all handed to post) caps what
// one request holds (perRequest) and what bulk requests hold together (bulkMax), so that
// credits stay free for the small ones. The post stage's gate paces: a credit is handed
// out only with a token of the pacer, so a post waits for the rate in the gate, in its
// turn, and not in the post stage, where a multicast's would queue behind every post
// already there.
//
// A credit is given back by the id of the request it was taken for, which a message
// keeps (RequestIDKey) from publishing to settling.
type gate struct {
	gateConfig
	// loads tells how a request weighs: whether its lane is bulk.
	loads func(requestID string) load

	mu       sync.Mutex
	free     int
	bulkHeld int
	lanes    map[string]*lane
	// ring holds the lanes with a message waiting and under their own cap, in turn.
	ring []*lane
	// armed is set while a timer waits for the pacer's next token.
	armed bool
}

// lane is one request's messages at a gate.
type lane struct {
	id      string
	bulk    bool
	held    int
	served  bool
	queued  bool
	waiters []*waiter
}

// waiter is one message waiting for a credit.
type waiter struct {
	ready   chan struct{}
	since   time.Time
	granted bool
}

// gateConfig is what a topic's gate caps and paces.
type gateConfig struct {
	// perRequest caps the credits one request holds; 0: no cap.
	perRequest int
	// bulkMax caps the credits bulk requests hold together; 0: no cap.
	bulkMax int
	// pace, if any, paces the credits handed out.
	pace *pacer
	// waited learns how long a message waited for its credit; nil for none.
	waited func(time.Duration)
}

func newGate(credits int, c gateConfig, loads func(requestID string) load) *gate {
	return &gate{gateConfig: c, free: credits, loads: loads, lanes: make(map[string]*lane)}
}

// acquire takes a credit for a message of request id, waiting its turn, or fails when
// ctx is done first. The message has waited since since, which the wait reported counts
// from.
func (g *gate) acquire(ctx context.Context, id string, since time.Time) error {
	g.mu.Lock()
	l := g.lanes[id]
	if l == nil {
		// A lane lives while its request has messages here: asking once per lane
		// keeps the tracker's lock off most messages of most stages.
		l = &lane{id: id, bulk: g.loads(id).bulk}
		g.lanes[id] = l
	}
	if now := time.Now(); len(g.ring) == 0 && g.fits(l) && g.token(now) {
		g.take(l)
		g.observe(now.Sub(since))
		g.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan struct{}, 1), since: since}
	l.waiters = append(l.waiters, w)
	g.enqueue(l)
	g.dispatch()
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
	}
	g.mu.Lock()
	if w.granted {
		g.mu.Unlock()
		g.release(id)
	} else {
		l.waiters = slices.DeleteFunc(l.waiters, func(x *waiter) bool { return x == w })
		if len(l.waiters) == 0 {
			g.dequeue(l)
		}
		g.forget(l)
		g.mu.Unlock()
	}
	return ctx.Err()
}

// release gives back a credit that a message of request id held. It reports false,
// giving back nothing, when the request holds none: its message was not let in through
// acquire, or names another request than it did then.
func (g *gate) release(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	l := g.lanes[id]
	if l == nil || l.held == 0 {
		return false
	}
	l.held--
	g.free++
	if l.bulk {
		g.bulkHeld--
	}
	g.enqueue(l)
	g.forget(l)
	g.dispatch()
	return true
}

// dispatch hands the free credits to the lanes in turn, as far as the caps and the
// pacer let it. It runs under g.mu.
func (g *gate) dispatch() {
	for g.free > 0 {
		i := slices.IndexFunc(g.ring, g.fits)
		if i < 0 {
			return
		}
		now := time.Now()
		if !g.token(now) {
			return
		}
		l := g.ring[i]
		g.ring = slices.Delete(g.ring, i, i+1)
		l.queued = false
		w := l.waiters[0]
		l.waiters = l.waiters[1:]
		g.take(l)
		g.enqueue(l)
		g.observe(now.Sub(w.since))
		w.granted = true
		w.ready <- struct{}{}
	}
}

// token takes a token of the pacer at now, if the gate paces; if there is none yet, it
// arms a timer to dispatch once there is, and reports false.
func (g *gate) token(now time.Time) bool {
	if g.pace == nil {
		return true
	}
	ok, wait := g.pace.take(now)
	if !ok && !g.armed {
		g.armed = true
		time.AfterFunc(wait, func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			g.armed = false
			g.dispatch()
		})
	}
	return ok
}

// fits reports whether a credit may go to l: one is free, and neither l's cap nor the
// bulk requests' is reached.
func (g *gate) fits(l *lane) bool {
	return g.free > 0 && (g.perRequest == 0 || l.held < g.perRequest) &&
		(!l.bulk || g.bulkMax == 0 || g.bulkHeld < g.bulkMax)
}

// take gives l a credit.
func (g *gate) take(l *lane) {
	l.held++
	l.served = true
	g.free--
	if l.bulk {
		g.bulkHeld++
	}
}

// enqueue puts l in turn if a message of it waits and it is under its own cap: at the
// back, but before the lanes that have had a credit if it has had none, so that new
// requests go first, in the order they came.
func (g *gate) enqueue(l *lane) {
	if l.queued || len(l.waiters) == 0 || (g.perRequest > 0 && l.held >= g.perRequest) {
		return
	}
	l.queued = true
	i := len(g.ring)
	if !l.served {
		if j := slices.IndexFunc(g.ring, func(x *lane) bool { return x.served }); j >= 0 {
			i = j
		}
	}
	g.ring = slices.Insert(g.ring, i, l)
}

// forget drops l once it holds nothing and nothing of it waits.
func (g *gate) forget(l *lane) {
	if l.held == 0 && len(l.waiters) == 0 {
		delete(g.lanes, l.id)
	}
}

// dequeue takes l out of turn.
func (g *gate) dequeue(l *lane) {
	if l.queued {
		l.queued = false
		g.ring = slices.DeleteFunc(g.ring, func(x *lane) bool { return x == l })
	}
}

func (g *gate) observe(d time.Duration) {
	if g.waited != nil {
		g.waited(d)
	}
}
