package connect_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/connect"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
)

// TestRunPrintsFramesAndSendsLines connects to `pusher dev` as the README's terminal
// recipe does: a line typed subscribes the client to a topic, the route's answer and a
// request to that topic come out as one line each, and the client closes after the
// frames it was asked for.
func TestRunPrintsFramesAndSendsLines(t *testing.T) {
	var cfg dev.Config
	cfg.Topics.Auth.Open = true // as `pusher dev` opens them by default
	p := stacktest.Dev(t, cfg, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	in, typed := io.Pipe()
	defer typed.Close()
	out, printed := io.Pipe()
	done := make(chan error, 1)
	url := "ws://" + p.Listener.Addr().String() + "/?user_id=alice"
	go func() {
		done <- connect.Run(ctx, connect.Config{URL: url, Frames: 2}, in, printed)
		printed.Close()
	}()
	lines := bufio.NewScanner(out)

	if _, err := io.WriteString(typed, `{"action":"subscribe","topic":"news"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	if got, want := next(t, lines), `{"type":"subscribed","topic":"news"}`; got != want {
		t.Fatalf("first line %q, want the route's answer %q", got, want)
	}
	resp, err := http.Post(p.URL()+"/notifications", "application/json", strings.NewReader(`{"topics":["news"],"data":{"headline":"hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := next(t, lines), `{"headline":"hi"}`; got != want {
		t.Fatalf("second line %q, want the request's data %q", got, want)
	}
	if err := <-done; err != nil {
		t.Fatalf("Run after its 2 frames: %v", err)
	}
}

// next returns the next line printed, failing the test if none comes.
func next(t *testing.T, lines *bufio.Scanner) string {
	t.Helper()
	if !lines.Scan() {
		t.Fatalf("no line printed: %v", lines.Err())
	}
	return lines.Text()
}

// TestRunRefused: a handshake the gateway refuses is an error naming the status, and
// a URL that is not a WebSocket one is refused before any connection.
func TestRunRefused(t *testing.T) {
	p := stacktest.Dev(t, dev.Config{}, nil)
	addr := p.Listener.Addr().String()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"no user", "ws://" + addr + "/", "refused with 401"},
		{"http URL", "http://" + addr + "/?user_id=alice", "not a ws:// or wss:// URL"},
		{"no URL", "", "a WebSocket URL is needed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := connect.Run(t.Context(), connect.Config{URL: tc.url}, strings.NewReader(""), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run(%q) = %v, want an error saying %q", tc.url, err, tc.want)
			}
		})
	}
}
