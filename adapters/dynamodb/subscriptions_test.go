package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestSubscribe subscribes and unsubscribes connections as the routes do, and checks
// what the topic's readers and the connection's Topics see, and the rows stored.
func TestSubscribe(t *testing.T) {
	e := newEmulator(t)
	spy := newSpy(e.client)
	s, _, subs := e.topicStore(t, spy, dynamodb.Config{TTLAttribute: "expires_at", TTL: time.Hour})
	ctx := t.Context()
	connectedAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	a1 := at(conn("alice", "a1"), connectedAt)
	a2 := conn("alice", "a2") // its time unknown: the row gets the subscription's
	b1 := at(conn("bob", "b1"), connectedAt)
	anon := at(conn("", "x1"), connectedAt) // a message route without an authorizer names no user

	before := time.Now().Unix()
	subscribe(t, s, a1, "order-1", "order-2", "order-1") // twice: one row
	subscribe(t, s, a2, "order-1")
	subscribe(t, s, b1, "order-1", "order-10", "order")
	subscribe(t, s, anon, "order-2")
	after := time.Now().Unix()

	rows := subscriptions(t, e.client, subs)
	wantRows := map[string][]string{
		"order":    {"b1"},
		"order-1":  {"a1", "a2", "b1"},
		"order-10": {"b1"},
		"order-2":  {"a1", "x1"},
	}
	if got := subscribedTo(rows); !reflect.DeepEqual(got, wantRows) {
		t.Errorf("subscriptions %v, want %v", got, wantRows)
	}
	for _, r := range rows {
		switch {
		case r.conn == "a2" && (r.connectedAt < before || r.connectedAt > after):
			t.Errorf("%+v: connected_at is not the subscription's time, within [%d, %d]", r, before, after)
		case r.conn != "a2" && r.connectedAt != connectedAt.Unix():
			t.Errorf("%+v: connected_at is not the connection's %d", r, connectedAt.Unix())
		}
	}

	// The readers of a topic see each of its subscribers once, with user and time.
	a2read := a2
	for _, r := range rows {
		if r.conn == "a2" {
			a2read.ConnectedAt = time.Unix(r.connectedAt, 0)
		}
	}
	for topic, want := range map[string][]handlers.Connection{
		"order-1":  {a1, a2read, b1},
		"order-2":  {a1, anon},
		"order":    {b1},
		"order-3":  nil,
		"ORDER-1":  nil, // keys are case-sensitive
		"order-1 ": nil,
	} {
		got := flatten(topicPages(t, s, topic, ""))
		sameConnections(t, got, want)
		for _, c := range got {
			if w := lo.Filter(want, func(w handlers.Connection, _ int) bool { return w.Key() == c.Key() }); len(w) == 1 && !w[0].ConnectedAt.Equal(c.ConnectedAt) {
				t.Errorf("topic %s: %v read with time %v, want %v", topic, c, c.ConnectedAt, w[0].ConnectedAt)
			}
		}
	}

	// The rows expire an hour after the subscription, for the table's TTL.
	ttl := ttlOf(t, e, subs, "order-1", "a1")
	if ttl < before+3600 || ttl > after+3600 {
		t.Errorf("expires_at = %d, want within [%d, %d]", ttl, before+3600, after+3600)
	}

	for c, want := range map[handlers.Connection][]string{
		a1: {"order-1", "order-2"}, b1: {"order", "order-1", "order-10"}, anon: {"order-2"}, conn("zoe", "z1"): nil, conn("", ""): nil,
	} {
		topics, err := s.Topics(ctx, c)
		if err != nil {
			t.Fatalf("Topics(%v): %v", c, err)
		}
		if !slices.Equal(topics, want) {
			t.Errorf("Topics(%v) = %q, want %q", c, topics, want)
		}
	}

	for _, u := range []struct {
		c     handlers.Connection
		topic string
	}{{a1, "order-1"}, {a1, "order-1"}, {b1, "order-3"}, {conn("zoe", "z1"), "order"}, {anon, ""}, {conn("", ""), "order"}} {
		if err := s.Unsubscribe(ctx, u.c, u.topic); err != nil {
			t.Fatalf("Unsubscribe(%v, %q): %v", u.c, u.topic, err)
		}
	}
	sameConnections(t, flatten(topicPages(t, s, "order-1", "")), []handlers.Connection{a2read, b1})
	if topics, err := s.Topics(ctx, a1); err != nil || !slices.Equal(topics, []string{"order-2"}) {
		t.Errorf("Topics(a1) after unsubscribing order-1 = %q, %v; want [order-2]", topics, err)
	}
	if n := spy.Calls("Scan"); n != 0 {
		t.Errorf("%d Scan calls: topics need none", n)
	}
}

