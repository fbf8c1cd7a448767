package console_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/apigw-pusher/apigw-pusher/adapters/console"
	"github.com/apigw-pusher/apigw-pusher/adapters/console/consoletest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/handlers"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// conns is the list of connections a test hands the console, changed as it goes.
type conns struct {
	mu   sync.Mutex
	list []console.Connection
}

func (c *conns) set(list ...console.Connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.list = list
}

func (c *conns) connections(_ context.Context, limit int) (int, []console.Connection, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.list), slices.Clone(c.list[:min(limit, len(c.list))]), nil
}

// server serves a console of cfg (its Connections and Poison set here) on a real
// listener, as `pusher dev` mounts it, behind Guard.
func server(t *testing.T, cfg console.Config) (*console.Console, *conns, *memory.PoisonQueue, *httptest.Server) {
	t.Helper()
	list, poison := &conns{}, memory.NewPoisonQueue()
	cfg.Connections, cfg.Poison = list.connections, poison
	c, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	c.Register(mux)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "the gateway") })
	srv := httptest.NewServer(console.Guard(c.Page(mux)))
	t.Cleanup(func() {
		_ = c.Close(context.Background())
		srv.Close()
	})
	return c, list, poison, srv
}

// park parks a message refused by stage with payload, as the poison middleware does.
func park(t *testing.T, q *memory.PoisonQueue, uuid, stage, payload string) {
	t.Helper()
	m := message.NewMessage(uuid, []byte(payload))
	pipeline.MarkParked(m, stage, errors.New("refused by "+stage))
	if err := q.Publish("poison", m); err != nil {
		t.Fatal(err)
	}
}

type hello struct {
	WSURL         string   `json:"ws_url"`
	IdentityParam string   `json:"identity_param"`
	TopicParams   []string `json:"topic_params"`
	Anonymous     bool     `json:"anonymous"`
	Tokens        bool     `json:"tokens"`
	TokenParam    string   `json:"token_param"`
}

type connection struct {
	ID           string   `json:"id"`
	UserID       string   `json:"user_id"`
	Topics       []string `json:"topics"`
	ConnectedAt  string   `json:"connected_at"`
	LastActiveAt string   `json:"last_active_at"`
	SourceIP     string   `json:"source_ip"`
	UserAgent    string   `json:"user_agent"`
}

type connectionsEvent struct {
	Total int          `json:"total"`
	Shown []connection `json:"shown"`
}

type parked struct {
	UUID         string `json:"uuid"`
	Reason       string `json:"reason"`
	Stage        string `json:"stage"`
	Payload      string `json:"payload"`
	PayloadBytes int    `json:"payload_bytes"`
	PayloadCut   bool   `json:"payload_cut"`
}

type poisonEvent struct {
	Total    int      `json:"total"`
	Messages []parked `json:"messages"`
}

