package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

func conn(user, id string) handlers.Connection {
	return handlers.Connection{UserID: user, ConnectionID: id}
}

// newStore returns a memory.Store with scan pages of pageSize holding conns.
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

// scanAll returns every connection of s, in scan order.
func scanAll(t *testing.T, s *memory.Store) []handlers.Connection {
	t.Helper()
	var all []handlers.Connection
	err := s.ScanConnections(t.Context(), "", func(conns []handlers.Connection, _ string) error {
		all = append(all, conns...)
		return nil
	})
	if err != nil {
		t.Fatalf("ScanConnections: %v", err)
	}
	return all
}

// emitted records the pages a Resolve emits, and fails the emit numbered failAt (from 1).
type emitted struct {
	failAt int
	err    error

	calls   int
	pages   []handlers.Recipients
	cursors []string
}

func (e *emitted) emit(page handlers.Recipients, next string) error {
	e.calls++
	if e.calls == e.failAt {
		return e.err
	}
	e.pages = append(e.pages, page)
	e.cursors = append(e.cursors, next)
	return nil
}

// connections returns the emitted connections, in emit order.
func (e *emitted) connections() []handlers.Connection {
	var all []handlers.Connection
	for _, p := range e.pages {
		all = append(all, p.Connections...)
	}
	return all
}

// lastCursor is where a retry resumes: the cursor of the last page emitted.
func (e *emitted) lastCursor() string {
	if len(e.cursors) == 0 {
		return ""
	}
	return e.cursors[len(e.cursors)-1]
}

