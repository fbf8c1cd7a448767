package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// gateway is a handlers.Poster that records frames and fails as told, per connection.
type gateway struct {
	mu       sync.Mutex
	frames   map[string][]string
	failures map[string][]error // errors to return, in order, before succeeding
}

func newGateway() *gateway {
	return &gateway{frames: map[string][]string{}, failures: map[string][]error{}}
}

func (g *gateway) PostToConnection(_ context.Context, id string, frame []byte) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if errs := g.failures[id]; len(errs) > 0 {
		err := errs[0]
		if !errors.Is(err, handlers.ErrGone) && !handlers.IsPermanent(err) {
			g.failures[id] = errs[1:]
		}
		return err
	}
	g.frames[id] = append(g.frames[id], string(frame))
	return nil
}

func (g *gateway) received() map[string][]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string][]string{}
	for k, v := range g.frames {
		out[k] = append([]string(nil), v...)
	}
	return out
}

type fixture struct {
	p      *pipeline.Pipeline
	store  *memory.Store
	gw     *gateway
	poison *memory.PoisonQueue
}

func start(t *testing.T, cfg pipeline.Config, conns ...handlers.Connection) fixture {
	t.Helper()
	f := fixture{gw: newGateway(), poison: memory.NewPoisonQueue()}
	f.p, f.store = run(t, cfg, f.gw, f.poison, conns...)
	return f
}

// run runs, until the test ends, a pipeline on a memory store holding conns (scanned
// two at a time), posting to gw and parking on poison, with retries 1ms apart.
func run(t *testing.T, cfg pipeline.Config, gw handlers.Poster, poison message.Publisher, conns ...handlers.Connection) (*pipeline.Pipeline, *memory.Store) {
	t.Helper()
	store := memory.NewStore(2)
	for _, c := range conns {
		_ = store.AddConnection(context.Background(), c)
	}
	cfg.Retry.InitialInterval = time.Millisecond
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := pipeline.New(cfg, store, gw, poison, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	<-p.Running()
	return p, store
}

func (f fixture) process(t *testing.T, body string) pipeline.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := f.p.Process(ctx, message.NewMessage(watermill.NewUUID(), []byte(body)))
	if err != nil {
		t.Fatalf("process %s: %v", body, err)
	}
	return res
}

// connectedAt is when the tests' connections connected: long before any grace period.
var connectedAt = time.Now().Add(-time.Hour)

func conn(user, id string) handlers.Connection {
	return handlers.Connection{UserID: user, ConnectionID: id, ConnectedAt: connectedAt}
}

var population = []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("bob", "b1"), conn("carol", "c1")}

