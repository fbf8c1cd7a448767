package pipeline

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Stage is a step a user adds to the pipeline with Insert. It runs behind the same
// middleware as the built-in stages: concurrency bound, retries, poison queue,
// settlement.
type Stage struct {
	// Name names the stage in logs and in the poison queue; it must be unique.
	Name string
	// After is the stage it follows: one of the Stage* names or a custom stage's.
	After string
	// Handler takes one message emitted by the stage it follows and returns the messages
	// for the next: none drops the message, which then counts as settled. A message
	// after StageDecode or StageDedupe holds a handlers.Request, after StageResolve a
	// handlers.Recipients page (read them with Decode, write them with Encode), after
	// StageFanout one delivery: the frame as payload, UserIDKey and ConnectionIDKey in
	// the metadata. Return handlers.Permanent errors for what no retry can pass.
	Handler message.HandlerFunc
	// Concurrency bounds the messages it works on at once; zero means StageConcurrency.
	Concurrency int
}

// FilterConnections returns a Handler for a stage after StageResolve that keeps, of each
// page of recipients, the connections keep accepts. A page left empty is dropped.
func FilterConnections(keep func(ctx context.Context, c handlers.Connection) (bool, error)) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		page, err := Decode[handlers.Recipients](msg)
		if err != nil {
			return nil, err
		}
		kept := page.Connections[:0]
		for _, c := range page.Connections {
			ok, err := keep(msg.Context(), c)
			if err != nil {
				return nil, err
			}
			if ok {
				kept = append(kept, c)
			}
		}
		if len(kept) == 0 {
			return nil, nil
		}
		page.Connections = kept
		return encodeOne(msg, page)
	}
}

// MapFrames returns a Handler for a stage after StageFanout that replaces each
// delivery's frame by what mapFrame makes of it, for its connection; a nil frame drops
// the delivery.
//
// The frame mapFrame gets is shared by every delivery of the page: mapFrame may return
// it as it is, or append to it (it has no spare capacity, so an append copies it), but
// must not write into its bytes. The frame it returns must not change afterwards: the
// gateway's poster remembers a frame's hash by where it lives.
func MapFrames(mapFrame func(ctx context.Context, c handlers.Connection, frame []byte) ([]byte, error)) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		c := connectionOf(msg)
		shared := msg.Payload
		frame, err := mapFrame(msg.Context(), c, shared[:len(shared):len(shared)])
		if err != nil || frame == nil {
			return nil, err
		}
		out := derive(msg, frame)
		setConnection(out, c)
		return []*message.Message{out}, nil
	}
}