func ids(conns []handlers.Connection) []string {
	out := make([]string, len(conns))
	for i, c := range conns {
		out[i] = c.ConnectionID
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// duplicates returns the ids that occur more than once in s.
func duplicates(s []string) []string {
	seen := map[string]int{}
	var dups []string
	for _, id := range s {
		if seen[id]++; seen[id] == 2 {
			dups = append(dups, id)
		}
	}
	return dups
}

// population is the store the resolve tests run against: alice has three connections,
// bob and dave one each, carol two, erin none.
var population = []handlers.Connection{
	conn("alice", "a1"), conn("alice", "a2"), conn("alice", "a3"),
	conn("bob", "b1"),
	conn("carol", "c1"), conn("carol", "c2"),
	conn("dave", "d1"),
}

// TestResolve checks which connections a request reaches, that none is emitted twice,
// that pages respect their size, and that every page carries the request's data.
func TestResolve(t *testing.T) {
	tests := []struct {
		name      string
		storePage int // scan page size of the store
		pageSize  int // Resolver.PageSize
		req       handlers.Request
		want      []string
		maxPage   int // largest page allowed
	}{
		{
			name: "multicast to one user",
			req:  handlers.Request{Users: []string{"carol"}},
			want: []string{"c1", "c2"}, maxPage: 100,
		},
		{
			name: "multicast across users",
			req:  handlers.Request{Users: []string{"bob", "alice", "dave"}},
			want: []string{"a1", "a2", "a3", "b1", "d1"}, maxPage: 100,
		},
		{
			name: "multicast with repeats deduped first",
			req:  handlers.Dedupe(handlers.Request{Users: []string{"alice", "bob", "alice", "bob", "alice"}}),
			want: []string{"a1", "a2", "a3", "b1"}, maxPage: 100,
		},
		{
			name: "multicast to a user with no connections",
			req:  handlers.Request{Users: []string{"erin", "bob"}},
			want: []string{"b1"}, maxPage: 100,
		},
		{
			name: "multicast to users with no connections emits nothing",
			req:  handlers.Request{Users: []string{"erin", "zoe"}},
			want: nil,
		},
		{
			name: "multicast less excluded users",
			req:  handlers.Request{Users: []string{"alice", "bob", "carol"}, ExcludeUsers: []string{"alice", "dave"}},
			want: []string{"b1", "c1", "c2"}, maxPage: 100,
		},
		{
			name: "multicast whose every user is excluded emits nothing",
			req:  handlers.Request{Users: []string{"alice", "bob"}, ExcludeUsers: []string{"bob", "alice"}},
			want: nil,
		},
		{
			name:     "multicast in pages",
			pageSize: 2,
			req:      handlers.Request{Users: []string{"alice", "bob", "carol"}},
			want:     []string{"a1", "a2", "a3", "b1", "c1", "c2"}, maxPage: 2,
		},
		{
			name:      "broadcast over several pages",
			storePage: 2,
			req:       handlers.Request{},
			want:      []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1"}, maxPage: 2,
		},
		{
			name:      "broadcast with one page per connection",
			storePage: 1,
			req:       handlers.Request{},
			want:      []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1"}, maxPage: 1,
		},
		{
			name:      "exclusion skips the excluded users' connections",
			storePage: 2,
			req:       handlers.Request{ExcludeUsers: []string{"alice", "carol"}},
			want:      []string{"b1", "d1"}, maxPage: 2,
		},
		{
			name:      "exclusion of a user with no connections",
			storePage: 2,
			req:       handlers.Request{ExcludeUsers: []string{"erin"}},
			want:      []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1"}, maxPage: 2,
		},
		{
			name:      "exclusion of everyone emits nothing",
			storePage: 2,
			req:       handlers.Request{ExcludeUsers: []string{"alice", "bob", "carol", "dave"}},
			want:      nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Data = []byte(`{"msg":"hi there"}`)
			r := handlers.Resolver{Store: newStore(t, tt.storePage, population...), PageSize: tt.pageSize}
			var e emitted

			if err := r.Resolve(t.Context(), tt.req, "", e.emit); err != nil {
				t.Fatalf("Resolve: %v", err)
			}

			got := ids(e.connections())
			if d := duplicates(got); len(d) > 0 {
				t.Errorf("emitted %v more than once (all: %v)", d, got)
			}
			if !slices.Equal(sorted(got), tt.want) {
				t.Errorf("emitted %v, want %v", sorted(got), tt.want)
			}
			for i, p := range e.pages {
				if len(p.Connections) == 0 || len(p.Connections) > tt.maxPage {
					t.Errorf("page %d has %d connections, want 1 to %d", i, len(p.Connections), tt.maxPage)
				}
				if string(p.Data) != `{"msg":"hi there"}` {
					t.Errorf("page %d data = %s, want the request's", i, p.Data)
				}
			}
		})
	}
}

// TestResolveResumes checks that a resolution cut short by a failing emit stops there,
// and that resuming from the cursor of the last page emitted emits the rest and
// nothing already emitted, as a retry of the resolve stage does.
func TestResolveResumes(t *testing.T) {
	everyone := []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1"}
	tests := []struct {
		name      string
		storePage int
		pageSize  int
		req       handlers.Request
		failAt    int // the emit that fails
		want      []string
	}{
		{name: "broadcast fails on the second page", storePage: 2, failAt: 2, want: everyone},
		{name: "broadcast fails on the last page", storePage: 2, failAt: 4, want: everyone},
		{name: "broadcast with one connection per page", storePage: 1, failAt: 5, want: everyone},
		{
			name: "exclusion", storePage: 2, failAt: 2,
			req:  handlers.Request{ExcludeUsers: []string{"bob"}},
			want: []string{"a1", "a2", "a3", "c1", "c2", "d1"},
		},
		{
			name: "multicast with page size 1 fails on the second page", pageSize: 1, failAt: 2,
			req:  handlers.Request{Users: []string{"carol", "alice", "dave"}},
			want: []string{"a1", "a2", "a3", "c1", "c2", "d1"},
		},
		{
			name: "multicast with page size 1 fails on the last page", pageSize: 1, failAt: 6,
			req:  handlers.Request{Users: []string{"carol", "alice", "dave"}},
			want: []string{"a1", "a2", "a3", "c1", "c2", "d1"},
		},
		{
			name: "multicast with page size 2", pageSize: 2, failAt: 3,
			req:  handlers.Request{Users: []string{"alice", "bob", "carol", "dave"}},
			want: everyone,
		},
		{
			name: "multicast less excluded users", pageSize: 1, failAt: 3,
			req:  handlers.Request{Users: []string{"alice", "bob", "carol"}, ExcludeUsers: []string{"carol"}},
			want: []string{"a1", "a2", "a3", "b1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errPublish := errors.New("publish page: bus down")
			tt.req.Data = []byte(`"hi"`)
			r := handlers.Resolver{Store: newStore(t, tt.storePage, population...), PageSize: tt.pageSize}

			first := emitted{failAt: tt.failAt, err: errPublish}
			err := r.Resolve(t.Context(), tt.req, "", first.emit)
			if !errors.Is(err, errPublish) {
				t.Fatalf("Resolve = %v, want the emit's error", err)
			}
			if first.calls != tt.failAt {
				t.Fatalf("emit called %d times, want the walk to stop at the failing call %d", first.calls, tt.failAt)
			}

			var retry emitted
			if err := r.Resolve(t.Context(), tt.req, first.lastCursor(), retry.emit); err != nil {
				t.Fatalf("Resolve from cursor %q: %v", first.lastCursor(), err)
			}
			before, after := ids(first.connections()), ids(retry.connections())
			for _, id := range after {
				if slices.Contains(before, id) {
					t.Errorf("resuming from %q emitted %s again (before: %v, after: %v)", first.lastCursor(), id, before, after)
				}
			}
			all := append(before, after...)
			if d := duplicates(all); len(d) > 0 {
				t.Errorf("emitted %v more than once", d)
			}
			if !slices.Equal(sorted(all), tt.want) {
				t.Errorf("emitted %v over both runs, want %v", sorted(all), tt.want)
			}
		})
	}
}

// failingStore is a handlers.ConnectionLister whose lookups of one user, and whose
// scans, fail.
type failingStore struct {
	failUser string
	err      error

	mu     sync.Mutex
	lookup []string
}

func (s *failingStore) UserConnections(_ context.Context, userID string) ([]handlers.Connection, error) {
	s.mu.Lock()
	s.lookup = append(s.lookup, userID)
	s.mu.Unlock()
	if userID == s.failUser {
		return nil, s.err
	}
	return []handlers.Connection{conn(userID, userID+"-1")}, nil
}

func (s *failingStore) ScanConnections(context.Context, string, func([]handlers.Connection, string) error) error {
	return s.err
}

// TestResolveStoreError checks that a store error is returned, wrapped with what was
// being resolved, and that a multicast that could not look up a user has emitted the
// connections of the users before it, and no other.
func TestResolveStoreError(t *testing.T) {
	tests := []struct {
		name  string
		req   handlers.Request
		want  string
		emits []string
	}{
		{name: "multicast", req: handlers.Request{Users: []string{"alice", "bob", "carol"}}, want: "resolve bob: ", emits: []string{"alice-1"}},
		{name: "broadcast", req: handlers.Request{}, want: "resolve broadcast: "},
		{name: "exclusion", req: handlers.Request{ExcludeUsers: []string{"alice"}}, want: "resolve exclusion: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errStore := errors.New("throughput exceeded")
			store := &failingStore{failUser: "bob", err: errStore}
			var e emitted

			err := handlers.Resolver{Store: store}.Resolve(t.Context(), tt.req, "", e.emit)

			if !errors.Is(err, errStore) {
				t.Fatalf("Resolve = %v, want it to wrap %v", err, errStore)
			}
			if !strings.Contains(err.Error(), tt.want+"throughput exceeded") {
				t.Errorf("error = %q, want it to contain %q", err, tt.want+"throughput exceeded")
			}
			if handlers.IsPermanent(err) {
				t.Errorf("a store error came back permanent: %v", err)
			}
			if got := ids(e.connections()); !slices.Equal(got, tt.emits) {
				t.Errorf("emitted %v, want %v", got, tt.emits)
			}
		})
	}
}

