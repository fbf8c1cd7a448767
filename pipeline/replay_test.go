package pipeline_test

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestReplay parks one delivery of a broadcast, then replays it: only that connection
// receives the frame again; a replay that fails again is parked with its attempts counted on.
func TestReplay(t *testing.T) {
	f := start(t, pipeline.Config{Retry: pipeline.RetryConfig{MaxAttempts: 2}}, population...)
	down := handlers.Permanent(errors.New("403 forbidden"))
	f.gw.failures = map[string][]error{"b1": {down}}
	if res := f.process(t, `{"data":"news"}`); res.Delivered != 3 || res.Failed != 1 {
		t.Fatalf("broadcast: %+v, want 3 delivered and 1 parked", res.Stats)
	}
	parked := f.poison.Messages()[0]

	// Still failing: parked again, attempts carried on.
	res, err := f.p.Replay(t.Context(), parked)
	if err != nil || res.Failed != 1 {
		t.Fatalf("replay while failing: %+v %v, want parked again", res.Stats, err)
	}
	again := pipeline.ParkedFrom(f.poison.Messages()[1])
	if again.Stage != pipeline.StagePost || again.Attempts != 2 || again.ConnectionID != "b1" || again.CorrelationID != pipeline.ParkedFrom(parked).CorrelationID {
		t.Errorf("parked again as %+v, want post, b1, 2 attempts, same correlation", again)
	}

	// Recovered: delivered once, to b1 only.
	f.gw.mu.Lock()
	f.gw.failures = nil
	f.gw.mu.Unlock()
	if res, err := f.p.Replay(t.Context(), f.poison.Messages()[1]); err != nil || res.Delivered != 1 || res.Connections != 0 {
		t.Fatalf("replay after recovery: %+v %v, want 1 delivered", res.Stats, err)
	}
	// b1's first delivery failed, so the replay is its only one; the others got theirs
	// from the broadcast and nothing from the replay.
	got := f.gw.received()
	for _, c := range population {
		if n := len(got[c.ConnectionID]); n != 1 {
			t.Errorf("%s received %d frames, want 1", c.ConnectionID, n)
		}
	}

	// A request parked by decode goes back to decode.
	f.process(t, `{"users":"a"}`)
	msgs := f.poison.Messages()
	if res, err := f.p.Replay(t.Context(), msgs[len(msgs)-1]); err != nil || res.Failed != 1 {
		t.Errorf("replay of a malformed request: %+v %v, want parked again", res.Stats, err)
	}
	last := pipeline.ParkedFrom(f.poison.Messages()[len(f.poison.Messages())-1])
	if last.Stage != pipeline.StageDecode || last.Attempts != 2 {
		t.Errorf("malformed request parked again as %+v, want decode after 2 attempts", last)
	}
}

// downStore is a memory store whose UserConnections fails with a throttling error, a
// transient one, while down is above zero, counting down.
type downStore struct {
	*memory.Store
	down atomic.Int64
}

func (s *downStore) UserConnections(ctx context.Context, userID string) ([]handlers.Connection, error) {
	if s.down.Add(-1) >= 0 {
		return nil, errors.New("ProvisionedThroughputExceededException: throttled")
	}
	return s.Store.UserConnections(ctx, userID)
}

// TestReplayedResolveIsRetried parks a multicast whose resolve stalled on a throttled
// store, then replays it while the store fails once more: the replay is retried as a
// fresh message is, not parked again at its first failure.
func TestReplayedResolveIsRetried(t *testing.T) {
	store := &downStore{Store: memory.NewStore(0)}
	_ = store.AddConnection(t.Context(), conn("alice", "a1"))
	gw, poison := newGateway(), memory.NewPoisonQueue()
	p, err := pipeline.New(pipeline.Config{Retry: pipeline.RetryConfig{MaxAttempts: 2, InitialInterval: time.Millisecond}},
		store, gw, poison, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { stop(); <-done })
	<-p.Running()

	store.down.Store(2)
	if res, err := p.Process(t.Context(), request(`{"users":["alice"],"data":1}`)); err != nil || res.Failed != 1 {
		t.Fatalf("while throttled: %+v %v, want the request parked", res.Stats, err)
	}
	parked := poison.Messages()[0]
	if at := pipeline.ParkedFrom(parked).Stage; at != pipeline.StageResolve {
		t.Fatalf("parked at %q, want resolve", at)
	}

	store.down.Store(1)
	res, err := p.Replay(t.Context(), parked)
	if err != nil || res.Delivered != 1 || res.Failed != 0 {
		t.Errorf("replay with one more throttle: %+v %v, want delivered after a retry", res.Stats, err)
	}
	if got := gw.received()["a1"]; len(got) != 1 {
		t.Errorf("alice received %d frames, want 1", len(got))
	}
}
