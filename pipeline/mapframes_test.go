package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestMapFramesAppend inserts a stage that appends to its frame the connection's id, as
// a stage that personalises a frame might: every connection gets its own frame, and
// none another's, though the frame the stage was given is shared by the whole page
// (and, at 34 bytes, decoded into an array of 48: with room to append in place).
func TestMapFramesAppend(t *testing.T) {
	gw := newGateway()
	stage := pipeline.Stage{
		Name:  "sign-off",
		After: pipeline.StageFanout,
		Handler: pipeline.MapFrames(func(_ context.Context, c handlers.Connection, frame []byte) ([]byte, error) {
			return append(frame, " for "+c.ConnectionID...), nil
		}),
		Concurrency: 64,
	}
	const n = 500
	p := runOn(t, pipeline.Config{}, gw, memory.NewPoisonQueue(), nil, users(n), stage)

	for round := range 5 {
		res, err := p.Process(within(t, 10*time.Second), request(`{"data":{"text":"hello to everyone here!"}}`))
		if err != nil || res.Delivered != n {
			t.Fatalf("round %d: Process = %+v, %v; want %d delivered", round, res.Stats, err, n)
		}
	}
	got := gw.received()
	for _, c := range users(n) {
		want := `{"text":"hello to everyone here!"} for ` + c.ConnectionID
		for _, frame := range got[c.ConnectionID] {
			if frame != want {
				t.Fatalf("%s got %q, want %q", c.ConnectionID, frame, want)
			}
		}
		if len(got[c.ConnectionID]) != 5 {
			t.Fatalf("%s got %d frames, want 5", c.ConnectionID, len(got[c.ConnectionID]))
		}
	}
}
