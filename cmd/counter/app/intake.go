package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// IntakeNotifier is a Notifier that posts each request to the intake of `pusher dev`
// (POST {base}/notifications), which answers 202 once its pipeline has taken the request.
type IntakeNotifier struct {
	endpoint string
	client   *http.Client
}

// NewIntakeNotifier returns a notifier to the `pusher dev` at base (such as
// http://127.0.0.1:8080), posting with client (http.DefaultClient when nil).
func NewIntakeNotifier(base string, client *http.Client) (*IntakeNotifier, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("pusher URL %q: %w", base, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pusher URL %q: want http://host:port", base)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &IntakeNotifier{endpoint: strings.TrimSuffix(base, "/") + "/notifications", client: client}, nil
}

// Broadcast posts {"data": frame}, the request that reaches every connection.
func (n *IntakeNotifier) Broadcast(ctx context.Context, frame json.RawMessage) error {
	body, err := json.Marshal(struct {
		Data json.RawMessage `json:"data"`
	}{frame})
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("broadcast to %s: %w", n.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := n.client.Do(req)
	if err != nil {
		return fmt.Errorf("broadcast to %s: %w", n.endpoint, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		// The intake says why in a small JSON body ({"error": ...}); it never echoes the request.
		answer, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("broadcast to %s: answered %s: %s", n.endpoint, resp.Status, bytes.TrimSpace(answer))
	}
	_, _ = io.Copy(io.Discard, resp.Body) // let the connection be reused
	return nil
}
