package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestBroadcastRequest: the request of a frame is a broadcast of that frame, as the
// pusher's decoder reads it.
func TestBroadcastRequest(t *testing.T) {
	frame := app.State{Value: -2, Seq: 9, Epoch: 1796637600123}.Frame()
	body := app.BroadcastRequest(frame)
	if want := `{"data":{"type":"state","value":-2,"seq":9,"epoch":1796637600123}}`; string(body) != want {
		t.Errorf("BroadcastRequest = %s, want %s", body, want)
	}
	req, err := handlers.Decoder{}.Decode(body)
	if err != nil {
		t.Fatalf("the pusher's decoder refuses %s: %v", body, err)
	}
	if req.Kind() != handlers.Broadcast || len(req.Users)+len(req.Topics)+len(req.ExcludeUsers) != 0 || string(req.Data) != string(frame) {
		t.Errorf("decoded %+v, want a broadcast of %s", req, frame)
	}
}

// TestNotifierFunc: Broadcast hands the frame to the function and returns its error; a
// frame that is not JSON is refused, and the function is not called.
func TestNotifierFunc(t *testing.T) {
	var got []string
	n := app.NotifierFunc(func(_ context.Context, frame json.RawMessage) error {
		got = append(got, string(frame))
		if strings.Contains(string(frame), "fail") {
			return context.DeadlineExceeded
		}
		return nil
	})
	if err := n.Broadcast(t.Context(), json.RawMessage(`{"type":"state"}`)); err != nil {
		t.Errorf("Broadcast: %v", err)
	}
	if err := n.Broadcast(t.Context(), json.RawMessage(`{"fail":true}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Broadcast: %v, want the function's error", err)
	}
	if err := n.Broadcast(t.Context(), json.RawMessage(`{"type":`)); err == nil || !strings.Contains(err.Error(), "not JSON") {
		t.Errorf("Broadcast of a broken frame: %v, want an error saying it is not JSON", err)
	}
	if want := []string{`{"type":"state"}`, `{"fail":true}`}; !slices.Equal(got, want) {
		t.Errorf("the function got %q, want %q", got, want)
	}
}
