package handlers_test

import (
	"encoding/json"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// FuzzClientMessage feeds a route what a WebSocket client may send: any body. A body
// is either a JSON object whose action and topic (or entityId) are read, or no action
// at all, routed to $default. A topic the limits refuse is a client's mistake, and
// every answer is a frame the client can read: one JSON text object, UTF-8, that names
// the topic it answers.
func FuzzClientMessage(f *testing.F) {
	f.Fuzz(func(t *testing.T, body []byte, maxLength int) {
		msg := handlers.ParseClientMessage(body)
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil && msg != (handlers.ClientMessage{}) {
			t.Fatalf("ParseClientMessage(%q) = %+v: a body that is no JSON object has an action", body, msg)
		}
		var action string
		if json.Unmarshal(obj["action"], &action) != nil || action != msg.Action {
			if msg.Action != "" {
				t.Fatalf("ParseClientMessage(%q) = %+v: the action is not the body's \"action\" string", body, msg)
			}
		}
		maxLength = max(1, maxLength%1024)
		err := handlers.ValidTopic(msg.Topic, maxLength)
		var frame []byte
		if err != nil {
			var ce *handlers.ClientError
			if !errors.As(err, &ce) {
				t.Fatalf("ValidTopic(%q) = %v: not a client's mistake, so the client is told of an internal error", msg.Topic, err)
			}
			frame = handlers.ErrorFrame(msg.Action, msg.Topic, err)
		} else {
			if msg.Topic == "" || len(msg.Topic) > maxLength || !utf8.ValidString(msg.Topic) {
				t.Fatalf("ValidTopic(%q, %d) accepted it", msg.Topic, maxLength)
			}
			frame = handlers.AckFrame(msg.Action, msg.Topic)
		}
		var answer struct {
			Type, Topic, Message string
		}
		if !utf8.Valid(frame) || json.Unmarshal(frame, &answer) != nil || answer.Type == "" {
			t.Fatalf("the answer to %q is no JSON text object: %q", body, frame)
		}
		if err == nil && answer.Topic != msg.Topic {
			t.Fatalf("the answer to %q names topic %q, want %q", body, answer.Topic, msg.Topic)
		}
		if err != nil && answer.Message == "" {
			t.Fatalf("the error answer to %q gives no reason: %q", body, frame)
		}
	})
}
