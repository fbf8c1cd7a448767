package dev_test

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// devWithFlags builds and runs `pusher dev` of the command line args, as `pusher dev`
// reads it with an empty environment, on a free port, logging to logs.
func devWithFlags(t *testing.T, logs io.Writer, args ...string) *dev.Pusher {
	t.Helper()
	var cfg dev.Config
	f := settings.New("dev", io.Discard, func(string) (string, bool) { return "", false })
	dev.Flags(f, &cfg)
	if err := f.Parse(append([]string{"--listen", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatal(err)
	}
	p := stacktest.BuildDev(t, cfg, slog.New(slog.NewTextHandler(logs, nil)))
	run(t, p)
	return p
}

// TestDevAnonymousConnections: `pusher dev` refuses ws://…/?topic=x, which names no
// user, with 401; with --anonymous-connections it says so at start and accepts it, and
// the client gets the topic's requests and broadcasts, never a users request.
func TestDevAnonymousConnections(t *testing.T) {
	t.Run("refused without the flag", func(t *testing.T) {
		logs := &awstest.Buffer{}
		p := devWithFlags(t, logs)
		if status, body := gatewaytest.Refused(t, p.Listener.Addr().String(), "topic=x"); status != http.StatusUnauthorized {
			t.Errorf("answered %d %s, want 401", status, body)
		}
		if n := p.Store.Len(); n != 0 {
			t.Errorf("%d connections stored", n)
		}
		if strings.Contains(logs.String(), "anonymous connections are accepted") {
			t.Errorf("start-up says anonymous connections are accepted:\n%s", logs)
		}
	})

	t.Run("accepted with --anonymous-connections", func(t *testing.T) {
		logs := &awstest.Buffer{}
		p := devWithFlags(t, logs, "--anonymous-connections")
		if n := strings.Count(logs.String(), "anonymous connections are accepted"); n != 1 {
			t.Errorf("start-up says anonymous connections are accepted %d times, want once:\n%s", n, logs)
		}
		addr := p.Listener.Addr().String()
		viewer := gatewaytest.DialQuery(t, addr, "viewer", "topic=x")
		ann := gatewaytest.Dial(t, addr, "ann", "ann")

		notify(t, p, `{"topics":["x"],"data":{"n":1}}`)
		if got := viewer.Next(t); got != `{"n":1}` {
			t.Errorf("the topic request gave the viewer %s", got)
		}
		notify(t, p, `{"exclude_users":["ann"],"data":{"n":2}}`)
		if got := viewer.Next(t); got != `{"n":2}` {
			t.Errorf("the exclusion of ann gave the viewer %s", got)
		}
		notify(t, p, `{"users":["ann"],"data":{"n":3}}`)
		if got := ann.Next(t); got != `{"n":3}` {
			t.Errorf("ann got %s", got)
		}
		viewer.Quiet(t, 300*time.Millisecond)
	})
}
