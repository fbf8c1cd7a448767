package serve_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
)

// TestServeRequestDeadline holds the first post to bob past the request's deadline:
// meanwhile /readyz says the only admission is in use; at the deadline the request is
// left to SQS, nothing of it parked, and the service is ready again; SQS delivers it
// again once its visibility timeout has passed, and bob gets the frame.
func TestServeRequestDeadline(t *testing.T) {
	s := stacktest.New(t)
	alice, bob := s.Connect(t, "alice", "alice"), s.Connect(t, "bob", "bob")
	bobID := s.ConnectionID(t, "bob")
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	s.Faults.Fail(func(id string, n int) int {
		if id == bobID && n == 1 {
			close(held)
			<-release
			return http.StatusServiceUnavailable
		}
		return 0
	})
	svc, _ := s.Serve(t, func(c *serve.Config) {
		c.Pipeline.RequestTimeout = time.Second
		c.Pipeline.MaxRequests = 1
	})
	ready := func() int {
		resp, err := http.Get("http://" + svc.Ops.Addr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	stacktest.Eventually(t, "ready", func() bool { return ready() == http.StatusOK })

	s.Send(t, `{"users":["alice","bob"],"data":"hi"}`)
	<-held
	if code := ready(); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d while the only admission is in use, want 503", code)
	}
	stacktest.Eventually(t, "ready again after the request's deadline", func() bool { return ready() == http.StatusOK })
	once.Do(func() { close(release) })

	if got := bob.Next(t); got != `"hi"` {
		t.Errorf("bob got %s", got)
	}
	// alice got the frame the first time and gets it again with the redelivery: the
	// duplicate a deadline costs.
	for range 2 {
		if got := alice.Next(t); got != `"hi"` {
			t.Errorf("alice got %s", got)
		}
	}
	stacktest.Eventually(t, "the source message deleted", func() bool { return s.Queued(t, s.QueueURL) == 0 })
	if n := s.Queued(t, s.PoisonURL); n != 0 {
		t.Errorf("%d messages parked: work cut by the deadline is redelivered, not parked too", n)
	}
}
