package pipeline

import (
	"context"
	"fmt"

	"github.com/ThreeDotsLabs/watermill/message"
)

// flow bounds the messages in flight on each topic. Publishing a message takes a credit
// of its topic; the stage consuming the topic gives it back once the message is settled.
// A stage thus never holds more messages than its concurrency, a slow stage holds back
// the ones before it (memory stays flat however large a broadcast), and hand-overs stay
// asynchronous: no publisher waits for the next stage to pick each message up.
type flow struct {
	bus     message.Publisher
	credits map[string]chan struct{}
}

func newFlow(bus message.Publisher) *flow {
	return &flow{bus: bus, credits: make(map[string]chan struct{})}
}

// limit bounds the messages in flight on topic to n. Call it before publishing.
func (f *flow) limit(topic string, n int) {
	f.credits[topic] = make(chan struct{}, n)
}

// publish sends msgs to topic one by one, each once the topic has room for it, or
// fails when ctx is done first. It returns how many it sent: those are in flight even
// when it fails.
func (f *flow) publish(ctx context.Context, topic string, msgs ...*message.Message) (sent int, err error) {
	credits := f.credits[topic]
	for i, m := range msgs {
		select {
		case credits <- struct{}{}:
		case <-ctx.Done():
			return i, fmt.Errorf("publish %d of %d messages to %s: %w", len(msgs)-i, len(msgs), topic, ctx.Err())
		}
		if err := f.bus.Publish(topic, m); err != nil {
			<-credits
			return i, fmt.Errorf("publish to %s: %w", topic, err)
		}
	}
	return len(msgs), nil
}

// release gives back the credit of a message of topic that is settled.
func (f *flow) release(topic string) {
	<-f.credits[topic]
}
