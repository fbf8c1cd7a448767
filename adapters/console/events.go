package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/samber/lo"

	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// timeFormat is RFC 3339 with milliseconds, as JavaScript's Date.toISOString writes it.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

// hello is the first event of a stream: how the page's test client connects.
type hello struct {
	WSURL         string   `json:"ws_url"`
	IdentityParam string   `json:"identity_param"`
	TopicParams   []string `json:"topic_params"`
	Anonymous     bool     `json:"anonymous"`
	Tokens        bool     `json:"tokens"`
	TokenParam    string   `json:"token_param"`
}

type connectionsEvent struct {
	Total int              `json:"total"`
	Shown []connectionJSON `json:"shown"`
}

type connectionJSON struct {
	ID           string   `json:"id"`
	UserID       string   `json:"user_id"`
	Topics       []string `json:"topics"`
	ConnectedAt  string   `json:"connected_at"`
	LastActiveAt string   `json:"last_active_at"`
	SourceIP     string   `json:"source_ip"`
	UserAgent    string   `json:"user_agent"`
}

type poisonEvent struct {
	Total    int            `json:"total"`
	Messages []parkedOnPage `json:"messages"`
}

// parkedOnPage is a parked message with its payload cut to Config.PayloadBytes.
type parkedOnPage struct {
	pipeline.Parked
	// PayloadBytes is the size of the whole payload.
	PayloadBytes int `json:"payload_bytes"`
	// PayloadCut says Payload is not the whole payload. The page cannot tell by
	// itself: JavaScript counts a string's length in UTF-16 units, not in bytes.
	PayloadCut bool `json:"payload_cut"`
}

type historyEvent struct {
	Samples []Sample `json:"samples"`
}

// connections returns the `connections` event's data.
func (c *Console) connections(ctx context.Context) ([]byte, error) {
	total, shown, err := c.cfg.Connections(ctx, c.cfg.ShownConnections)
	if err != nil {
		return nil, fmt.Errorf("list connections: %w", err)
	}
	ev := connectionsEvent{Total: total, Shown: lo.Map(shown, func(x Connection, _ int) connectionJSON {
		return connectionJSON{ID: x.ID, UserID: x.UserID, Topics: lo.Ternary(x.Topics == nil, []string{}, x.Topics),
			ConnectedAt: x.ConnectedAt.UTC().Format(timeFormat), LastActiveAt: x.LastActiveAt.UTC().Format(timeFormat),
			SourceIP: x.SourceIP, UserAgent: x.UserAgent}
	})}
	return json.Marshal(ev)
}

// poison returns the `poison` event's data.
func (c *Console) poison() ([]byte, error) {
	msgs := c.cfg.Poison.Messages()
	shown := msgs[:min(len(msgs), c.cfg.ShownPoison)]
	ev := poisonEvent{Total: len(msgs), Messages: lo.Map(shown, func(m *message.Message, _ int) parkedOnPage {
		p := pipeline.ParkedFrom(m)
		whole := len(p.Payload)
		p.Payload = cut(p.Payload, c.cfg.PayloadBytes)
		return parkedOnPage{Parked: p, PayloadBytes: len(m.Payload), PayloadCut: len(p.Payload) < whole}
	})}
	return json.Marshal(ev)
}

// cut returns s cut to at most n bytes, at the start of a UTF-8 sequence.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// stream is one client's event stream.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
}

// send writes one event, data being one line of JSON, and flushes it.
func (s stream) send(name string, data []byte) error {
	return s.write(fmt.Appendf(nil, "event: %s\ndata: %s\n\n", name, data))
}

// sendJSON sends the JSON of v as the event name.
func (s stream) sendJSON(name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	return s.send(name, data)
}

func (s stream) write(b []byte) error {
	// A browser that stops reading must not hold the stream's goroutine for ever.
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// serveEvents is GET /console/events: hello, the current state (connections, the last
// requests, the metrics history, the poison queue), then changes as they happen, until
// the client goes or the console closes.
func (c *Console) serveEvents(w http.ResponseWriter, r *http.Request) {
	if !c.startStream() {
		http.Error(w, "the console is closed", http.StatusServiceUnavailable)
		return
	}
	defer c.streams.Done()
	log := c.cfg.Logger.With("remote_addr", r.RemoteAddr)
	log.Debug("console stream opened")
	err := c.stream(r.Context(), w, r)
	log.Debug("console stream closed", "error", err)
}

func (c *Console) stream(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	s := stream{w: w, rc: http.NewResponseController(w), timeout: c.cfg.WriteTimeout}

	err := s.sendJSON("hello", hello{WSURL: "ws://" + r.Host + "/", IdentityParam: c.cfg.IdentityParam,
		TopicParams: c.cfg.TopicParams, Anonymous: c.cfg.Anonymous, Tokens: c.cfg.Tokens, TokenParam: c.cfg.TokenParam})
	if err != nil {
		return err
	}
	var lastConns, lastPoison []byte
	// changed sends the event name if its data differs from what was sent last.
	changed := func(name string, last *[]byte, data []byte, err error) error {
		if err != nil || bytes.Equal(data, *last) {
			return err
		}
		*last = data
		return s.send(name, data)
	}
	// The poison queue is copied only when it has changed: its messages may be many
	// and large, the connections few and small.
	poisonSeen, poisonRead := uint64(0), false
	poll := func() error {
		data, err := c.connections(ctx)
		if err := changed("connections", &lastConns, data, err); err != nil {
			return err
		}
		if n := c.cfg.Poison.Changes(); !poisonRead || n != poisonSeen {
			poisonSeen, poisonRead = n, true
			data, err = c.poison()
			return changed("poison", &lastPoison, data, err)
		}
		return nil
	}
	if err := poll(); err != nil {
		return err
	}
	reqs, next, more := c.recent.since(c.recent.latest(c.cfg.RecentRequests))
	for _, req := range reqs {
		if err := s.sendJSON("request", req); err != nil {
			return err
		}
	}
	samples, lastT := c.meter.last()
	if err := s.sendJSON("metrics_history", historyEvent{Samples: lo.Ternary(samples == nil, []Sample{}, samples)}); err != nil {
		return err
	}

	pollTick := time.NewTicker(c.cfg.Poll)
	defer pollTick.Stop()
	keepAlive := time.NewTicker(c.cfg.KeepAlive)
	defer keepAlive.Stop()
	// The metrics timer fires just after each second ends, so that its sample is fresh.
	second := time.NewTimer(untilNextSecond())
	defer second.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return nil
		case <-more:
			reqs, next, more = c.recent.since(next)
			for _, req := range reqs {
				if err := s.sendJSON("request", req); err != nil {
					return err
				}
			}
		case <-pollTick.C:
			if err := poll(); err != nil {
				return err
			}
		case <-second.C:
			second.Reset(untilNextSecond())
			for _, sample := range c.meter.since(lastT) {
				if err := s.sendJSON("metrics", sample); err != nil {
					return err
				}
				lastT = sample.T
			}
		case <-keepAlive.C:
			if err := s.write([]byte(": keep-alive\n\n")); err != nil {
				return err
			}
		}
	}
}

// untilNextSecond is the time from now to just after the next second starts.
func untilNextSecond() time.Duration {
	now := time.Now()
	return now.Truncate(time.Second).Add(time.Second + 10*time.Millisecond).Sub(now)
}
