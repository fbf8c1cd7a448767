package pipeline_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// postLog is a gateway that records every frame it takes, in order.
type postLog struct {
	mu     sync.Mutex
	frames [][]byte
	// heard is told each frame's index once it is recorded.
	heard chan int
}

func (l *postLog) PostToConnection(_ context.Context, _ string, frame []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.frames = append(l.frames, frame)
	select {
	case l.heard <- len(l.frames):
	default:
	}
	return nil
}

// count returns how many frames the gateway took, and how many of them were frame.
func (l *postLog) count(frame string) (all, of int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.frames {
		if bytes.Equal(f, []byte(frame)) {
			of++
		}
	}
	return len(l.frames), of
}

// index returns where frame was first taken, -1 if it was not.
func (l *postLog) index(frame string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, f := range l.frames {
		if bytes.Equal(f, []byte(frame)) {
			return i
		}
	}
	return -1
}

// whenPosted waits until the gateway took n frames in all.
func (l *postLog) whenPosted(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case got := <-l.heard:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatalf("the gateway took fewer than %d frames in 30s", n)
		}
	}
}

// runPaged runs, until the test ends, a pipeline with cfg over a memory store of n
// connections that scans pages of 200, posting to gw and reporting to o. A broadcast
// then has more pages than fan-out has credits (16).
func runPaged(t *testing.T, cfg pipeline.Config, gw handlers.Poster, o pipeline.Observer, n int) *pipeline.Pipeline {
	t.Helper()
	store := memory.NewStore(200)
	for i := range n {
		_ = store.AddConnection(t.Context(), conn(fmt.Sprintf("user%05d", i), fmt.Sprintf("conn%05d", i)))
	}
	return runStore(t, cfg, store, gw, memory.NewPoisonQueue(), o)
}

// TestMulticastDuringBroadcast sends a multicast to one user while a broadcast to
// 10,000 connections is being posted at 5,000 posts/s: its frame is posted within a
// hundred posts of it being sent (20ms at that rate), not behind the broadcast's
// backlog, and both are delivered in full. Before requests took turns, it waited for a
// credit of fan-out until a page of the broadcast was done: hundreds of posts.
func TestMulticastDuringBroadcast(t *testing.T) {
	gw := &postLog{heard: make(chan int, 1)}
	cfg := pipeline.Config{Pace: pipeline.PaceConfig{Rate: 5000}}
	p := runPaged(t, cfg, gw, nil, 10_000)

	broadcast := make(chan pipeline.Result, 1)
	go func() {
		res, err := p.Process(within(t, time.Minute), request(`{"data":"broadcast"}`))
		if err != nil {
			t.Error(err)
		}
		broadcast <- res
	}()
	gw.whenPosted(t, 1000)
	sentAt, _ := gw.count("")
	res, err := p.Process(within(t, time.Minute), request(`{"users":["user09999"],"data":"multicast"}`))
	if err != nil || res.Delivered != 1 {
		t.Fatalf("multicast: %+v, %v; want delivered", res.Stats, err)
	}
	postedAt := gw.index(`"multicast"`)
	if after := postedAt - sentAt; after > 100 {
		t.Errorf("the multicast was posted %d posts after it was sent, want at most 100", after)
	}
	if b := <-broadcast; b.Delivered != 10_000 {
		t.Errorf("the broadcast delivered %d, want 10000", b.Delivered)
	}
	if all, of := gw.count(`"broadcast"`); all != 10_001 || of != 10_000 {
		t.Errorf("the gateway took %d frames, %d of the broadcast; want 10001 and 10000", all, of)
	}
}

