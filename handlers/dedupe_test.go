package handlers_test

import (
	"slices"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestDedupe checks that a user named more than once is sent to once, that the order
// of first appearance is kept, and that the form of the request does not change.
func TestDedupe(t *testing.T) {
	tests := []struct {
		name     string
		req      handlers.Request
		users    []string
		excluded []string
		kind     handlers.Kind
	}{
		{
			name:  "repeated users kept once in first-appearance order",
			req:   handlers.Request{Users: []string{"bob", "alice", "bob", "carol", "alice", "bob"}},
			users: []string{"bob", "alice", "carol"},
			kind:  handlers.Multicast,
		},
		{
			name:  "distinct users unchanged",
			req:   handlers.Request{Users: []string{"carol", "alice", "bob"}},
			users: []string{"carol", "alice", "bob"},
			kind:  handlers.Multicast,
		},
		{
			name:  "a single user named many times",
			req:   handlers.Request{Users: []string{"alice", "alice", "alice"}},
			users: []string{"alice"},
			kind:  handlers.Multicast,
		},
		{
			name:  "user ids differing only in case are different users",
			req:   handlers.Request{Users: []string{"Alice", "alice", "Alice"}},
			users: []string{"Alice", "alice"},
			kind:  handlers.Multicast,
		},
		{
			name:     "excluded users deduped",
			req:      handlers.Request{ExcludeUsers: []string{"dave", "erin", "dave"}},
			excluded: []string{"dave", "erin"},
			kind:     handlers.Exclusion,
		},
		{
			name:     "multicast with exclusions deduped on both sides",
			req:      handlers.Request{Users: []string{"a", "b", "a"}, ExcludeUsers: []string{"b", "b"}},
			users:    []string{"a", "b"},
			excluded: []string{"b"},
			kind:     handlers.Multicast,
		},
		{
			name: "broadcast stays a broadcast",
			req:  handlers.Request{},
			kind: handlers.Broadcast,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Data = []byte(`{"n":1}`)
			users, excluded := slices.Clone(tt.req.Users), slices.Clone(tt.req.ExcludeUsers)

			got := handlers.Dedupe(tt.req)

			if !slices.Equal(got.Users, tt.users) {
				t.Errorf("Users = %q, want %q", got.Users, tt.users)
			}
			if !slices.Equal(got.ExcludeUsers, tt.excluded) {
				t.Errorf("ExcludeUsers = %q, want %q", got.ExcludeUsers, tt.excluded)
			}
			if k := got.Kind(); k != tt.kind {
				t.Errorf("Kind() = %q, want %q", k, tt.kind)
			}
			if string(got.Data) != `{"n":1}` {
				t.Errorf("Data = %s, want it unchanged", got.Data)
			}
			if !slices.Equal(tt.req.Users, users) || !slices.Equal(tt.req.ExcludeUsers, excluded) {
				t.Errorf("the caller's request changed to %q / %q", tt.req.Users, tt.req.ExcludeUsers)
			}
		})
	}
}