// TestStreamStart: a new stream gets hello, the connections (the oldest shown), the
// poison queue (payloads cut), the last requests oldest first and the metrics history,
// in that order.
func TestStreamStart(t *testing.T) {
	c, list, poison, srv := server(t, console.Config{IdentityParam: "uid", TopicParams: []string{"topic", "VehicleID"},
		Anonymous: true, Tokens: true, TokenParam: "jwt", ShownConnections: 2, ShownPoison: 1, RecentRequests: 3})
	at := time.Date(2026, 12, 7, 10, 0, 0, 123_456_789, time.UTC)
	list.set(console.Connection{ID: "A1", UserID: "alice", Topics: []string{"order-7"}, ConnectedAt: at, LastActiveAt: at.Add(time.Second),
		SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1"},
		console.Connection{ID: "B2", ConnectedAt: at}, console.Connection{ID: "C3", UserID: "carol", ConnectedAt: at})
	// 4093 bytes of x, then a 3-byte rune across the cut at 4096, and more.
	big := strings.Repeat("x", 4094) + "€" + strings.Repeat("y", 100)
	park(t, poison, "p1", "decode", big)
	park(t, poison, "p2", "intake", "not json")
	for i := range 5 {
		c.RequestSettled(pipeline.Result{CorrelationID: fmt.Sprint("r", i), Shape: pipeline.Shape{Kind: "multicast", Users: 1},
			Stats: pipeline.Stats{Connections: 2, Delivered: 1, Failed: 1}, Duration: 1500 * time.Microsecond})
	}

	s := consoletest.Open(t, srv.URL+"/console/events")
	var names []string
	for len(names) < 7 {
		ev := s.Next(t)
		names = append(names, ev.Name)
	}
	if want := []string{"hello", "connections", "poison", "request", "request", "request", "metrics_history"}; !slices.Equal(names, want) {
		t.Fatalf("events %v, want %v", names, want)
	}

	s = consoletest.Open(t, srv.URL+"/console/events")
	h := consoletest.Await[hello](t, s, "hello", nil)
	want := hello{WSURL: "ws://" + srv.Listener.Addr().String() + "/", IdentityParam: "uid", TopicParams: []string{"topic", "VehicleID"},
		Anonymous: true, Tokens: true, TokenParam: "jwt"}
	if h.WSURL != want.WSURL || h.IdentityParam != want.IdentityParam || !slices.Equal(h.TopicParams, want.TopicParams) ||
		!h.Anonymous || !h.Tokens || h.TokenParam != want.TokenParam {
		t.Errorf("hello %+v, want %+v", h, want)
	}
	cs := consoletest.Await[connectionsEvent](t, s, "connections", nil)
	if cs.Total != 3 || len(cs.Shown) != 2 {
		t.Fatalf("connections %+v, want 3 of which the oldest 2 shown", cs)
	}
	wantA := connection{ID: "A1", UserID: "alice", Topics: []string{"order-7"}, ConnectedAt: "2026-12-07T10:00:00.123Z",
		LastActiveAt: "2026-12-07T10:00:01.123Z", SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1"}
	if a := cs.Shown[0]; a.ID != wantA.ID || a.UserID != wantA.UserID || !slices.Equal(a.Topics, wantA.Topics) ||
		a.ConnectedAt != wantA.ConnectedAt || a.LastActiveAt != wantA.LastActiveAt || a.SourceIP != wantA.SourceIP || a.UserAgent != wantA.UserAgent {
		t.Errorf("alice's connection %+v, want %+v", a, wantA)
	}
	if b := cs.Shown[1]; b.UserID != "" || b.Topics == nil || len(b.Topics) != 0 {
		t.Errorf("a connection without a user or topics: %+v, want user \"\" and topics []", b)
	}
	p := consoletest.Await[poisonEvent](t, s, "poison", nil)
	if p.Total != 2 || len(p.Messages) != 1 {
		t.Fatalf("poison %+v, want 2 of which 1 shown", p)
	}
	if m := p.Messages[0]; m.UUID != "p1" || m.Stage != "decode" || m.Reason != "refused by decode" || m.PayloadBytes != len(big) ||
		m.Payload != strings.Repeat("x", 4094) || !m.PayloadCut {
		t.Errorf("parked p1: %s at %s for %q, %d of %d bytes shown, want its payload cut before the rune that crosses 4096 bytes",
			m.UUID, m.Stage, m.Reason, len(m.Payload), m.PayloadBytes)
	}
	for i := 2; i < 5; i++ {
		r := consoletest.Await[console.Request](t, s, "request", nil)
		want := console.Request{CorrelationID: fmt.Sprint("r", i), Kind: "multicast", Users: 1, Connections: 2, Delivered: 1, Failed: 1, DurationMs: 1.5}
		if r != want {
			t.Errorf("request %+v, want %+v", r, want)
		}
	}
	hist := consoletest.Await[struct{ Samples []console.Sample }](t, s, "metrics_history", nil)
	if hist.Samples == nil {
		t.Error("metrics_history without samples")
	}
}

// TestPoisonPayloadCut: the poison event says which payloads it cut, counting bytes,
// so that a payload of runes of several bytes, whose JavaScript length (UTF-16 units)
// is below its size, does not look cut on the page when it is whole.
func TestPoisonPayloadCut(t *testing.T) {
	_, _, poison, srv := server(t, console.Config{PayloadBytes: 16})
	tests := []struct {
		name    string
		payload string
		shown   string
		cut     bool
	}{
		{name: "short", payload: `{"n":1}`, shown: `{"n":1}`},
		{name: "accents, whole", payload: `{"t":"héllo"}`, shown: `{"t":"héllo"}`},
		{name: "emoji, whole at the limit", payload: "😀😀😀😀", shown: "😀😀😀😀"},
		{name: "ASCII at the limit", payload: strings.Repeat("x", 16), shown: strings.Repeat("x", 16)},
		{name: "ASCII over the limit", payload: strings.Repeat("x", 17), shown: strings.Repeat("x", 16), cut: true},
		{name: "a rune across the limit", payload: strings.Repeat("€", 6), shown: strings.Repeat("€", 5), cut: true},
	}
	for _, tt := range tests {
		park(t, poison, tt.name, "post", tt.payload)
	}
	s := consoletest.Open(t, srv.URL+"/console/events")
	ev := consoletest.Await(t, s, "poison", func(e poisonEvent) bool { return e.Total == len(tests) })
	for i, tt := range tests {
		m := ev.Messages[i]
		if m.UUID != tt.name || m.Payload != tt.shown || m.PayloadBytes != len(tt.payload) || m.PayloadCut != tt.cut {
			t.Errorf("%s: shown %q, %d bytes, cut %v; want %q, %d bytes, cut %v", tt.name, m.Payload, m.PayloadBytes, m.PayloadCut,
				tt.shown, len(tt.payload), tt.cut)
		}
	}
}

// TestStreamLive: after the start, the stream sends each settled request as it
// settles, the connections and the poison queue when they change, a metrics sample
// every second, and keep-alive comments.
func TestStreamLive(t *testing.T) {
	c, list, poison, srv := server(t, console.Config{Poll: 20 * time.Millisecond, KeepAlive: 100 * time.Millisecond})
	s := consoletest.Open(t, srv.URL+"/console/events")
	consoletest.Await[connectionsEvent](t, s, "connections", func(e connectionsEvent) bool { return e.Total == 0 })

	list.set(console.Connection{ID: "A1", UserID: "alice", Topics: []string{"news"}})
	consoletest.Await[connectionsEvent](t, s, "connections", func(e connectionsEvent) bool {
		return e.Total == 1 && e.Shown[0].UserID == "alice" && slices.Equal(e.Shown[0].Topics, []string{"news"})
	})
	list.set()
	consoletest.Await[connectionsEvent](t, s, "connections", func(e connectionsEvent) bool { return e.Total == 0 })

	park(t, poison, "p1", "post", `{"n":1}`)
	consoletest.Await[poisonEvent](t, s, "poison", func(e poisonEvent) bool {
		return e.Total == 1 && e.Messages[0].UUID == "p1" && e.Messages[0].Payload == `{"n":1}`
	})
	poison.Remove("p1")
	consoletest.Await[poisonEvent](t, s, "poison", func(e poisonEvent) bool { return e.Total == 0 && len(e.Messages) == 0 })

	c.RequestAdmitted()
	c.PostRate(1400)
	c.PostQueued(0)
	c.Posted(3*time.Millisecond, nil)
	c.Progressed(pipeline.Stats{Delivered: 1})
	c.PostQueued(8 * time.Millisecond)
	c.Posted(2*time.Millisecond, fmt.Errorf("post c2: %w", handlers.ErrThrottled))
	c.RequestSettled(pipeline.Result{CorrelationID: "settled", Shape: pipeline.Shape{Kind: "broadcast"}, Stats: pipeline.Stats{Delivered: 1}})
	c.RequestSettled(pipeline.Result{CorrelationID: "unsettled", Err: errors.New("deadline exceeded")})
	if r := consoletest.Await[console.Request](t, s, "request", nil); r.CorrelationID != "settled" || r.Kind != "broadcast" || r.Delivered != 1 || r.Error != "" {
		t.Errorf("first request %+v", r)
	}
	if r := consoletest.Await[console.Request](t, s, "request", nil); r.CorrelationID != "unsettled" || r.Error != "deadline exceeded" {
		t.Errorf("second request %+v, want its error", r)
	}
	// The sample of the second of the calls above; a second may have ended between them.
	var got console.Sample
	for got.Requests < 2 {
		sample := consoletest.Await[console.Sample](t, s, "metrics", nil)
		got.Requests += sample.Requests
		got.Delivered += sample.Delivered
		got.Posts += sample.Posts
		got.PostMsMax = max(got.PostMsMax, sample.PostMsMax)
		got.Throttled += sample.Throttled
		got.Waits += sample.Waits
		got.WaitMsAvg = max(got.WaitMsAvg, sample.WaitMsAvg)
		got.InFlight = sample.InFlight
		got.PostRate = sample.PostRate
	}
	// The page reads these: deliveries/s, 429s/s, the average wait for a turn, the rate.
	want := console.Sample{Requests: 2, Delivered: 1, Posts: 2, PostMsMax: 3, Throttled: 1, Waits: 2, InFlight: -1, PostRate: 1400}
	if got.WaitMsAvg != 4 && got.WaitMsAvg != 8 { // 4 if both waits fell in one second
		t.Errorf("average wait %v ms, want 4 (or 8, a second apart)", got.WaitMsAvg)
	}
	if got.WaitMsAvg = 0; got != want {
		// One admitted, two settled: the console counts what it is told.
		t.Errorf("samples sum to\n %+v\nwant %+v", got, want)
	}
	for {
		if ev := s.Next(t); ev.Comment == "keep-alive" {
			break
		}
	}
}

// TestSlowStreamNeverStallsThePipeline: a browser that stops reading its stream does
// not slow the observer's calls, and its stream is dropped once a write has waited
// WriteTimeout; a new stream gets the latest requests.
func TestSlowStreamNeverStallsThePipeline(t *testing.T) {
	logs := &records{}
	const writeTimeout = 300 * time.Millisecond
	c, _, _, srv := server(t, console.Config{WriteTimeout: writeTimeout, Logger: slog.New(logs)})
	resp, err := http.Get(srv.URL + "/console/events") // and never read
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	const n = 200_000 // some MB of events, more than the socket buffers hold
	start := time.Now()
	for i := range n {
		c.RequestAdmitted()
		c.Posted(time.Millisecond, nil)
		c.RequestSettled(pipeline.Result{CorrelationID: fmt.Sprintf("request-%06d", i), Shape: pipeline.Shape{Kind: "broadcast"}})
	}
	took := time.Since(start)
	if took > 10*time.Second {
		t.Errorf("%d requests observed in %s with a stream that does not read", n, took)
	}
	t.Logf("%d requests observed in %s (%s each) with a stream that does not read", n, took, took/n)

	// Dropped: its handler returned with the write's deadline exceeded, the client
	// still connected.
	deadline := time.Now().Add(consoletest.Timeout)
	for {
		if closed, err := logs.streamClosed(); closed {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the stream that does not read was closed with %v, want its write's deadline exceeded", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stream that does not read is still open %s after the requests, its WriteTimeout %s", consoletest.Timeout, writeTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}

	s := consoletest.Open(t, srv.URL+"/console/events")
	var last console.Request
	for range console.DefaultRecentRequests {
		last = consoletest.Await[console.Request](t, s, "request", nil)
	}
	if last.CorrelationID != fmt.Sprintf("request-%06d", n-1) {
		t.Errorf("a new stream's last request is %s", last.CorrelationID)
	}
}

// records is a slog.Handler that keeps the records, for a test to read the console's
// debug logs.
type records struct {
	mu   sync.Mutex
	list []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }

func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.list = append(r.list, rec.Clone())
	return nil
}

func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r } // the attributes of With are not read
func (r *records) WithGroup(string) slog.Handler      { return r }

// streamClosed reports whether a stream was logged closed, and with what error.
func (r *records) streamClosed() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.list {
		if rec.Message != "console stream closed" {
			continue
		}
		var err error
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == "error" {
				err, _ = a.Value.Any().(error)
			}
			return true
		})
		return true, err
	}
	return false, nil
}