// flakyStore is a handlers.ConnectionLister on a memory.Store whose lookup of one user
// fails the first time.
type flakyStore struct {
	*memory.Store
	failUser string

	mu     sync.Mutex
	failed bool
	lookup []string
}

func (s *flakyStore) UserConnections(ctx context.Context, userID string) ([]handlers.Connection, error) {
	s.mu.Lock()
	s.lookup = append(s.lookup, userID)
	fail := userID == s.failUser && !s.failed
	s.failed = s.failed || fail
	s.mu.Unlock()
	if fail {
		return nil, errors.New("throttled")
	}
	return s.Store.UserConnections(ctx, userID)
}

// TestResolveMulticastRetriesFromTheFailingUser fails the lookup of carol once: a retry
// from the cursor, which names bob's last connection, looks up bob and those after him
// only, and every connection is emitted once over both runs.
func TestResolveMulticastRetriesFromTheFailingUser(t *testing.T) {
	mem := newStore(t, 0, population...)
	req := handlers.Request{Users: []string{"alice", "bob", "carol", "dave"}, Data: []byte(`1`)}
	var first emitted
	r := handlers.Resolver{Store: &flakyStore{Store: mem, failUser: "carol"}, PageSize: 2}
	if err := r.Resolve(t.Context(), req, "", first.emit); err == nil {
		t.Fatal("Resolve: no error, want carol's")
	}
	store := &flakyStore{Store: mem}
	var retry emitted
	r.Store = store
	if err := r.Resolve(t.Context(), req, first.lastCursor(), retry.emit); err != nil {
		t.Fatal(err)
	}
	if slices.Sort(store.lookup); !slices.Equal(store.lookup, []string{"bob", "carol", "dave"}) {
		t.Errorf("the retry from %q looked up %v, want bob, carol and dave", first.lastCursor(), store.lookup)
	}
	all := append(ids(first.connections()), ids(retry.connections())...)
	if d := duplicates(all); len(d) > 0 || !slices.Equal(sorted(all), []string{"a1", "a2", "a3", "b1", "c1", "c2", "d1"}) {
		t.Errorf("emitted %v over both runs (first %v), want each once", all, ids(first.connections()))
	}
}