func TestForms(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string // connections that receive the frame once
	}{
		{"multicast with a repeated user", `{"users":["alice","bob","alice"],"data":{"n":1}}`, []string{"a1", "a2", "b1"}},
		{"broadcast", `{"data":{"n":1}}`, []string{"a1", "a2", "b1", "c1"}},
		{"broadcast with empty users", `{"users":[],"data":{"n":1}}`, []string{"a1", "a2", "b1", "c1"}},
		{"exclusion", `{"exclude_users":["alice"],"data":{"n":1}}`, []string{"b1", "c1"}},
		{"multicast less excluded", `{"users":["alice","bob"],"exclude_users":["bob"],"data":{"n":1}}`, []string{"a1", "a2"}},
		{"unknown user", `{"users":["dave"],"data":{"n":1}}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, pipeline.Config{}, population...)
			res := f.process(t, tt.body)
			got := f.gw.received()
			var ids []string
			for id, frames := range got {
				if len(frames) != 1 || frames[0] != `{"n":1}` {
					t.Errorf("%s got %q, want one frame {\"n\":1}", id, frames)
				}
				ids = append(ids, id)
			}
			sort.Strings(ids)
			if fmt.Sprint(ids) != fmt.Sprint(tt.want) {
				t.Errorf("delivered to %v, want %v", ids, tt.want)
			}
			if res.Delivered != len(tt.want) || res.Connections != len(tt.want) {
				t.Errorf("stats %+v, want %d delivered", res.Stats, len(tt.want))
			}
		})
	}
}

// TestResultNamesItsRequest checks that a Result says which request it settles, by the
// correlation id its source gave it or, without one, by the id of its message: how the
// dev console matches the outcome to the request it sent.
func TestResultNamesItsRequest(t *testing.T) {
	f := start(t, pipeline.Config{}, population...)
	given := message.NewMessage("m-1", []byte(`{"users":["bob"],"data":{}}`))
	middleware.SetCorrelationID("corr-7", given)
	for _, tt := range []struct {
		msg  *message.Message
		want string
	}{
		{given, "corr-7"},
		{message.NewMessage("m-2", []byte(`{"users":["bob"],"data":{}}`)), "m-2"},
	} {
		res, err := f.p.Process(context.Background(), tt.msg)
		if err != nil || res.CorrelationID != tt.want {
			t.Errorf("message %s settled as %q (%v), want %q", tt.msg.UUID, res.CorrelationID, err, tt.want)
		}
	}
}

func TestFailures(t *testing.T) {
	fail500 := errors.New("500 internal error")
	// A connection stored a moment ago: its $connect may still be in progress.
	young := handlers.Connection{UserID: "dan", ConnectionID: "d1"}
	tests := []struct {
		name      string
		extra     []handlers.Connection // stored besides the population
		failures  map[string][]error
		body      string
		want      pipeline.Stats
		parked    []string // stages of the parked messages
		attempts  int      // attempts each parked message records
		remaining int      // connections left in the store
	}{
		{
			name:     "gone connection is pruned",
			failures: map[string][]error{"b1": {handlers.ErrGone}},
			body:     `{"data":1}`, want: pipeline.Stats{Connections: 4, Delivered: 3, Pruned: 1}, remaining: 3,
		},
		{
			name:     "a young connection answered 410 is kept, connecting",
			extra:    []handlers.Connection{young},
			failures: map[string][]error{"d1": {handlers.ErrGone}},
			body:     `{"data":1}`, want: pipeline.Stats{Connections: 5, Delivered: 4, Connecting: 1}, remaining: 5,
		},
		{
			name:     "young and old answered 410 in one broadcast",
			extra:    []handlers.Connection{young},
			failures: map[string][]error{"d1": {handlers.ErrGone}, "a2": {handlers.ErrGone}},
			body:     `{"data":1}`, want: pipeline.Stats{Connections: 5, Delivered: 3, Pruned: 1, Connecting: 1}, remaining: 4,
		},
		{
			name:     "transient errors are retried",
			failures: map[string][]error{"a1": {fail500, fail500}},
			body:     `{"users":["alice"],"data":1}`, want: pipeline.Stats{Connections: 2, Delivered: 2}, remaining: 4,
		},
		{
			name:     "a post that keeps failing is parked after the attempts",
			failures: map[string][]error{"a1": {fail500, fail500, fail500, fail500}},
			body:     `{"users":["alice"],"data":1}`, want: pipeline.Stats{Connections: 2, Delivered: 1, Failed: 1},
			parked: []string{"post"}, attempts: 3, remaining: 4,
		},
		{
			name:     "a permanent error is parked at once",
			failures: map[string][]error{"c1": {handlers.Permanent(errors.New("403 forbidden"))}},
			body:     `{"users":["carol"],"data":1}`, want: pipeline.Stats{Connections: 1, Failed: 1},
			parked: []string{"post"}, attempts: 1, remaining: 4,
		},
		{name: "not JSON", body: `{"data":`, want: pipeline.Stats{Failed: 1}, parked: []string{"decode"}, attempts: 1, remaining: 4},
		{name: "no data", body: `{"users":["alice"]}`, want: pipeline.Stats{Failed: 1}, parked: []string{"decode"}, attempts: 1, remaining: 4},
		{name: "users not strings", body: `{"users":[1],"data":1}`, want: pipeline.Stats{Failed: 1}, parked: []string{"decode"}, attempts: 1, remaining: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, pipeline.Config{Retry: pipeline.RetryConfig{MaxAttempts: 3}}, append(slices.Clone(population), tt.extra...)...)
			f.gw.failures = tt.failures
			res := f.process(t, tt.body)
			if res.Stats != tt.want {
				t.Errorf("stats %+v, want %+v", res.Stats, tt.want)
			}
			var stages []string
			for _, m := range f.poison.Messages() {
				p := pipeline.ParkedFrom(m)
				stages = append(stages, p.Stage)
				if p.Reason == "" || p.RequestID == "" || p.CorrelationID == "" || p.Class == "" {
					t.Errorf("parked message lacks reason, ids or class: %+v", p)
				}
				if p.Attempts != tt.attempts {
					t.Errorf("parked after %d attempts, want %d", p.Attempts, tt.attempts)
				}
			}
			if fmt.Sprint(stages) != fmt.Sprint(tt.parked) {
				t.Errorf("parked at %v, want %v", stages, tt.parked)
			}
			if n := f.store.Len(); n != tt.remaining {
				t.Errorf("%d connections left, want %d", n, tt.remaining)
			}
		})
	}
}
