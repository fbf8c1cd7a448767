package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// runOn runs, until the test ends, a pipeline with cfg (taken as is) over a memory store
// of conns, posting to gw, parking on poison and reporting to o.
func runOn(t *testing.T, cfg pipeline.Config, gw handlers.Poster, poison *memory.PoisonQueue, o pipeline.Observer, conns []handlers.Connection, stages ...pipeline.Stage) *pipeline.Pipeline {
	t.Helper()
	store := memory.NewStore(100)
	for _, c := range conns {
		_ = store.AddConnection(t.Context(), c)
	}
	return runStore(t, cfg, store, gw, poison, o, stages...)
}

// runStore runs, until the test ends, a pipeline with cfg (taken as is) over store,
// posting to gw, parking on poison and reporting to o.
func runStore(t *testing.T, cfg pipeline.Config, store *memory.Store, gw handlers.Poster, poison *memory.PoisonQueue, o pipeline.Observer, stages ...pipeline.Stage) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.New(cfg, store, gw, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if o != nil {
		p.Observe(o)
	}
	for _, s := range stages {
		if err := p.Insert(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()
	return p
}

// TestRetryWaitsWhatItIsConfiguredTo fails a post four times through the pipeline and
// measures the waits between its attempts: 100, 200, 400 and 800ms for 100ms ×2 without
// jitter, each within 20%. (Watermill's retry read its backoff twice per attempt: the
// waits were 200ms, 800ms, 3.2s and 5s.) A loaded machine can only make a wait longer,
// so a measure over 20% is taken again, up to three times in all.
func TestRetryWaitsWhatItIsConfiguredTo(t *testing.T) {
	var mu sync.Mutex
	at := map[string][]time.Time{}
	gw := gatewayFunc(func(_ context.Context, id string, _ []byte) error {
		mu.Lock()
		defer mu.Unlock()
		at[id] = append(at[id], time.Now())
		if len(at[id]) <= 4 {
			return errors.New("503 service unavailable")
		}
		return nil
	})
	cfg := pipeline.Config{Retry: pipeline.RetryConfig{
		MaxAttempts: 5, InitialInterval: 100 * time.Millisecond, Multiplier: 2, MaxInterval: 5 * time.Second, Jitter: pipeline.NoJitter,
	}}
	p := runOn(t, cfg, gw, memory.NewPoisonQueue(), nil, users(3))
	configured := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}

	for try := range 3 {
		user := fmt.Sprintf("u%03d", try)
		res, err := p.Process(within(t, 30*time.Second), request(fmt.Sprintf(`{"users":[%q],"data":1}`, user)))
		if err != nil || res.Delivered != 1 {
			t.Fatalf("Process = %+v, %v; want delivered on the fifth attempt", res.Stats, err)
		}
		mu.Lock()
		posts := at[fmt.Sprintf("c%03d", try)]
		mu.Unlock()
		if len(posts) != 5 {
			t.Fatalf("%d attempts, want 5", len(posts))
		}
		late := false
		for i, want := range configured {
			got := posts[i+1].Sub(posts[i])
			t.Logf("try %d, wait %d: %s (configured %s)", try+1, i+1, got.Round(time.Millisecond), want)
			if got < want*8/10 {
				t.Fatalf("wait %d: %s, want %s ± 20%%", i+1, got, want)
			}
			late = late || got > want*12/10
		}
		if !late {
			return
		}
	}
	t.Errorf("three tries each had a wait over 20%% longer than configured")
}

// breakerLog is an observer that records the breaker's changes.
type breakerLog struct {
	pipeline.NopObserver
	opened, closed atomic.Int64
}

func (b *breakerLog) BreakerChanged(open bool) {
	if open {
		b.opened.Add(1)
	} else {
		b.closed.Add(1)
	}
}

// statusError is a post's error with the HTTP status of the gateway's answer, as
// apigw.Error has.
type statusError struct{ status int }

func (e statusError) Error() string       { return fmt.Sprintf("status %d", e.status) }
func (e statusError) HTTPStatusCode() int { return e.status }

// TestBreakerCountsAFailingGateway answers every post of a broadcast with one error:
// the breaker opens for a gateway that fails (5xx, 408, no answer, a signature or grant
// it refuses, 401 or 403, even as a permanent error) and not for answers about the post
// itself (410, 413, 400, 429, no frame).
func TestBreakerCountsAFailingGateway(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		wantOpen bool
	}{
		{"503", statusError{503}, true},
		{"500", statusError{500}, true},
		{"408", statusError{408}, true},
		{"no answer", errors.New("dial tcp: connection refused"), true},
		{"signature still refused", statusError{403}, true},
		{"forbidden for good", handlers.Permanent(statusError{403}), true},
		{"unauthorized", handlers.Permanent(statusError{401}), true},
		{"gone", fmt.Errorf("%w: %w", handlers.ErrGone, statusError{410}), false},
		{"too large", handlers.Permanent(statusError{413}), false},
		{"bad request", handlers.Permanent(statusError{400}), false},
		{"throttled", fmt.Errorf("%w: %w", handlers.ErrThrottled, statusError{429}), false},
		{"no frame", handlers.Permanent(errors.New("no frame")), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gw := gatewayFunc(func(context.Context, string, []byte) error { return tc.err })
			o := &breakerLog{}
			cfg := pipeline.Config{
				PostConcurrency: 4,
				Retry:           pipeline.RetryConfig{MaxAttempts: 1},
				Breaker:         pipeline.BreakerConfig{Failures: 5, OpenFor: time.Minute, Probes: 1},
			}
			p := runOn(t, cfg, gw, memory.NewPoisonQueue(), o, users(20))

			_, _ = p.Process(within(t, 300*time.Millisecond), request(`{"data":1}`))

			if open := o.opened.Load() > 0; open != tc.wantOpen {
				t.Errorf("breaker opened: %v, want %v", open, tc.wantOpen)
			}
		})
	}
}

