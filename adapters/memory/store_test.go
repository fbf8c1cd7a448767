package memory_test

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// stored is when the tests' connections connected: long ago, and the same for all, so
// that what the store returns compares equal to what was added.
var stored = time.Unix(1_700_000_000, 0)

func conn(user, id string) handlers.Connection {
	return handlers.Connection{UserID: user, ConnectionID: id, ConnectedAt: stored}
}

// newStore returns a Store with scan pages of pageSize holding conns.
func newStore(t *testing.T, pageSize int, conns ...handlers.Connection) *memory.Store {
	t.Helper()
	s := memory.NewStore(pageSize)
	for _, c := range conns {
		if err := s.AddConnection(t.Context(), c); err != nil {
			t.Fatalf("AddConnection(%v): %v", c, err)
		}
	}
	return s
}

// page is one call of a scan's page function.
type page struct {
	conns []handlers.Connection
	next  string
}

// scan runs a scan from cursor and returns its pages; during, if set, runs after each
// page, before the scan reads the next one.
func scan(t *testing.T, s *memory.Store, cursor string, during func(n int)) []page {
	t.Helper()
	var pages []page
	err := s.ScanConnections(t.Context(), cursor, func(conns []handlers.Connection, next string) error {
		pages = append(pages, page{conns: slices.Clone(conns), next: next})
		if during != nil {
			during(len(pages))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("ScanConnections: %v", err)
	}
	return pages
}

func flatten(pages []page) []handlers.Connection {
	var all []handlers.Connection
	for _, p := range pages {
		all = append(all, p.conns...)
	}
	return all
}

// TestStoreConnections checks adding, removing and looking up connections.
func TestStoreConnections(t *testing.T) {
	type op struct {
		add  bool
		conn handlers.Connection
	}
	add := func(u, id string) op { return op{add: true, conn: conn(u, id)} }
	remove := func(u, id string) op { return op{conn: conn(u, id)} }
	tests := []struct {
		name string
		ops  []op
		user string
		want []handlers.Connection // UserConnections(user)
		len  int
	}{
		{name: "empty store", user: "alice", want: nil, len: 0},
		{name: "one connection", ops: []op{add("alice", "a1")}, user: "alice", want: []handlers.Connection{conn("alice", "a1")}, len: 1},
		{
			name: "adding twice keeps one",
			ops:  []op{add("alice", "a1"), add("alice", "a1"), add("alice", "a1")},
			user: "alice", want: []handlers.Connection{conn("alice", "a1")}, len: 1,
		},
		{
			name: "a user's connections, in connection id order",
			ops:  []op{add("alice", "a3"), add("bob", "b1"), add("alice", "a1"), add("alice", "a2")},
			user: "alice", want: []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("alice", "a3")}, len: 4,
		},
		{
			name: "the same connection id under two users is two connections",
			ops:  []op{add("alice", "x"), add("bob", "x")},
			user: "bob", want: []handlers.Connection{conn("bob", "x")}, len: 2,
		},
		{
			name: "a user id that prefixes another is its own user",
			ops:  []op{add("al", "1"), add("alice", "2"), add("a", "3"), add("alicia", "4")},
			user: "al", want: []handlers.Connection{conn("al", "1")}, len: 4,
		},
		{
			name: "remove",
			ops:  []op{add("alice", "a1"), add("alice", "a2"), remove("alice", "a1")},
			user: "alice", want: []handlers.Connection{conn("alice", "a2")}, len: 1,
		},
		{
			name: "remove needs the right user",
			ops:  []op{add("alice", "a1"), remove("bob", "a1")},
			user: "alice", want: []handlers.Connection{conn("alice", "a1")}, len: 1,
		},
		{
			name: "remove an absent connection",
			ops:  []op{add("alice", "a1"), remove("alice", "a9"), remove("zoe", "z1")},
			user: "alice", want: []handlers.Connection{conn("alice", "a1")}, len: 1,
		},
		{
			name: "remove then add again",
			ops:  []op{add("alice", "a1"), remove("alice", "a1"), add("alice", "a1")},
			user: "alice", want: []handlers.Connection{conn("alice", "a1")}, len: 1,
		},
		{
			name: "unknown user",
			ops:  []op{add("alice", "a1"), add("carol", "c1")},
			user: "bob", want: nil, len: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := memory.NewStore(0)
			for _, o := range tt.ops {
				var err error
				if o.add {
					err = s.AddConnection(t.Context(), o.conn)
				} else {
					err = s.RemoveConnection(t.Context(), o.conn)
				}
				if err != nil {
					t.Fatalf("op %+v: %v", o, err)
				}
			}
			got, err := s.UserConnections(t.Context(), tt.user)
			if err != nil {
				t.Fatalf("UserConnections: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("UserConnections(%q) = %v, want %v", tt.user, got, tt.want)
			}
			if s.Len() != tt.len {
				t.Errorf("Len() = %d, want %d", s.Len(), tt.len)
			}
		})
	}
}

// TestStoreDeleteConnections checks deleting several connections at once.
func TestStoreDeleteConnections(t *testing.T) {
	all := []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("bob", "b1"), conn("carol", "c1")}
	tests := []struct {
		name   string
		delete []handlers.Connection
		want   []handlers.Connection
	}{
		{name: "none", delete: nil, want: all},
		{name: "some", delete: []handlers.Connection{all[3], all[0]}, want: []handlers.Connection{all[1], all[2]}},
		{name: "all", delete: all, want: nil},
		{name: "absent and repeated", delete: []handlers.Connection{conn("zoe", "z"), all[2], all[2]}, want: []handlers.Connection{all[0], all[1], all[3]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, 0, all...)
			if err := s.DeleteConnections(t.Context(), tt.delete); err != nil {
				t.Fatalf("DeleteConnections: %v", err)
			}
			if got := flatten(scan(t, s, "", nil)); !slices.Equal(got, tt.want) {
				t.Errorf("store holds %v, want %v", got, tt.want)
			}
			if s.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(tt.want))
			}
		})
	}
}

