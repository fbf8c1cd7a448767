package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestSubscriptionsRetryLayer throttles the call it counts, as TestOneRetryLayer does: a
// topic's read and a prune's forgetting of subscriptions are made once, for the
// pipeline retries them; the subscribe and unsubscribe routes' calls and $disconnect's
// forgetting are retried by the client's retryer (3 attempts), since nothing else
// retries them.
func TestSubscriptionsRetryLayer(t *testing.T) {
	e := newEmulator(t)
	th := newThrottler(t, e.endpoint)
	// A connection without a user: a prune or $disconnect of it deletes its row of the
	// connections table too (its "$anonymous:" key), a call of its own that is not
	// throttled; the calls counted are the subscriptions'.
	anon := at(conn("", "x1"), time.Now().Add(-time.Hour))
	tests := []struct {
		name  string
		call  func(ctx context.Context, s *dynamodb.Store) error
		op    string
		calls int
	}{
		{name: "Query of a topic", op: "Query", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.TopicConnections(ctx, "news", "", func([]handlers.Connection, string) error { return nil })
		}},
		{name: "Query of a prune's forgetting", op: "Query", calls: 1, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.PruneConnections(ctx, []handlers.Connection{anon}, time.Now().Add(-grace))
		}},
		{name: "UpdateItem of subscribe", op: "UpdateItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.Subscribe(ctx, anon, []string{"sport"}, handlers.DefaultMaxTopics)
		}},
		{name: "DeleteItem of unsubscribe", op: "DeleteItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.Unsubscribe(ctx, anon, "news")
		}},
		{name: "GetItem of Topics", op: "GetItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			_, err := s.Topics(ctx, anon)
			return err
		}},
		{name: "GetItem of $disconnect's record", op: "GetItem", calls: 3, call: func(ctx context.Context, s *dynamodb.Store) error {
			return s.RemoveConnection(ctx, anon)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, _ := e.topicStore(t, th.client(), dynamodb.Config{})
			subscribe(t, s, anon, "news")
			th.set(func(op string, _ int) bool { return op == tt.op }, nil)
			defer th.set(nil, nil)

			err := tt.call(t.Context(), s)
			var throttled *types.ProvisionedThroughputExceededException
			if !errors.As(err, &throttled) {
				t.Fatalf("error %v, want a ProvisionedThroughputExceededException", err)
			}
			if handlers.IsPermanent(err) {
				t.Errorf("error %v is permanent; throttling is transient", err)
			}
			if n := th.count(tt.op); n != tt.calls {
				t.Errorf("%d %s calls, want %d", n, tt.op, tt.calls)
			}
		})
	}

	t.Run("BatchWriteItem of a prune's forgetting", func(t *testing.T) {
		s, _, subs := e.topicStore(t, th.client(), dynamodb.Config{})
		subscribe(t, s, anon, "news", "sport")
		th.set(func(op string, _ int) bool { return op == "BatchWriteItem" }, nil)
		defer th.set(nil, nil)
		err := s.PruneConnections(t.Context(), []handlers.Connection{anon}, time.Now().Add(-grace))
		var throttled *types.ProvisionedThroughputExceededException
		if !errors.As(err, &throttled) || handlers.IsPermanent(err) {
			t.Fatalf("PruneConnections = %v, want a transient ProvisionedThroughputExceededException", err)
		}
		if n := th.count("BatchWriteItem"); n != 1 {
			t.Errorf("%d BatchWriteItem calls, want 1", n)
		}
		// The pipeline retries the prune; with DynamoDB well again it passes.
		th.set(nil, nil)
		if err := s.PruneConnections(t.Context(), []handlers.Connection{anon}, time.Now().Add(-grace)); err != nil {
			t.Fatalf("retry: %v", err)
		}
		if rows := subscriptions(t, e.client, subs); len(rows) != 0 {
			t.Errorf("subscriptions left after the retry: %+v", rows)
		}
	})
}

// TestForgetLeavesUnprocessed has DynamoDB process only half of a BatchWriteItem: a
// prune's forgetting sends its batches once and fails, transient, for the pipeline to
// retry; $disconnect's resends the rest after a backoff until it is all deleted.
func TestForgetLeavesUnprocessed(t *testing.T) {
	e := newEmulator(t)
	th := newThrottler(t, e.endpoint)
	anon := at(conn("", "x1"), time.Now().Add(-time.Hour))
	// 30 subscriptions and the connection's record: batches of 25 and 6.
	topics := lo.Times(30, func(i int) string { return fmt.Sprintf("topic-%02d", i) })

	t.Run("prune", func(t *testing.T) {
		s, _, subs := e.topicStore(t, th.client(), dynamodb.Config{})
		subscribe(t, s, anon, topics...)
		// All of the delete of the connection's row, alone in its batch; half of the
		// subscriptions' batches.
		th.set(nil, func(n int) int { return lo.Ternary(n == 1, 1, n/2) })
		defer th.set(nil, nil)
		err := s.PruneConnections(t.Context(), []handlers.Connection{anon}, time.Now().Add(-grace))
		if err == nil || !strings.Contains(err.Error(), "13 of 25 left unprocessed") || !strings.Contains(err.Error(), "3 of 6 left unprocessed") {
			t.Fatalf("PruneConnections = %v, want 13 of 25 and 3 of 6 left unprocessed", err)
		}
		if handlers.IsPermanent(err) {
			t.Errorf("PruneConnections = %v, permanent; unprocessed items are transient", err)
		}
		if n := th.count("BatchWriteItem"); n != 3 {
			t.Errorf("%d BatchWriteItem calls, want 3: the row's, then one per batch, no resend", n)
		}
		if n := countItems(t, e.client, subs); n != 16 {
			t.Errorf("%d subscriptions and records left, want the 16 unprocessed", n)
		}
	})

	t.Run("$disconnect", func(t *testing.T) {
		s, _, subs := e.topicStore(t, th.client(), dynamodb.Config{})
		subscribe(t, s, anon, topics...)
		calls := 0
		th.set(nil, func(n int) int { // half of the first three calls' requests, all later
			calls++
			if calls <= 3 {
				return n / 2
			}
			return n
		})
		defer th.set(nil, nil)
		if err := s.RemoveConnection(t.Context(), anon); err != nil {
			t.Fatalf("RemoveConnection: %v", err)
		}
		if rows := subscriptions(t, e.client, subs); len(rows) != 0 {
			t.Errorf("%d subscriptions left, want none", len(rows))
		}
		if n := th.count("BatchWriteItem"); n < 3 {
			t.Errorf("%d BatchWriteItem calls, want the unprocessed resent", n)
		}
	})
}
