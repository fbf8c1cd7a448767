package console

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestPostedThrottledAsPostResult: the console counts a post as throttled exactly when
// pipeline.PostResult, which the metrics and EMF adapters label posts by, says
// "throttled", so that the page's 429s are pusher_post_duration_seconds_count{result=
// "throttled"}. An error that is both gone and throttled is gone there (PostResult
// tests ErrGone first), and so here.
func TestPostedThrottledAsPostResult(t *testing.T) {
	for _, tt := range []struct {
		name      string
		err       error
		throttled bool
	}{
		{"delivered", nil, false},
		{"throttled", fmt.Errorf("post c1: %w", handlers.ErrThrottled), true},
		{"gone", fmt.Errorf("post c1: %w", handlers.ErrGone), false},
		{"another failure", errors.New("post c1: 503 Service Unavailable"), false},
		{"gone and throttled", errors.Join(fmt.Errorf("post c1: %w", handlers.ErrGone), handlers.ErrThrottled), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := pipeline.PostResult(tt.err) == "throttled"; got != tt.throttled {
				t.Fatalf("pipeline.PostResult(%v) = %q: the case's want is not the metrics' label", tt.err, pipeline.PostResult(tt.err))
			}
			clk := &clock{t: time.Unix(1_800_000_000, 0)}
			c := &Console{meter: newMeter(60, clk.now), recent: newRecent(backlog)}
			c.Posted(time.Millisecond, tt.err)
			clk.t = clk.t.Add(time.Second)
			got, _ := c.meter.last()
			if len(got) != 1 {
				t.Fatalf("samples %+v, want one", got)
			}
			want := Sample{T: 1_800_000_000_000, Posts: 1, PostMsAvg: 1, PostMsMax: 1}
			if tt.throttled {
				want.Throttled = 1
			}
			if got[0] != want {
				t.Errorf("sample\n got %+v\nwant %+v", got[0], want)
			}
		})
	}
}