// TestResolveCancelled checks that a broadcast over a cancelled context stops with the
// context's error.
func TestResolveCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var e emitted

	err := handlers.Resolver{Store: newStore(t, 2, population...)}.Resolve(ctx, handlers.Request{}, "", e.emit)

	if !errors.Is(err, context.Canceled) {
		t.Errorf("Resolve = %v, want context.Canceled", err)
	}
	if e.calls != 0 {
		t.Errorf("emit called %d times, want none", e.calls)
	}
}

// TestResolveMulticastResumesAfterAPrune stops a multicast after its first page, prunes
// the connection it emitted, and resumes: no connection still stored is skipped.
func TestResolveMulticastResumesAfterAPrune(t *testing.T) {
	store := memory.NewStore(0)
	for _, c := range []handlers.Connection{{UserID: "alice", ConnectionID: "a1"}, {UserID: "alice", ConnectionID: "a2"}, {UserID: "bob", ConnectionID: "b1"}} {
		_ = store.AddConnection(t.Context(), c)
	}
	r := handlers.Resolver{Store: store, PageSize: 1}
	req := handlers.Request{Users: []string{"alice", "bob"}, Data: []byte(`1`)}
	stop := errors.New("stop")
	var cursor string
	err := r.Resolve(t.Context(), req, "", func(page handlers.Recipients, next string) error {
		cursor = next
		return stop
	})
	if !errors.Is(err, stop) {
		t.Fatalf("first run: %v", err)
	}
	_ = store.RemoveConnection(t.Context(), handlers.Connection{UserID: "alice", ConnectionID: "a1"})
	var got []string
	if err := r.Resolve(t.Context(), req, cursor, func(page handlers.Recipients, _ string) error {
		for _, c := range page.Connections {
			got = append(got, c.ConnectionID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != "a2,b1" {
		t.Errorf("resumed with %v, want a2,b1", got)
	}
}

// topicPopulation is the store the topic tests run against: population, with erin's
// e1 and e2, frank's f1 and gina's g1, subscribed to news, sport and cars, which
// overlap. z9 follows news by a subscription made before its user, erin, was known,
// and sport with her.
func topicPopulation(t *testing.T, pageSize int) *memory.Store {
	t.Helper()
	s := newStore(t, pageSize, population...)
	follow(t, s, conn("", "z9"), "news")
	for _, c := range []handlers.Connection{conn("erin", "e1"), conn("erin", "e2"), conn("frank", "f1"), conn("gina", "g1"), conn("erin", "z9")} {
		if err := s.AddConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
	}
	for topic, conns := range map[string][]string{
		"news":  {"a1", "c2", "e1", "f1", "g1"},
		"sport": {"b1", "c2", "e1", "e2", "g1", "z9"},
		"cars":  {"a1", "d1", "e2", "f1"},
	} {
		for _, id := range conns {
			c, _, err := s.Connection(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			follow(t, s, c, topic)
		}
	}
	return s
}

// follow subscribes c to topics.
func follow(t *testing.T, s *memory.Store, c handlers.Connection, topics ...string) {
	t.Helper()
	if err := s.Subscribe(t.Context(), c, topics, handlers.DefaultMaxTopics); err != nil {
		t.Fatalf("Subscribe(%v, %q): %v", c, topics, err)
	}
}

// TestResolveTopics resolves requests to several topics that overlap: each connection
// once, the topics' in connection id order after the users', less the users' and the
// excluded users', in pages of PageSize that name their topic when the request names
// one; and a resolution resumed from the cursor of any page it emitted emits exactly
// the connections after that page.
func TestResolveTopics(t *testing.T) {
	tests := []struct {
		name      string
		storePage int
		pageSize  int
		req       handlers.Request
		want      []string
		topic     string // what the topics' pages name
	}{
		{
			name: "one topic", storePage: 2, pageSize: 2,
			req:  handlers.Request{Topics: []string{"news"}},
			want: []string{"a1", "c2", "e1", "f1", "g1", "z9"}, topic: "news",
		},
		{
			name: "two topics", storePage: 2, pageSize: 2,
			req:  handlers.Request{Topics: []string{"news", "sport"}},
			want: []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name: "three topics, pages of the store smaller", storePage: 1, pageSize: 3,
			req:  handlers.Request{Topics: []string{"sport", "cars", "news"}},
			want: []string{"a1", "b1", "c2", "d1", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name: "three topics, pages of the store larger", storePage: 4, pageSize: 1,
			req:  handlers.Request{Topics: []string{"news", "sport", "cars"}},
			want: []string{"a1", "b1", "c2", "d1", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name: "users and topics overlap", storePage: 2, pageSize: 2,
			req:  handlers.Request{Users: []string{"erin", "alice"}, Topics: []string{"news", "sport"}},
			want: []string{"e1", "e2", "z9", "a1", "a2", "a3", "b1", "c2", "f1", "g1"},
		},
		{
			name: "excluded users, by any of a connection's subscriptions", storePage: 2, pageSize: 2,
			req:  handlers.Request{Topics: []string{"news", "sport", "cars"}, ExcludeUsers: []string{"erin", "carol"}},
			want: []string{"a1", "b1", "d1", "f1", "g1"},
		},
		{
			name: "a topic no one follows", storePage: 2, pageSize: 2,
			req:  handlers.Request{Topics: []string{"weather", "cars"}},
			want: []string{"a1", "d1", "e2", "f1"},
		},
		{
			name: "topics whose every subscriber is left out", storePage: 2, pageSize: 2,
			req:  handlers.Request{Users: []string{"alice"}, Topics: []string{"cars"}, ExcludeUsers: []string{"dave", "erin", "frank"}},
			want: []string{"a1", "a2", "a3"}, topic: "cars",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Data = []byte(`"hi"`)
			r := handlers.Resolver{Store: topicPopulation(t, tt.storePage), PageSize: tt.pageSize}
			var run emitted
			if err := r.Resolve(t.Context(), tt.req, "", run.emit); err != nil {
				t.Fatal(err)
			}
			all := run.connections()
			if got := ids(all); !slices.Equal(got, tt.want) {
				t.Fatalf("emitted %v, want %v", got, tt.want)
			}
			for i, p := range run.pages {
				if len(p.Connections) > tt.pageSize {
					t.Errorf("page %d has %d connections, over %d", i, len(p.Connections), tt.pageSize)
				}
				users := slices.ContainsFunc(p.Connections, func(c handlers.Connection) bool { return slices.Contains(tt.req.Users, c.UserID) })
				if want := tt.topic; !users && p.Topic != want || users && p.Topic != "" {
					t.Errorf("page %d %v names the topic %q", i, ids(p.Connections), p.Topic)
				}
			}
			if i := slices.Index(ids(all), "z9"); i >= 0 && slices.Contains(tt.req.Topics, "sport") && all[i].UserID != "erin" {
				t.Errorf("z9 went as %+v, without the user its subscription to sport names", all[i])
			}

			emittedBefore := 0
			for i, cursor := range run.cursors {
				emittedBefore += len(run.pages[i].Connections)
				var rest emitted
				if err := r.Resolve(t.Context(), tt.req, cursor, rest.emit); err != nil {
					t.Fatalf("Resolve from the cursor %q of page %d: %v", cursor, i, err)
				}
				if got, want := ids(rest.connections()), ids(all[emittedBefore:]); !slices.Equal(got, want) {
					t.Errorf("Resolve from the cursor %q of page %d emitted %v, want %v", cursor, i, got, want)
				}
			}
		})
	}
}

// TestResolveTopicsRetry fails a resolution of news and sport (subscribers a1 c2 e1 f1
// g1 z9, and b1 c2 e1 e2 g1 z9) after its pages [a1 b1] and [c2 e1], changes the
// subscriptions, and resumes from the cursor: over both runs each connection goes once,
// and none is missed that followed a topic at the start and still does. A connection
// that follows a topic only since the first run is reached if its id comes after the
// cursor.
func TestResolveTopicsRetry(t *testing.T) {
	tests := []struct {
		name    string
		between func(t *testing.T, s *memory.Store)
		want    []string
	}{
		{
			name: "no change",
			want: []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name:    "one sent through sport follows news, the earlier topic, since",
			between: func(t *testing.T, s *memory.Store) { follow(t, s, conn("bob", "b1"), "news") },
			want:    []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name:    "one yet to be sent through sport follows news, the earlier topic, since",
			between: func(t *testing.T, s *memory.Store) { follow(t, s, conn("erin", "e2"), "news") },
			want:    []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "z9"},
		},
		{
			name: "new subscribers before and after the cursor",
			between: func(t *testing.T, s *memory.Store) {
				follow(t, s, conn("bob", "b2"), "news")
				follow(t, s, conn("harry", "h1"), "sport")
			},
			want: []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "h1", "z9"},
		},
		{
			name: "one yet to be sent leaves one of its two topics",
			between: func(t *testing.T, s *memory.Store) {
				_ = s.Unsubscribe(t.Context(), conn("gina", "g1"), "news")
			},
			want: []string{"a1", "b1", "c2", "e1", "e2", "f1", "g1", "z9"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := topicPopulation(t, 2)
			r := handlers.Resolver{Store: store, PageSize: 2}
			req := handlers.Request{Topics: []string{"news", "sport"}, Data: []byte(`1`)}
			errPublish := errors.New("publish page: bus down")
			first := emitted{failAt: 3, err: errPublish}
			if err := r.Resolve(t.Context(), req, "", first.emit); !errors.Is(err, errPublish) {
				t.Fatalf("Resolve = %v, want the emit's error", err)
			}
			if got := ids(first.connections()); !slices.Equal(got, []string{"a1", "b1", "c2", "e1"}) {
				t.Fatalf("the first run emitted %v", got)
			}
			if tt.between != nil {
				tt.between(t, store)
			}
			var retry emitted
			if err := r.Resolve(t.Context(), req, first.lastCursor(), retry.emit); err != nil {
				t.Fatal(err)
			}
			all := append(ids(first.connections()), ids(retry.connections())...)
			if d := duplicates(all); len(d) > 0 {
				t.Errorf("sent %v twice (first %v, retry %v)", d, ids(first.connections()), ids(retry.connections()))
			}
			if !slices.Equal(sorted(all), tt.want) {
				t.Errorf("sent %v over both runs, want %v", sorted(all), tt.want)
			}
		})
	}
}

// readCounter is a memory.Store that counts the reads of topics, and the subscriptions
// they hand over, and fails the read numbered failAt (from 1).
type readCounter struct {
	*memory.Store
	failAt int
	err    error

	reads, rows int
}

func (s *readCounter) TopicConnections(ctx context.Context, topic, after string, page func([]handlers.Connection, string) error) error {
	if s.reads++; s.reads == s.failAt {
		return s.err
	}
	return s.Store.TopicConnections(ctx, topic, after, func(conns []handlers.Connection, next string) error {
		s.rows += len(conns)
		return page(conns, next)
	})
}

// TestResolveTopicsRetryReads measures what a retry reads: three topics of 200
// subscribers that overlap (c000-c199, c050-c249, c100-c299), in pages of 10, fail at
// one page or one read, and the retry from the last cursor reads each topic from there
// on: the subscriptions after the cursor and none before, so that both runs together
// read at most one page per topic more than one run that does not fail.
func TestResolveTopicsRetryReads(t *testing.T) {
	const page = 10
	store := memory.NewStore(page)
	for i := range 300 {
		c := conn(fmt.Sprintf("u%d", i%7), fmt.Sprintf("c%03d", i))
		if err := store.AddConnection(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		for j, topic := range []string{"a", "b", "c"} {
			if i >= 50*j && i < 50*j+200 {
				follow(t, store, c, topic)
			}
		}
	}
	req := handlers.Request{Topics: []string{"a", "b", "c"}, Data: []byte(`1`)}
	whole := &readCounter{Store: store}
	var run emitted
	if err := (handlers.Resolver{Store: whole, PageSize: page}).Resolve(t.Context(), req, "", run.emit); err != nil {
		t.Fatal(err)
	}
	if n := len(run.connections()); n != 300 {
		t.Fatalf("one run emitted %d connections, want 300", n)
	}
	t.Logf("one run: %d reads, %d subscriptions, %d pages", whole.reads, whole.rows, len(run.pages))

	errRead := errors.New("throttled")
	errPublish := errors.New("bus down")
	tests := []struct {
		name         string
		failPage     int // the emit that fails
		failRead     int // the read that fails
		retryRows    int // the subscriptions after the cursor
		firstEmitted int
	}{
		{name: "failed at the 26th page of 30", failPage: 26, retryRows: 50, firstEmitted: 250},
		{name: "failed at the 15th page of 30", failPage: 15, retryRows: 60 + 110 + 160, firstEmitted: 140},
		{name: "failed at the 40th read of 63", failRead: 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := handlers.Resolver{Store: &readCounter{Store: store, failAt: tt.failRead, err: errRead}, PageSize: page}
			first := emitted{failAt: tt.failPage, err: errPublish}
			if err := r.Resolve(t.Context(), req, "", first.emit); err == nil {
				t.Fatal("the first run did not fail")
			}
			firstReads := r.Store.(*readCounter)
			retry := &readCounter{Store: store}
			r.Store = retry
			var rest emitted
			if err := r.Resolve(t.Context(), req, first.lastCursor(), rest.emit); err != nil {
				t.Fatal(err)
			}
			all := append(ids(first.connections()), ids(rest.connections())...)
			if d := duplicates(all); len(d) > 0 || len(all) != 300 {
				t.Fatalf("emitted %d connections over both runs, %v twice; want 300 once each", len(all), d)
			}
			after := len(first.connections())
			if tt.firstEmitted != 0 && after != tt.firstEmitted {
				t.Errorf("the first run emitted %d, want %d", after, tt.firstEmitted)
			}
			// The subscriptions after the cursor, c<after> on.
			want := 0
			for j := range 3 {
				want += max(0, 50*j+200-max(after, 50*j))
			}
			if tt.retryRows != 0 && want != tt.retryRows {
				t.Fatalf("the test counts %d subscriptions after the cursor, want %d", want, tt.retryRows)
			}
			if retry.rows != want {
				t.Errorf("the retry read %d subscriptions, want the %d after its cursor", retry.rows, want)
			}
			if extra := firstReads.rows + retry.rows - whole.rows; extra > 3*page {
				t.Errorf("both runs read %d subscriptions more than one run, over one page a topic", extra)
			}
			t.Logf("first run: %d reads, %d subscriptions; retry from %q: %d reads, %d subscriptions (one run: %d, %d)",
				firstReads.reads, firstReads.rows, first.lastCursor(), retry.reads, retry.rows, whole.reads, whole.rows)
		})
	}
}
