package dynamodb_test

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestConnectionRecord follows a connection as API Gateway's routes see it without an
// authorizer: $connect names the user (its query string), the subscribe messages and
// $disconnect name only the connection id. The record written at $connect gives them
// the user: the subscription rows carry it, a later subscribe does not erase it, and
// $disconnect removes the connection's row, its subscriptions and its record.
func TestConnectionRecord(t *testing.T) {
	e := newEmulator(t)
	s, table, subs := e.topicStore(t, nil, dynamodb.Config{})
	ctx := t.Context()
	connectedAt := time.Now().Add(-time.Minute).Truncate(time.Second)
	erin := at(conn("erin", "e1"), connectedAt)
	if err := s.AddConnection(ctx, erin); err != nil {
		t.Fatalf("AddConnection: %v", err)
	}

	byID := conn("", "e1") // what a message route knows
	got, found, err := s.Connection(ctx, "e1")
	if err != nil || !found || got.UserID != "erin" || !got.ConnectedAt.Equal(connectedAt) {
		t.Fatalf("Connection(e1) = %+v, %v, %v; want erin's, connected at %v", got, found, err, connectedAt)
	}
	if _, found, err := s.Connection(ctx, "nobody"); found || err != nil {
		t.Errorf("Connection(nobody) = found %v, %v; want not found", found, err)
	}
	if err := s.Subscribe(ctx, erin, []string{"news"}, handlers.DefaultMaxTopics); err != nil { // at $connect
		t.Fatal(err)
	}
	if err := s.Subscribe(ctx, byID, []string{"sport", "news"}, handlers.DefaultMaxTopics); err != nil { // by message
		t.Fatal(err)
	}
	rows := subscriptions(t, e.client, subs)
	for _, r := range rows {
		if r.user != "erin" || r.connectedAt != connectedAt.Unix() {
			t.Errorf("subscription %+v: want erin's, connected at %d", r, connectedAt.Unix())
		}
	}
	if want := map[string][]string{"news": {"e1"}, "sport": {"e1"}}; !reflect.DeepEqual(subscribedTo(rows), want) {
		t.Errorf("subscriptions %v, want %v", subscribedTo(rows), want)
	}
	if topics, err := s.Topics(ctx, byID); err != nil || !reflect.DeepEqual(topics, []string{"news", "sport"}) {
		t.Errorf("Topics(e1) = %q, %v; want [news sport]", topics, err)
	}
	if got, _, _ := s.Connection(ctx, "e1"); got.UserID != "erin" {
		t.Errorf("after subscribes by message, the record's user is %q, want erin", got.UserID)
	}

	if err := s.RemoveConnection(ctx, byID); err != nil { // $disconnect
		t.Fatalf("RemoveConnection(%v): %v", byID, err)
	}
	if n := countItems(t, e.client, subs); n != 0 {
		t.Errorf("%d subscriptions and records left, want none", n)
	}
	if n := countItems(t, e.client, table); n != 0 {
		t.Errorf("%d connection rows left after $disconnect, want none", n)
	}
	if _, found, _ := s.Connection(ctx, "e1"); found {
		t.Error("the record is still there after $disconnect")
	}
}

// TestSubscribeBoundHolds: sixty concurrent subscribes of one connection to sixty
// topics leave at most MaxTopics rows, and the rest are refused with
// CodeTooManyTopics; a subscribe again to a topic it follows passes at the bound.
func TestSubscribeBoundHolds(t *testing.T) {
	e := newEmulator(t)
	s, _, subs := e.topicStore(t, nil, dynamodb.Config{})
	ctx := t.Context()
	c := conn("erin", "e1")
	if err := s.AddConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	const limit = 50
	topics := lo.Times(60, func(i int) string { return fmt.Sprintf("t-%02d", i) })
	errs := make([]error, len(topics))
	var wg sync.WaitGroup
	for i, topic := range topics {
		wg.Go(func() { errs[i] = s.Subscribe(ctx, conn("", "e1"), []string{topic}, limit) })
	}
	wg.Wait()
	refused := 0
	for i, err := range errs {
		var ce *handlers.ClientError
		switch {
		case errors.As(err, &ce) && ce.Code == handlers.CodeTooManyTopics:
			refused++
		case err != nil:
			t.Errorf("Subscribe(%s): %v", topics[i], err)
		}
	}
	rows := subscriptions(t, e.client, subs)
	if len(rows) != limit || refused != len(topics)-limit {
		t.Errorf("%d rows and %d refused, want %d and %d", len(rows), refused, limit, len(topics)-limit)
	}
	if err := s.Subscribe(ctx, c, []string{rows[0].topic}, limit); err != nil {
		t.Errorf("subscribe again to %s at the bound: %v", rows[0].topic, err)
	}
	if err := s.Subscribe(ctx, c, topics[:3], 2); err == nil {
		t.Error("three topics at once under a bound of two: accepted")
	}
}
