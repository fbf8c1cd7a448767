package stacktest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
)

// TestConnectGate posts to a client's connection while it is in $connect, as a broadcast
// that read its row would: the post is answered 410, as API Gateway answers it; once
// the client's dial has returned, a post reaches it.
func TestConnectGate(t *testing.T) {
	s := New(t)
	gate := NewConnectGate(t, s, 2*time.Second) // ample for the poll below on a loaded machine
	post := func(id string) int {
		resp, err := http.Post(s.Faults.URL+"/@connections/"+id, "application/json", strings.NewReader(`"hi"`))
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// While the dial is pending, find the row and post to it.
	during := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for ctx.Err() == nil {
			conns, err := s.Store.UserConnections(ctx, "alice")
			if err == nil && len(conns) == 1 {
				during <- post(conns[0].ConnectionID)
				return
			}
			time.Sleep(5 * time.Millisecond) // a poll with a deadline
		}
		during <- 0
	}()
	alice := gatewaytest.Dial(t, gate.Addr(), "alice", "alice")
	if got := <-during; got != http.StatusGone {
		t.Errorf("a post in $connect answered %d, want 410", got)
	}
	if got := post(s.ConnectionID(t, "alice")); got != http.StatusOK {
		t.Errorf("a post after $connect answered %d, want 200", got)
	}
	if f := alice.Next(t); f != `"hi"` {
		t.Errorf("alice got %s", f)
	}
}
