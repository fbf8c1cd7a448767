package pipeline

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// gateRun acquires credits of a gate for messages of requests, each in its own
// goroutine, and records the order they got them in.
// Call it in a synctest bubble: the waits still on are given up when the test ends.
type gateRun struct {
	t   *testing.T
	g   *gate
	ctx context.Context
	mu  sync.Mutex
	got []string
	// held are the requests that hold a credit, oldest first.
	held []string
}

func newGateRun(t *testing.T, credits int, c gateConfig, bulk ...string) *gateRun {
	loads := func(id string) load { return load{bulk: slices.Contains(bulk, id)} }
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		cancel()
		synctest.Wait()
	})
	return &gateRun{t: t, g: newGate(credits, c, loads), ctx: ctx}
}

// wait starts n messages of request id waiting for a credit, one after the other, and
// returns once they hold one or wait.
func (r *gateRun) wait(id string, n int) {
	for range n {
		go func() {
			if err := r.g.acquire(r.ctx, id, time.Now()); err != nil {
				return // the test ended
			}
			r.mu.Lock()
			r.got = append(r.got, id)
			r.held = append(r.held, id)
			r.mu.Unlock()
		}()
		synctest.Wait()
	}
}

// release gives back the oldest credit held, by the request it returns, once the gate
// handed it on.
func (r *gateRun) release() string {
	r.mu.Lock()
	id := r.held[0]
	r.held = r.held[1:]
	r.mu.Unlock()
	r.g.release(id)
	synctest.Wait()
	return id
}

// releaseOf gives back a credit of request id, once the gate handed it on.
func (r *gateRun) releaseOf(id string) {
	r.mu.Lock()
	i := slices.Index(r.held, id)
	if i < 0 {
		r.mu.Unlock()
		r.t.Fatalf("release %s: it holds no credit", id)
	}
	r.held = slices.Delete(r.held, i, i+1)
	r.mu.Unlock()
	r.g.release(id)
	synctest.Wait()
}

// order returns the requests in the order they got their credits, and forgets them.
func (r *gateRun) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func TestGateTakesRequestsInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRun(t, 2, gateConfig{})
		r.wait("broadcast", 2)
		if got := r.order(); !slices.Equal(got, []string{"broadcast", "broadcast"}) {
			t.Fatalf("free credits went to %v, want both to the broadcast", got)
		}
		// The broadcast's backlog waits; then a second broadcast and a multicast come.
		r.wait("broadcast", 3)
		r.wait("second", 3)
		r.wait("multicast", 1)
		for range 7 {
			r.release()
		}
		// The second broadcast and the multicast have had no credit: they go first, in
		// the order they came; then the two broadcasts take turns.
		want := []string{"second", "multicast", "broadcast", "second", "broadcast", "second", "broadcast"}
		if got := r.order(); !slices.Equal(got, want) {
			t.Errorf("credits went to\n%v, want\n%v", got, want)
		}
	})
}

func TestGateCaps(t *testing.T) {
	tests := []struct {
		name string
		c    gateConfig
		bulk []string
		// waiting are the requests whose messages wait, in order, each with 4.
		waiting []string
		want    []string
	}{
		{
			name:    "a request holds at most perRequest",
			c:       gateConfig{perRequest: 2},
			waiting: []string{"a", "b"},
			want:    []string{"a", "a", "b", "b"},
		},
		{
			name:    "bulk requests hold at most bulkMax together",
			c:       gateConfig{bulkMax: 3},
			bulk:    []string{"a", "b"},
			waiting: []string{"a", "b", "small"},
			want:    []string{"a", "a", "a", "small"},
		},
		{
			name:    "both caps",
			c:       gateConfig{perRequest: 1, bulkMax: 2},
			bulk:    []string{"a", "b", "c"},
			waiting: []string{"a", "b", "c", "small"},
			want:    []string{"a", "b", "small"}, // and one credit left free
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newGateRun(t, 4, tt.c, tt.bulk...)
				for _, id := range tt.waiting {
					r.wait(id, 4)
				}
				if got := r.order(); !slices.Equal(got, tt.want) {
					t.Errorf("4 credits went to %v, want %v", got, tt.want)
				}
			})
		})
	}
}

func TestGateCapFreesInTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newGateRun(t, 2, gateConfig{bulkMax: 1}, "bulk")
		r.wait("bulk", 3)
		r.wait("small", 2)
		r.order()
		// The credit the small request frees goes to its next message, though the bulk
		// request is before it in turn: bulk requests are at their cap. The credit the
		// bulk request frees goes back to it.
		r.releaseOf("small")
		r.releaseOf("bulk")
		if got := r.order(); !slices.Equal(got, []string{"small", "bulk"}) {
			t.Errorf("freed credits went to %v, want [small bulk]", got)
		}
	})
}

func TestGateGivesUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate(1, gateConfig{}, func(string) load { return load{} })
		if err := g.acquire(context.Background(), "a", time.Now()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 1)
		go func() { errs <- g.acquire(ctx, "b", time.Now()) }()
		synctest.Wait()
		cancel()
		if err := <-errs; err != context.Canceled {
			t.Fatalf("a cancelled wait returned %v, want context.Canceled", err)
		}
		// The wait that gave up holds nothing and waits no more: the credit freed goes
		// to the next, and the gate forgets both requests once they are done.
		g.release("a")
		if err := g.acquire(context.Background(), "c", time.Now()); err != nil {
			t.Fatal(err)
		}
		g.release("c")
		if g.release("b") {
			t.Error("released a credit of b, which never had one")
		}
		if g.free != 1 || len(g.lanes) != 0 || len(g.ring) != 0 {
			t.Errorf("after every credit is back: free %d, lanes %d, ring %d; want 1, 0, 0", g.free, len(g.lanes), len(g.ring))
		}
	})
}

func TestGatePaces(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var waits []time.Duration
		pace := newPacer(PaceConfig{Rate: 100, Burst: 5}, nil)
		g := newGate(1000, gateConfig{pace: pace, waited: func(d time.Duration) { waits = append(waits, d) }},
			func(string) load { return load{} })
		start := time.Now()
		for range 25 {
			if err := g.acquire(context.Background(), "a", time.Now()); err != nil {
				t.Fatal(err)
			}
		}
		// 5 at once from the burst, then one each 10ms: 20 more take 200ms.
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Errorf("25 credits at 100/s with a burst of 5 took %v, want 200ms", took)
		}
		if len(waits) != 25 || waits[4] != 0 || waits[5] != 10*time.Millisecond {
			t.Errorf("waits = %v, want 25, the 5th none, the 6th 10ms", waits)
		}
	})
}

// TestGateGivesUpAsItIsGranted frees a credit for a waiting message at the moment its
// wait gives up, many times: whichever wins, the credit is not lost nor given twice.
func TestGateGivesUpAsItIsGranted(t *testing.T) {
	g := newGate(1, gateConfig{}, func(string) load { return load{} })
	for range 2000 {
		if err := g.acquire(context.Background(), "a", time.Now()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error, 1)
		go func() { errs <- g.acquire(ctx, "b", time.Now()) }()
		for {
			g.mu.Lock()
			waiting := len(g.ring) > 0
			g.mu.Unlock()
			if waiting {
				break
			}
			runtime.Gosched()
		}
		go cancel()
		g.release("a")
		if err := <-errs; err == nil {
			g.release("b")
		}
		g.mu.Lock()
		free, lanes, ring := g.free, len(g.lanes), len(g.ring)
		g.mu.Unlock()
		if free != 1 || lanes != 0 || ring != 0 {
			t.Fatalf("after every credit is back: free %d, lanes %d, ring %d; want 1, 0, 0", free, lanes, ring)
		}
	}
}
