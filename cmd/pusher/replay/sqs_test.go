package replay_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// cancelAfter cancels a send once n messages are done.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Done(pipeline.Parked, replay.Outcome) {
	if c.n--; c.n == 0 {
		c.cancel()
	}
}
func (c *cancelAfter) Close() {}

func users(parked []pipeline.Parked) []string {
	var out []string
	for _, p := range parked {
		out = append(out, p.UserID)
	}
	slices.Sort(out)
	return out
}

// TestReplaySQS parks the deliveries of a broadcast to two connections whose gateway
// fails, then replays them once the gateway recovers.
func TestReplaySQS(t *testing.T) {
	s := newStack(t)
	alice, bob := s.Connect(t, "alice", "alice"), s.Connect(t, "bob", "bob")
	carol, dave := s.Connect(t, "carol", "carol"), s.Connect(t, "dave", "dave")
	bobID, carolID := s.ConnectionID(t, "bob"), s.ConnectionID(t, "carol")

	s.Faults.Fail(failing(bobID, carolID))
	stop := runServe(t, s)
	s.Send(t, `{"data":"hello"}`)
	for _, c := range []*gatewaytest.Client{alice, dave} {
		if got := c.Next(t); got != `"hello"` {
			t.Fatalf("%s got %s", c.Name, got)
		}
	}
	stacktest.EventuallyWithin(t, patience, "two deliveries parked", func() bool { return s.Queued(t, s.PoisonURL) == 2 })
	stacktest.EventuallyWithin(t, patience, "the request is settled and deleted", func() bool { return s.Queued(t, s.QueueURL) == 0 })
	stop()
	s.Faults.Fail(nil) // the gateway recovers

	ctx := context.Background()
	cfg := replay.Config{
		Config: onaws.Config{
			PoisonQueueURL: s.PoisonURL, APIGWEndpoint: s.Faults.URL,
			Table:    stacktest.Tables(),
			Pipeline: pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
		},
		QueueURL: s.QueueURL,
	}
	svc, cleanup, err := pusher.BuildReplay(ctx, cfg, nil, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stopPipeline, err := svc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stopPipeline(); err != nil {
			t.Errorf("replay pipeline: %v", err)
		}
	})
	r := replay.PipelineReplayer{Pipeline: svc.Pipeline}
	sendCfg := func(f replay.Filter) replay.SendConfig {
		return replay.SendConfig{Filter: f, Timeout: 10 * time.Second, Logger: stacktest.Quiet()}
	}

	// visible waits until the queue shows n messages: goaws may keep some hidden for
	// its visibility timeout after a listing released them.
	visible := func(n int) []pipeline.Parked {
		t.Helper()
		var all []pipeline.Parked
		stacktest.EventuallyWithin(t, patience, fmt.Sprintf("%d messages parked and visible", n), func() bool {
			var err error
			all, err = replay.Select(ctx, svc.Queue, replay.Filter{})
			return err == nil && len(all) == n
		})
		return all
	}
	all := visible(2)
	// selectN polls until f selects n messages, for the same reason.
	selectN := func(f replay.Filter, n int) []pipeline.Parked {
		t.Helper()
		var got []pipeline.Parked
		stacktest.EventuallyWithin(t, patience, fmt.Sprintf("%d messages selected by %+v", n, f), func() bool {
			var err error
			got, err = replay.Select(ctx, svc.Queue, f)
			return err == nil && len(got) == n
		})
		return got
	}
	if got := users(all); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Fatalf("parked the deliveries to %v, want bob and carol", got)
	}
	for _, p := range all {
		if p.Stage != pipeline.StagePost || p.Attempts != 2 || p.Class != "transient" || p.Payload != `"hello"` || p.ConnectionID == "" {
			t.Errorf("parked %+v", p)
		}
	}

	t.Run("filters", func(t *testing.T) {
		later := func() time.Time { return time.Now().Add(time.Hour) }
		for name, c := range map[string]struct {
			f    replay.Filter
			want []string
		}{
			"stage post":      {replay.Filter{Stage: pipeline.StagePost}, []string{"bob", "carol"}},
			"stage decode":    {replay.Filter{Stage: pipeline.StageDecode}, nil},
			"user":            {replay.Filter{User: "carol"}, []string{"carol"}},
			"reason":          {replay.Filter{Reason: "500"}, []string{"bob", "carol"}},
			"other reason":    {replay.Filter{Reason: "no such reason"}, nil},
			"since 1m":        {replay.Filter{Since: time.Minute}, []string{"bob", "carol"}},
			"since 1m, later": {replay.Filter{Since: time.Minute, Now: later}, nil},
		} {
			visible(2)
			got := selectN(c.f, len(c.want))
			if !slices.Equal(users(got), c.want) {
				t.Errorf("%s: selected %v, want %v", name, users(got), c.want)
			}
		}
	})

	t.Run("dry run", func(t *testing.T) {
		visible(2)
		c := sendCfg(replay.Filter{})
		c.DryRun = true
		rep, err := replay.Send(ctx, svc.Queue, r, c)
		if err != nil || rep.Selected != 2 || rep.Delivered != 0 {
			t.Fatalf("dry run: %+v %v", rep, err)
		}
		visible(2)
		bob.Quiet(t, 100*time.Millisecond)
	})

	t.Run("export and import", func(t *testing.T) {
		visible(2)
		var out bytes.Buffer
		n, err := replay.Export(ctx, svc.Queue, replay.Filter{}, &out)
		if err != nil || n != 2 {
			t.Fatalf("export: %d, %v", n, err)
		}
		copyURL := awstest.CreateQueue(t, s.SQS, "poison-copy", nil)
		c := cfg
		c.PoisonQueueURL = copyURL
		cq, err := pusher.BuildReplayQueue(ctx, c, stacktest.Quiet())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := replay.Import(ctx, cq, bytes.NewReader(out.Bytes())); err != nil || got.Parked != 2 {
			t.Fatalf("import: %+v, %v", got, err)
		}
		var again bytes.Buffer
		stacktest.EventuallyWithin(t, patience, "the imported messages are visible", func() bool {
			again.Reset()
			n, err := replay.Export(ctx, cq, replay.Filter{}, &again)
			return err == nil && n == 2
		})
		if a, b := records(t, out.String()), records(t, again.String()); !slices.EqualFunc(a, b, func(x, y string) bool { return x == y }) {
			t.Errorf("import lost something:\n%v\n%v", a, b)
		}
		// Importing the same file again parks nothing: each is parked once.
		if got, err := replay.Import(ctx, cq, bytes.NewReader(out.Bytes())); err != nil || got.Parked != 0 || got.Duplicates != 2 {
			t.Fatalf("import again: %+v, %v", got, err)
		}
		if n := s.Queued(t, copyURL); n != 2 {
			t.Errorf("the copy holds %d messages after two imports, want 2", n)
		}
	})

	t.Run("fails again", func(t *testing.T) {
		visible(2)
		old := selectN(replay.Filter{User: "carol"}, 1)
		s.Faults.Fail(failing(carolID))
		rep, err := replay.Send(ctx, svc.Queue, r, sendCfg(replay.Filter{User: "carol"}))
		if err != nil || rep.ParkedAgain != 1 || rep.Delivered != 0 {
			t.Fatalf("send: %+v %v", rep, err)
		}
		if n := s.Faults.Count(carolID); n != retry.MaxAttempts {
			t.Errorf("carol's connection was posted to %d times, want %d", n, retry.MaxAttempts)
		}
		s.Faults.Fail(nil)
		visible(2)
		now := selectN(replay.Filter{User: "carol"}, 1)
		if now[0].UUID == old[0].UUID || now[0].Attempts <= old[0].Attempts || now[0].CorrelationID != old[0].CorrelationID {
			t.Errorf("parked again as %+v, was %+v", now[0], old[0])
		}
		if n := s.Queued(t, s.PoisonURL); n != 2 {
			t.Errorf("%d parked, want bob's and carol's new copy", n)
		}
	})

	t.Run("cancelled midway", func(t *testing.T) {
		visible(2)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		c := sendCfg(replay.Filter{})
		c.Progress = &cancelAfter{n: 1, cancel: cancel}
		c.Concurrency = 1 // one at a time: the cancel comes between the two
		rep, err := replay.Send(cctx, svc.Queue, r, c)
		if err == nil || rep.Delivered != 1 || rep.Left != 1 {
			t.Fatalf("cancelled send: %+v %v", rep, err)
		}
		left := visible(1)
		// The one replayed was delivered; the other is still parked.
		delivered := map[string]*gatewaytest.Client{"bob": bob, "carol": carol}
		delete(delivered, left[0].UserID)
		for _, c := range delivered {
			if got := c.Next(t); got != `"hello"` {
				t.Errorf("%s got %s", c.Name, got)
			}
		}
	})

	t.Run("the rest", func(t *testing.T) {
		before := visible(1)
		rep, err := replay.Send(ctx, svc.Queue, r, sendCfg(replay.Filter{}))
		if err != nil || rep.Delivered != 1 || rep.ParkedAgain != 0 {
			t.Fatalf("send: %+v %v", rep, err)
		}
		c := map[string]*gatewaytest.Client{"bob": bob, "carol": carol}[before[0].UserID]
		if got := c.Next(t); got != `"hello"` {
			t.Errorf("%s got %s", c.Name, got)
		}
		stacktest.EventuallyWithin(t, patience, "the poison queue is empty", func() bool { return s.Queued(t, s.PoisonURL) == 0 })
	})

	for _, c := range []*gatewaytest.Client{alice, bob, carol, dave} {
		c.Quiet(t, 300*time.Millisecond)
	}
}

// records returns the lines of an export, sorted, with the times compared as written.
func records(t *testing.T, jsonl string) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(jsonl) {
		var r replay.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		out = append(out, string(b))
	}
	slices.Sort(out)
	return out
}
