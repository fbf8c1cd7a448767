package memory

import (
	"encoding/json"
	"errors"
	"maps"
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
	// changes counts the messages parked and removed, for readers that poll.
	changes uint64
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
	q.changes += uint64(len(msgs))
	return nil
}

// Changes returns a number that grows with every message parked or removed: a reader
// that polls the queue (the dev console) copies its messages only when it moved.
func (q *PoisonQueue) Changes() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.changes
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

// Message is a parked message on the wire of the dev poison API: its UUID, all of its
// metadata and its payload (base64 in JSON), so that nothing is lost on the way.
type Message struct {
	UUID     string            `json:"uuid"`
	Metadata map[string]string `json:"metadata"`
	Payload  []byte            `json:"payload"`
}

// MessageOf returns the wire form of m.
func MessageOf(m *message.Message) Message {
	return Message{UUID: m.UUID, Metadata: maps.Clone(map[string]string(m.Metadata)), Payload: slices.Clone(m.Payload)}
}

// Watermill returns the Watermill message of the wire form.
func (w Message) Watermill() *message.Message {
	m := message.NewMessage(w.UUID, slices.Clone(w.Payload))
	if w.Metadata != nil {
		m.Metadata = maps.Clone(message.Metadata(w.Metadata))
	}
	return m
}

// Get returns a copy of the parked message uuid.
func (q *PoisonQueue) Get(uuid string) (*message.Message, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.IndexFunc(q.parked, func(m *message.Message) bool { return m.UUID == uuid })
	if i < 0 {
		return nil, false
	}
	return deepCopy(q.parked[i]), true
}

// Remove takes the parked message uuid out of the queue, reporting whether it was there.
func (q *PoisonQueue) Remove(uuid string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	i := slices.IndexFunc(q.parked, func(m *message.Message) bool { return m.UUID == uuid })
	if i < 0 {
		return false
	}
	q.parked = slices.Delete(q.parked, i, i+1)
	q.changes++
	return true
}

// ServeMessages lists the parked messages as a JSON array of Message, oldest first:
// what a replay tool reads, all metadata included.
func (q *PoisonQueue) ServeMessages(w http.ResponseWriter, _ *http.Request) {
	out := lo.Map(q.Messages(), func(m *message.Message, _ int) Message { return MessageOf(m) })
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// ServeDelete removes the parked message named by the path value "uuid": 204, or 404
// when it is not parked.
func (q *PoisonQueue) ServeDelete(w http.ResponseWriter, r *http.Request) {
	if !q.Remove(r.PathValue("uuid")) {
		http.Error(w, "not parked", http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// ServePark parks the Message in the body (an import): 201; 409 when a message of that
// UUID is parked already; 400 for a body that is not a Message with a UUID.
func (q *PoisonQueue) ServePark(w http.ResponseWriter, r *http.Request) {
	var in Message
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || in.UUID == "" {
		http.Error(w, "the body is not a parked message with a uuid", http.StatusBadRequest)
		return
	}
	if _, ok := q.Get(in.UUID); ok {
		// Parked already: an import twice must not park it twice.
		http.Error(w, "parked already", http.StatusConflict)
		return
	}
	if err := q.Publish("", in.Watermill()); err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
