package pipeline_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestProcessMapsEvents: a source's event, named by EventSourceKey, is read with the
// source's mapping; the same body from no source is a request, and parked as one, with
// the reason; a parked event is replayed with its source and read by the mapping again.
func TestProcessMapsEvents(t *testing.T) {
	mapping, err := handlers.CompileMapping("{topics: [VehicleID]}")
	if err != nil {
		t.Fatal(err)
	}
	cfg := pipeline.Config{Mappings: map[string]*handlers.Mapping{handlers.SourceKinesis: mapping}}
	f := start(t, cfg, handlers.Connection{UserID: "w1", ConnectionID: "c1"}, handlers.Connection{UserID: "w2", ConnectionID: "c2"})
	if err := f.store.Subscribe(t.Context(), handlers.Connection{UserID: "w1", ConnectionID: "c1"}, []string{"v-42"}, 5); err != nil {
		t.Fatal(err)
	}
	record := `{"VehicleID":"v-42","lat":48.85}`
	event := func(body, source string) *message.Message {
		m := message.NewMessage(watermill.NewUUID(), []byte(body))
		if source != "" {
			m.Metadata.Set(pipeline.EventSourceKey, source)
		}
		return m
	}
	process := func(m *message.Message) pipeline.Result {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		res, err := f.p.Process(ctx, m)
		if err != nil {
			t.Fatalf("process: %v", err)
		}
		return res
	}

	if res := process(event(record, handlers.SourceKinesis)); res.Delivered != 1 {
		t.Fatalf("the vehicle's record: %+v, want one delivery", res)
	}
	if got := f.gw.received()["c1"]; !slices.Equal(got, []string{record}) {
		t.Errorf("the watcher got %q, want the record", got)
	}
	if got := f.gw.received()["c2"]; len(got) != 0 {
		t.Errorf("another vehicle's watcher got %q", got)
	}

	process(event(record, ""))
	process(event(`{"lat":1}`, handlers.SourceKinesis))
	parked := f.poison.Messages()
	if len(parked) != 2 {
		t.Fatalf("parked %d, want the record sent as a request and the record without a vehicle", len(parked))
	}
	reasons := []string{pipeline.ParkedFrom(parked[0]).Reason, pipeline.ParkedFrom(parked[1]).Reason}
	if !strings.Contains(reasons[0], `no "data" field`) || !strings.Contains(reasons[1], "gave no topics") {
		t.Errorf("reasons %q, want a request without data, then a mapping giving no topics", reasons)
	}
	if got := pipeline.ParkedFrom(parked[1]).EventSource; got != handlers.SourceKinesis {
		t.Errorf("the parked event's source is %q, want kinesis", got)
	}

	// Replayed once the record is mended, it is read by the mapping again.
	mended := parked[1].Copy()
	mended.Payload = []byte(`{"VehicleID":"v-42","lat":2}`)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if res, err := f.p.Replay(ctx, mended); err != nil || res.Delivered != 1 {
		t.Fatalf("replay of the mended event: %+v, %v; want one delivery", res, err)
	}
}
