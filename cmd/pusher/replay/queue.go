package replay

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Queue is a poison queue as a replay sees it.
type Queue interface {
	// List hands each parked message to fn, once, from up to workers goroutines at a
	// time (1: one after the other, in order), then makes those that were not deleted
	// available again. It stops at the first error of fn and returns it.
	List(ctx context.Context, workers int, fn func(*message.Message) error) error
	// Delete removes a message List handed over, while List runs.
	Delete(ctx context.Context, m *message.Message) error
	// Park puts m into the queue, as the pipeline would have parked it.
	Park(ctx context.Context, m *message.Message) error
}

// Replayer sends a parked message again and reports once what derived from it is
// settled: delivered, pruned or parked again. An error means it did not settle, and
// the message must stay parked.
type Replayer interface {
	Replay(ctx context.Context, m *message.Message) (pipeline.Stats, error)
}

// PipelineReplayer replays on a running pipeline, at the stage each message failed in.
type PipelineReplayer struct{ Pipeline *pipeline.Pipeline }

// Replay implements Replayer with pipeline.Pipeline.Replay.
func (r PipelineReplayer) Replay(ctx context.Context, m *message.Message) (pipeline.Stats, error) {
	res, err := r.Pipeline.Replay(ctx, m)
	return res.Stats, err
}
