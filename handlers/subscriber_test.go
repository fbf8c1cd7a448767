package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// onlyTopic allows one topic, and records who asked.
type onlyTopic struct {
	topic string
	asked []handlers.TopicRequest
}

func (o *onlyTopic) AuthorizeTopic(_ context.Context, req handlers.TopicRequest) error {
	o.asked = append(o.asked, req)
	if req.Topic != o.topic {
		return handlers.Refuse(handlers.CodeForbidden, "%q may not be followed", req.Topic)
	}
	return nil
}

func code(err error) string {
	var ce *handlers.ClientError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return ""
}

// TestSubscriberCheck: the topics of a $connect are deduplicated, validated, counted
// and authorized before anything is written.
func TestSubscriberCheck(t *testing.T) {
	erin := handlers.Connection{UserID: "erin", ConnectionID: "e1"}
	tests := []struct {
		name     string
		topics   []string
		want     []string
		wantCode string
	}{
		{name: "none", topics: nil, want: nil},
		{name: "deduplicated", topics: []string{"news", "news"}, want: []string{"news"}},
		{name: "too many", topics: []string{"news", "a", "b", "c"}, wantCode: handlers.CodeTooManyTopics},
		{name: "too many once deduplicated is fine", topics: []string{"news", "news", "news", "news"}, want: []string{"news"}},
		{name: "invalid", topics: []string{"news", ""}, wantCode: handlers.CodeInvalidTopic},
		{name: "reserved", topics: []string{"$connection:e2"}, wantCode: handlers.CodeInvalidTopic},
		{name: "forbidden", topics: []string{"news", "secret"}, wantCode: handlers.CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := memory.NewStore(0)
			s := handlers.Subscriber{Store: store, Authorizer: &onlyTopic{topic: "news"}, MaxTopics: 3}
			got, err := s.Check(t.Context(), erin, tt.topics, "tok", nil)
			if code(err) != tt.wantCode || (tt.wantCode == "" && err != nil) {
				t.Fatalf("Check(%q) = %v, want code %q", tt.topics, err, tt.wantCode)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Check(%q) = %q, want %q", tt.topics, got, tt.want)
			}
			if n := store.Subscriptions(); n != 0 {
				t.Errorf("Check wrote %d subscriptions", n)
			}
		})
	}
}

// TestSubscriberByMessage: a message route names the connection by its id alone; the
// subscriber finds its user in the store's record, so the rules and the subscription
// know it.
func TestSubscriberByMessage(t *testing.T) {
	ctx := t.Context()
	store := memory.NewStore(0)
	if err := store.AddConnection(ctx, handlers.Connection{UserID: "erin", ConnectionID: "e1"}); err != nil {
		t.Fatal(err)
	}
	auth := &onlyTopic{topic: "news"}
	s := handlers.Subscriber{Store: store, Authorizer: auth, MaxTopics: 2}
	byID := handlers.Connection{ConnectionID: "e1"}
	if err := s.Subscribe(ctx, byID, "news", "tok", []string{"grant"}); err != nil {
		t.Fatal(err)
	}
	if len(auth.asked) != 1 || auth.asked[0].Connection.UserID != "erin" || auth.asked[0].Token != "tok" || !slices.Equal(auth.asked[0].Grants, []string{"grant"}) {
		t.Errorf("the authorizer was asked %+v, want erin's connection with its token and grants", auth.asked)
	}
	var subscribers []handlers.Connection
	_ = store.TopicConnections(ctx, "news", "", func(conns []handlers.Connection, _ string) error {
		subscribers = append(subscribers, conns...)
		return nil
	})
	if len(subscribers) != 1 || subscribers[0].UserID != "erin" {
		t.Errorf("news is followed by %v, want erin's e1", subscribers)
	}
	if err := s.Subscribe(ctx, byID, "secret", "", nil); code(err) != handlers.CodeForbidden {
		t.Errorf("Subscribe(secret) = %v, want forbidden", err)
	}
	if err := s.Subscribe(ctx, byID, "", "", nil); code(err) != handlers.CodeInvalidTopic {
		t.Errorf("Subscribe(\"\") = %v, want invalid_topic", err)
	}
	if err := s.Unsubscribe(ctx, byID, "news"); err != nil {
		t.Fatal(err)
	}
	if topics, _ := store.Topics(ctx, byID); len(topics) != 0 {
		t.Errorf("after unsubscribing: %q", topics)
	}
}

// TestSubscriberTopicsOff: without a store that keeps subscriptions, a subscription
// is refused with code unavailable, and a $connect naming topics with 400 (not 503:
// no retry mends it).
func TestSubscriberTopicsOff(t *testing.T) {
	c := handlers.Connection{UserID: "erin", ConnectionID: "e1"}
	for name, s := range map[string]handlers.Subscriber{
		"no store":               {},
		"a store without topics": {Store: noTopicsStore{}},
	} {
		t.Run(name, func(t *testing.T) {
			err := s.Subscribe(t.Context(), c, "news", "", nil)
			var ce *handlers.ClientError
			if !errors.As(err, &ce) || ce.Code != handlers.CodeUnavailable || ce.ConnectStatus() != http.StatusBadRequest {
				t.Fatalf("Subscribe = %v, want code unavailable and a $connect status of 400", err)
			}
			if frame := string(handlers.ErrorFrame("subscribe", "news", err)); !strings.Contains(frame, `"code":"unavailable"`) {
				t.Errorf("error frame %s", frame)
			}
		})
	}
}

// noTopicsStore is a store without a subscriptions table, as the DynamoDB store
// answers then.
type noTopicsStore struct{}

func (noTopicsStore) Connection(context.Context, string) (handlers.Connection, bool, error) {
	return handlers.Connection{}, false, nil
}

func (noTopicsStore) Subscribe(context.Context, handlers.Connection, []string, int) error {
	return handlers.Permanent(fmt.Errorf("subscribe: %w", handlers.ErrNoTopics))
}

func (noTopicsStore) Unsubscribe(context.Context, handlers.Connection, string) error {
	return handlers.Permanent(fmt.Errorf("unsubscribe: %w", handlers.ErrNoTopics))
}

func (noTopicsStore) Topics(context.Context, handlers.Connection) ([]string, error) {
	return nil, handlers.Permanent(fmt.Errorf("topics: %w", handlers.ErrNoTopics))
}

func TestConnectStatus(t *testing.T) {
	for _, tt := range []struct {
		err  *handlers.ClientError
		want int
	}{
		{handlers.Refuse(handlers.CodeForbidden, "no"), http.StatusForbidden},
		{handlers.Refuse(handlers.CodeUnavailable, "the hook is down"), http.StatusServiceUnavailable},
		{handlers.ErrTopicsOff, http.StatusBadRequest},
		{handlers.Refuse(handlers.CodeTooManyTopics, "60"), http.StatusBadRequest},
		{handlers.Refuse(handlers.CodeInvalidTopic, "empty"), http.StatusBadRequest},
	} {
		if got := tt.err.ConnectStatus(); got != tt.want {
			t.Errorf("%s (%s): %d, want %d", tt.err.Code, tt.err, got, tt.want)
		}
	}
}
