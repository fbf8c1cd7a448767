package pipeline_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
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

func TestInsert(t *testing.T) {
	pass := func(msg *message.Message) ([]*message.Message, error) { return []*message.Message{msg}, nil }
	tests := []struct {
		name    string
		stages  []pipeline.Stage
		wantErr string
	}{
		{name: "after a built-in stage", stages: []pipeline.Stage{{Name: "a", After: pipeline.StageResolve, Handler: pass}}},
		{name: "after a custom stage", stages: []pipeline.Stage{
			{Name: "a", After: pipeline.StageResolve, Handler: pass}, {Name: "b", After: "a", Handler: pass}}},
		{name: "unknown stage", stages: []pipeline.Stage{{Name: "a", After: "nowhere", Handler: pass}}, wantErr: `no stage "nowhere"`},
		{name: "taken name", stages: []pipeline.Stage{{Name: pipeline.StagePost, After: pipeline.StageResolve, Handler: pass}}, wantErr: "taken"},
		{name: "no handler", stages: []pipeline.Stage{{Name: "a", After: pipeline.StageResolve}}, wantErr: "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := pipeline.New(pipeline.Config{}, memory.NewStore(0), newGateway(), memory.NewPoisonQueue(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var last error
			for _, s := range tt.stages {
				last = p.Insert(s)
			}
			if tt.wantErr == "" && last != nil || tt.wantErr != "" && (last == nil || !strings.Contains(last.Error(), tt.wantErr)) {
				t.Errorf("insert: %v, want error containing %q", last, tt.wantErr)
			}
		})
	}
}

// TestCustomStagesRunInOrder inserts two stages after resolve and one after fanout, and
// checks each sees the messages of the stage before it, in insertion order, behind the
// same retry and poison middleware as the built-in stages.
func TestCustomStagesRunInOrder(t *testing.T) {
	store := memory.NewStore(0)
	_ = store.AddConnection(context.Background(), conn("alice", "a1"))
	_ = store.AddConnection(context.Background(), conn("bob", "b1"))
	gw, poison := newGateway(), memory.NewPoisonQueue()
	p, err := pipeline.New(pipeline.Config{Retry: pipeline.RetryConfig{InitialInterval: time.Millisecond}}, store, gw, poison,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []string
	record := func(name string) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			mu.Lock()
			seen = append(seen, name)
			mu.Unlock()
			return []*message.Message{msg}, nil
		}
	}
	flaky := 0
	stages := []pipeline.Stage{
		{Name: "first", After: pipeline.StageResolve, Handler: record("first")},
		{Name: "second", After: pipeline.StageResolve, Handler: record("second")},
		{Name: "reject-bob", After: pipeline.StageFanout, Handler: func(msg *message.Message) ([]*message.Message, error) {
			if msg.Metadata.Get(pipeline.UserIDKey) != "bob" {
				return []*message.Message{msg}, nil
			}
			if flaky++; flaky < 2 {
				return nil, errors.New("flaky") // transient: retried
			}
			return nil, handlers.Permanent(errors.New("bob is muted"))
		}},
	}
	for _, s := range stages {
		if err := p.Insert(s); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	<-p.Running()

	src := message.NewMessage(watermill.NewUUID(), []byte(`{"data":"hi"}`))
	middleware.SetCorrelationID("corr-42", src)
	res, err := p.Process(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != "first,second" {
		t.Errorf("custom stages saw %v, want first then second", seen)
	}
	if got := gw.received(); len(got) != 1 || len(got["a1"]) != 1 {
		t.Errorf("delivered %v, want alice only", got)
	}
	if res.Delivered != 1 || res.Failed != 1 {
		t.Errorf("stats %+v, want 1 delivered and 1 parked", res.Stats)
	}
	parked := poison.Messages()
	if len(parked) != 1 {
		t.Fatalf("%d parked, want 1", len(parked))
	}
	got := pipeline.ParkedFrom(parked[0])
	if got.Stage != "reject-bob" || got.Attempts != 2 || got.CorrelationID != "corr-42" || got.ConnectionID != "b1" || got.Payload != `"hi"` {
		t.Errorf("parked %+v, want bob's delivery at reject-bob after 2 attempts with correlation corr-42", got)
	}
}
