package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
)

// startDev runs a `pusher dev` that accepts connections without a user, as the counter's
// page makes, on a free port until the test ends; backend is its ROUTE_BACKEND, if any.
func startDev(t *testing.T, backend string) *dev.Pusher {
	t.Helper()
	return stacktest.Dev(t, dev.Config{AnonymousConnections: true, Backend: backend}, nil)
}

// notifier returns the notifier to p's intake.
func notifier(t *testing.T, p *dev.Pusher) app.Notifier {
	t.Helper()
	return intake(p.URL())
}

// intake returns the notifier to the intake of the pusher dev at base, as cmd/counter
// makes it: each broadcast request posted with send.Send.
func intake(base string) app.Notifier {
	return app.NotifierFunc(func(ctx context.Context, frame json.RawMessage) error {
		_, err := send.Send(ctx, aws.Config{}, send.Target{DevURL: base}, app.BroadcastRequest(frame), "")
		return err
	})
}

// framesAfter returns the frames c gets up to a marker broadcast sent now, marker
// excluded, sorted: the pusher delivers concurrent requests concurrently, so what came
// before the marker may arrive after it.
func framesAfter(t *testing.T, p *dev.Pusher, c *gatewaytest.Client, want int) []string {
	t.Helper()
	if err := notifier(t, p).Broadcast(t.Context(), []byte(`{"marker":true}`)); err != nil {
		t.Fatal(err)
	}
	var got []string
	for marker := false; !marker || len(got) < want; {
		f := c.Next(t)
		if f == `{"marker":true}` {
			marker = true
			continue
		}
		got = append(got, f)
	}
	slices.Sort(got)
	return got
}

// TestRoute runs each route in turn on one counter, against a real `pusher dev`: the
// frame the clicker gets, and what a page connected to the pusher sees.
func TestRoute(t *testing.T) {
	p := startDev(t, "")
	page := gatewaytest.DialQuery(t, p.Listener.Addr().String(), "page", "")
	counter := app.NewMemoryCounter()
	a := &app.App{Counter: counter, Notifier: notifier(t, p)}
	frame := stateFrame(t, counter)

	tests := []struct {
		route     string
		reply     string
		broadcast bool   // whether every page gets reply
		wantErr   string // for an unknown route, the *RouteError's message
	}{
		{route: app.RouteState, reply: frame(0, 0)},
		{route: app.RoutePlus, reply: frame(1, 1), broadcast: true},
		{route: app.RoutePlus, reply: frame(2, 2), broadcast: true},
		{route: app.RouteMinus, reply: frame(1, 3), broadcast: true},
		{route: app.RouteState, reply: frame(1, 3)},
		{route: "reset", wantErr: `unknown route "reset": the routes are "plus", "minus" and "state"`},
		{route: "$default", wantErr: `unknown route "$default"`},
		{route: app.RouteState, reply: frame(1, 3)},
	}
	for _, tt := range tests {
		reply, err := a.Route(t.Context(), tt.route)
		var re *app.RouteError
		switch {
		case tt.wantErr != "" && (!errors.As(err, &re) || !strings.HasPrefix(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want a *RouteError %q", tt.route, err, tt.wantErr)
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.route, err)
		case string(reply) != tt.reply:
			t.Errorf("%s: answered %s, want %s", tt.route, reply, tt.reply)
		}
		var want []string
		if tt.broadcast {
			want = []string{tt.reply}
		}
		if got := framesAfter(t, p, page, len(want)); !slices.Equal(got, want) {
			t.Errorf("%s: the page got %q, want %q", tt.route, got, want)
		}
	}
}

// failingCounter is a Counter whose store is down.
type failingCounter struct{}

func (failingCounter) Add(context.Context, int64) (app.State, error) {
	return app.State{}, errors.New("table unavailable")
}
func (failingCounter) Get(context.Context) (app.State, error) {
	return app.State{}, errors.New("table unavailable")
}

// TestRouteFailures: a counter failure is returned and nothing is broadcast; a broadcast
// failure is returned after the counter moved, and the next broadcast carries the value.
func TestRouteFailures(t *testing.T) {
	t.Run("counter down", func(t *testing.T) {
		p := startDev(t, "")
		page := gatewaytest.DialQuery(t, p.Listener.Addr().String(), "page", "")
		a := &app.App{Counter: failingCounter{}, Notifier: notifier(t, p)}
		for _, route := range []string{app.RoutePlus, app.RouteState} {
			if _, err := a.Route(t.Context(), route); err == nil || !strings.Contains(err.Error(), "table unavailable") {
				t.Errorf("%s: error %v, want the counter's", route, err)
			}
		}
		if got := framesAfter(t, p, page, 0); len(got) != 0 {
			t.Errorf("the page got %q", got)
		}
	})

	t.Run("pusher down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close() // nothing listens there any more
		counter := app.NewMemoryCounter()
		a := &app.App{Counter: counter, Notifier: intake(down)}
		if _, err := a.Route(t.Context(), app.RoutePlus); err == nil || !strings.Contains(err.Error(), "plus: broadcast seq 1") {
			t.Errorf("error %v, want the broadcast's", err)
		}
		if s, _ := counter.Get(t.Context()); s.Value != 1 || s.Seq != 1 {
			t.Errorf("counter at %+v, want moved to 1", s)
		}
	})
}

// TestStateFrame: the seed's page reads type and value; ours reads seq and epoch too.
func TestStateFrame(t *testing.T) {
	tests := []struct {
		state app.State
		want  string
	}{
		{app.State{}, `{"type":"state","value":0,"seq":0,"epoch":0}`},
		{app.State{Value: -3, Seq: 7, Epoch: 1796637600123}, `{"type":"state","value":-3,"seq":7,"epoch":1796637600123}`},
		{app.State{Value: 1 << 62, Seq: 1 << 62, Epoch: -1}, `{"type":"state","value":4611686018427387904,"seq":4611686018427387904,"epoch":-1}`},
	}
	for _, tt := range tests {
		if got := string(tt.state.Frame()); got != tt.want {
			t.Errorf("%+v.Frame() = %s, want %s", tt.state, got, tt.want)
		}
	}
}

var _ http.Handler = (*app.App)(nil) // App is the route backend's handler
