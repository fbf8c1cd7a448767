package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// hook asks a deployment's own HTTP endpoint whether a connection may follow a topic.
type hook struct {
	url     string
	timeout time.Duration
	client  *http.Client
}

// hookVerdict is a hook's answer.
type hookVerdict int

const (
	hookAllows hookVerdict = iota
	hookRefuses
	hookUnavailable
)

// ask returns the hook's verdict on req, and for a refusal or no answer, why.
func (h hook) ask(ctx context.Context, req handlers.TopicRequest) (hookVerdict, string) {
	body, _ := json.Marshal(struct { // strings always marshal
		User         string `json:"user"`
		ConnectionID string `json:"connection_id"`
		Topic        string `json:"topic"`
	}{req.Connection.UserID, req.Connection.ConnectionID, req.Topic})
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return hookUnavailable, "the hook could not be asked"
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(r)
	if err != nil {
		// Not err itself: it names the hook's URL, which is not the client's business.
		if errors.Is(err, context.DeadlineExceeded) {
			return hookUnavailable, fmt.Sprintf("the hook did not answer within %s", h.timeout)
		}
		return hookUnavailable, "the hook could not be reached"
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10)) // lets the connection be reused
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return hookAllows, ""
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return hookRefuses, fmt.Sprintf("the hook refused it (%d)", resp.StatusCode)
	}
	return hookUnavailable, fmt.Sprintf("the hook answered %d", resp.StatusCode)
}
