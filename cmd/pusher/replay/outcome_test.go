package replay_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestReplayReportsWhatBecameOfEach replays three parked deliveries on the SQS stack:
// to bob, connected (delivered); to carol's connection, closed since (the gateway
// answers 410 and her delivery, parked an hour ago, is pruned); to dave's, still in
// $connect (the gateway answers 410 too, but he connected less than PRUNE_GRACE ago:
// connecting). The report says so, and dave's delivery alone is still parked.
func TestReplayReportsWhatBecameOfEach(t *testing.T) {
	s := newStack(t)
	gate := stacktest.NewConnectGate(t, s, time.Minute) // dave's $connect lasts the test
	bob := s.Connect(t, "bob", "bob")
	carol := s.Connect(t, "carol", "carol")
	bobID, carolID := s.ConnectionID(t, "bob"), s.ConnectionID(t, "carol")
	carol.Close()
	stacktest.EventuallyWithin(t, patience, "carol's row removed at $disconnect", func() bool {
		conns, err := s.Store.UserConnections(context.Background(), "carol")
		return err == nil && len(conns) == 0
	})
	ctx, cancel := context.WithCancel(context.Background())
	dialed := make(chan struct{})
	go func() {
		defer close(dialed)
		_, _ = gatewaytest.Open(ctx, t, gate.Addr(), "dave", "dave") // returns at the test's end
	}()
	t.Cleanup(func() { cancel(); <-dialed })
	var dave pipeline.Parked
	stacktest.EventuallyWithin(t, patience, "dave's row stored by his $connect", func() bool {
		conns, err := s.Store.UserConnections(context.Background(), "dave")
		if err != nil || len(conns) != 1 {
			return false
		}
		dave = pipeline.Parked{UserID: "dave", ConnectionID: conns[0].ConnectionID, FirstFailedAt: conns[0].ConnectedAt}
		return true
	})
	// The gateway is back: posts pass, but to dave's connection until his $connect ends.
	s.Faults.Fail(func(id string, n int) int {
		if id == dave.ConnectionID {
			return gate.Status(id, n)
		}
		return 0
	})

	cfg := replay.Config{Config: onaws.Config{
		PoisonQueueURL: s.PoisonURL, APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(),
		Pipeline: pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second},
	}}
	ctxBg := context.Background()
	svc, cleanup, err := pusher.BuildReplay(ctxBg, cfg, nil, stacktest.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	stop, err := svc.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stop() })

	// What an outage of the gateway parked: one delivery each.
	hourAgo := time.Now().Add(-time.Hour)
	parked := map[string]*message.Message{
		"bob":   delivery("bob", bobID, time.Now()),
		"carol": delivery("carol", carolID, hourAgo),
		"dave":  delivery("dave", dave.ConnectionID, dave.FirstFailedAt),
	}
	for _, m := range parked {
		if err := svc.Queue.Park(ctxBg, m); err != nil {
			t.Fatal(err)
		}
	}
	stacktest.EventuallyWithin(t, patience, "three deliveries parked", func() bool { return s.Queued(t, s.PoisonURL) == 3 })

	rep, err := replay.Send(ctxBg, svc.Queue, replay.PipelineReplayer{Pipeline: svc.Pipeline},
		replay.SendConfig{Timeout: 10 * time.Second, Logger: stacktest.Quiet()})
	want := replay.Report{Selected: 3, Delivered: 1, Pruned: 1, Connecting: 1}
	if err != nil || rep != want {
		t.Fatalf("report %+v (%v), want %+v", rep, err, want)
	}
	if got := bob.Next(t); got != `"hello"` {
		t.Errorf("bob got %s", got)
	}
	var summary bytes.Buffer
	if err := replay.WriteSummary(&summary, rep); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"delivered     1", "pruned        1", "connecting    1", "parked again  0", "failed        0"} {
		if !strings.Contains(summary.String(), "  "+line+"  ") {
			t.Errorf("summary\n%s\nwant a line %q", summary.String(), line)
		}
	}

	left := visibleIn(t, svc.Queue, 1)
	if left[0].UUID != parked["dave"].UUID {
		t.Errorf("still parked: %+v, want dave's delivery", left[0])
	}
}

// delivery is a delivery the post stage parked after a 502 of the gateway, to the
// connection id of user stored at connectedAt.
func delivery(user, connID string, connectedAt time.Time) *message.Message {
	m := message.NewMessage("parked-"+user, []byte(`"hello"`))
	pipeline.MarkParked(m, pipeline.StagePost, errors.New("post to "+connID+" of "+user+": 502 Bad Gateway"))
	m.Metadata.Set(pipeline.UserIDKey, user)
	m.Metadata.Set(pipeline.ConnectionIDKey, connID)
	m.Metadata.Set(pipeline.ConnectedAtKey, strconv.FormatInt(connectedAt.Unix(), 10))
	return m
}

// visibleIn waits until q shows n parked messages and returns them: goaws may keep some
// hidden for a while after a listing released them.
func visibleIn(t *testing.T, q replay.Queue, n int) []pipeline.Parked {
	t.Helper()
	var all []pipeline.Parked
	stacktest.EventuallyWithin(t, patience, strconv.Itoa(n)+" messages parked and visible", func() bool {
		var err error
		all, err = replay.Select(context.Background(), q, replay.Filter{})
		return err == nil && len(all) == n
	})
	return all
}
