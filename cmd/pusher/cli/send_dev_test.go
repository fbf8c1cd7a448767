package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// TestSendToDev sends with `pusher send --dev` to a running pusher dev, as the README's
// first steps do: --topics reaches a topic's subscribers alone, --exclude-users (and
// its former name --exclude) leaves a user out, flags may follow the data, and the id
// printed is the correlation_id of the pusher's `request settled` log line.
func TestSendToDev(t *testing.T) {
	var logs syncBuffer
	// Topics open to every connection, as `pusher dev` opens them by default.
	cfg := dev.Config{Topics: settings.Topics{Auth: auth.Config{Open: true}}}
	d := stacktest.Dev(t, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
	addr := d.Listener.Addr().String()
	alice, bob := gatewaytest.Dial(t, addr, "alice", "alice"), gatewaytest.Dial(t, addr, "bob", "bob")
	bob.Send(t, `{"action":"subscribe","topic":"order-7"}`)
	if ack := bob.Next(t); !strings.Contains(ack, `"subscribed"`) {
		t.Fatalf("bob's subscribe was answered %s", ack)
	}

	tests := []struct {
		name     string
		args     []string // after send --dev URL
		wantCorr string   // "": any, but the one printed
		get      map[*gatewaytest.Client]string
	}{
		{name: "topics, after the data", args: []string{`{"state":"paid"}`, "--topics", "order-7"},
			get: map[*gatewaytest.Client]string{bob: `{"state":"paid"}`}},
		{name: "exclude-users, with a correlation id", args: []string{"--exclude-users", "bob", `{"n":1}`, "--correlation-id", "order-42"},
			wantCorr: "order-42", get: map[*gatewaytest.Client]string{alice: `{"n":1}`}},
		{name: "exclude, the former name", args: []string{`{"n":2}`, "--exclude", "alice"},
			get: map[*gatewaytest.Client]string{bob: `{"n":2}`}},
		{name: "data after --", args: []string{"--users", "alice", "--", "-1"},
			get: map[*gatewaytest.Client]string{alice: `-1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"send", "--dev", d.URL()}, tt.args...)
			if err := Run(context.Background(), args, &stdout, &stderr); err != nil {
				t.Fatalf("pusher %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			printed := strings.TrimSpace(stdout.String())
			if tt.wantCorr != "" && printed != tt.wantCorr {
				t.Errorf("printed %q, want the correlation id given, %q", printed, tt.wantCorr)
			}
			for _, c := range []*gatewaytest.Client{alice, bob} {
				if want, ok := tt.get[c]; ok {
					if got := c.Next(t); got != want {
						t.Errorf("%s got %s, want %s", c.Name, got, want)
					}
				} else {
					c.Quiet(t, 200*time.Millisecond)
				}
			}
			stacktest.Eventually(t, "the request settled with the correlation id printed", func() bool {
				return settledWith(logs.String(), printed)
			})
		})
	}
}

// settledWith tells whether logs, JSON lines, hold a `request settled` line of the
// correlation id corr.
func settledWith(logs, corr string) bool {
	for line := range strings.Lines(logs) {
		var l struct {
			Msg           string `json:"msg"`
			CorrelationID string `json:"correlation_id"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request settled" && l.CorrelationID == corr {
			return true
		}
	}
	return false
}