// outage is a gateway that answers 503 to every post for a while from the moment it
// has taken from frames, and records the frames it takes.
type outage struct {
	from  int64
	lasts time.Duration

	taken    atomic.Int64
	refused  atomic.Int64
	startsAt atomic.Pointer[time.Time]
	mu       sync.Mutex
	frames   map[string]int
}

func (g *outage) PostToConnection(_ context.Context, id string, _ []byte) error {
	if start := g.startsAt.Load(); start != nil && time.Since(*start) < g.lasts {
		g.refused.Add(1)
		return statusError{503}
	}
	if g.taken.Add(1) == g.from {
		now := time.Now()
		g.startsAt.Store(&now)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.frames[id]++
	return nil
}

// TestBreakerHoldsPostsThroughAnOutage broadcasts to 10,000 connections through a
// gateway that answers 503 for one second from its 3,000th frame: the breaker opens and
// holds the posts instead of parking them, its probes decide when it closes, and the
// broadcast ends with every frame delivered exactly once and nothing parked; with the
// default settings, and with a breaker that half-opens several times in the outage.
func TestBreakerHoldsPostsThroughAnOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 10,000-connection broadcast through an outage of a second")
	}
	tests := []struct {
		name    string
		breaker pipeline.BreakerConfig
	}{
		{"defaults", pipeline.BreakerConfig{}},
		{"open for 200ms", pipeline.BreakerConfig{OpenFor: 200 * time.Millisecond}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			const n = 10_000
			gw := &outage{from: 3_000, lasts: time.Second, frames: map[string]int{}}
			poison := memory.NewPoisonQueue()
			o := &breakerLog{}
			p := runOn(t, pipeline.Config{Breaker: tc.breaker}, gw, poison, o, users(n))

			began := time.Now()
			res, err := p.Process(within(t, time.Minute), request(`{"data":1}`))
			took := time.Since(began)

			if err != nil || res.Delivered != n || res.Failed != 0 {
				t.Fatalf("Process = %+v, %v; want %d delivered, none parked", res.Stats, err, n)
			}
			if parked := poison.Messages(); len(parked) != 0 {
				t.Errorf("%d deliveries parked, want none", len(parked))
			}
			gw.mu.Lock()
			defer gw.mu.Unlock()
			if len(gw.frames) != n {
				t.Errorf("%d connections got a frame, want %d", len(gw.frames), n)
			}
			for id, k := range gw.frames {
				if k != 1 {
					t.Errorf("%s got %d frames, want 1", id, k)
				}
			}
			if o.opened.Load() == 0 || o.closed.Load() == 0 {
				t.Errorf("the breaker opened %d and closed %d times, want both", o.opened.Load(), o.closed.Load())
			}
			t.Logf("%d delivered in %s; %d posts answered 503, breaker opened %d times", res.Delivered,
				took.Round(time.Millisecond), gw.refused.Load(), o.opened.Load())
		})
	}
}

// TestBreakerOutageLongerThanTheRequest: every post fails until the request's deadline.
// The breaker opens after a few failures and holds the rest: fewer posts are made than
// there are deliveries, the request ends unsettled for its source to deliver again, and
// none is parked as shed. Once the gateway is back, posts go through again.
func TestBreakerOutageLongerThanTheRequest(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	var posts atomic.Int64
	gw := gatewayFunc(func(context.Context, string, []byte) error {
		posts.Add(1)
		if down.Load() {
			return statusError{503}
		}
		return nil
	})
	poison := memory.NewPoisonQueue()
	cfg := pipeline.Config{
		PostConcurrency: 16,
		RequestTimeout:  time.Second,
		Retry:           pipeline.RetryConfig{MaxAttempts: 5, InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond},
		Breaker:         pipeline.BreakerConfig{Failures: 10, OpenFor: 200 * time.Millisecond, Probes: 2},
	}
	p := runOn(t, cfg, gw, poison, nil, users(200))

	_, err := p.Process(within(t, 10*time.Second), request(`{"data":1}`))

	if !errors.Is(err, pipeline.ErrRequestTimeout) {
		t.Fatalf("Process = %v, want the request unsettled at its deadline", err)
	}
	if n := posts.Load(); n >= 200 {
		t.Errorf("%d posts for 200 deliveries during the outage, want fewer than one each", n)
	}
	for _, m := range poison.Messages() {
		if c := pipeline.ParkedFrom(m).Class; c != string(pipeline.Transient) {
			t.Errorf("parked a delivery as %s, want only probes that failed their attempts, as transient", c)
		}
	}

	down.Store(false)
	eventually(t, "a delivery once the gateway is back", func() bool {
		res, err := p.Process(within(t, 10*time.Second), request(`{"users":["u007"],"data":2}`))
		return err == nil && res.Delivered == 1
	})
}