// ttlOf returns the expires_at of the subscription of conn to topic.
func ttlOf(t *testing.T, e *emulator, subs, topic, connID string) int64 {
	t.Helper()
	out := getSubscription(t, e, subs, topic, connID)
	n, ok := out["expires_at"].(*types.AttributeValueMemberN)
	if !ok {
		t.Fatalf("subscription %s/%s: expires_at = %#v, want a number", topic, connID, out["expires_at"])
	}
	v, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		t.Fatalf("subscription %s/%s: expires_at = %q: %v", topic, connID, n.Value, err)
	}
	return v
}

// TestSubscribeRefusesEmptyKeys: DynamoDB refuses an empty key, and a subscription
// without one could never be read or removed.
func TestSubscribeRefusesEmptyKeys(t *testing.T) {
	e := newEmulator(t)
	spy := newSpy(e.client)
	s, _, _ := e.topicStore(t, spy, dynamodb.Config{})
	for _, tt := range []struct {
		c     handlers.Connection
		topic string
	}{{conn("alice", ""), "t"}, {conn("alice", "a1"), ""}} {
		err := s.Subscribe(t.Context(), tt.c, []string{tt.topic}, handlers.DefaultMaxTopics)
		if err == nil || !handlers.IsPermanent(err) {
			t.Errorf("Subscribe(%v, %q) = %v, want a permanent error", tt.c, tt.topic, err)
		}
	}
	if n := spy.Calls("PutItem"); n != 0 {
		t.Errorf("%d PutItem calls for subscriptions that cannot be stored", n)
	}
}

// TestTopicConnections reads topics of many subscribers in pages, beside rows of other
// topics whose names share a prefix: one Query per page, pages of 1..PageSize, and only
// the last with an empty next.
func TestTopicConnections(t *testing.T) {
	e := newEmulator(t)
	tests := []struct {
		pageSize int32
		n        int
		queries  int
	}{
		{pageSize: 7, n: 0, queries: 1},
		{pageSize: 7, n: 1, queries: 1},
		{pageSize: 7, n: 7, queries: 2}, // a full page, then an empty one
		{pageSize: 7, n: 100, queries: 15},
		{pageSize: 500, n: 100, queries: 1},
		{pageSize: 1, n: 5, queries: 6},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d in pages of %d", tt.n, tt.pageSize), func(t *testing.T) {
			spy := newSpy(e.client)
			s, _, _ := e.topicStore(t, spy, dynamodb.Config{PageSize: tt.pageSize})
			want := subscribeMany(t, s, "news", tt.n)
			subscribe(t, s, conn("other", "o1"), "new", "news-2", "News")
			before := spy.Calls("Query")
			pages := topicPages(t, s, "news", "")
			for i, p := range pages {
				// A page's next resumes after its last connection; the last page's may be
				// "" or not (a full last page does not know it is the last).
				last := i == len(pages)-1
				if len(p.conns) == 0 || len(p.conns) > int(tt.pageSize) || (!last && p.next != p.conns[len(p.conns)-1].ConnectionID) {
					t.Errorf("page %d of %d: %d connections, next %q", i+1, len(pages), len(p.conns), p.next)
				}
			}
			sameConnections(t, keys(flatten(pages)), keys(want))
			if n := spy.Calls("Query") - before; n != tt.queries {
				t.Errorf("%d Query calls, want %d", n, tt.queries)
			}
		})
	}
}

