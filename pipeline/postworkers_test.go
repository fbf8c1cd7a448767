package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
)

// TestWorkers runs messages through a chain on workers: each returns what its chain
// returned, a panic that escapes the chain comes back as Watermill's Recoverer's error
// and the worker goes on, no more workers start than the bound, and once the pipeline
// stops a message still runs (on its own goroutine).
func TestWorkers(t *testing.T) {
	stop, stopped := context.WithCancel(context.Background())
	w := newWorkers(3, stop)
	chain := w.middleware(func(msg *message.Message) ([]*message.Message, error) {
		switch string(msg.Payload) {
		case "panic":
			panic("the chain")
		case "fail":
			return nil, errors.New("failed")
		}
		return []*message.Message{msg}, nil
	})
	run := func(payload string) ([]*message.Message, error) {
		return chain(message.NewMessage(watermill.NewUUID(), []byte(payload)))
	}

	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if out, err := run("ok"); err != nil || len(out) != 1 || string(out[0].Payload) != "ok" {
				t.Errorf("ok: %v, %v; want the message back", out, err)
			}
		})
	}
	wg.Wait()
	if started := len(w.slots); started < 1 || started > 3 {
		t.Errorf("%d workers started, want 1 to 3", started)
	}
	if _, err := run("fail"); err == nil || err.Error() != "failed" {
		t.Errorf("fail: %v, want the chain's error", err)
	}
	var panicked middleware.RecoveredPanicError
	if _, err := run("panic"); !errors.As(err, &panicked) || panicked.V != "the chain" {
		t.Errorf("panic: %v, want a RecoveredPanicError", err)
	}
	if out, err := run("ok"); err != nil || len(out) != 1 {
		t.Errorf("after a panic: %v, %v; want the message back", out, err)
	}

	stopped()
	for range 5 { // more than the workers, which all stop
		if out, err := run("ok"); err != nil || len(out) != 1 {
			t.Errorf("after the stop: %v, %v; want the message back", out, err)
		}
	}
}
