package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/gateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestThrottleFlags reads the throttle's settings as `pusher gateway` does: from
// GATEWAY_THROTTLE_RPS and GATEWAY_THROTTLE_BURST, a flag overriding its variable.
func TestThrottleFlags(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		args       []string
		rps, burst int
		wantErr    string
	}{
		{name: "unset: no throttle"},
		{name: "from the environment", env: map[string]string{"GATEWAY_THROTTLE_RPS": "2000", "GATEWAY_THROTTLE_BURST": "1000"}, rps: 2000, burst: 1000},
		{name: "flags", args: []string{"--throttle-rps", "10000", "--throttle-burst", "5000"}, rps: 10000, burst: 5000},
		{name: "a flag over its variable", env: map[string]string{"GATEWAY_THROTTLE_RPS": "2000"}, args: []string{"--throttle-rps", "50"}, rps: 50},
		{name: "a rate that is not a whole number", env: map[string]string{"GATEWAY_THROTTLE_RPS": "fast"}, wantErr: "GATEWAY_THROTTLE_RPS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var cfg gateway.Config
			f := settings.New("gateway", io.Discard, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			gateway.Flags(f, &cfg)
			err := f.Parse(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse: %v, want an error naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ThrottleRPS != tc.rps || cfg.ThrottleBurst != tc.burst {
				t.Errorf("throttle %d/s burst %d, want %d/s burst %d", cfg.ThrottleRPS, cfg.ThrottleBurst, tc.rps, tc.burst)
			}
		})
	}
}

// TestThrottleBurstNeedsARate: a burst without a rate is refused at start, not ignored.
func TestThrottleBurstNeedsARate(t *testing.T) {
	t.Setenv("AWS_REGION", awstest.Region)
	cfg, err := gateway.Defaults(gateway.Config{Listen: "127.0.0.1:0", ThrottleBurst: 5,
		Integration: "http://127.0.0.1:9/2015-03-31/functions/function/invocations"})
	if err != nil {
		t.Fatal(err)
	}
	_, cleanup, err := pusher.BuildGateway(context.Background(), cfg, nil, stacktest.Quiet())
	if err == nil {
		cleanup()
		t.Fatal("a gateway with a throttle burst and no rate")
	}
	if !strings.Contains(err.Error(), "throttle burst 5 without a throttle rate") {
		t.Errorf("error %v, want one saying the burst needs a rate", err)
	}
}

// TestThrottledGateway runs `pusher gateway` on dynalite throttled at 1 call/s with a
// burst of 3, says so once at start, and posts to a live client through the pusher's
// poster until a post is throttled: the burst passes, a throttled post is
// handlers.ErrThrottled, and the client receives exactly the posts that passed.
// Without the settings, start-up says nothing of a throttle.
func TestThrottledGateway(t *testing.T) {
	newDynamo(t)
	const line = "the Management API is throttled"

	t.Run("unset: no throttle", func(t *testing.T) {
		logs := &awstest.Buffer{}
		startGateway(t, gateway.Config{}, logs)
		if strings.Contains(logs.String(), line) {
			t.Errorf("start-up says the Management API is throttled:\n%s", logs)
		}
	})

	logs := &awstest.Buffer{}
	g := startGateway(t, gateway.Config{ThrottleRPS: 1, ThrottleBurst: 3}, logs)
	var said []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, line) {
			said = append(said, l)
		}
	}
	if len(said) != 1 || !strings.Contains(said[0], "throttle_rps=1 ") || !strings.Contains(said[0], "throttle_burst=3") {
		t.Errorf("start-up lines on the throttle %q, want one with throttle_rps=1 and throttle_burst=3", said)
	}

	alice := gatewaytest.Dial(t, g.Listener.Addr().String(), "alice", "alice")
	conns, err := g.Store.UserConnections(t.Context(), "alice")
	if err != nil || len(conns) != 1 {
		t.Fatalf("alice's connections: %v, %v", conns, err)
	}
	poster, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: g.URL()})
	if err != nil {
		t.Fatal(err)
	}
	// The bucket refills a call a second: 30 posts in a row are throttled at least once
	// unless they take 27 seconds.
	var passed []string
	throttled := 0
	for i := range 30 {
		frame := fmt.Sprintf(`{"n":%d}`, i)
		err := poster.PostToConnection(t.Context(), conns[0].ConnectionID, []byte(frame))
		switch {
		case err == nil:
			passed = append(passed, frame)
		case errors.Is(err, handlers.ErrThrottled):
			throttled++
		default:
			t.Fatalf("post %d: %v", i, err)
		}
		if i < 3 && err != nil {
			t.Fatalf("post %d within the burst of 3: %v", i, err)
		}
	}
	if throttled == 0 || g.Gateway.Throttled() != int64(throttled) {
		t.Fatalf("%d posts throttled, the gateway counts %d; want at least one, and the same", throttled, g.Gateway.Throttled())
	}

	// The gateway's close frame follows every frame it was posted.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := g.Gateway.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for f := range alice.Frames {
		got = append(got, f)
	}
	if strings.Join(got, " ") != strings.Join(passed, " ") {
		t.Errorf("alice received %q, want the %d posts that passed %q", got, len(passed), passed)
	}
}
