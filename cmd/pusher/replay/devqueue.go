package replay

import (
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// DevQueue is the in-memory poison queue of a running `pusher dev`, over its HTTP API
// (GET /poison/messages, POST /poison, DELETE /poison/{uuid}). It is a Replayer too:
// POST /poison/{uuid}/replay replays on the dev pipeline and removes the message once
// it settled, but for one whose replay reached only connections still in $connect,
// which the dev server keeps parked.
type DevQueue struct {
	base   string
	client *http.Client
}

var (
	_ Queue    = (*DevQueue)(nil)
	_ Replayer = (*DevQueue)(nil)
)

// NewDevQueue returns the poison queue of the `pusher dev` at base, such as
// http://127.0.0.1:8080; a nil client means http.DefaultClient.
func NewDevQueue(base string, client *http.Client) (*DevQueue, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("dev URL %q is not an http(s) URL", base)
	}
	if client == nil {
		client = http.DefaultClient
	}
	return &DevQueue{base: strings.TrimSuffix(base, "/"), client: client}, nil
}

// List hands over the messages parked when it is called, oldest first.
func (q *DevQueue) List(ctx context.Context, workers int, fn func(*message.Message) error) error {
	var msgs []memory.Message
	if err := q.do(ctx, http.MethodGet, "/poison/messages", nil, &msgs, http.StatusOK); err != nil {
		return err
	}
	var g errgroup.Group
	g.SetLimit(max(workers, 1))
	var failed atomic.Bool
	for _, m := range msgs {
		if failed.Load() {
			break
		}
		g.Go(func() error {
			err := fn(m.Watermill())
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	return g.Wait()
}

// Delete removes m; one that is gone already (a replay removes what it replayed) is
// no error.
func (q *DevQueue) Delete(ctx context.Context, m *message.Message) error {
	return q.do(ctx, http.MethodDelete, "/poison/"+url.PathEscape(m.UUID), nil, nil, http.StatusNoContent, http.StatusNotFound)
}

// Park parks m in the dev queue; one parked already (same UUID) is left as it is.
func (q *DevQueue) Park(ctx context.Context, m *message.Message) error {
	body, err := json.Marshal(memory.MessageOf(m))
	if err != nil {
		return fmt.Errorf("park %s: %w", m.UUID, err)
	}
	return q.do(ctx, http.MethodPost, "/poison", body, nil, http.StatusCreated, http.StatusConflict)
}

// Replay asks the dev server to replay m on its pipeline. The server removes m from its
// queue once the replay settled (delivered, pruned, or parked again as a new message),
// and keeps it parked, as it was, when the replay reached only connections still in
// $connect (see Connecting).
func (q *DevQueue) Replay(ctx context.Context, m *message.Message) (pipeline.Stats, error) {
	var stats pipeline.Stats
	err := q.do(ctx, http.MethodPost, "/poison/"+url.PathEscape(m.UUID)+"/replay", nil, &stats, http.StatusOK)
	return stats, err
}

func (q *DevQueue) do(ctx context.Context, method, path string, body []byte, out any, ok ...int) error {
	req, err := http.NewRequestWithContext(ctx, method, q.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := q.client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	good := false
	for _, s := range ok {
		good = good || resp.StatusCode == s
	}
	if !good {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(msg)))
	}
	if out != nil && resp.StatusCode == ok[0] {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}
