package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// taskQueue is a pipeline.TaskQueue in memory: the segment tasks it took, and the
// refusals it is told to make, per attempt of each segment.
type taskQueue struct {
	mu       sync.Mutex
	tasks    []*message.Message
	attempts map[string]int
	// refuse returns the error to refuse segment's attempt with (from 1), nil to take it.
	refuse func(segment string, attempt int) error
}

func newTaskQueue(refuse func(segment string, attempt int) error) *taskQueue {
	return &taskQueue{attempts: map[string]int{}, refuse: refuse}
}

func (q *taskQueue) Enqueue(_ context.Context, tasks []*message.Message) []error {
	q.mu.Lock()
	defer q.mu.Unlock()
	errs := make([]error, len(tasks))
	for i, t := range tasks {
		seg := t.Metadata.Get(pipeline.SegmentKey)
		q.attempts[seg]++
		if q.refuse != nil {
			if errs[i] = q.refuse(seg, q.attempts[seg]); errs[i] != nil {
				continue
			}
		}
		q.tasks = append(q.tasks, t)
	}
	return errs
}

func (q *taskQueue) taken() []*message.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.tasks)
}

// countingStore is a memory store whose estimates are counted, and fail while err is
// set, and which records the cursors its scans start from.
type countingStore struct {
	*memory.Store
	mu        sync.Mutex
	estimates int
	err       error
	scans     []string
}

func (s *countingStore) ScanConnections(ctx context.Context, cursor string, page func([]handlers.Connection, string) error) error {
	s.mu.Lock()
	s.scans = append(s.scans, cursor)
	s.mu.Unlock()
	return s.Store.ScanConnections(ctx, cursor, page)
}

func (s *countingStore) EstimateConnections(ctx context.Context) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.estimates++
	if s.err != nil {
		return 0, s.err
	}
	return s.Store.EstimateConnections(ctx)
}

// splitFixture is a store of connections of users u0..u9, a gateway, a poison queue, and
// the pipeline on them that splits broadcasts onto q.
type splitFixture struct {
	p      *pipeline.Pipeline
	store  *countingStore
	gw     *gateway
	poison *memory.PoisonQueue
	q      *taskQueue
	conns  []handlers.Connection
}

func startSplit(t *testing.T, cfg pipeline.Config, q *taskQueue, n int) *splitFixture {
	t.Helper()
	f := &splitFixture{store: &countingStore{Store: memory.NewStore(3)}, gw: newGateway(), poison: memory.NewPoisonQueue(), q: q}
	for i := range n {
		c := conn(fmt.Sprint("u", i%10), fmt.Sprintf("c%03d", i))
		f.conns = append(f.conns, c)
		_ = f.store.AddConnection(context.Background(), c)
	}
	f.p = f.start(t, cfg, q)
	return f
}