// TestStoreConnectedAt checks the time a connection is stored with: its own, or the
// time of AddConnection, to the second, for one that has none.
func TestStoreConnectedAt(t *testing.T) {
	s := memory.NewStore(0)
	before := time.Now().Truncate(time.Second)
	if err := s.AddConnection(t.Context(), handlers.Connection{UserID: "alice", ConnectionID: "new"}); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	if err := s.AddConnection(t.Context(), conn("alice", "old")); err != nil {
		t.Fatal(err)
	}
	got, _ := s.UserConnections(t.Context(), "alice")
	if len(got) != 2 {
		t.Fatalf("UserConnections = %v, want 2", got)
	}
	if at := got[0].ConnectedAt; at.Before(before) || at.After(after) || at.Nanosecond() != 0 {
		t.Errorf("a connection without a time is stored at %v, want the second of AddConnection, within [%v, %v]", at, before, after)
	}
	if at := got[1].ConnectedAt; !at.Equal(stored) {
		t.Errorf("a connection with a time is stored at %v, want its own %v", at, stored)
	}
}

// TestStorePruneConnections checks that a prune deletes the connections stored before
// the cutoff, by the time the store holds, and keeps the others.
func TestStorePruneConnections(t *testing.T) {
	cutoff := stored.Add(time.Hour)
	at := func(c handlers.Connection, t time.Time) handlers.Connection { c.ConnectedAt = t; return c }
	old, young, edge := conn("alice", "old"), at(conn("alice", "young"), cutoff.Add(time.Second)), at(conn("bob", "edge"), cutoff)
	tests := []struct {
		name  string
		prune []handlers.Connection
		want  []handlers.Connection
	}{
		{name: "old goes, young stays", prune: []handlers.Connection{old, young}, want: []handlers.Connection{young, edge}},
		{name: "stored at the cutoff stays", prune: []handlers.Connection{edge}, want: []handlers.Connection{old, young, edge}},
		{name: "judged by the stored time, not the caller's", prune: []handlers.Connection{at(young, stored), old.Key()},
			want: []handlers.Connection{young, edge}},
		{name: "absent and repeated", prune: []handlers.Connection{conn("zoe", "z"), old, old}, want: []handlers.Connection{young, edge}},
		{name: "none", prune: nil, want: []handlers.Connection{old, young, edge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, 0, old, young, edge)
			if err := s.PruneConnections(t.Context(), tt.prune, cutoff); err != nil {
				t.Fatalf("PruneConnections: %v", err)
			}
			want := slices.SortedFunc(slices.Values(tt.want), func(a, b handlers.Connection) int {
				return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ConnectionID, b.ConnectionID))
			})
			if got := flatten(scan(t, s, "", nil)); !slices.Equal(got, want) {
				t.Errorf("store holds %v, want %v", got, want)
			}
		})
	}
}

