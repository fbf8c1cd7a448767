package serve_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// subscriptionRows scans the subscriptions table, as an operator would, and returns its
// rows as "topic connection_id", sorted.
func subscriptionRows(t *testing.T, s *stacktest.Stack) []string {
	t.Helper()
	var rows []string
	p := ddb.NewScanPaginator(s.DynamoDB, &ddb.ScanInput{TableName: aws.String(stacktest.SubscriptionsTable)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			topic, _ := item["topic"].(*types.AttributeValueMemberS)
			id, _ := item["connection_id"].(*types.AttributeValueMemberS)
			if topic == nil || id == nil {
				t.Fatalf("a row without its keys: %v", item)
			}
			if strings.HasPrefix(topic.Value, handlers.ReservedTopicPrefix) {
				continue // the connection's record, not a subscription
			}
			rows = append(rows, topic.Value+" "+id.Value)
		}
	}
	slices.Sort(rows)
	return rows
}

// TestServeTopics runs topics on DynamoDB end to end: `pusher gateway` keeps in the
// subscriptions table what its clients subscribe to at $connect and by message, `pusher
// serve` sends requests to topics from it, and nothing is left of a connection that
// unsubscribes, disconnects or is pruned.
func TestServeTopics(t *testing.T) {
	s := stacktest.New(t)
	addr := s.Gateway.Listener.Addr().String()
	ann := gatewaytest.DialQuery(t, addr, "ann", "user_id=ann&topic=vehicle-42")
	bo := gatewaytest.DialQuery(t, addr, "bo", "user_id=bo&topic=vehicle-42&topic=order-7")
	cy := s.Connect(t, "cy", "cy")
	annID, boID, cyID := s.ConnectionID(t, "ann"), s.ConnectionID(t, "bo"), s.ConnectionID(t, "cy")
	s.Serve(t, nil)

	cy.Send(t, `{"action":"subscribe","entityId":"vehicle-42"}`)
	if got := cy.Next(t); got != `{"type":"subscribed","topic":"vehicle-42"}` {
		t.Fatalf("cy got %s, want the subscribe's ack", got)
	}
	if got, want := subscriptionRows(t, s), sorted("order-7 "+boID, "vehicle-42 "+annID, "vehicle-42 "+boID, "vehicle-42 "+cyID); !slices.Equal(got, want) {
		t.Fatalf("subscriptions table:\n%v\nwant\n%v", got, want)
	}

	t.Run("a topic reaches its subscribers", func(t *testing.T) {
		s.Send(t, `{"topics":["vehicle-42"],"data":1}`)
		expect(t, map[*gatewaytest.Client][]string{ann: {"1"}, bo: {"1"}, cy: {"1"}})
	})
	t.Run("topics and users, each connection once, the excluded left out", func(t *testing.T) {
		s.Send(t, `{"users":["bo"],"topics":["vehicle-42","order-7"],"exclude_users":["ann"],"data":2}`)
		s.Send(t, `{"topics":["vehicle-42"],"data":3}`) // the next frame of each, to wait on
		expect(t, map[*gatewaytest.Client][]string{ann: {"3"}, bo: {"2", "3"}, cy: {"2", "3"}})
	})
	t.Run("unsubscribe", func(t *testing.T) {
		cy.Send(t, `{"action":"unsubscribe","topic":"vehicle-42"}`)
		if got := cy.Next(t); got != `{"type":"unsubscribed","topic":"vehicle-42"}` {
			t.Fatalf("cy got %s, want the unsubscribe's ack", got)
		}
		s.Send(t, `{"topics":["vehicle-42"],"data":4}`)
		s.Send(t, `{"users":["cy"],"data":5}`)
		expect(t, map[*gatewaytest.Client][]string{ann: {"4"}, bo: {"4"}, cy: {"5"}})
	})
	t.Run("disconnect forgets the subscriptions", func(t *testing.T) {
		bo.Close()
		stacktest.Eventually(t, "bo's subscriptions are deleted", func() bool {
			return slices.Equal(subscriptionRows(t, s), []string{"vehicle-42 " + annID})
		})
	})
	t.Run("a prune forgets the subscriptions", func(t *testing.T) {
		// A connection stored an hour ago that no socket backs, following the topic:
		// the gateway answers 410, and the prune deletes its row and subscription.
		ghost := handlers.Connection{UserID: "dan", ConnectionID: "R2hvc3RDb25uZWN0aW9u", ConnectedAt: time.Now().Add(-time.Hour)}
		if err := s.Store.AddConnection(context.Background(), ghost); err != nil {
			t.Fatal(err)
		}
		if err := s.Store.Subscribe(context.Background(), ghost, []string{"vehicle-42"}, handlers.DefaultMaxTopics); err != nil {
			t.Fatal(err)
		}
		s.Send(t, `{"topics":["vehicle-42"],"data":6}`)
		expect(t, map[*gatewaytest.Client][]string{ann: {"6"}})
		stacktest.Eventually(t, "the ghost's row and subscription are deleted", func() bool {
			conns, err := s.Store.UserConnections(context.Background(), "dan")
			return err == nil && len(conns) == 0 && slices.Equal(subscriptionRows(t, s), []string{"vehicle-42 " + annID})
		})
		if n := s.Faults.Count(ghost.ConnectionID); n != 1 {
			t.Errorf("the ghost was posted to %d times, want 1", n)
		}
	})
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