// start runs, until the test ends, a pipeline on f's store, gateway and poison queue,
// splitting onto q unless it is nil.
func (f *splitFixture) start(t *testing.T, cfg pipeline.Config, q *taskQueue) *pipeline.Pipeline {
	t.Helper()
	cfg.Retry.InitialInterval = time.Millisecond
	p, err := pipeline.New(cfg, f.store, f.gw, f.poison, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if q != nil {
		if err := p.SplitTo(q); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	<-p.Running()
	return p
}

// process sends body with correlation id corr and returns its result.
func (f *splitFixture) process(t *testing.T, body, corr string) pipeline.Result {
	t.Helper()
	msg := message.NewMessage(watermill.NewUUID(), []byte(body))
	middleware.SetCorrelationID(corr, msg)
	res, err := f.p.Process(t.Context(), msg)
	if err != nil {
		t.Fatalf("process %s: %v", body, err)
	}
	return res
}

// runTasks processes each task the queue took, as the fleet would, and returns their
// results.
func (f *splitFixture) runTasks(t *testing.T) []pipeline.Result {
	t.Helper()
	var out []pipeline.Result
	for _, task := range f.q.taken() {
		res, err := f.p.Process(t.Context(), task)
		if err != nil {
			t.Fatalf("process task %s: %v", task.Payload, err)
		}
		out = append(out, res)
	}
	return out
}

// checkOnce fails the test unless each of want got exactly one frame, and nothing else did.
func (f *splitFixture) checkOnce(t *testing.T, want []handlers.Connection) {
	t.Helper()
	got := f.gw.received()
	for _, c := range want {
		if n := len(got[c.ConnectionID]); n != 1 {
			t.Errorf("%s got %d frames, want 1", c.ConnectionID, n)
		}
		delete(got, c.ConnectionID)
	}
	if len(got) > 0 {
		t.Errorf("%d connections not targeted got frames, such as %v", len(got), slices.Collect(func(yield func(string) bool) {
			for id := range got {
				yield(id)
				return
			}
		}))
	}
}

// TestSplit is a split broadcast and exclusion as the fleet sees them: the request
// settles with its tasks on the queue and delivers nothing itself; each task is a
// request of one segment, carrying the request's correlation id and data byte for
// byte; the tasks together reach each targeted connection once.
func TestSplit(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		skip  string // the excluded user
		tasks int
	}{
		{"broadcast", `{"data":{"html":"<b>&</b>"}}`, "", 8},
		{"exclusion", `{"exclude_users":["u3"],"data":{"html":"<b>&</b>"}}`, "u3", 8},
	}
	kind := map[string]string{"": "broadcast", "u3": "exclusion"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newTaskQueue(nil)
			f := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 30, SegmentSize: 10}}, q, 75)
			res := f.process(t, tt.body, "corr-1")
			if res.Split != tt.tasks || res.Connections != 0 || res.Delivered != 0 {
				t.Fatalf("result %+v, want split into %d tasks and no delivery", res.Stats, tt.tasks)
			}
			tasks := q.taken()
			var segments []string
			for _, task := range tasks {
				var req handlers.Request
				if err := json.Unmarshal(task.Payload, &req); err != nil || req.Segment == nil {
					t.Fatalf("task %s: %v", task.Payload, err)
				}
				if string(req.Data) != `{"html":"<b>&</b>"}` {
					t.Errorf("task data %s, want the request's byte for byte", req.Data)
				}
				if got := middleware.MessageCorrelationID(task); got != "corr-1" {
					t.Errorf("task correlation id %q, want the request's", got)
				}
				if task.Metadata.Get(pipeline.SegmentKey) != req.Segment.String() {
					t.Errorf("task metadata segment %q, payload %s", task.Metadata.Get(pipeline.SegmentKey), req.Segment)
				}
				segments = append(segments, req.Segment.String())
			}
			slices.Sort(segments)
			if want := []string{"0/8", "1/8", "2/8", "3/8", "4/8", "5/8", "6/8", "7/8"}; !slices.Equal(segments, want) {
				t.Errorf("tasks of segments %v, want %v", segments, want)
			}

			results := f.runTasks(t)
			delivered := 0
			for _, r := range results {
				if r.Segment == "" || r.Split != 0 || r.Kind != kind[tt.skip] {
					t.Errorf("task result %+v: want a segment of the same kind, not split again", r)
				}
				delivered += r.Delivered
			}
			want := slices.DeleteFunc(slices.Clone(f.conns), func(c handlers.Connection) bool { return c.UserID == tt.skip })
			if delivered != len(want) {
				t.Errorf("the tasks delivered %d, want %d", delivered, len(want))
			}
			f.checkOnce(t, want)
		})
	}
}

// TestSplitDecision checks which requests are split: broadcasts and exclusions over the
// threshold, never a multicast or a segment task, and none when the estimate fails (the
// request is delivered whole, here); the estimate is reused for EstimateMaxAge.
func TestSplitDecision(t *testing.T) {
	q := newTaskQueue(nil)
	f := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 20, SegmentSize: 10, EstimateMaxAge: time.Hour}}, q, 25)
	for _, tt := range []struct {
		body  string
		split int
	}{
		{`{"data":1}`, 3},
		{`{"exclude_users":["u1"],"data":1}`, 3},
		{`{"users":["u1","u2"],"data":1}`, 0},
		{`{"topics":["t"],"users":["u1"],"data":1}`, 0},
		{`{"data":1,"segment":{"index":0,"total":2}}`, 0},
	} {
		if res := f.process(t, tt.body, "c"); res.Split != tt.split {
			t.Errorf("%s: split %d, want %d", tt.body, res.Split, tt.split)
		}
	}
	if f.store.estimates != 1 {
		t.Errorf("the store was asked %d estimates, want 1 (reused)", f.store.estimates)
	}

	small := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 25, SegmentSize: 10}}, newTaskQueue(nil), 25)
	if res := small.process(t, `{"data":1}`, "c"); res.Split != 0 || res.Delivered != 25 {
		t.Errorf("at the threshold: %+v, want delivered here", res.Stats)
	}

	failing := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 5}}, newTaskQueue(nil), 25)
	failing.store.err = errors.New("throttled")
	for range 2 {
		if res := failing.process(t, `{"data":1}`, "c"); res.Split != 0 || res.Delivered != 25 {
			t.Errorf("with a failing estimate: %+v, want delivered here", res.Stats)
		}
	}
	if failing.store.estimates != 1 {
		t.Errorf("a failing store was asked %d estimates in a minute, want 1", failing.store.estimates)
	}

	// Asked every time: a failed ask keeps the estimate known before it.
	keeping := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 5, SegmentSize: 10, EstimateMaxAge: time.Nanosecond}}, newTaskQueue(nil), 25)
	for i, fail := range []bool{false, true} {
		keeping.store.mu.Lock()
		if fail {
			keeping.store.err = errors.New("throttled")
		}
		keeping.store.mu.Unlock()
		if res := keeping.process(t, `{"data":1}`, "c"); res.Split != 3 {
			t.Errorf("request %d (estimate failing: %t): split %d, want 3", i, fail, res.Split)
		}
	}
	if keeping.store.estimates != 2 {
		t.Errorf("the store was asked %d estimates, want 2", keeping.store.estimates)
	}
}

