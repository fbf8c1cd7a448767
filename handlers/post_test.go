package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// poster is a handlers.Poster that records what it was sent and answers with err.
type poster struct {
	err error

	mu     sync.Mutex
	frames map[string]string
}

func (p *poster) PostToConnection(_ context.Context, connectionID string, frame []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.frames == nil {
		p.frames = map[string]string{}
	}
	p.frames[connectionID] = string(frame)
	return p.err
}

// TestPost checks what a post becomes for each answer of the gateway.
func TestPost(t *testing.T) {
	errThrottled := errors.New("throttled")
	errForbidden := errors.New("forbidden")
	tests := []struct {
		name        string
		gatewayErr  error
		want        handlers.Outcome
		wantErr     error // the error the returned one wraps; nil for none
		wantPerm    bool
		wantInError []string
	}{
		{name: "delivered", want: handlers.Delivered},
		{name: "gone", gatewayErr: handlers.ErrGone, want: handlers.Gone},
		{name: "wrapped gone", gatewayErr: fmt.Errorf("410 GoneException: %w", handlers.ErrGone), want: handlers.Gone},
		{
			name:        "transient error",
			gatewayErr:  fmt.Errorf("429: %w", errThrottled),
			wantErr:     errThrottled,
			wantInError: []string{"conn-1", "alice", "throttled"},
		},
		{
			name:        "permanent error stays permanent",
			gatewayErr:  handlers.Permanent(fmt.Errorf("403: %w", errForbidden)),
			wantErr:     errForbidden,
			wantPerm:    true,
			wantInError: []string{"conn-1", "alice", "forbidden"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := &poster{err: tt.gatewayErr}
			d := handlers.Delivery{Connection: conn("alice", "conn-1"), Frame: []byte(`{"msg":"hi"}`)}

			got, err := handlers.Post{Gateway: gw}.Post(t.Context(), d)

			if frame, ok := gw.frames["conn-1"]; !ok || frame != `{"msg":"hi"}` {
				t.Errorf("gateway got frame %q for conn-1 (posted: %v), want {\"msg\":\"hi\"}", frame, ok)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Post: %v", err)
				}
				if got != tt.want {
					t.Errorf("outcome = %v, want %v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("Post = %v, nil; want an error", got)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q does not wrap %q", err, tt.wantErr)
			}
			if handlers.IsPermanent(err) != tt.wantPerm {
				t.Errorf("IsPermanent(%q) = %v, want %v", err, !tt.wantPerm, tt.wantPerm)
			}
			for _, s := range tt.wantInError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}

// TestPostGrace checks what a 410 becomes by the connection's age: API Gateway answers
// 410 to a connection still in $connect, so a young one is Connecting, not Gone.
func TestPostGrace(t *testing.T) {
	const grace = 30 * time.Second
	young := time.Now().Add(-time.Second)
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name        string
		connectedAt time.Time
		grace       time.Duration
		gatewayErr  error
		want        handlers.Outcome
	}{
		{name: "410 to a young connection", connectedAt: young, grace: grace, gatewayErr: handlers.ErrGone, want: handlers.Connecting},
		{name: "410 to an old connection", connectedAt: old, grace: grace, gatewayErr: handlers.ErrGone, want: handlers.Gone},
		{name: "410 to a connection of unknown age", grace: grace, gatewayErr: handlers.ErrGone, want: handlers.Gone},
		{name: "410 to a young connection without grace", connectedAt: young, gatewayErr: handlers.ErrGone, want: handlers.Gone},
		{name: "a young connection delivered", connectedAt: young, grace: grace, want: handlers.Delivered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conn("alice", "conn-1")
			c.ConnectedAt = tt.connectedAt
			post := handlers.Post{Gateway: &poster{err: tt.gatewayErr}, Grace: tt.grace}
			got, err := post.Post(t.Context(), handlers.Delivery{Connection: c, Frame: []byte(`1`)})
			if err != nil {
				t.Fatalf("Post: %v", err)
			}
			if got != tt.want {
				t.Errorf("outcome = %v, want %v", got, tt.want)
			}
		})
	}
}
