package dynamodb_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// anonymousRow is the table key under which the store keeps the connection id without
// a user.
func anonymousRow(id string) handlers.Connection { return conn("$anonymous:"+id, id) }

// TestAnonymousConnections stores connections without a user (ANONYMOUS_CONNECTIONS)
// on dynalite, with and without a subscriptions table: each under its "$anonymous:"
// key, read back without a user by every read, reached by no users request, and
// removed by $disconnect (which names no user) and by the prune.
func TestAnonymousConnections(t *testing.T) {
	e := newEmulator(t)
	hourAgo := time.Now().Add(-time.Hour)
	anon, other := at(conn("", "CnPqA1"), hourAgo), at(conn("", "CnPqA2"), hourAgo)
	erin := at(conn("erin", "CnPqE1"), hourAgo)
	for _, tc := range []struct {
		name       string
		withTopics bool
	}{{"without a subscriptions table", false}, {"with a subscriptions table", true}} {
		withTopics := tc.withTopics
		t.Run(tc.name, func(t *testing.T) {
			newStore := func(t *testing.T, client dynamodb.API) (*dynamodb.Store, string, string) {
				if withTopics {
					return e.topicStore(t, client, dynamodb.Config{})
				}
				cfg := dynamodb.Config{Table: e.table(t)}
				s, err := dynamodb.New(client, cfg)
				if err != nil {
					t.Fatal(err)
				}
				return s, cfg.Table, ""
			}
			add := func(t *testing.T, s *dynamodb.Store, conns ...handlers.Connection) {
				for _, c := range conns {
					if err := s.AddConnection(t.Context(), c); err != nil {
						t.Fatalf("AddConnection(%v): %v", c, err)
					}
				}
			}

			t.Run("stored under its key, read back without a user", func(t *testing.T) {
				s, table, _ := newStore(t, e.client)
				add(t, s, anon, erin)
				row := item(t, e.client, table, anonymousRow(anon.ConnectionID))
				if at, ok := row["connected_at"].(*types.AttributeValueMemberN); !ok || at.Value != epochOf(hourAgo) {
					t.Errorf("the row under $anonymous:%s is %v, want one connected at %s", anon.ConnectionID, row, epochOf(hourAgo))
				}
				sameConnections(t, flatten(scan(t, s, "")), []handlers.Connection{anon, erin})
				var segment []handlers.Connection
				err := s.ScanSegment(t.Context(), 0, 1, "", func(conns []handlers.Connection, _ string) error {
					segment = append(segment, conns...)
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				sameConnections(t, segment, []handlers.Connection{anon, erin})
			})

			t.Run("reached by no users request", func(t *testing.T) {
				s, _, _ := newStore(t, e.client)
				add(t, s, anon)
				for _, user := range []string{"", "$anonymous:" + anon.ConnectionID, "$anonymous:", "$"} {
					if conns, err := s.UserConnections(t.Context(), user); err != nil || len(conns) != 0 {
						t.Errorf("UserConnections(%q) = %v, %v: want none", user, conns, err)
					}
				}
			})

			t.Run("$disconnect removes it", func(t *testing.T) {
				spy := newSpy(e.client)
				s, table, subs := newStore(t, spy)
				add(t, s, anon, other, erin)
				if withTopics {
					subscribe(t, s, anon, "news", "v-42")
					subscribe(t, s, other, "news")
				}
				deletes := spy.Calls("DeleteItem")
				// API Gateway's $disconnect without an authorizer names no user.
				if err := s.RemoveConnection(t.Context(), conn("", anon.ConnectionID)); err != nil {
					t.Fatalf("RemoveConnection: %v", err)
				}
				if n := spy.Calls("DeleteItem") - deletes; n != 1 {
					t.Errorf("%d DeleteItem calls, want 1: the row's", n)
				}
				if item(t, e.client, table, anonymousRow(anon.ConnectionID)) != nil {
					t.Error("its row is left")
				}
				sameConnections(t, flatten(scan(t, s, "")), []handlers.Connection{other, erin})
				if withTopics {
					if got := subscribedTo(subscriptions(t, e.client, subs)); !slices.Equal(got["news"], []string{other.ConnectionID}) || len(got) != 1 {
						t.Errorf("subscriptions left %v, want only the other's", got)
					}
					if _, found, err := s.Connection(t.Context(), anon.ConnectionID); err != nil || found {
						t.Errorf("its record is left: %v, %v", found, err)
					}
				}
			})

			t.Run("the prune removes it", func(t *testing.T) {
				s, table, subs := newStore(t, e.client)
				add(t, s, anon, other, erin)
				var pruned []handlers.Connection
				if withTopics {
					// As the topic's resolve reads it: from its subscription, which has no user.
					subscribe(t, s, anon, "v-42")
					pruned = flatten(topicPages(t, s, "v-42", ""))
					if len(pruned) != 1 || pruned[0].UserID != "" || pruned[0].ConnectionID != anon.ConnectionID {
						t.Fatalf("the topic's subscribers are %v, want %s without a user", pruned, anon.ConnectionID)
					}
				} else {
					pruned = []handlers.Connection{anon}
				}
				// One of unknown age, as a row written without a time is read: deleted
				// on the condition that its row is old.
				pruned = append(pruned, conn("", other.ConnectionID))
				if err := s.PruneConnections(t.Context(), pruned, time.Now().Add(-grace)); err != nil {
					t.Fatalf("PruneConnections: %v", err)
				}
				for _, c := range []handlers.Connection{anon, other} {
					if item(t, e.client, table, anonymousRow(c.ConnectionID)) != nil {
						t.Errorf("the row of %s is left", c.ConnectionID)
					}
				}
				sameConnections(t, flatten(scan(t, s, "")), []handlers.Connection{erin})
				if withTopics {
					if rows := subscriptions(t, e.client, subs); len(rows) != 0 {
						t.Errorf("subscriptions left: %+v", rows)
					}
				}
			})

			t.Run("a young one is kept", func(t *testing.T) {
				s, table, _ := newStore(t, e.client)
				young := at(conn("", "CnPqY1"), time.Now())
				add(t, s, young)
				if err := s.PruneConnections(t.Context(), []handlers.Connection{conn("", young.ConnectionID)}, time.Now().Add(-grace)); err != nil {
					t.Fatalf("PruneConnections: %v", err)
				}
				if item(t, e.client, table, anonymousRow(young.ConnectionID)) == nil {
					t.Error("the young connection's row is gone")
				}
			})
		})
	}

	t.Run("its record and subscriptions keep no user", func(t *testing.T) {
		s, _, subs := e.topicStore(t, nil, dynamodb.Config{})
		if err := s.AddConnection(t.Context(), anon); err != nil {
			t.Fatal(err)
		}
		subscribe(t, s, conn("", anon.ConnectionID), "v-42")
		c, found, err := s.Connection(t.Context(), anon.ConnectionID)
		if err != nil || !found || c.UserID != "" || !c.ConnectedAt.Equal(anon.ConnectedAt) {
			t.Errorf("Connection = %v, %v, %v: want %v", c, found, err, anon)
		}
		if row := getSubscription(t, e, subs, "v-42", anon.ConnectionID); row["user_id"] != nil {
			t.Errorf("the subscription is %v, want it without a user", row)
		}
	})
}

// epochOf returns t in epoch seconds, as the table keeps it.
func epochOf(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }
