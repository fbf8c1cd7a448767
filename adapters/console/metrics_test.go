package console

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// clock is a time that a test moves by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// TestMeter: the observer's calls of each second make that second's sample, closed when
// a later second is asked for; quiet seconds are samples of zeros; in_flight and the
// post rate carry over; no more than History samples are kept; 429s are counted apart
// from other failed posts, and the waits for a turn averaged.
func TestMeter(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	type step struct {
		at time.Duration // since start
		do func(c *Console)
	}
	admit := func(c *Console) { c.RequestAdmitted() }
	settle := func(c *Console) { c.RequestSettled(pipeline.Result{CorrelationID: "r"}) }
	post := func(ms int) func(c *Console) {
		return func(c *Console) { c.Posted(time.Duration(ms)*time.Millisecond, nil) }
	}
	postErr := func(ms int, err error) func(c *Console) {
		return func(c *Console) { c.Posted(time.Duration(ms)*time.Millisecond, err) }
	}
	wait := func(ms int) func(c *Console) {
		return func(c *Console) { c.PostQueued(time.Duration(ms) * time.Millisecond) }
	}
	rate := func(r float64) func(c *Console) { return func(c *Console) { c.PostRate(r) } }
	throttled := fmt.Errorf("post c1: %w", handlers.ErrThrottled)
	tests := []struct {
		name    string
		history int
		steps   []step
		askAt   time.Duration
		want    []Sample
	}{
		{name: "nothing happened, one second", history: 60, askAt: 1500 * time.Millisecond,
			want: []Sample{{T: 1_800_000_000_000}}},
		{name: "a second of posts and requests", history: 60, askAt: 1100 * time.Millisecond,
			steps: []step{{100 * time.Millisecond, admit}, {150 * time.Millisecond, admit}, {200 * time.Millisecond, post(2)},
				{300 * time.Millisecond, post(6)}, {400 * time.Millisecond, settle},
				{500 * time.Millisecond, func(c *Console) { c.Progressed(pipeline.Stats{Delivered: 3, Pruned: 1, Connections: 4}) }},
				{600 * time.Millisecond, func(c *Console) { c.Parked("post", pipeline.Transient) }}},
			want: []Sample{{T: 1_800_000_000_000, Requests: 1, Delivered: 3, Pruned: 1, Parked: 1, Posts: 2, PostMsAvg: 4, PostMsMax: 6, InFlight: 1}}},
		{name: "quiet seconds carry the requests in flight", history: 60, askAt: 3200 * time.Millisecond,
			steps: []step{{0, admit}, {1100 * time.Millisecond, post(1)}},
			want: []Sample{{T: 1_800_000_000_000, InFlight: 1}, {T: 1_800_000_001_000, Posts: 1, PostMsAvg: 1, PostMsMax: 1, InFlight: 1},
				{T: 1_800_000_002_000, InFlight: 1}}},
		{name: "paced: 429s, waits for a turn and the rate", history: 60, askAt: 1100 * time.Millisecond,
			steps: []step{{50 * time.Millisecond, rate(2000)}, {100 * time.Millisecond, wait(0)}, {110 * time.Millisecond, post(2)},
				{200 * time.Millisecond, wait(30)}, {210 * time.Millisecond, postErr(4, throttled)},
				{300 * time.Millisecond, wait(15)}, {310 * time.Millisecond, postErr(6, errors.New("503 Service Unavailable"))},
				{400 * time.Millisecond, rate(1400)}},
			want: []Sample{{T: 1_800_000_000_000, Posts: 3, PostMsAvg: 4, PostMsMax: 6, Throttled: 1, Waits: 3, WaitMsAvg: 15, PostRate: 1400}}},
		{name: "the post rate carries over quiet seconds", history: 60, askAt: 3200 * time.Millisecond,
			steps: []step{{0, rate(1400)}, {1100 * time.Millisecond, rate(1500)}},
			want: []Sample{{T: 1_800_000_000_000, PostRate: 1400}, {T: 1_800_000_001_000, PostRate: 1500},
				{T: 1_800_000_002_000, PostRate: 1500}}},
		{name: "only the last History seconds are kept", history: 3, askAt: 100 * time.Second,
			steps: []step{{0, post(1)}, {98*time.Second + 1, post(5)}},
			want:  []Sample{{T: 1_800_000_097_000}, {T: 1_800_000_098_000, Posts: 1, PostMsAvg: 5, PostMsMax: 5}, {T: 1_800_000_099_000}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: start}
			c := &Console{meter: newMeter(tt.history, clk.now), recent: newRecent(backlog)}
			for _, s := range tt.steps {
				clk.t = start.Add(s.at)
				s.do(c)
			}
			clk.t = start.Add(tt.askAt)
			got, lastT := c.meter.last()
			if !slices.Equal(got, tt.want) {
				t.Errorf("samples\n got %+v\nwant %+v", got, tt.want)
			}
			if want := tt.want[len(tt.want)-1].T; lastT != want {
				t.Errorf("last second %d, want %d", lastT, want)
			}
			if more := c.meter.since(lastT); len(more) != 0 {
				t.Errorf("since the last second: %+v, want none", more)
			}
		})
	}
}

// TestRecent: a stream gets the requests from the number it asks for on, those it fell
// too far behind for skipped; the channel it waits on is closed by the next request.
func TestRecent(t *testing.T) {
	r := newRecent(4)
	for i := range 6 {
		r.add(Request{CorrelationID: string(rune('a' + i))})
	}
	ids := func(reqs []Request) string {
		var s string
		for _, x := range reqs {
			s += x.CorrelationID
		}
		return s
	}
	tests := []struct {
		name     string
		from     uint64
		want     string
		wantNext uint64
	}{
		{name: "from the start, behind by more than kept", from: 0, want: "cdef", wantNext: 6},
		{name: "from the middle", from: 4, want: "ef", wantNext: 6},
		{name: "up to date", from: 6, want: "", wantNext: 6},
		{name: "the last 3", from: r.latest(3), want: "def", wantNext: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs, next, _ := r.since(tt.from)
			if ids(reqs) != tt.want || next != tt.wantNext {
				t.Errorf("since(%d) = %q, %d; want %q, %d", tt.from, ids(reqs), next, tt.want, tt.wantNext)
			}
		})
	}
	_, _, more := r.since(6)
	select {
	case <-more:
		t.Fatal("woken before a request")
	default:
	}
	r.add(Request{CorrelationID: "g"})
	select {
	case <-more:
	default:
		t.Fatal("not woken by a request")
	}
}
