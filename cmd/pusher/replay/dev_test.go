package replay_test

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/replay"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// startDev runs `pusher dev` in-process, its poster going through a faults proxy in
// front of its own Management API.
func startDev(t *testing.T) (*dev.Pusher, *awstest.Faults) {
	t.Helper()
	return stacktest.DevWithFaults(t, dev.Config{Pipeline: pipeline.Config{Retry: retry, CloseTimeout: 10 * time.Second}}, nil)
}

func TestReplayDev(t *testing.T) {
	d, f := startDev(t)
	addr := d.Listener.Addr().String()
	alice, bob := gatewaytest.Dial(t, addr, "alice", "alice"), gatewaytest.Dial(t, addr, "bob", "bob")
	carol := gatewaytest.Dial(t, addr, "carol", "carol")
	ids := map[string]string{}
	for _, u := range []string{"bob", "carol"} {
		conns, err := d.Store.UserConnections(context.Background(), u)
		if err != nil || len(conns) != 1 {
			t.Fatal(conns, err)
		}
		ids[u] = conns[0].ConnectionID
	}
	f.Fail(failing(ids["bob"], ids["carol"]))
	post := func(body string) {
		resp, err := http.Post(d.URL()+"/notifications", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post(`{"data":"hello"}`)
	post(`{"users":["bob"],"data":`) // not JSON: parked by the intake
	if got := alice.Next(t); got != `"hello"` {
		t.Fatalf("alice got %s", got)
	}
	stacktest.EventuallyWithin(t, patience, "three messages parked", func() bool { return len(d.Poison.Messages()) == 3 })
	f.Fail(nil)

	ctx := context.Background()
	q, err := replay.NewDevQueue(d.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sel := func(f replay.Filter) []pipeline.Parked {
		t.Helper()
		p, err := replay.Select(ctx, q, f)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := users(sel(replay.Filter{Stage: pipeline.StagePost})); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Errorf("post stage: %v", got)
	}
	if got := sel(replay.Filter{Stage: "intake"}); len(got) != 1 || got[0].Payload != `{"users":["bob"],"data":` {
		t.Errorf("intake stage: %+v", got)
	}
	var table bytes.Buffer
	if err := replay.WriteTable(&table, sel(replay.Filter{}), false); err != nil || !strings.Contains(table.String(), "2      post    post to {connection} of {user}") {
		t.Errorf("table:\n%s %v", table.String(), err)
	}

	t.Run("dry run", func(t *testing.T) {
		rep, err := replay.Send(ctx, q, q, replay.SendConfig{DryRun: true, Logger: stacktest.Quiet()})
		if err != nil || rep.Selected != 3 || len(d.Poison.Messages()) != 3 {
			t.Fatalf("%+v %v", rep, err)
		}
	})

	t.Run("export and import", func(t *testing.T) {
		var out bytes.Buffer
		if n, err := replay.Export(ctx, q, replay.Filter{Stage: "intake"}, &out); err != nil || n != 1 {
			t.Fatal(n, err)
		}
		old := d.Poison.Messages()
		intake := old[slices.IndexFunc(old, func(m *message.Message) bool { return pipeline.ParkedFrom(m).Stage == "intake" })]
		if !d.Poison.Remove(intake.UUID) {
			t.Fatal("not removed")
		}
		exported := bytes.Clone(out.Bytes())
		if got, err := replay.Import(ctx, q, &out); err != nil || got.Parked != 1 || got.Duplicates != 0 {
			t.Fatal(got, err)
		}
		back, ok := d.Poison.Get(intake.UUID)
		if !ok || !back.Equals(intake) {
			t.Errorf("imported %v, exported %v", back, intake)
		}
		// The same file again, and a file that holds the message twice: parked once.
		again := bytes.NewReader(append(append([]byte{}, exported...), exported...))
		if got, err := replay.Import(ctx, q, again); err != nil || got.Parked != 0 || got.Duplicates != 2 {
			t.Errorf("imported again: %+v %v, want 2 duplicates", got, err)
		}
		if n := len(d.Poison.Messages()); n != len(old) {
			t.Errorf("%d parked after importing twice, want %d", n, len(old))
		}
	})

	t.Run("send", func(t *testing.T) {
		rep, err := replay.Send(ctx, q, q, replay.SendConfig{Filter: replay.Filter{Stage: pipeline.StagePost}, Rate: 50, Logger: stacktest.Quiet()})
		if err != nil || rep.Delivered != 2 || rep.ParkedAgain != 0 || rep.Parked() != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		for _, c := range []*gatewaytest.Client{bob, carol} {
			if got := c.Next(t); got != `"hello"` {
				t.Errorf("%s got %s", c.Name, got)
			}
		}
		if left := d.Poison.Messages(); len(left) != 1 || pipeline.ParkedFrom(left[0]).Stage != "intake" {
			t.Errorf("left parked: %v", left)
		}
	})

	t.Run("a request that fails again", func(t *testing.T) {
		old := sel(replay.Filter{})
		rep, err := replay.Send(ctx, q, q, replay.SendConfig{Logger: stacktest.Quiet()})
		if err != nil || rep.ParkedAgain != 1 || rep.Delivered != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		now := sel(replay.Filter{})
		if len(now) != 1 || now[0].UUID == old[0].UUID || now[0].Attempts <= old[0].Attempts || now[0].Stage != pipeline.StageDecode {
			t.Errorf("parked again as %+v, was %+v", now, old)
		}
	})

	t.Run("a payload truncated to fit the poison queue is not sent", func(t *testing.T) {
		cut := message.NewMessage("cut-1", []byte(`"hel`))
		cut.Metadata = message.Metadata{middleware.PoisonedHandlerKey: pipeline.StagePost, middleware.ReasonForPoisonedKey: "503",
			pipeline.UserIDKey: "bob", pipeline.ConnectionIDKey: ids["bob"], sqs.TruncatedFromKey: "300000"}
		if err := d.Poison.Publish("poison", cut); err != nil {
			t.Fatal(err)
		}
		rep, err := replay.Send(ctx, q, q, replay.SendConfig{Filter: replay.Filter{Stage: pipeline.StagePost}, Logger: stacktest.Quiet()})
		if err != nil || rep.Selected != 1 || rep.Skipped != 1 || rep.Delivered != 0 {
			t.Fatalf("%+v %v", rep, err)
		}
		if _, ok := d.Poison.Get("cut-1"); !ok {
			t.Error("the truncated message is no longer parked")
		}
	})

	for _, c := range []*gatewaytest.Client{alice, bob, carol} {
		c.Quiet(t, 300*time.Millisecond)
	}
}
