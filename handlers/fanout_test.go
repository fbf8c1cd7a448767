package handlers_test

import (
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestFanout checks that a page becomes one delivery per connection, in the page's
// order, each carrying the page's data as its frame.
func TestFanout(t *testing.T) {
	tests := []struct {
		name  string
		conns []handlers.Connection
	}{
		{name: "empty page", conns: nil},
		{name: "one connection", conns: []handlers.Connection{conn("alice", "a1")}},
		{
			name:  "several users and connections",
			conns: []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("bob", "b1"), conn("carol", "c1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte(`{"msg":"hello world","n":[1,2]}`)
			got := handlers.Fanout(handlers.Recipients{Data: data, Connections: tt.conns})

			if len(got) != len(tt.conns) {
				t.Fatalf("got %d deliveries, want %d", len(got), len(tt.conns))
			}
			for i, d := range got {
				if d.Connection != tt.conns[i] {
					t.Errorf("delivery %d is for %+v, want %+v", i, d.Connection, tt.conns[i])
				}
				if !slices.Equal(d.Frame, data) {
					t.Errorf("delivery %d frame = %s, want %s", i, d.Frame, data)
				}
			}
		})
	}
}
