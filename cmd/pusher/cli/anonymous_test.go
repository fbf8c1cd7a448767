package cli

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestStartUpSaysAnonymousClientsConnect runs `pusher dev --anonymous-connections`: it
// prints how a client without a user connects, and logs that such clients are
// accepted.
func TestStartUpSaysAnonymousClientsConnect(t *testing.T) {
	clearConnectEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, []string{"dev", "--listen", "127.0.0.1:0", "--anonymous-connections", "--topic-params", "VehicleID"}, &stdout, &stderr)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stdout.String(), "Management API:") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("pusher dev: %v\n%s", err, stderr.String())
	}
	if want := "/?user_id=USER, or without a user ws://"; !strings.Contains(stdout.String(), want) ||
		!strings.Contains(stdout.String(), "/?VehicleID=TOPIC  (not authenticated)") {
		t.Errorf("pusher dev printed\n%s\nwant the URL of a client without a user, by its VehicleID", stdout.String())
	}
	if n := strings.Count(stderr.String(), "anonymous connections are accepted"); n != 1 {
		t.Errorf("pusher dev logged %d lines saying anonymous connections are accepted, want 1:\n%s", n, stderr.String())
	}
}
