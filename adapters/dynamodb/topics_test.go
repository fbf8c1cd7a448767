package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// queryLog counts the Queries of each topic that go to DynamoDB, and the items they
// return.
type queryLog struct {
	dynamodb.API

	mu      sync.Mutex
	queries map[string]int
	items   int
}

func newQueryLog(api dynamodb.API) *queryLog { return &queryLog{API: api, queries: map[string]int{}} }

func (l *queryLog) Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error) {
	out, err := l.API.Query(ctx, in, optFns...)
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := in.ExpressionAttributeValues[":t"].(*types.AttributeValueMemberS); ok {
		l.queries[t.Value]++
	}
	if err == nil {
		l.items += len(out.Items)
	}
	return out, err
}

// reset forgets what was counted.
func (l *queryLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.queries, l.items = map[string]int{}, 0
}

// follow subscribes c to topics, failing the test on an error.
func follow(t *testing.T, s *dynamodb.Store, c handlers.Connection, topics ...string) {
	t.Helper()
	if err := s.Subscribe(t.Context(), c, topics, handlers.DefaultMaxTopics); err != nil {
		t.Fatalf("Subscribe(%v, %q): %v", c, topics, err)
	}
}

// TestTopicsResumeExactly resolves a request to three topics that overlap (conn-000 to
// conn-059, conn-030 to conn-087, and every third of them) on DynamoDB, in pages of 10
// for the Query and for the resolution, fails it at a page, changes the subscriptions,
// and resumes it from the cursor of the last page emitted. The retry makes, per topic,
// one Query per page of the subscribers after the cursor and one that finds the end (one
// Query a topic when fewer than a page are left), reads no subscription before the
// cursor, and emits exactly the connections after it: each once over both runs.
func TestTopicsResumeExactly(t *testing.T) {
	e := newEmulator(t)
	const pageSize, n = 10, 88
	topics := []string{"news", "sport", "cars"}
	follows := func(i int) []string {
		var out []string
		if i < 60 {
			out = append(out, "news")
		}
		if i >= 30 {
			out = append(out, "sport")
		}
		if i%3 == 0 {
			out = append(out, "cars")
		}
		return out
	}
	id := func(i int) string { return fmt.Sprintf("conn-%03d", i) }
	tests := []struct {
		name    string
		failAt  int // the emit that fails; the pages before it hold 10 connections each
		between func(t *testing.T, s *dynamodb.Store)
		want    int // the connections over both runs
	}{
		{name: "failed at the last page: one Query a topic", failAt: 9, want: n},
		{name: "failed at the second page", failAt: 2, want: n},
		{
			name: "the connection of the cursor unsubscribed since", failAt: 6, want: n,
			between: func(t *testing.T, s *dynamodb.Store) {
				for _, topic := range follows(49) {
					if err := s.Unsubscribe(t.Context(), conn("user-4", id(49)), topic); err != nil {
						t.Fatal(err)
					}
				}
			},
		},
		{
			name: "one yet to be sent through sport follows news, the earlier topic, since", failAt: 7, want: n,
			between: func(t *testing.T, s *dynamodb.Store) { follow(t, s, conn("user-0", id(85)), "news") },
		},
		{
			name: "one sent through sport follows news since", failAt: 8, want: n,
			between: func(t *testing.T, s *dynamodb.Store) { follow(t, s, conn("user-1", id(61)), "news") },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := newQueryLog(e.client)
			s, _, _ := e.topicStore(t, log, dynamodb.Config{PageSize: pageSize})
			for i := range n {
				follow(t, s, conn(fmt.Sprintf("user-%d", i%5), id(i)), follows(i)...)
			}
			r := handlers.Resolver{Store: s, PageSize: pageSize}
			req := handlers.Request{Topics: topics, Data: []byte(`1`)}
			errPublish := errors.New("bus down")
			var first []string
			cursor, emits := "", 0
			err := r.Resolve(t.Context(), req, "", func(page handlers.Recipients, next string) error {
				if emits++; emits == tt.failAt {
					return errPublish
				}
				for _, c := range page.Connections {
					first = append(first, c.ConnectionID)
				}
				cursor = next
				return nil
			})
			if !errors.Is(err, errPublish) {
				t.Fatalf("Resolve = %v, want the emit's error", err)
			}
			if tt.between != nil {
				tt.between(t, s)
			}
			last := first[len(first)-1]
			rest := map[string]int{} // the subscribers of each topic after the cursor
			for _, topic := range topics {
				rest[topic] = len(subscribersAfter(t, s, topic, last))
			}
			log.reset()

			var retry []string
			err = r.Resolve(t.Context(), req, cursor, func(page handlers.Recipients, _ string) error {
				for _, c := range page.Connections {
					retry = append(retry, c.ConnectionID)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("Resolve from %q: %v", cursor, err)
			}
			var want []string
			for i := range n {
				if id(i) > last {
					want = append(want, id(i))
				}
			}
			if !slices.Equal(retry, want) {
				t.Errorf("the retry from %q emitted %v, want the %d after %s: %v", cursor, retry, len(want), last, want)
			}
			if all := append(slices.Clone(first), retry...); len(all) != tt.want || len(slices.Compact(slices.Sorted(slices.Values(all)))) != tt.want {
				t.Errorf("both runs emitted %d connections, %d of them distinct, want %d once each", len(all), len(slices.Compact(slices.Sorted(slices.Values(all)))), tt.want)
			}

			rows := 0
			for _, topic := range topics {
				rows += rest[topic]
				if got, want := log.queries[topic], rest[topic]/pageSize+1; got != want {
					t.Errorf("the retry made %d Queries of %s, want %d for its %d subscribers after %s", got, topic, want, rest[topic], last)
				}
			}
			if log.items != rows {
				t.Errorf("the retry read %d subscriptions, want the %d after %s", log.items, rows, last)
			}
			t.Logf("retry from %s: Queries %v, %d subscriptions", last, log.queries, log.items)
		})
	}
}

// subscribersAfter returns the ids of topic's subscribers after the id after, from a
// read of the whole topic.
func subscribersAfter(t *testing.T, s *dynamodb.Store, topic, after string) []string {
	t.Helper()
	var ids []string
	err := s.TopicConnections(t.Context(), topic, "", func(conns []handlers.Connection, _ string) error {
		for _, c := range conns {
			if c.ConnectionID > after {
				ids = append(ids, c.ConnectionID)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestTopicConnectionsAfter reads a topic after connection ids that are a subscriber's,
// that are no subscriber's (between two, before the first, after the last), and that
// DynamoDB cannot compare with a range key, which fail permanently without a Query.
func TestTopicConnectionsAfter(t *testing.T) {
	e := newEmulator(t)
	log := newQueryLog(e.client)
	s, _, _ := e.topicStore(t, log, dynamodb.Config{PageSize: 2})
	for _, id := range []string{"b", "d", "f", "h", "j"} {
		follow(t, s, conn("u", id), "news")
	}
	follow(t, s, conn("u", "a"), "new")
	follow(t, s, conn("u", "z"), "newsy")
	tests := []struct {
		after   string
		want    string // the pages, each joined by commas, and the nexts
		queries int
	}{
		{after: "", want: "b,d>d f,h>h j", queries: 3},
		{after: "d", want: "f,h>h j", queries: 2},
		{after: "c", want: "d,f>f h,j>j", queries: 3}, // a full last page, then a Query that finds the end
		{after: "a", want: "b,d>d f,h>h j", queries: 3},
		{after: "i", want: "j", queries: 1},
		{after: "j", want: "", queries: 1},
		{after: "é", want: "", queries: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("after %q", tt.after), func(t *testing.T) {
			log.reset()
			var pages []string
			err := s.TopicConnections(t.Context(), "news", tt.after, func(conns []handlers.Connection, next string) error {
				p := strings.Join(ids(conns), ",")
				if next != "" {
					p += ">" + next
				}
				pages = append(pages, p)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(pages, " "); got != tt.want {
				t.Errorf("pages %q, want %q", got, tt.want)
			}
			if n := log.queries["news"]; n != tt.queries {
				t.Errorf("%d Queries, want %d", n, tt.queries)
			}
		})
	}
	for _, after := range []string{"\xff", strings.Repeat("x", 1025)} {
		log.reset()
		err := s.TopicConnections(t.Context(), "news", after, func([]handlers.Connection, string) error { return nil })
		if err == nil || !handlers.IsPermanent(err) || !strings.Contains(err.Error(), "topic cursor") {
			t.Errorf("TopicConnections(news, %.20q) = %v, want a permanent error naming the cursor", after, err)
		}
		if n := log.queries["news"]; n != 0 {
			t.Errorf("%d Queries after %.20q", n, after)
		}
	}
	err := s.TopicConnections(t.Context(), "news", strings.Repeat("x", 1024), func([]handlers.Connection, string) error { return nil })
	if err != nil {
		t.Errorf("TopicConnections after an id of 1,024 bytes: %v", err)
	}
}

func ids(conns []handlers.Connection) []string {
	out := make([]string, len(conns))
	for i, c := range conns {
		out[i] = c.ConnectionID
	}
	return out
}
