package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
)

// errRequestEnded marks the error of work cut short because its request ended: its
// deadline passed, its caller gave up, or the pipeline stopped. Such work is neither
// retried nor parked, and does not count against the gateway.
var errRequestEnded = errors.New("request ended")

// markEnded marks the error of a run cut short because its request ended.
func markEnded(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		out, err := h(msg)
		if err != nil && msg.Context().Err() != nil {
			err = endedBy(msg.Context(), err)
		}
		return out, err
	}
}

// endedBy marks err as the error of work cut short because ctx, its request's, ended.
func endedBy(ctx context.Context, err error) error {
	return fmt.Errorf("%w (%v): %w", errRequestEnded, context.Cause(ctx), err)
}