// subscribeMany subscribes n connections of 7 users to topic, 8 at a time, and returns
// them.
func subscribeMany(t *testing.T, s *dynamodb.Store, topic string, n int) []handlers.Connection {
	t.Helper()
	conns := connections(7, n)
	slots := make(chan struct{}, 8)
	errs := make(chan error, n)
	for _, c := range conns {
		slots <- struct{}{}
		go func() {
			defer func() { <-slots }()
			errs <- s.Subscribe(t.Context(), c, []string{topic}, handlers.DefaultMaxTopics)
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatalf("Subscribe: %v", err)
		}
	}
	return conns
}

// TestTopicConnectionsResumes stops a topic's read after k pages, resumes it from the
// last next, and so on to the end: the runs together hand over each subscriber once.
func TestTopicConnectionsResumes(t *testing.T) {
	e := newEmulator(t)
	errStop := errors.New("stop")
	for _, k := range []int{1, 2, 5} {
		t.Run(fmt.Sprintf("%d pages a run", k), func(t *testing.T) {
			s, _, _ := e.topicStore(t, nil, dynamodb.Config{PageSize: 4})
			want := subscribeMany(t, s, "news", 30)
			var got []handlers.Connection
			cursor, runs := "", 0
			for {
				runs++
				if runs > 30 {
					t.Fatal("the read does not end")
				}
				handed, next := 0, ""
				err := s.TopicConnections(t.Context(), "news", cursor, func(conns []handlers.Connection, n string) error {
					got = append(got, conns...)
					handed++
					next = n
					if handed == k && n != "" {
						return errStop
					}
					return nil
				})
				if err != nil && !errors.Is(err, errStop) {
					t.Fatalf("TopicConnections(%q): %v", cursor, err)
				}
				if strings.ContainsRune(next, 0) {
					t.Fatalf("cursor %q holds a NUL", next)
				}
				if err == nil {
					break
				}
				cursor = next
			}
			sameConnections(t, keys(got), keys(want))
			t.Logf("%d runs", runs)
		})
	}
}

// TestRemoveConnectionForgetsSubscriptions removes connections as $disconnect does:
// the row and every subscription of the connection go (over a batch of 25 of them
// too), those of other connections stay, and a $disconnect without a user (no
// authorizer) still takes the subscriptions.
func TestRemoveConnectionForgetsSubscriptions(t *testing.T) {
	e := newEmulator(t)
	a1, a2, x1 := conn("alice", "a1"), conn("alice", "a2"), conn("", "x1")
	many := lo.Times(30, func(i int) string { return fmt.Sprintf("topic-%02d", i) })
	tests := []struct {
		name   string
		remove handlers.Connection
		left   map[string][]string // topic: connection ids
		stored []handlers.Connection
	}{
		{name: "30 subscriptions", remove: a1, stored: []handlers.Connection{a2},
			left: map[string][]string{"topic-00": {"a2"}, "topic-01": {"x1"}}},
		{name: "no user", remove: conn("", "x1"), stored: []handlers.Connection{a1, a2},
			left: lo.Assign(lo.SliceToMap(many, func(t string) (string, []string) { return t, []string{"a1"} }),
				map[string][]string{"topic-00": {"a1", "a2"}})},
		{name: "no subscriptions", remove: conn("bob", "b1"), stored: []handlers.Connection{a1, a2},
			left: lo.Assign(lo.SliceToMap(many, func(t string) (string, []string) { return t, []string{"a1"} }),
				map[string][]string{"topic-00": {"a1", "a2"}, "topic-01": {"a1", "x1"}})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spy := newSpy(e.client)
			s, _, subs := e.topicStore(t, spy, dynamodb.Config{}, a1, a2)
			subscribe(t, s, a1, many...)
			subscribe(t, s, a2, "topic-00")
			subscribe(t, s, x1, "topic-01")
			if err := s.RemoveConnection(t.Context(), tt.remove); err != nil {
				t.Fatalf("RemoveConnection(%v): %v", tt.remove, err)
			}
			if n := spy.Calls("Scan"); n != 0 {
				t.Errorf("RemoveConnection made %d Scan calls", n)
			}
			if got := subscribedTo(subscriptions(t, e.client, subs)); !reflect.DeepEqual(got, tt.left) {
				t.Errorf("subscriptions left %v, want %v", got, tt.left)
			}
			sameConnections(t, keys(flatten(scan(t, s, ""))), tt.stored)
		})
	}
}