// TestCloseEndsStreams: Close ends the open streams cleanly and refuses new ones.
func TestCloseEndsStreams(t *testing.T) {
	c, _, _, srv := server(t, console.Config{})
	s := consoletest.Open(t, srv.URL+"/console/events")
	consoletest.Await[hello](t, s, "hello", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Ended(t); !errors.Is(err, io.EOF) {
		t.Errorf("the stream ended with %v, want a clean end (EOF)", err)
	}
	resp, err := http.Get(srv.URL + "/console/events")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("a stream after Close answered %s, want 503", resp.Status)
	}
}

// TestPageAndAssets: GET / without an upgrade or a query is the page; with either it is
// the gateway's; the assets have their content types, and no other site may frame them.
func TestPageAndAssets(t *testing.T) {
	_, _, _, srv := server(t, console.Config{})
	tests := []struct {
		name     string
		method   string
		path     string
		header   http.Header
		status   int
		ctype    string
		bodyHas  string
		framable bool
	}{
		{name: "the page", method: "GET", path: "/", status: 200, ctype: "text/html; charset=utf-8", bodyHas: "<!doctype html>"},
		{name: "the page's head", method: "HEAD", path: "/", status: 200, ctype: "text/html; charset=utf-8"},
		{name: "an upgrade is the gateway's", method: "GET", path: "/", header: http.Header{"Upgrade": {"websocket"}, "Connection": {"Upgrade"}},
			status: 200, bodyHas: "the gateway", framable: true},
		{name: "a query is the gateway's", method: "GET", path: "/?user_id=alice", status: 200, bodyHas: "the gateway", framable: true},
		{name: "the script", method: "GET", path: "/console/console.js", status: 200, ctype: "text/javascript; charset=utf-8"},
		{name: "the style", method: "GET", path: "/console/console.css", status: 200, ctype: "text/css; charset=utf-8"},
		{name: "the page is at / alone", method: "GET", path: "/console/index.html", status: 404, framable: true},
		{name: "no such file", method: "GET", path: "/console/nope.js", status: 404, framable: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header[k] = v
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s: %s, want %d", tt.method, tt.path, resp.Status, tt.status)
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("content type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(strings.ToLower(string(body)), tt.bodyHas) {
				t.Errorf("body %.80q, want it to hold %q", body, tt.bodyHas)
			}
			if framed := resp.Header.Get("X-Frame-Options") != "DENY"; framed != tt.framable {
				t.Errorf("X-Frame-Options %q", resp.Header.Get("X-Frame-Options"))
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	poison := memory.NewPoisonQueue()
	list := (&conns{}).connections
	tests := []struct {
		name string
		cfg  console.Config
		want string
	}{
		{name: "complete", cfg: console.Config{Connections: list, Poison: poison}},
		{name: "no connections", cfg: console.Config{Poison: poison}, want: "no Connections"},
		{name: "no poison queue", cfg: console.Config{Connections: list}, want: "no Poison"},
		{name: "too many recent requests", cfg: console.Config{Connections: list, Poison: poison, RecentRequests: 5000}, want: "RecentRequests"},
		{name: "negative poll", cfg: console.Config{Connections: list, Poison: poison, Poll: -time.Second}, want: "cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := console.New(tt.cfg)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("New: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("New: %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
