package memory_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestPoisonQueuePublishCopies checks that what is parked is what was published, however
// the publisher, or a reader of Messages, changes its message afterwards.
func TestPoisonQueuePublishCopies(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *message.Message)
		// fromMessages mutates a message Messages returned instead of the published one.
		fromMessages bool
	}{
		{name: "payload bytes changed in place", mutate: func(m *message.Message) { copy(m.Payload, "XXXX") }},
		{name: "payload replaced", mutate: func(m *message.Message) { m.Payload = []byte("other") }},
		{name: "metadata changed", mutate: func(m *message.Message) { m.Metadata.Set(pipeline.AttemptsKey, "99") }},
		{name: "metadata deleted", mutate: func(m *message.Message) { delete(m.Metadata, middleware.ReasonForPoisonedKey) }},
		{name: "uuid changed", mutate: func(m *message.Message) { m.UUID = "other" }},
		{name: "read payload bytes changed in place", fromMessages: true, mutate: func(m *message.Message) { copy(m.Payload, "XXXX") }},
		{name: "read metadata changed", fromMessages: true, mutate: func(m *message.Message) { m.Metadata.Set(pipeline.AttemptsKey, "99") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memory.NewPoisonQueue()
			msg := message.NewMessage("uuid-1", []byte(`{"data":1}`))
			msg.Metadata.Set(middleware.ReasonForPoisonedKey, "boom")
			msg.Metadata.Set(pipeline.AttemptsKey, "3")
			if err := q.Publish("poison", msg); err != nil {
				t.Fatalf("Publish: %v", err)
			}

			if tt.fromMessages {
				tt.mutate(q.Messages()[0])
			} else {
				tt.mutate(msg)
			}

			got := q.Messages()
			if len(got) != 1 {
				t.Fatalf("%d messages parked, want 1", len(got))
			}
			p := got[0]
			if p.UUID != "uuid-1" || string(p.Payload) != `{"data":1}` ||
				p.Metadata.Get(middleware.ReasonForPoisonedKey) != "boom" || p.Metadata.Get(pipeline.AttemptsKey) != "3" {
				t.Errorf("parked message became uuid %q payload %s metadata %v; want it as published", p.UUID, p.Payload, p.Metadata)
			}
		})
	}
}

// TestPoisonQueueOrderAndClose checks that messages are kept oldest first, that Close
// refuses further messages with ErrClosed, and that what was parked stays readable.
func TestPoisonQueueOrderAndClose(t *testing.T) {
	tests := []struct {
		name       string
		before     []string // UUIDs published before Close
		closeTwice bool
	}{
		{name: "empty queue", before: nil},
		{name: "several messages", before: []string{"m1", "m2", "m3"}},
		{name: "closed twice", before: []string{"m1"}, closeTwice: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memory.NewPoisonQueue()
			for _, id := range tt.before {
				if err := q.Publish("poison", message.NewMessage(id, []byte(id))); err != nil {
					t.Fatalf("Publish(%s): %v", id, err)
				}
			}
			if err := q.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if tt.closeTwice {
				if err := q.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
			}

			if err := q.Publish("poison", message.NewMessage("late", nil)); !errors.Is(err, memory.ErrClosed) {
				t.Errorf("Publish after Close = %v, want ErrClosed", err)
			}
			got := q.Messages()
			if len(got) != len(tt.before) {
				t.Fatalf("%d messages readable after Close, want %d", len(got), len(tt.before))
			}
			for i, m := range got {
				if m.UUID != tt.before[i] {
					t.Errorf("message %d is %s, want %s", i, m.UUID, tt.before[i])
				}
			}
		})
	}
}