// TestPruneForgetsSubscriptions prunes the subscribers of a topic as the prune stage
// does, with the connections and times the topic's read gave: the subscriptions of a
// connection pruned go, those of one kept (young, or younger in the table than its
// read said) stay. A subscription whose connection row is gone already (a $disconnect
// that missed it) goes at the first prune, as does one without a user.
func TestPruneForgetsSubscriptions(t *testing.T) {
	e := newEmulator(t)
	now := time.Now()
	oldAt, youngAt := now.Add(-time.Hour), now.Add(-time.Second)
	old, young := at(conn("alice", "old"), oldAt), at(conn("alice", "young"), youngAt)
	legacy := conn("bob", "legacy") // a row without a time, as the Python original writes
	orphan := at(conn("carol", "orphan"), oldAt)
	anon, anonYoung := at(conn("", "anon"), oldAt), at(conn("", "anon-young"), youngAt)
	tests := []struct {
		name   string
		rows   []handlers.Connection                             // in the connections table
		subs   []handlers.Connection                             // subscribed to "news", and to "sport" too
		prune  func([]handlers.Connection) []handlers.Connection // of the read
		left   []string                                          // connection ids whose subscriptions stay
		stored []handlers.Connection
	}{
		{name: "old: row and subscriptions go", rows: []handlers.Connection{old, young}, subs: []handlers.Connection{old, young},
			prune: pick("old"), left: []string{"young"}, stored: []handlers.Connection{young}},
		{name: "young: all stay", rows: []handlers.Connection{old, young}, subs: []handlers.Connection{old, young},
			prune: pick("young"), left: []string{"old", "young"}, stored: []handlers.Connection{old, young}},
		{name: "row without a time: goes on its condition", rows: []handlers.Connection{legacy}, subs: []handlers.Connection{legacy},
			prune: func(read []handlers.Connection) []handlers.Connection { return keys(read) }, left: nil},
		{name: "unknown to the read, young in the table: stays", rows: []handlers.Connection{young}, subs: []handlers.Connection{young},
			prune: func(read []handlers.Connection) []handlers.Connection { return keys(read) }, left: []string{"young"}, stored: []handlers.Connection{young}},
		{name: "orphan: the row went before", rows: nil, subs: []handlers.Connection{orphan, young},
			prune: pick("orphan"), left: []string{"young"}},
		{name: "orphan of unknown age: the absent row passes the condition", rows: nil, subs: []handlers.Connection{orphan, young},
			prune: func(read []handlers.Connection) []handlers.Connection { return keys(pick("orphan")(read)) }, left: []string{"young"}},
		{name: "no user, old", subs: []handlers.Connection{anon, anonYoung}, prune: pick("anon"), left: []string{"anon-young"}},
		{name: "no user, young", subs: []handlers.Connection{anon, anonYoung}, prune: pick("anon-young"), left: []string{"anon", "anon-young"}},
		// legacy subscribed with no time known: its rows have the subscription's, a second
		// ago, and keep the grace a connection still in $connect needs.
		{name: "all at once", rows: []handlers.Connection{old, young, legacy}, subs: []handlers.Connection{old, young, legacy, orphan, anon, anonYoung},
			prune: func(read []handlers.Connection) []handlers.Connection { return append(read, read...) },
			left:  []string{"young", "legacy", "anon-young"}, stored: []handlers.Connection{young, legacy}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, subs := e.topicStore(t, nil, dynamodb.Config{}, tt.rows...)
			for _, c := range tt.subs {
				subscribe(t, s, c, "news", "sport")
			}
			read := flatten(topicPages(t, s, "news", ""))
			if err := s.PruneConnections(t.Context(), tt.prune(read), now.Add(-grace)); err != nil {
				t.Fatalf("PruneConnections: %v", err)
			}
			var want map[string][]string
			if len(tt.left) > 0 {
				left := slices.Sorted(slices.Values(tt.left))
				want = map[string][]string{"news": left, "sport": left}
			}
			if got := subscribedTo(subscriptions(t, e.client, subs)); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
				t.Errorf("subscriptions left %v, want %v", got, want)
			}
			sameConnections(t, keys(flatten(scan(t, s, ""))), keys(tt.stored))
		})
	}
}