// TestSplitConfigTasks is the decision's arithmetic.
func TestSplitConfigTasks(t *testing.T) {
	for _, tt := range []struct {
		cfg   pipeline.SplitConfig
		n     int
		tasks int
	}{
		{pipeline.SplitConfig{Above: 0, SegmentSize: 10, MaxSegments: 100}, 1_000_000, 0},
		{pipeline.SplitConfig{Above: 100, SegmentSize: 10, MaxSegments: 100}, 100, 0},
		{pipeline.SplitConfig{Above: 100, SegmentSize: 10, MaxSegments: 100}, 101, 11},
		{pipeline.SplitConfig{Above: 100, SegmentSize: 10, MaxSegments: 100}, 1_000_000, 100},
		{pipeline.SplitConfig{Above: 5, SegmentSize: 10, MaxSegments: 100}, 10, 0}, // one task: not split
		{pipeline.SplitConfig{Above: 5, SegmentSize: 10, MaxSegments: 100}, 11, 2},
		{pipeline.SplitConfig{Above: 50_000, SegmentSize: 10_000, MaxSegments: 1_000}, 1_000_000, 100},
	} {
		if got := pipeline.SplitTasks(tt.cfg, tt.n); got != tt.tasks {
			t.Errorf("%+v of %d connections: %d tasks, want %d", tt.cfg, tt.n, got, tt.tasks)
		}
	}
}

// TestSplitRefusals checks what the queue's refusals do: tasks refused for a while are
// enqueued again, and only they; tasks refused for good before any is on the queue
// leave the request to be delivered whole, here; after some are, the rest are resolved
// here. Either way each connection gets one frame.
func TestSplitRefusals(t *testing.T) {
	errBusy := errors.New("throttled")
	errTooLarge := handlers.Permanent(errors.New("message too long"))
	tests := []struct {
		name   string
		refuse func(seg string, attempt int) error
		split  int // tasks on the queue
	}{
		{"some refused once", func(seg string, attempt int) error {
			if attempt == 1 && (seg == "2/6" || seg == "5/6") {
				return errBusy
			}
			return nil
		}, 6},
		{"all refused twice", func(_ string, attempt int) error {
			if attempt <= 2 {
				return errBusy
			}
			return nil
		}, 6},
		{"all refused for good", func(string, int) error { return errTooLarge }, 0},
		{"some refused for good", func(seg string, _ int) error {
			if seg == "1/6" || seg == "4/6" {
				return errTooLarge
			}
			return nil
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newTaskQueue(tt.refuse)
			f := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 30, SegmentSize: 10}, Retry: pipeline.RetryConfig{MaxAttempts: 5}}, q, 60)
			res := f.process(t, `{"data":1}`, "c")
			if res.Split != tt.split || res.Failed != 0 {
				t.Errorf("result %+v, want %d tasks on the queue and none parked", res.Stats, tt.split)
			}
			var segments []string
			for _, task := range q.taken() {
				segments = append(segments, task.Metadata.Get(pipeline.SegmentKey))
			}
			if d := len(segments) - len(slices.Compact(slices.Sorted(slices.Values(segments)))); d > 0 {
				t.Errorf("%d tasks enqueued twice: %v", d, segments)
			}
			f.runTasks(t)
			f.checkOnce(t, f.conns)
		})
	}
}

