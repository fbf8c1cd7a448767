package dev_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// TestReplayKeepsConnecting replays, from the console's routes, a parked request whose
// one connection the gateway answers 410 while it is new (still in $connect, as API
// Gateway does): the replay delivered nothing, so the message stays parked, and the
// answers say "connecting", one at a time and for replay all. Once the connection is
// established, the next replay delivers it and it leaves the queue.
func TestReplayKeepsConnecting(t *testing.T) {
	p, faults := stacktest.DevWithFaults(t, dev.Config{}, nil)
	alice := connect(t, p, "alice", "alice")
	faults.Fail(func(string, int) int { return http.StatusGone })

	parked := message.NewMessage("parked-1", []byte(`{"users":["alice"],"data":{"n":1}}`))
	pipeline.MarkParked(parked, pipeline.StageDecode, errors.New("a transient failure"))
	body, err := json.Marshal(memory.MessageOf(parked))
	if err != nil {
		t.Fatal(err)
	}
	if status, _ := postJSON(t, p.URL()+"/poison", body); status != http.StatusCreated {
		t.Fatalf("import: %d", status)
	}

	status, answer := postJSON(t, p.URL()+"/poison/parked-1/replay", nil)
	var stats pipeline.Stats
	if err := json.Unmarshal(answer, &stats); status != http.StatusOK || err != nil || stats.Connecting != 1 || stats.Delivered != 0 {
		t.Fatalf("replay answered %d %s, want 200 with connecting 1", status, answer)
	}
	if got := poison(t, p); len(got) != 1 || got[0].UUID != "parked-1" {
		t.Fatalf("after a replay that reached only a connection in $connect, the queue holds %v, want parked-1 still", got)
	}

	status, answer = postJSON(t, p.URL()+"/poison/replay", nil)
	var all struct {
		Replayed, Connecting int
	}
	if err := json.Unmarshal(answer, &all); status != http.StatusOK || err != nil || all.Connecting != 1 || all.Replayed != 0 {
		t.Fatalf("replay all answered %d %s, want 200 with connecting 1 and replayed 0", status, answer)
	}
	if got := poison(t, p); len(got) != 1 {
		t.Fatalf("after replay all, the queue holds %d messages, want parked-1 still", len(got))
	}

	faults.Fail(nil) // established
	status, answer = postJSON(t, p.URL()+"/poison/parked-1/replay", nil)
	if err := json.Unmarshal(answer, &stats); status != http.StatusOK || err != nil || stats.Delivered != 1 {
		t.Fatalf("replay once established answered %d %s, want delivered 1", status, answer)
	}
	if f := alice.Next(t); f != `{"n":1}` {
		t.Fatalf("alice got %s", f)
	}
	if got := poison(t, p); len(got) != 0 {
		t.Fatalf("after the delivery, the queue holds %v, want nothing", got)
	}
}

// postJSON posts body to url and returns the status and the answer's body.
func postJSON(t *testing.T, url string, body []byte) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
