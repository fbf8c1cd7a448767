package dev_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// topicsDev runs `pusher dev` with topics: subscriptions at $connect through the topic
// and VehicleID query parameters, at most 3 topics a connection, and client messages of
// other actions forwarded to backend ("" for none).
func topicsDev(t *testing.T, backend string) *dev.Pusher {
	t.Helper()
	return stacktest.Dev(t, dev.Config{
		Topics: settings.Topics{Params: []string{"topic", "VehicleID"}, MaxTopics: 3, MaxTopicLength: 32,
			Auth: auth.Config{Open: true}}, // pusher dev's default, as its flag sets it
		Backend: backend,
	}, nil)
}

func notify(t *testing.T, p *dev.Pusher, body string) {
	t.Helper()
	resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("notify %s: %s", body, resp.Status)
	}
}

// TestTopics subscribes clients at $connect and by message and sends requests to topics,
// as seeds 002 (a vehicle's stream, ?VehicleID=) and 003 (an entity's updates, subscribe
// with entityId) do.
func TestTopics(t *testing.T) {
	p := topicsDev(t, "")
	addr := p.Listener.Addr().String()
	// ann follows vehicle-42 from $connect; bo its VehicleID; cy subscribes later.
	ann := gatewaytest.DialQuery(t, addr, "ann", "user_id=ann&topic=vehicle-42")
	bo := gatewaytest.DialQuery(t, addr, "bo", "user_id=bo&VehicleID=vehicle-42")
	cy := gatewaytest.Dial(t, addr, "cy", "cy")

	t.Run("subscribed at connect", func(t *testing.T) {
		notify(t, p, `{"topics":["vehicle-42"],"data":{"lat":1}}`)
		for _, c := range []*gatewaytest.Client{ann, bo} {
			if got := c.Next(t); got != `{"lat":1}` {
				t.Errorf("%s got %s", c.Name, got)
			}
		}
	})

	t.Run("subscribed by message", func(t *testing.T) {
		cy.Send(t, `{"action":"subscribe","topic":"order-7"}`)
		if got := cy.Next(t); got != `{"type":"subscribed","topic":"order-7"}` {
			t.Fatalf("cy got %s, want the subscribe's ack", got)
		}
		cy.Send(t, `{"action":"subscribe","entityId":"vehicle-42"}`) // seed 003's spelling
		if got := cy.Next(t); got != `{"type":"subscribed","topic":"vehicle-42"}` {
			t.Fatalf("cy got %s, want the subscribe's ack", got)
		}
		notify(t, p, `{"topics":["order-7"],"data":"shipped"}`)
		if got := cy.Next(t); got != `"shipped"` {
			t.Errorf("cy got %s", got)
		}
	})

	t.Run("each connection once", func(t *testing.T) {
		// cy follows both topics and is named as a user: one frame; ann and bo follow
		// one, bo is excluded.
		notify(t, p, `{"users":["cy"],"topics":["order-7","vehicle-42"],"exclude_users":["bo"],"data":2}`)
		if got := cy.Next(t); got != `2` {
			t.Errorf("cy got %s", got)
		}
		if got := ann.Next(t); got != `2` {
			t.Errorf("ann got %s", got)
		}
		notify(t, p, `{"topics":["vehicle-42"],"data":3}`) // the next frame of each, to wait on
		for _, c := range []*gatewaytest.Client{ann, bo, cy} {
			if got := c.Next(t); got != `3` {
				t.Errorf("%s got %s: a second frame of the request before, or none", c.Name, got)
			}
		}
	})

	t.Run("unsubscribe stops delivery", func(t *testing.T) {
		cy.Send(t, `{"action":"unsubscribe","topic":"vehicle-42"}`)
		if got := cy.Next(t); got != `{"type":"unsubscribed","topic":"vehicle-42"}` {
			t.Fatalf("cy got %s, want the unsubscribe's ack", got)
		}
		notify(t, p, `{"topics":["vehicle-42"],"data":4}`)
		notify(t, p, `{"users":["cy"],"data":5}`)
		if got := ann.Next(t); got != `4` {
			t.Errorf("ann got %s", got)
		}
		if got := cy.Next(t); got != `5` {
			t.Errorf("cy got %s, want the request to its user, not the topic it left", got)
		}
	})

	t.Run("bad messages get error frames and leave the connection open", func(t *testing.T) {
		for _, c := range []struct{ msg, want string }{
			{`{"action":"subscribe","topic":""}`, "the topic is empty"},
			{`{"action":"subscribe","topic":"` + strings.Repeat("x", 33) + `"}`, "over the 32-byte limit"},
			{`{"action":"subscribe","topic":"a"}`, ""},
			{`{"action":"subscribe","topic":"b"}`, ""},
			{`{"action":"subscribe","topic":"c"}`, "at most 3 topics"}, // order-7, a, b
			{`{"action":"ping"}`, `no route for \"ping\"`},
			{`not json`, `no route for \"$default\"`},
		} {
			cy.Send(t, c.msg)
			var frame struct{ Type, Message string }
			got := cy.Next(t)
			if err := json.Unmarshal([]byte(got), &frame); err != nil {
				t.Fatalf("%s: answered %s", c.msg, got)
			}
			switch {
			case c.want == "" && frame.Type != "subscribed":
				t.Errorf("%s: answered %s, want an ack", c.msg, got)
			case c.want != "" && (frame.Type != "error" || !strings.Contains(got, c.want)):
				t.Errorf("%s: answered %s, want an error frame saying %s", c.msg, got, c.want)
			}
		}
		notify(t, p, `{"topics":["a"],"data":6}`)
		if got := cy.Next(t); got != `6` {
			t.Errorf("cy got %s: its connection should be open and subscribed", got)
		}
	})

	t.Run("a topic name too long at connect refuses the connection", func(t *testing.T) {
		resp, err := http.Get(p.URL() + "/?user_id=dee&topic=" + strings.Repeat("x", 33))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("connect with a topic too long: %s, want 400", resp.Status)
		}
		if conns, _ := p.Store.UserConnections(t.Context(), "dee"); len(conns) != 0 {
			t.Errorf("a refused connection is stored: %v", conns)
		}
	})

	t.Run("disconnect leaves no subscription", func(t *testing.T) {
		before := p.Store.Subscriptions()
		bo.Close()
		stacktest.Eventually(t, "bo's subscription gone", func() bool { return p.Store.Subscriptions() == before-1 })
	})

	t.Run("a prune leaves no subscription", func(t *testing.T) {
		// A connection whose client is gone, stored an hour ago: the gateway answers 410.
		gone := handlers.Connection{UserID: "eve", ConnectionID: "gone-1", ConnectedAt: time.Now().Add(-time.Hour)}
		if err := p.Store.AddConnection(t.Context(), gone); err != nil {
			t.Fatal(err)
		}
		if err := p.Store.Subscribe(t.Context(), gone, []string{"vehicle-42"}, handlers.DefaultMaxTopics); err != nil {
			t.Fatal(err)
		}
		before := p.Store.Subscriptions()
		notify(t, p, `{"topics":["vehicle-42"],"data":7}`)
		if got := ann.Next(t); got != `7` {
			t.Errorf("ann got %s", got)
		}
		stacktest.Eventually(t, "eve's row and subscription pruned", func() bool {
			conns, _ := p.Store.UserConnections(t.Context(), "eve")
			return len(conns) == 0 && p.Store.Subscriptions() == before-1
		})
	})
}

// TestBackendRoute sends a message of an action the gateway does not know: it goes to
// the backend, with the connection's id, and the backend's answer comes back.
func TestBackendRoute(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"route": r.Header.Get("RouteKey"), "connection": r.Header.Get("ConnectionId"), "got": string(body),
		})
	}))
	t.Cleanup(backend.Close)
	p := topicsDev(t, backend.URL)
	c := gatewaytest.Dial(t, p.Listener.Addr().String(), "ann", "ann")
	conns, err := p.Store.UserConnections(t.Context(), "ann")
	if err != nil || len(conns) != 1 {
		t.Fatal(conns, err)
	}

	c.Send(t, `{"action":"echo","n":1}`)

	var answer map[string]string
	if err := json.Unmarshal([]byte(c.Next(t)), &answer); err != nil {
		t.Fatal(err)
	}
	if answer["route"] != "echo" || answer["connection"] != conns[0].ConnectionID || answer["got"] != `{"action":"echo","n":1}` {
		t.Errorf("the backend saw %v", answer)
	}
	c.Send(t, `{"action":"subscribe","topic":"t"}`) // built in, not the backend's
	if got := c.Next(t); got != `{"type":"subscribed","topic":"t"}` {
		t.Errorf("got %s", got)
	}
}