// TestPoisonQueueServeHTTP checks the listing an operator reads: every parked message as
// a pipeline.Parked, oldest first, its fields taken from the metadata the pipeline and
// Watermill's poison middleware set.
func TestPoisonQueueServeHTTP(t *testing.T) {
	parkedRequest := func() *message.Message {
		m := message.NewMessage("req-1", []byte(`not json`))
		m.Metadata.Set(middleware.ReasonForPoisonedKey, "decode request: not a JSON object")
		m.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StageDecode)
		m.Metadata.Set(pipeline.ErrorClassKey, string(pipeline.Permanent))
		m.Metadata.Set(pipeline.AttemptsKey, "1")
		m.Metadata.Set(pipeline.FirstFailedAtKey, "2024-05-01T10:00:00Z")
		m.Metadata.Set(pipeline.LastFailedAtKey, "2024-05-01T10:00:00.5Z")
		m.Metadata.Set(pipeline.RequestIDKey, "r-1")
		m.Metadata.Set(pipeline.CorrelationIDKey, "corr-1")
		return m
	}
	parkedDelivery := func() *message.Message {
		m := message.NewMessage("del-1", []byte(`{"msg":"hi"}`))
		m.Metadata.Set(middleware.ReasonForPoisonedKey, "post to c1 of alice: throttled")
		m.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StagePost)
		m.Metadata.Set(pipeline.ErrorClassKey, string(pipeline.Transient))
		m.Metadata.Set(pipeline.AttemptsKey, "5")
		m.Metadata.Set(pipeline.RequestIDKey, "r-2")
		m.Metadata.Set(pipeline.UserIDKey, "alice")
		m.Metadata.Set(pipeline.ConnectionIDKey, "c1")
		return m
	}
	tests := []struct {
		name string
		msgs []*message.Message
		want []map[string]any
	}{
		{name: "empty queue lists an empty array", msgs: nil, want: []map[string]any{}},
		{
			name: "a parked request and a parked delivery, oldest first",
			msgs: []*message.Message{parkedRequest(), parkedDelivery()},
			want: []map[string]any{
				{
					"uuid": "req-1", "reason": "decode request: not a JSON object", "stage": "decode",
					"error_class": "permanent", "attempts": float64(1),
					"first_failed_at": "2024-05-01T10:00:00Z", "last_failed_at": "2024-05-01T10:00:00.5Z",
					"request_id": "r-1", "correlation_id": "corr-1", "payload": "not json",
				},
				{
					"uuid": "del-1", "reason": "post to c1 of alice: throttled", "stage": "post",
					"error_class": "transient", "attempts": float64(5),
					"first_failed_at": "0001-01-01T00:00:00Z", "last_failed_at": "0001-01-01T00:00:00Z",
					"request_id": "r-2", "correlation_id": "", "user_id": "alice", "connection_id": "c1",
					"payload": `{"msg":"hi"}`,
				},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memory.NewPoisonQueue()
			if err := q.Publish("poison", tt.msgs...); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			srv := httptest.NewServer(q)
			t.Cleanup(srv.Close)

			got := getParked(t, srv.URL)

			if len(got) != len(tt.want) {
				t.Fatalf("listed %d messages, want %d: %v", len(got), len(tt.want), got)
			}
			for i := range tt.want {
				for k, v := range tt.want[i] {
					if got[i][k] != v {
						t.Errorf("message %d: %q = %#v, want %#v", i, k, got[i][k], v)
					}
				}
				for k := range got[i] {
					if _, ok := tt.want[i][k]; !ok {
						t.Errorf("message %d: unexpected field %q = %#v", i, k, got[i][k])
					}
				}
			}
		})
	}
}

// TestPoisonQueueServeHTTPFromMiddleware checks the listing of a message parked by
// Watermill's own poison middleware, as the pipeline parks one.
func TestPoisonQueueServeHTTPFromMiddleware(t *testing.T) {
	tests := []struct {
		name       string
		handlerErr error
		want       string
	}{
		{name: "permanent error", handlerErr: handlers.Permanent(errors.New("decode request: no \"data\" field")), want: `decode request: no "data" field`},
		{name: "transient error", handlerErr: errors.New("throttled"), want: "throttled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := memory.NewPoisonQueue()
			poison, err := middleware.PoisonQueue(q, "poison")
			if err != nil {
				t.Fatalf("PoisonQueue: %v", err)
			}
			h := poison(func(*message.Message) ([]*message.Message, error) { return nil, tt.handlerErr })
			msg := message.NewMessage("m-1", []byte(`{"users":["a"]}`))
			msg.Metadata.Set(pipeline.AttemptsKey, "2")
			if _, err := h(msg); err != nil {
				t.Fatalf("handler behind the poison middleware: %v", err)
			}
			srv := httptest.NewServer(q)
			t.Cleanup(srv.Close)

			got := getParked(t, srv.URL)

			if len(got) != 1 {
				t.Fatalf("listed %d messages, want 1", len(got))
			}
			if got[0]["uuid"] != "m-1" || got[0]["reason"] != tt.want || got[0]["attempts"] != float64(2) || got[0]["payload"] != `{"users":["a"]}` {
				t.Errorf("listed %v, want uuid m-1, reason %q, 2 attempts and the payload", got[0], tt.want)
			}
		})
	}
}

// getParked lists the poison queue served at url.
func getParked(t *testing.T, url string) []map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var got []map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("body %s is not a JSON array of objects: %v", body, err)
	}
	if got == nil {
		t.Fatalf("body %s is not a JSON array", body)
	}
	return got
}

var _ message.Publisher = (*memory.PoisonQueue)(nil)

// TestPoisonQueueChanges: the count moves with each message parked and each removed,
// and not with reads or a removal of what is not parked.
func TestPoisonQueueChanges(t *testing.T) {
	q := memory.NewPoisonQueue()
	steps := []struct {
		name string
		do   func()
		want uint64
	}{
		{"new", func() {}, 0},
		{"two parked", func() { _ = q.Publish("poison", message.NewMessage("a", nil), message.NewMessage("b", nil)) }, 2},
		{"read", func() { q.Messages(); q.Get("a") }, 2},
		{"one removed", func() { q.Remove("a") }, 3},
		{"an unknown one removed", func() { q.Remove("zz") }, 3},
	}
	for _, st := range steps {
		st.do()
		if got := q.Changes(); got != st.want {
			t.Errorf("after %s: Changes() = %d, want %d", st.name, got, st.want)
		}
	}
}
