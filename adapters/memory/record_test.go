package memory_test

import (
	"errors"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestStoreRecord: the store knows a connection by its id alone, as message routes and
// $disconnect name it; subscribing by id keeps the user; removing by id removes the
// connection, its subscriptions and its record; the bound on topics holds.
func TestStoreRecord(t *testing.T) {
	ctx := t.Context()
	s := memory.NewStore(0)
	erin := handlers.Connection{UserID: "erin", ConnectionID: "e1"}
	if err := s.AddConnection(ctx, erin); err != nil {
		t.Fatal(err)
	}
	byID := handlers.Connection{ConnectionID: "e1"}
	if c, found, err := s.Connection(ctx, "e1"); err != nil || !found || c.UserID != "erin" || c.ConnectedAt.IsZero() {
		t.Fatalf("Connection(e1) = %+v, %v, %v", c, found, err)
	}
	if err := s.Subscribe(ctx, byID, []string{"a", "b"}, 2); err != nil {
		t.Fatal(err)
	}
	var ce *handlers.ClientError
	if err := s.Subscribe(ctx, byID, []string{"c"}, 2); !errors.As(err, &ce) || ce.Code != handlers.CodeTooManyTopics {
		t.Errorf("a third topic under a bound of two: %v", err)
	}
	if err := s.Subscribe(ctx, byID, []string{"a"}, 2); err != nil {
		t.Errorf("again to a topic it follows, at the bound: %v", err)
	}
	_ = s.TopicConnections(ctx, "a", "", func(conns []handlers.Connection, _ string) error {
		if len(conns) != 1 || conns[0].UserID != "erin" {
			t.Errorf("topic a: %v, want erin's e1", conns)
		}
		return nil
	})
	if err := s.RemoveConnection(ctx, byID); err != nil {
		t.Fatal(err)
	}
	if conns, _ := s.UserConnections(ctx, "erin"); len(conns) != 0 || s.Subscriptions() != 0 {
		t.Errorf("after removal by id: erin has %v, %d subscriptions left", conns, s.Subscriptions())
	}
	if _, found, _ := s.Connection(ctx, "e1"); found {
		t.Error("the record is still there")
	}
}
