package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// TestServeHTTP posts client messages to the backend as an HTTP proxy integration does,
// in turn, on one counter; each broadcast has RouteTimeout to finish.
func TestServeHTTP(t *testing.T) {
	var mu sync.Mutex
	var left []time.Duration // for each broadcast, the time its context left it; -1 for no deadline
	n := app.NotifierFunc(func(ctx context.Context, _ json.RawMessage) error {
		mu.Lock()
		defer mu.Unlock()
		d, ok := ctx.Deadline()
		if !ok {
			left = append(left, -1)
			return nil
		}
		left = append(left, time.Until(d))
		return nil
	})
	counter := app.NewMemoryCounter()
	backend := httptest.NewServer(&app.App{Counter: counter, Notifier: n})
	t.Cleanup(backend.Close)
	frame := stateFrame(t, counter)

	tests := []struct {
		name     string
		method   string
		routeKey string
		status   int
		body     string // the answer's body, or a part of it for an error
	}{
		{name: "plus", method: "POST", routeKey: "plus", status: 200, body: frame(1, 1)},
		{name: "minus", method: "POST", routeKey: "minus", status: 200, body: frame(0, 2)},
		{name: "state", method: "POST", routeKey: "state", status: 200, body: frame(0, 2)},
		{name: "unknown route", method: "POST", routeKey: "reset", status: 400, body: `unknown route "reset": the routes are "plus", "minus" and "state"`},
		{name: "no route key", method: "POST", status: 400, body: "no RouteKey header"},
		{name: "GET", method: "GET", routeKey: "plus", status: 405, body: "POST a client message"},
		{name: "nothing moved", method: "POST", routeKey: "state", status: 200, body: frame(0, 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, backend.URL, strings.NewReader(`{"action":"`+tt.routeKey+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			if tt.routeKey != "" {
				req.Header.Set("RouteKey", tt.routeKey)
			}
			req.Header.Set("ConnectionId", "Y29ubi0x")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.body) {
				t.Errorf("answered %d %s, want %d %s", resp.StatusCode, body, tt.status, tt.body)
			}
			if tt.status == 200 && resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}

	mu.Lock()
	if len(left) != 2 {
		t.Errorf("%d broadcasts, want 2, of plus and minus", len(left))
	}
	for _, d := range left {
		if d <= app.RouteTimeout-time.Second || d > app.RouteTimeout {
			t.Errorf("a broadcast had %s left, want at most %s (-1: no deadline)", d, app.RouteTimeout)
		}
	}
	mu.Unlock()

	t.Run("counter down", func(t *testing.T) {
		down := httptest.NewServer(&app.App{Counter: failingCounter{}, Notifier: n})
		t.Cleanup(down.Close)
		req, _ := http.NewRequestWithContext(t.Context(), "POST", down.URL, strings.NewReader(`{"action":"plus"}`))
		req.Header.Set("RouteKey", "plus")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		// The client is told that it failed, not why: the reason is in the backend's log.
		if resp.StatusCode != 500 || strings.Contains(string(body), "table unavailable") {
			t.Errorf("answered %d %s, want 500 without the internal reason", resp.StatusCode, body)
		}
	})
}

// TestBehindTheGateway: a client of `pusher dev`, whose ROUTE_BACKEND is the App, gets
// the new state back when it sends plus (and, as every connection, its broadcast), and
// an error frame for an action that is no route.
func TestBehindTheGateway(t *testing.T) {
	counter := app.NewMemoryCounter()
	a := &app.App{Counter: counter}
	backend := httptest.NewServer(a)
	t.Cleanup(backend.Close)
	p := startDev(t, backend.URL)
	a.Notifier = notifier(t, p)
	page := gatewaytest.DialQuery(t, p.Listener.Addr().String(), "page", "")

	page.Send(t, `{"action":"plus"}`)
	state := stateFrame(t, counter)(1, 1)
	if got := framesAfter(t, p, page, 2); len(got) != 2 || got[0] != state || got[1] != state {
		t.Errorf("after plus the page got %q, want the reply and the broadcast, both %s", got, state)
	}
	page.Send(t, `{"action":"reset"}`)
	want := `{"type":"error","action":"reset","code":"bad_request","message":"the backend answered 400 Bad Request"}`
	if got := page.Next(t); got != want {
		t.Errorf("after reset the page got %s, want %s", got, want)
	}
}

// stateFrame returns the function that gives the state frame of value after seq changes
// of counter (its epoch).
func stateFrame(t *testing.T, counter app.Counter) func(value, seq int64) string {
	t.Helper()
	s, err := counter.Get(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return func(value, seq int64) string {
		return string(app.State{Value: value, Seq: seq, Epoch: s.Epoch}.Frame())
	}
}
