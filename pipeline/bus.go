package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
)

// bus carries messages between the stages of one process: a Watermill Pub/Sub with at
// most one subscriber per topic, the next stage's router handler.
//
// Watermill's gochannel would do, but it starts two goroutines per message, copies it
// and waits for its ack, and a broadcast is one message per connection. Here Publish
// hands the message itself to the subscriber. Every stage acknowledges a message as soon
// as it takes it (middleware.InstantAck) and settles it through the tracker, so nothing
// is nacked to be redelivered; the flow, not the bus, bounds what is in flight. As with
// gochannel, a message of a topic no one subscribes to is dropped: the last stage's.
type bus struct {
	mu     sync.RWMutex // over topics, which only Subscribe and its end change
	topics map[string]*subscription
	closed chan struct{}
	once   sync.Once
}

// subscription is one topic's subscriber. Publishers hold its read lock while they
// hand a message over, so that it is not closed under them.
type subscription struct {
	mu   sync.RWMutex
	ch   chan *message.Message
	done chan struct{}
}

var (
	_ message.Publisher  = (*bus)(nil)
	_ message.Subscriber = (*bus)(nil)
)

var errBusClosed = errors.New("bus closed")

func newBus() *bus {
	return &bus{topics: make(map[string]*subscription), closed: make(chan struct{})}
}

// Publish hands each message to topic's subscriber, waiting until it takes it.
func (b *bus) Publish(topic string, msgs ...*message.Message) error {
	select {
	case <-b.closed:
		return fmt.Errorf("publish to %s: %w", topic, errBusClosed)
	default:
	}
	b.mu.RLock()
	sub := b.topics[topic]
	b.mu.RUnlock()
	if sub == nil {
		return nil
	}
	sub.mu.RLock()
	defer sub.mu.RUnlock()
	for _, m := range msgs {
		// Once done is closed, ch may be: a send on it must not be a choice.
		select {
		case <-sub.done:
			return fmt.Errorf("publish to %s: %w", topic, errBusClosed)
		default:
		}
		select {
		case sub.ch <- m:
		case <-sub.done:
			return fmt.Errorf("publish to %s: %w", topic, errBusClosed)
		}
	}
	return nil
}

// Subscribe returns topic's messages until ctx is done or the bus closes.
func (b *bus) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-b.closed:
		return nil, errBusClosed
	default:
	}
	if b.topics[topic] != nil {
		return nil, fmt.Errorf("subscribe to %s: the topic has a subscriber already", topic)
	}
	sub := &subscription{ch: make(chan *message.Message), done: make(chan struct{})}
	b.topics[topic] = sub
	go func() {
		select {
		case <-ctx.Done():
		case <-b.closed:
		}
		close(sub.done) // wakes the publishers, which then let go of the read lock
		sub.mu.Lock()
		close(sub.ch)
		sub.mu.Unlock()
		b.mu.Lock()
		if b.topics[topic] == sub {
			delete(b.topics, topic)
		}
		b.mu.Unlock()
	}()
	return sub.ch, nil
}

// Close ends every subscription.
func (b *bus) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}