// TestStoreUserConnectionsIsACopy checks that a caller changing what UserConnections
// returned does not change the store.
func TestStoreUserConnectionsIsACopy(t *testing.T) {
	s := newStore(t, 0, conn("alice", "a1"), conn("bob", "b1"))
	got, _ := s.UserConnections(t.Context(), "alice")
	got[0].ConnectionID = "changed"
	if again, _ := s.UserConnections(t.Context(), "alice"); !slices.Equal(again, []handlers.Connection{conn("alice", "a1")}) {
		t.Errorf("after changing the result, UserConnections = %v", again)
	}
}

// sevenConns is the scan tests' store, given out of order.
var sevenConns = []handlers.Connection{
	conn("carol", "c1"), conn("alice", "a2"), conn("bob", "b1"), conn("alice", "a1"),
	conn("dave", "d1"), conn("bob", "b2"), conn("erin", "e1"),
}

// TestStoreScan checks that a scan visits every connection once, in key order, in pages
// of the store's size, and that its cursors resume it.
func TestStoreScan(t *testing.T) {
	inOrder := slices.Clone(sevenConns)
	slices.SortFunc(inOrder, func(a, b handlers.Connection) int {
		return cmp.Or(strings.Compare(a.UserID, b.UserID), strings.Compare(a.ConnectionID, b.ConnectionID))
	})
	tests := []struct {
		name     string
		pageSize int
		conns    []handlers.Connection
		pages    int
	}{
		{name: "empty store", pageSize: 2, conns: nil, pages: 0},
		{name: "one page", pageSize: 100, conns: sevenConns, pages: 1},
		{name: "default page size", pageSize: 0, conns: sevenConns, pages: 1},
		{name: "pages of 1", pageSize: 1, conns: sevenConns, pages: 7},
		{name: "pages of 2", pageSize: 2, conns: sevenConns, pages: 4},
		{name: "pages of 3", pageSize: 3, conns: sevenConns, pages: 3},
		{name: "last page full", pageSize: 7, conns: sevenConns, pages: 1},
		{name: "connections a multiple of the page size", pageSize: 3, conns: sevenConns[:6], pages: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, tt.pageSize, tt.conns...)
			want := slices.DeleteFunc(slices.Clone(inOrder), func(c handlers.Connection) bool { return !slices.Contains(tt.conns, c) })
			if len(want) == 0 {
				want = nil
			}

			pages := scan(t, s, "", nil)

			if got := flatten(pages); !slices.Equal(got, want) {
				t.Errorf("scan visited %v, want %v", got, want)
			}
			if len(pages) != tt.pages {
				t.Errorf("scan made %d pages, want %d", len(pages), tt.pages)
			}
			size := tt.pageSize
			if size <= 0 {
				size = 100
			}
			for i, p := range pages {
				if len(p.conns) == 0 || len(p.conns) > size {
					t.Errorf("page %d has %d connections, want 1 to %d", i, len(p.conns), size)
				}
				// A full last page may still carry a cursor, as a DynamoDB scan does; the
				// resume check below shows it leads nowhere.
				if i == len(pages)-1 && len(p.conns) < size && p.next != "" {
					t.Errorf("last page %d is short but has cursor %q, want \"\"", i, p.next)
				}
				if i < len(pages)-1 && p.next == "" {
					t.Errorf("page %d of %d has no cursor", i, len(pages))
				}
			}
			// Every cursor resumes the scan with exactly what followed it.
			for i, p := range pages {
				if p.next == "" {
					continue
				}
				rest := flatten(scan(t, s, p.next, nil))
				if wantRest := flatten(pages[i+1:]); !slices.Equal(rest, wantRest) {
					t.Errorf("resuming after page %d visited %v, want %v", i, rest, wantRest)
				}
			}
		})
	}
}

