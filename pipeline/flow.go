package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
)

// flow bounds the messages in flight on each topic. Publishing a message takes a credit
// of its topic's gate; the stage consuming the topic gives it back once the message is
// settled. A stage thus never holds more messages than its concurrency, a slow stage
// holds back the ones before it (memory stays flat however large a broadcast), and
// hand-overs stay asynchronous: no publisher waits for the next stage to pick each
// message up. The gates hand credits out by request, in turn (see gate), and the post
// stage's paces.
type flow struct {
	bus   message.Publisher
	loads func(requestID string) load
	gates map[string]*gate
	// shared marks the topic whose messages wait for their request's share of the
	// fleet's rate (load.share): the post stage's.
	shared string
}

func newFlow(bus message.Publisher, loads func(requestID string) load) *flow {
	return &flow{bus: bus, loads: loads, gates: make(map[string]*gate)}
}

// limit bounds the messages in flight on topic to n, handed out as c says. Call it
// before publishing.
func (f *flow) limit(topic string, n int, c gateConfig) {
	f.gates[topic] = newGate(n, c, f.loads)
}

// publish sends msgs to topic one by one, each once the topic has room for it, or
// fails when ctx is done first. It returns how many it sent: those are in flight even
// when it fails.
func (f *flow) publish(ctx context.Context, topic string, msgs ...*message.Message) (sent int, err error) {
	g := f.gates[topic]
	for i, m := range msgs {
		id := m.Metadata.Get(RequestIDKey)
		if err := f.acquire(ctx, topic, g, id); err != nil {
			return i, fmt.Errorf("publish %d of %d messages to %s: %w", len(msgs)-i, len(msgs), topic, err)
		}
		if err := f.bus.Publish(topic, m); err != nil {
			g.release(id)
			return i, fmt.Errorf("publish to %s: %w", topic, err)
		}
	}
	return len(msgs), nil
}

// acquire takes a credit of topic's gate g for a message of request id, after its share
// of the fleet's rate on the shared topic, which the wait the gate reports includes.
func (f *flow) acquire(ctx context.Context, topic string, g *gate, id string) error {
	since := time.Now()
	if topic == f.shared {
		if share := f.loads(id).share; share != nil {
			if err := waitFor(ctx, share); err != nil {
				return err
			}
		}
	}
	return g.acquire(ctx, id, since)
}

// release gives back the credit of a message of request id that is settled on topic. It
// reports false when the request held none there (see gate.release).
func (f *flow) release(topic, id string) bool {
	return f.gates[topic].release(id)
}