// TestBroadcastsShare starts a second broadcast while a first is being posted: from
// then on they take turns. Before, the second got fan-out credits only as the first's
// pages were done, one every thousand posts, and a fraction of the posts.
func TestBroadcastsShare(t *testing.T) {
	gw := &postLog{heard: make(chan int, 1)}
	cfg := pipeline.Config{Pace: pipeline.PaceConfig{Rate: 5000}}
	p := runPaged(t, cfg, gw, nil, 5_000)

	var wg sync.WaitGroup
	send := func(data string) {
		wg.Go(func() {
			res, err := p.Process(within(t, time.Minute), request(`{"data":"`+data+`"}`))
			if err != nil || res.Delivered != 5_000 {
				t.Errorf("broadcast %s: %+v, %v; want 5000 delivered", data, res.Stats, err)
			}
		})
	}
	send("first")
	gw.whenPosted(t, 1000)
	send("second")
	startedAt, _ := gw.count("")
	gw.whenPosted(t, startedAt+4000)
	gw.mu.Lock()
	window := gw.frames[startedAt+500 : startedAt+4000] // once the second's first pages are in
	var second int
	for _, f := range window {
		if string(f) == `"second"` {
			second++
		}
	}
	gw.mu.Unlock()
	if share := float64(second) / float64(len(window)); share < 0.4 || share > 0.6 {
		t.Errorf("the second broadcast had %.2f of the posts while both ran, want about half", share)
	}
	wg.Wait()
}

// TestPacedBroadcast posts a broadcast at the rate set: 5,000 connections at 2,000
// posts/s with a burst of 100 take at least 2.4s.
func TestPacedBroadcast(t *testing.T) {
	gw := &postLog{heard: make(chan int, 1)}
	var rates rateLog
	cfg := pipeline.Config{Pace: pipeline.PaceConfig{Rate: 2000}}
	p := runPaged(t, cfg, gw, &rates, 5_000)
	start := time.Now()
	res, err := p.Process(within(t, time.Minute), request(`{"data":1}`))
	if err != nil || res.Delivered != 5_000 {
		t.Fatalf("broadcast: %+v, %v; want 5000 delivered", res.Stats, err)
	}
	if took, least := time.Since(start), (5000-100)*time.Second/2000; took < least {
		t.Errorf("5000 posts at 2000/s took %v, want at least %v", took, least)
	}
	if rates.queued() != 5_000 {
		t.Errorf("observed %d posts queue, want 5000", rates.queued())
	}
}

// rateLog is an Observer of the posts' queueing and rate.
type rateLog struct {
	pipeline.NopObserver
	mu     sync.Mutex
	waits  int
	rates  []float64
	waited time.Duration
}

func (r *rateLog) PostQueued(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.waits++
	r.waited += d
}

func (r *rateLog) PostRate(rate float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rates = append(r.rates, rate)
}

func (r *rateLog) queued() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waits
}

// TestPaceReportedAtStart: a paced pipeline says its rates in one line when it starts,
// and tells its observers the rate it starts at; an unpaced one says nothing.
func TestPaceReportedAtStart(t *testing.T) {
	tests := []struct {
		name     string
		pace     pipeline.PaceConfig
		wantLine string // "" for no line
		wantRate []float64
	}{
		{name: "unpaced"},
		{name: "paced", pace: pipeline.PaceConfig{Rate: 2000},
			wantLine: `level=INFO msg="posts paced under API Gateway's account throttle (docs/pacing.md)" post_rate=2000 post_burst=100 fleet_post_rate=0`,
			wantRate: []float64{2000}},
		{name: "a fleet's rate alone", pace: pipeline.PaceConfig{FleetRate: 10_000},
			wantLine: `level=INFO msg="posts paced under API Gateway's account throttle (docs/pacing.md)" post_rate=0 post_burst=0 fleet_post_rate=10000`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
			p, err := pipeline.New(pipeline.Config{Pace: tt.pace}, memory.NewStore(0), &postLog{}, memory.NewPoisonQueue(), logger)
			if err != nil {
				t.Fatal(err)
			}
			var rates rateLog
			p.Observe(&rates)
			ctx, stop := context.WithCancel(t.Context())
			done := make(chan error)
			go func() { done <- p.Run(ctx) }()
			<-p.Running()
			stop()
			<-done
			var lines []string
			for _, l := range strings.Split(out.String(), "\n") {
				if strings.Contains(l, "posts paced") {
					lines = append(lines, l)
				}
			}
			if want := []string{tt.wantLine}; tt.wantLine == "" && len(lines) > 0 || tt.wantLine != "" && !slices.Equal(lines, want) {
				t.Errorf("start-up lines %q, want %q", lines, tt.wantLine)
			}
			if !slices.Equal(rates.rates, tt.wantRate) {
				t.Errorf("observers told rates %v, want %v", rates.rates, tt.wantRate)
			}
		})
	}
}