// pick returns a function that picks from a read the connections of ids.
func pick(ids ...string) func([]handlers.Connection) []handlers.Connection {
	return func(read []handlers.Connection) []handlers.Connection {
		return lo.Filter(read, func(c handlers.Connection, _ int) bool { return slices.Contains(ids, c.ConnectionID) })
	}
}

// TestNoSubscriptionsTable: a store without a subscriptions table answers every topic
// call with ErrNoTopics, permanent, without a DynamoDB call, and removes and prunes
// connections as before.
func TestNoSubscriptionsTable(t *testing.T) {
	e := newEmulator(t)
	spy := newSpy(e.client)
	table := e.table(t)
	old := at(conn("alice", "a1"), time.Now().Add(-time.Hour))
	seed(t, e.client, table, []handlers.Connection{old, conn("bob", "b1")})
	s, err := dynamodb.New(spy, dynamodb.Config{Table: table})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	calls := map[string]func() error{
		"TopicConnections": func() error {
			return s.TopicConnections(ctx, "news", "", func([]handlers.Connection, string) error { return nil })
		},
		"Subscribe":   func() error { return s.Subscribe(ctx, old, []string{"news"}, handlers.DefaultMaxTopics) },
		"Unsubscribe": func() error { return s.Unsubscribe(ctx, old, "news") },
		"Topics": func() error {
			_, err := s.Topics(ctx, old)
			return err
		},
	}
	for name, call := range calls {
		err := call()
		if !errors.Is(err, handlers.ErrNoTopics) || !handlers.IsPermanent(err) {
			t.Errorf("%s = %v, want ErrNoTopics, permanent", name, err)
		}
	}
	for _, op := range []string{"Query", "PutItem", "DeleteItem", "BatchWriteItem"} {
		if n := spy.Calls(op); n != 0 {
			t.Errorf("%d %s calls without a subscriptions table", n, op)
		}
	}
	if err := s.PruneConnections(ctx, []handlers.Connection{old}, time.Now().Add(-grace)); err != nil {
		t.Fatalf("PruneConnections: %v", err)
	}
	if err := s.RemoveConnection(ctx, conn("bob", "b1")); err != nil {
		t.Fatalf("RemoveConnection: %v", err)
	}
	sameConnections(t, flatten(scan(t, s, "")), nil)
	if n := spy.Calls("Query"); n != 0 {
		t.Errorf("%d Query calls: without a subscriptions table a prune and a $disconnect make none", n)
	}
}

// TestTopicConnectionsStopsOnPageError: an error of page ends the read with it.
func TestTopicConnectionsStopsOnPageError(t *testing.T) {
	e := newEmulator(t)
	s, _, _ := e.topicStore(t, nil, dynamodb.Config{PageSize: 2})
	subscribeMany(t, s, "news", 10)
	errStop := errors.New("stop")
	pages := 0
	err := s.TopicConnections(context.Background(), "news", "", func([]handlers.Connection, string) error {
		pages++
		return errStop
	})
	if !errors.Is(err, errStop) || pages != 1 {
		t.Errorf("TopicConnections = %v after %d pages, want the page's error after 1", err, pages)
	}
}