// TestSplitReplayedWithoutQueue parks a split whose queue kept refusing some of its
// tasks, and replays it on a pipeline with no task queue (as `pusher replay send`
// runs): the segments left are resolved there, and with the tasks that made it to the
// queue every connection gets one frame.
func TestSplitReplayedWithoutQueue(t *testing.T) {
	q := newTaskQueue(func(seg string, _ int) error {
		if seg >= "3/6" {
			return errors.New("throttled")
		}
		return nil
	})
	f := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 30, SegmentSize: 10}, Retry: pipeline.RetryConfig{MaxAttempts: 3}}, q, 60)
	res := f.process(t, `{"data":1}`, "c")
	parked := f.poison.Messages()
	if res.Failed != 1 || len(parked) != 1 {
		t.Fatalf("result %+v with %d parked, want the request parked", res.Stats, len(parked))
	}
	if p := pipeline.ParkedFrom(parked[0]); p.Stage != pipeline.StageResolve {
		t.Fatalf("parked at %s, want resolve", p.Stage)
	}
	results := f.runTasks(t)
	if len(results) != 3 {
		t.Fatalf("%d tasks on the queue, want 3", len(results))
	}
	byTasks := 0
	for _, r := range results {
		byTasks += r.Delivered
	}

	replayer := f.start(t, pipeline.Config{}, nil)
	r, err := replayer.Replay(t.Context(), parked[0])
	if err != nil || r.Delivered != len(f.conns)-byTasks {
		t.Fatalf("replay: %+v, %v; want the %d connections of the 3 segments left", r.Stats, err, len(f.conns)-byTasks)
	}
	f.checkOnce(t, f.conns)
}

// TestSplitCursorRefusedWhole replays, at the resolve stage, a split none of whose tasks
// is on the queue, onto a queue that refuses them for good: the request is resolved
// whole, from the start, each connection once.
func TestSplitCursorRefusedWhole(t *testing.T) {
	q := newTaskQueue(func(string, int) error { return handlers.Permanent(errors.New("message too long")) })
	f := startSplit(t, pipeline.Config{Split: pipeline.SplitConfig{Above: 30, SegmentSize: 10}}, q, 60)
	parked := message.NewMessage(watermill.NewUUID(), []byte(`{"data":1}`))
	parked.Metadata.Set(middleware.PoisonedHandlerKey, pipeline.StageResolve)
	parked.Metadata.Set(pipeline.CursorKey, "split:6:0:0-5")
	res, err := f.p.Replay(t.Context(), parked)
	if err != nil || res.Delivered != len(f.conns) || res.Split != 0 {
		t.Fatalf("replay: %+v, %v; want the %d connections delivered here", res.Stats, err, len(f.conns))
	}
	f.checkOnce(t, f.conns)
	if got := fmt.Sprintf("%q", f.store.scans); got != `[""]` {
		t.Errorf("the scans started from %s, want one from the start", got)
	}
}

// TestSplitSharesFleetRate splits a broadcast of 75 connections into 8 tasks with a
// fleet's rate of 400 posts/s: each task carries a share of 50/s and posts no faster,
// so that the 8 stay under 400/s together; without a fleet's rate, tasks carry none.
func TestSplitSharesFleetRate(t *testing.T) {
	for _, fleetRate := range []float64{0, 400} {
		t.Run(fmt.Sprint(fleetRate), func(t *testing.T) {
			q := newTaskQueue(nil)
			cfg := pipeline.Config{Split: pipeline.SplitConfig{Above: 30, SegmentSize: 10}, Pace: pipeline.PaceConfig{FleetRate: fleetRate}}
			f := startSplit(t, cfg, q, 75)
			if res := f.process(t, `{"data":1}`, "corr-1"); res.Split != 8 {
				t.Fatalf("result %+v, want split into 8 tasks", res.Stats)
			}
			var most int
			for _, task := range q.taken() {
				var req handlers.Request
				if err := json.Unmarshal(task.Payload, &req); err != nil || req.Segment == nil {
					t.Fatalf("task %s: %v", task.Payload, err)
				}
				if want := fleetRate / 8; req.Segment.PostRate != want {
					t.Errorf("task %s carries a post rate of %v, want %v", task.Payload, req.Segment.PostRate, want)
				}
				if fleetRate == 0 && bytes.Contains(task.Payload, []byte("post_rate")) {
					t.Errorf("task %s carries a post rate, want none", task.Payload)
				}
				start := time.Now()
				res, err := f.p.Process(t.Context(), task)
				if err != nil {
					t.Fatal(err)
				}
				// At 50/s with a burst of 3 (a twentieth of a second's), n posts take
				// at least (n-3)/50 s.
				if least := time.Duration(res.Delivered-3) * time.Second / 50; fleetRate > 0 && time.Since(start) < least {
					t.Errorf("task %s delivered %d in %v, faster than its share allows (%v)", req.Segment, res.Delivered, time.Since(start), least)
				}
				most = max(most, res.Delivered)
			}
			if most < 9 {
				t.Errorf("the largest task delivered %d, want one of 9 or more for the pace to show", most)
			}
		})
	}
}
