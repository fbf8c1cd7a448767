package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// recovered returns the error Watermill's Recoverer makes of a handler that panics.
func recovered(t *testing.T, v any) error {
	t.Helper()
	h := middleware.Recoverer(func(*message.Message) ([]*message.Message, error) { panic(v) })
	_, err := h(message.NewMessage("m", nil))
	if err == nil {
		t.Fatal("Recoverer returned no error for a panic")
	}
	return err
}

// TestClassify checks which errors the pipeline retries and which it parks at once.
func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  func(t *testing.T) error
		want pipeline.Class
	}{
		{name: "plain error", want: pipeline.Transient,
			err: func(*testing.T) error { return errors.New("throttled") }},
		{name: "wrapped plain error", want: pipeline.Transient,
			err: func(*testing.T) error { return fmt.Errorf("post to c1: %w", errors.New("503")) }},
		{name: "deadline exceeded", want: pipeline.Transient,
			err: func(*testing.T) error { return fmt.Errorf("post: %w", context.DeadlineExceeded) }},
		{name: "permanent", want: pipeline.Permanent,
			err: func(*testing.T) error { return handlers.Permanent(errors.New("forbidden")) }},
		{name: "wrapped permanent", want: pipeline.Permanent,
			err: func(*testing.T) error {
				return fmt.Errorf("post to c1: %w", handlers.Permanent(errors.New("payload too large")))
			}},
		{name: "doubly wrapped permanent", want: pipeline.Permanent,
			err: func(*testing.T) error {
				return fmt.Errorf("stage: %w", fmt.Errorf("post: %w", handlers.Permanent(errors.New("bad"))))
			}},
		{name: "permanent joined with a transient", want: pipeline.Permanent,
			err: func(*testing.T) error {
				return errors.Join(errors.New("throttled"), handlers.Permanent(errors.New("bad")))
			}},
		{name: "decode error", want: pipeline.Permanent,
			err: func(*testing.T) error { _, err := handlers.Decoder{}.Decode([]byte("nope")); return err }},
		{name: "recovered panic value", want: pipeline.Permanent,
			err: func(*testing.T) error { return middleware.RecoveredPanicError{V: "boom"} }},
		{name: "panic recovered by the Recoverer middleware", want: pipeline.Permanent,
			err: func(t *testing.T) error { return recovered(t, "boom") }},
		{name: "panic with an error value", want: pipeline.Permanent,
			err: func(t *testing.T) error { return recovered(t, errors.New("nil map")) }},
		{name: "wrapped recovered panic", want: pipeline.Permanent,
			err: func(t *testing.T) error { return fmt.Errorf("stage resolve: %w", recovered(t, 42)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err(t)
			if got := pipeline.Classify(err); got != tt.want {
				t.Errorf("Classify(%.80q) = %q, want %q", err, got, tt.want)
			}
		})
	}
}
