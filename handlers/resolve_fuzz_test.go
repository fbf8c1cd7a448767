package handlers_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// FuzzResolveCursor resolves requests on a memory.Store from arbitrary cursors, as a
// retry or a replay hands them over (a cursor travels in a message's metadata, and a
// parked one can be edited). From any cursor, Resolve does not panic, fails only with
// permanent errors, emits no connection twice and none that the request does not
// target; from the cursor of a page it emitted, it emits exactly the pages after it.
//
// users, excluded and topics are comma-separated user ids and topics; conns is a
// comma-separated list of user/connection or user/connection/topic+topic (the topics it
// follows), where a user that is a number n is the request's n-th user, and a topic that
// is a number n its n-th topic.
func FuzzResolveCursor(f *testing.F) {
	f.Fuzz(func(t *testing.T, users, excluded, topics, conns, cursor string, pageSize uint8) {
		ctx := context.Background()
		size := int(pageSize%8) + 1
		// The request as the resolve stage gets it: decoded (no empty ids, no reserved
		// user ids), deduplicated.
		req := handlers.Dedupe(handlers.Request{Users: decodedUsers(users), ExcludeUsers: decodedUsers(excluded), Topics: userIDList(topics), Data: json.RawMessage(`1`)})
		store := memory.NewStore(size)
		subs := parseConnections(conns, req.Users, req.Topics)
		for _, c := range subs {
			if err := store.AddConnection(ctx, c.Connection); err != nil {
				t.Fatal(err)
			}
			if err := store.Subscribe(ctx, c.Connection, c.topics, len(c.topics)); err != nil {
				t.Fatal(err)
			}
		}
		want := requestTargets(t, store, req, subs)
		r := handlers.Resolver{Store: store, PageSize: size}

		got, _, err := resolveFrom(ctx, r, req, cursor)
		if err != nil && !handlers.IsPermanent(err) {
			t.Fatalf("Resolve from %q: %v, not permanent: retried for ever", cursor, err)
		}
		seen := make(map[string]bool, len(got))
		for _, c := range got {
			if seen[c.ConnectionID] {
				t.Fatalf("Resolve from %q emitted %q twice", cursor, c)
			}
			seen[c.ConnectionID] = true
			if !slices.Contains(want, c) {
				t.Fatalf("Resolve from %q emitted %q, which the request %q and %q less %q does not target", cursor, c, req.Users, req.Topics, req.ExcludeUsers)
			}
		}

		all, pages, err := resolveFrom(ctx, r, req, "")
		if err != nil {
			t.Fatalf("Resolve: %v", err)
		}
		if !sameConnectionSet(all, want) {
			t.Fatalf("Resolve emitted %q, want %q", all, want)
		}
		for i, p := range pages {
			if p.next == "" {
				if i != len(pages)-1 {
					t.Fatalf("page %d of %d has no cursor: a retry after it would start over", i+1, len(pages))
				}
				continue
			}
			rest, _, err := resolveFrom(ctx, r, req, p.next)
			if err != nil {
				t.Fatalf("Resolve from %q: %v", p.next, err)
			}
			if wantRest := all[p.emitted:]; !slices.Equal(rest, wantRest) {
				t.Fatalf("Resolve from the cursor %q of page %d emitted %q, want the %d connections after it: %q", p.next, i+1, rest, len(wantRest), wantRest)
			}
		}
	})
}

// resolvedPage is where a page ended: its cursor and the connections emitted up to it.
type resolvedPage struct {
	next    string
	emitted int
}

// resolveFrom runs Resolve from cursor and returns what it emitted.
func resolveFrom(ctx context.Context, r handlers.Resolver, req handlers.Request, cursor string) ([]handlers.Connection, []resolvedPage, error) {
	var all []handlers.Connection
	var pages []resolvedPage
	err := r.Resolve(ctx, req, cursor, func(page handlers.Recipients, next string) error {
		all = append(all, page.Connections...)
		pages = append(pages, resolvedPage{next: next, emitted: len(all)})
		return nil
	})
	return all, pages, err
}

// requestTargets returns the connections of store that req is for: its users', and
// the subscribers of its topics in subs, less its excluded users'.
func requestTargets(t *testing.T, store *memory.Store, req handlers.Request, subs []subscriber) []handlers.Connection {
	t.Helper()
	follows := map[string]bool{}
	for _, s := range subs {
		if slices.ContainsFunc(s.topics, func(topic string) bool { return slices.Contains(req.Topics, topic) }) {
			follows[s.ConnectionID] = true
		}
	}
	var out []handlers.Connection
	for _, c := range scanAll(t, store) {
		if slices.Contains(req.ExcludeUsers, c.UserID) {
			continue
		}
		if req.Kind() == handlers.Multicast && !slices.Contains(req.Users, c.UserID) && !follows[c.ConnectionID] {
			continue
		}
		out = append(out, c)
	}
	return out
}

// sameConnectionSet reports whether a and b hold the same connections, in any order.
func sameConnectionSet(a, b []handlers.Connection) bool {
	key := func(c handlers.Connection) string { return strconv.Quote(c.UserID) + strconv.Quote(c.ConnectionID) }
	ka, kb := make([]string, len(a)), make([]string, len(b))
	for i, c := range a {
		ka[i] = key(c)
	}
	for i, c := range b {
		kb[i] = key(c)
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

// userIDList splits a comma-separated list of user ids, dropping empty ones as the decoder
// refuses them.
func userIDList(s string) []string {
	return slices.DeleteFunc(strings.Split(s, ","), func(id string) bool { return id == "" })
}

// decodedUsers is userIDList less the reserved user ids, which decode refuses.
func decodedUsers(s string) []string {
	return slices.DeleteFunc(userIDList(s), handlers.ReservedUser)
}

// maxFuzzConnections bounds a fuzzed store, so that an input resolves in microseconds.
const maxFuzzConnections = 64

// subscriber is a connection and the topics it follows.
type subscriber struct {
	handlers.Connection
	topics []string
}

// parseConnections parses a comma-separated list of user/connection[/topic+topic], where
// a user that is a number n is users[n] and a topic that is a number n is topics[n].
// Items without both keys are dropped, as the table refuses empty keys, and so are
// connection ids holding a NUL, which API Gateway's (base64) never do, and ids seen
// before: a connection id is unique.
func parseConnections(s string, users, topics []string) []subscriber {
	var out []subscriber
	for item := range strings.SplitSeq(s, ",") {
		user, rest, _ := strings.Cut(item, "/")
		id, follows, _ := strings.Cut(rest, "/")
		if n, err := strconv.Atoi(user); err == nil && n >= 0 && n < len(users) {
			user = users[n]
		}
		if user == "" || id == "" || strings.Contains(id, "\x00") || slices.ContainsFunc(out, func(s subscriber) bool { return s.ConnectionID == id }) {
			continue
		}
		c := subscriber{Connection: handlers.Connection{UserID: user, ConnectionID: id}}
		for topic := range strings.SplitSeq(follows, "+") {
			if n, err := strconv.Atoi(topic); err == nil && n >= 0 && n < len(topics) {
				topic = topics[n]
			}
			if topic != "" && !slices.Contains(c.topics, topic) {
				c.topics = append(c.topics, topic)
			}
		}
		if out = append(out, c); len(out) == maxFuzzConnections {
			break
		}
	}
	return out
}