// TestStoreScanWhileChanging checks a scan while connections come and go between its
// pages: a connection stored throughout is visited exactly once, none is visited
// twice, and one removed before the scan reached it is not visited.
func TestStoreScanWhileChanging(t *testing.T) {
	tests := []struct {
		name   string
		page   int
		add    []handlers.Connection // after the first page
		remove []handlers.Connection // after the first page
		absent []handlers.Connection // must not be visited
	}{
		{
			name: "added before the cursor",
			page: 2,
			add:  []handlers.Connection{conn("aaron", "x1"), conn("alice", "a0")},
		},
		{
			name: "added after the cursor",
			page: 2,
			add:  []handlers.Connection{conn("alice", "a3"), conn("zed", "z1"), conn("bob", "b0")},
		},
		{
			name:   "cursor's own connection removed",
			page:   2,
			remove: []handlers.Connection{conn("alice", "a2")},
		},
		{
			name:   "next connection removed",
			page:   2,
			remove: []handlers.Connection{conn("bob", "b1")},
			absent: []handlers.Connection{conn("bob", "b1")},
		},
		{
			name:   "whole next page removed",
			page:   2,
			remove: []handlers.Connection{conn("bob", "b1"), conn("bob", "b2")},
			absent: []handlers.Connection{conn("bob", "b1"), conn("bob", "b2")},
		},
		{
			name:   "visited connections removed",
			page:   3,
			remove: []handlers.Connection{conn("alice", "a1"), conn("alice", "a2"), conn("bob", "b1")},
		},
		{
			name:   "churn on both sides",
			page:   1,
			add:    []handlers.Connection{conn("a", "0"), conn("alice", "a1a"), conn("carol", "c0"), conn("zz", "9")},
			remove: []handlers.Connection{conn("alice", "a1"), conn("carol", "c1"), conn("erin", "e1")},
			absent: []handlers.Connection{conn("carol", "c1"), conn("erin", "e1")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, tt.page, sevenConns...)
			var throughout []handlers.Connection
			for _, c := range sevenConns {
				if !slices.Contains(tt.remove, c) {
					throughout = append(throughout, c)
				}
			}

			pages := scan(t, s, "", func(n int) {
				if n != 1 {
					return
				}
				for _, c := range tt.add {
					_ = s.AddConnection(context.Background(), c)
				}
				_ = s.DeleteConnections(context.Background(), tt.remove)
			})

			seen := map[handlers.Connection]int{}
			for _, c := range flatten(pages) {
				seen[c]++
			}
			for c, n := range seen {
				if n > 1 {
					t.Errorf("%v visited %d times", c, n)
				}
			}
			for _, c := range throughout {
				if seen[c] != 1 {
					t.Errorf("%v, stored throughout, visited %d times", c, seen[c])
				}
			}
			for _, c := range tt.absent {
				if seen[c] != 0 {
					t.Errorf("%v, removed before the scan reached it, was visited", c)
				}
			}
		})
	}
}

// TestStoreScanStops checks that a scan stops at its page function's first error and
// at a cancelled context, and returns the error.
func TestStoreScanStops(t *testing.T) {
	errStop := errors.New("stop")
	tests := []struct {
		name   string
		cancel bool
		failAt int
		want   error
		calls  int
	}{
		{name: "page error on the first page", failAt: 1, want: errStop, calls: 1},
		{name: "page error on the third page", failAt: 3, want: errStop, calls: 3},
		{name: "cancelled context", cancel: true, want: context.Canceled, calls: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, 2, sevenConns...)
			ctx, cancel := context.WithCancel(t.Context())
			t.Cleanup(cancel)
			if tt.cancel {
				cancel()
			}
			calls := 0
			err := s.ScanConnections(ctx, "", func([]handlers.Connection, string) error {
				calls++
				if calls == tt.failAt {
					return errStop
				}
				return nil
			})
			if !errors.Is(err, tt.want) {
				t.Errorf("ScanConnections = %v, want %v", err, tt.want)
			}
			if calls != tt.calls {
				t.Errorf("page called %d times, want %d", calls, tt.calls)
			}
		})
	}
}

var (
	_ handlers.ConnectionLister  = (*memory.Store)(nil)
	_ handlers.ConnectionDeleter = (*memory.Store)(nil)
)
