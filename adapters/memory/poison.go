package memory

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// ErrClosed is returned by a PoisonQueue after Close.
var ErrClosed = errors.New("poison queue closed")

// PoisonQueue keeps the messages the pipeline parks. It is a message.Publisher, so the
// pipeline's poison middleware publishes to it as it would to an SQS queue.
type PoisonQueue struct {
	mu     sync.Mutex
	parked []*message.Message
	closed bool
}

// NewPoisonQueue returns an empty poison queue.
func NewPoisonQueue() *PoisonQueue { return &PoisonQueue{} }

// Publish parks copies of msgs; the topic is ignored.
func (q *PoisonQueue) Publish(_ string, msgs ...*message.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return ErrClosed
	}
	for _, m := range msgs {
		q.parked = append(q.parked, deepCopy(m))
	}
	return nil
}

// Messages returns the parked messages, oldest first.
func (q *PoisonQueue) Messages() []*message.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*message.Message, len(q.parked))
	for i, m := range q.parked {
		out[i] = deepCopy(m)
	}
	return out
}

// deepCopy copies the payload too, which message.Copy shares.
func deepCopy(m *message.Message) *message.Message {
	c := m.Copy()
	c.Payload = slices.Clone(m.Payload)
	return c
}

// Close makes further publishing fail; what is parked stays readable.
func (q *PoisonQueue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	return nil
}

// ServeHTTP lists the parked messages as a JSON array of pipeline.Parked, oldest first.
func (q *PoisonQueue) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	parked := lo.Map(q.Messages(), func(m *message.Message, _ int) pipeline.Parked { return pipeline.ParkedFrom(m) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(parked)
}
