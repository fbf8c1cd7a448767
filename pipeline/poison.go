package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// poisonQueue returns the middleware that parks on the poison queue what a stage
// failed for good: Watermill's, publishing through parking. Work cut short because its
// request ended is not parked: its source redelivers the request.
func (p *Pipeline) poisonQueue() (message.HandlerMiddleware, error) {
	return middleware.PoisonQueueWithFilter(parking{poison: p.poison, retry: p.cfg.Retry, logger: p.logger},
		p.cfg.PoisonTopic, func(err error) bool { return !errors.Is(err, errRequestEnded) })
}

// parking is the publisher the poison middleware parks through: it retries a park that
// fails until the request ends, so that one delivery the poison queue cannot take for a
// while does not make a whole broadcast be delivered again; for a request that has
// ended it parks nothing.
type parking struct {
	poison message.Publisher
	retry  RetryConfig
	logger *slog.Logger
}

// Publish parks msgs, each on its own request's context.
func (pk parking) Publish(topic string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		if err := pk.park(topic, msg); err != nil {
			return err
		}
	}
	return nil
}

// Close does nothing: the poison queue belongs to whoever gave it to the pipeline.
func (pk parking) Close() error { return nil }

// park publishes msg to topic, retrying with the configured backoff until the poison
// queue takes it, refuses it for good, or its request ends.
func (pk parking) park(topic string, msg *message.Message) error {
	ctx := msg.Context()
	wait := newBackOff(pk.retry)
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return fmt.Errorf("park %s: its request ended: %w", msg.UUID, context.Cause(ctx))
		}
		err := pk.poison.Publish(topic, msg)
		switch {
		case err == nil:
			return nil
		case handlers.IsPermanent(err):
			return fmt.Errorf("park %s: %w", msg.UUID, err)
		}
		pk.logger.Warn("park failed; retrying", "message_id", msg.UUID, "request_id", msg.Metadata.Get(RequestIDKey),
			"attempt", attempt, "error", err)
		timer := time.NewTimer(wait.NextBackOff())
		select {
		case <-timer.C:
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("park %s: %d attempts until its request ended (%v): %w", msg.UUID, attempt, context.Cause(ctx), err)
		}
	}
}
