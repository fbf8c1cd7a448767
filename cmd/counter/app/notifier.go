package app

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
)

// NotifierFunc is a Notifier made of a function. Each run mode's main makes its own over
// the project's send.Send (cmd/pusher/send), to pusher dev's intake or to the source the
// pusher reads on AWS: package app, the counter's core, imports no AWS package.
type NotifierFunc func(ctx context.Context, frame json.RawMessage) error

// Broadcast calls f with frame, unless frame is not JSON: the pusher would park the
// request, so nothing is sent.
func (f NotifierFunc) Broadcast(ctx context.Context, frame json.RawMessage) error {
	if !json.Valid(frame) {
		return errors.New("broadcast: the frame is not JSON")
	}
	return f(ctx, frame)
}

// BroadcastRequest returns the notification request that sends frame, which must be
// JSON, to every connection: {"data": frame}, without users, topics or exclude_users.
func BroadcastRequest(frame json.RawMessage) []byte {
	return slices.Concat([]byte(`{"data":`), frame, []byte(`}`))
}
