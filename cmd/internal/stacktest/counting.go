package stacktest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
)

// FrameCounter counts the frames its clients receive, all together: what a benchmark
// of many clients needs to know when a load has been delivered.
type FrameCounter struct {
	frames atomic.Int64
}

// ConnectCounting connects n WebSocket clients to the stack's gateway, 64 at a time,
// client i with the query string query(i) (such as "user_id=u-7&topic=order-7"), and
// counts the frames they receive until the test ends.
func (s *Stack) ConnectCounting(t testing.TB, n int, query func(i int) string) *FrameCounter {
	t.Helper()
	fc := &FrameCounter{}
	addr := s.Gateway.Listener.Addr().String()
	var wg sync.WaitGroup
	var failed atomic.Int32
	slots := make(chan struct{}, 64)
	for i := range n {
		slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-slots }()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			c, err := gatewaytest.OpenQuery(ctx, t, addr, fmt.Sprint("client-", i), query(i))
			if err != nil {
				if failed.Add(1) == 1 {
					t.Errorf("connect client %d: %v", i, err)
				}
				return
			}
			go func() {
				for range c.Frames {
					fc.frames.Add(1)
				}
			}()
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d clients could not connect", failed.Load())
	}
	return fc
}

// Frames returns the frames received so far.
func (fc *FrameCounter) Frames() int64 { return fc.frames.Load() }

// Await waits until the clients have received want frames in all, failing the test
// after limit.
func (fc *FrameCounter) Await(t testing.TB, want int64, limit time.Duration) {
	t.Helper()
	EventuallyWithin(t, limit, fmt.Sprintf("%d frames received", want), func() bool { return fc.Frames() >= want })
}
