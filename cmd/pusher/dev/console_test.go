package dev_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/console"
	"github.com/apigw-pusher/apigw-pusher/adapters/console/consoletest"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway/gatewaytest"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// The console's events as the page reads them (protocol: docs/dev.md, "The console").
type (
	consoleHello struct {
		WSURL         string   `json:"ws_url"`
		IdentityParam string   `json:"identity_param"`
		TopicParams   []string `json:"topic_params"`
		Anonymous     bool     `json:"anonymous"`
		Tokens        bool     `json:"tokens"`
		TokenParam    string   `json:"token_param"`
	}
	consoleConnections struct {
		Total int `json:"total"`
		Shown []struct {
			ID        string   `json:"id"`
			UserID    string   `json:"user_id"`
			Topics    []string `json:"topics"`
			SourceIP  string   `json:"source_ip"`
			UserAgent string   `json:"user_agent"`
		} `json:"shown"`
	}
	consolePoison struct {
		Total    int `json:"total"`
		Messages []struct {
			pipeline.Parked
			PayloadBytes int `json:"payload_bytes"`
		} `json:"messages"`
	}
)

// users returns the users of the connections shown, "" for one without a user, with
// their topics: "alice[order-7]".
func (c consoleConnections) users() []string {
	var out []string
	for _, s := range c.Shown {
		out = append(out, s.UserID+"["+strings.Join(s.Topics, ",")+"]")
	}
	slices.Sort(out)
	return out
}

func consoleEvents(t *testing.T, p *dev.Pusher) *consoletest.Stream {
	t.Helper()
	return consoletest.Open(t, p.URL()+"/console/events")
}

// postNotification posts body to the intake with the headers given in pairs, and
// returns the status and the decoded answer.
func postNotification(t *testing.T, p *dev.Pusher, body string, header ...string) (int, map[string]string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.URL()+"/notifications", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// TestConsoleHello: the stream's first event tells the page's test client where and how
// to connect, as `pusher dev` was started.
func TestConsoleHello(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) *dev.Pusher
		want  consoleHello
	}{
		{name: "defaults", start: func(t *testing.T) *dev.Pusher { return devWithFlags(t, io.Discard) },
			want: consoleHello{IdentityParam: "user_id", TopicParams: []string{"topic"}, TokenParam: "token"}},
		{name: "anonymous connections, other parameters",
			start: func(t *testing.T) *dev.Pusher {
				return devWithFlags(t, io.Discard, "--anonymous-connections", "--identity-param", "uid", "--topic-params", "topic,VehicleID")
			},
			want: consoleHello{IdentityParam: "uid", TopicParams: []string{"topic", "VehicleID"}, Anonymous: true, TokenParam: "token"}},
		{name: "tokens", start: func(t *testing.T) *dev.Pusher {
			return startDev(t, dev.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{Token: auth.VerifierConfig{Secret: connectSecret}}}})
		}, want: consoleHello{IdentityParam: "user_id", TopicParams: []string{"topic"}, Tokens: true, TokenParam: "token"}},
		{name: "tokens under another parameter", start: func(t *testing.T) *dev.Pusher {
			return startDev(t, dev.Config{Connect: settings.Connect{ConnectConfig: auth.ConnectConfig{TokenParam: "auth", Token: auth.VerifierConfig{Secret: connectSecret}}}})
		}, want: consoleHello{IdentityParam: "user_id", TopicParams: []string{"topic"}, Tokens: true, TokenParam: "auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.start(t)
			s := consoleEvents(t, p)
			ev := s.Next(t)
			if ev.Name != "hello" {
				t.Fatalf("first event %q, want hello", ev.Name)
			}
			var got consoleHello
			if err := json.Unmarshal(ev.Data, &got); err != nil {
				t.Fatal(err)
			}
			tt.want.WSURL = "ws://" + p.Listener.Addr().String() + "/"
			if got.WSURL != tt.want.WSURL || got.IdentityParam != tt.want.IdentityParam || !slices.Equal(got.TopicParams, tt.want.TopicParams) ||
				got.Anonymous != tt.want.Anonymous || got.Tokens != tt.want.Tokens || got.TokenParam != tt.want.TokenParam {
				t.Errorf("hello %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestConsoleConnections: real WebSocket clients that connect show in the connections
// event with their user and topics, and leave it when they close.
func TestConsoleConnections(t *testing.T) {
	p := devWithFlags(t, io.Discard, "--anonymous-connections")
	s := consoleEvents(t, p)
	consoletest.Await(t, s, "connections", func(c consoleConnections) bool { return c.Total == 0 })

	addr := p.Listener.Addr().String()
	alice := gatewaytest.DialQuery(t, addr, "alice", "user_id=alice&topic=order-7&topic=news")
	gatewaytest.DialQuery(t, addr, "viewer", "topic=news")
	got := consoletest.Await(t, s, "connections", func(c consoleConnections) bool { return c.Total == 2 })
	if users := got.users(); !slices.Equal(users, []string{"[news]", "alice[news,order-7]"}) {
		t.Errorf("connections shown %v, want alice's and the viewer's with their topics", users)
	}
	for _, c := range got.Shown {
		if c.ID == "" || c.SourceIP != "127.0.0.1" {
			t.Errorf("connection %+v, want its id and source IP", c)
		}
	}

	// A subscription after $connect shows too.
	alice.Send(t, `{"action":"subscribe","topic":"later"}`)
	consoletest.Await(t, s, "connections", func(c consoleConnections) bool {
		return slices.Contains(c.users(), "alice[later,news,order-7]")
	})
	alice.Close()
	got = consoletest.Await(t, s, "connections", func(c consoleConnections) bool { return c.Total == 1 })
	if users := got.users(); !slices.Equal(users, []string{"[news]"}) {
		t.Errorf("after alice left: %v", users)
	}
}

// TestConsoleRequests: each request posted to the intake arrives as a request event
// once it settled, under its message id (or the X-Correlation-Id it came with), with its
// counts; the metrics samples count its deliveries and posts.
func TestConsoleRequests(t *testing.T) {
	p := devWithFlags(t, io.Discard)
	s := consoleEvents(t, p)
	addr := p.Listener.Addr().String()
	alice := gatewaytest.DialQuery(t, addr, "alice", "user_id=alice&topic=order-7")
	bob := gatewaytest.DialQuery(t, addr, "bob", "user_id=bob")
	consoletest.Await(t, s, "connections", func(c consoleConnections) bool { return c.Total == 2 })

	tests := []struct {
		name   string
		body   string
		header []string
		want   console.Request // but the duration
	}{
		{name: "multicast", body: `{"users":["alice","bob","carol"],"data":{"n":1}}`,
			want: console.Request{Kind: "multicast", Users: 3, Connections: 2, Delivered: 2}},
		{name: "topics", body: `{"topics":["order-7"],"data":{"n":2}}`,
			want: console.Request{Kind: "topics", Topics: 1, Connections: 1, Delivered: 1}},
		{name: "broadcast with a correlation id", body: `{"data":{"n":3}}`, header: []string{"X-Correlation-Id", "order-7-shipped"},
			want: console.Request{CorrelationID: "order-7-shipped", Kind: "broadcast", Connections: 2, Delivered: 2}},
		{name: "exclusion", body: `{"exclude_users":["alice"],"data":{"n":4}}`,
			want: console.Request{Kind: "exclusion", Connections: 1, Delivered: 1}},
		{name: "no data", body: `{"users":["alice"]}`, want: console.Request{Failed: 1}},
	}
	var delivered int
	for _, tt := range tests {
		status, answer := postNotification(t, p, tt.body, tt.header...)
		if status != http.StatusAccepted {
			t.Fatalf("%s: answered %d %v", tt.name, status, answer)
		}
		want := tt.want
		if want.CorrelationID == "" {
			want.CorrelationID = answer["message_id"]
		}
		got := consoletest.Await(t, s, "request", func(r console.Request) bool { return r.CorrelationID == want.CorrelationID })
		if got.DurationMs <= 0 {
			t.Errorf("%s: duration %v ms", tt.name, got.DurationMs)
		}
		got.DurationMs = 0
		if got != want {
			t.Errorf("%s: request event %+v, want %+v", tt.name, got, want)
		}
		delivered += want.Delivered
	}
	for _, c := range []*client{alice, bob} {
		for len(c.Frames) > 0 {
			<-c.Frames
		}
	}

	// The samples of the seconds past add up to what was posted and delivered.
	var sum console.Sample
	for sum.Requests < len(tests) {
		sample := consoletest.Await[console.Sample](t, s, "metrics", nil)
		sum.Requests += sample.Requests
		sum.Delivered += sample.Delivered
		sum.Posts += sample.Posts
		sum.Parked += sample.Parked
		sum.PostMsMax = max(sum.PostMsMax, sample.PostMsMax)
		sum.InFlight = sample.InFlight
	}
	if sum.Requests != len(tests) || sum.Delivered != delivered || sum.Posts != delivered || sum.Parked != 1 || sum.PostMsMax <= 0 || sum.InFlight != 0 {
		t.Errorf("samples add up to %+v, want %d requests, %d delivered in as many posts, 1 parked, none in flight", sum, len(tests), delivered)
	}
	// A new stream starts with the same requests, oldest first, and the samples.
	s2 := consoleEvents(t, p)
	first := consoletest.Await[console.Request](t, s2, "request", nil)
	if first.Kind != "multicast" || first.Users != 3 {
		t.Errorf("a new stream's first request %+v, want the multicast", first)
	}
	hist := consoletest.Await[struct{ Samples []console.Sample }](t, s2, "metrics_history", nil)
	var histDelivered int
	for _, x := range hist.Samples {
		histDelivered += x.Delivered
	}
	if histDelivered != delivered {
		t.Errorf("the history counts %d delivered, want %d", histDelivered, delivered)
	}
}

// TestConsolePoisonReplayAll: a body that is not JSON and two requests imported into
// the poison queue show in the poison event; POST /poison/replay replays them, oldest
// first: the requests reach alice in the order they were parked and leave the queue,
// the body is parked again, and the answer says so.
func TestConsolePoisonReplayAll(t *testing.T) {
	p := devWithFlags(t, io.Discard)
	s := consoleEvents(t, p)
	alice := connect(t, p, "alice", "alice")

	status, answer := postNotification(t, p, `{"users":["alice"],"data":`)
	if status != http.StatusBadRequest {
		t.Fatalf("a body that is not JSON was answered %d", status)
	}
	notJSON := answer["message_id"]
	// Requests parked by decode elsewhere, imported as `pusher replay import --dev` does.
	for _, n := range []string{"1", "2"} {
		imported := message.NewMessage("imported-"+n, []byte(`{"users":["alice"],"data":{"replayed":`+n+`}}`))
		pipeline.MarkParked(imported, pipeline.StageDecode, errors.New("a transient failure"))
		body, err := json.Marshal(memory.MessageOf(imported))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(p.URL()+"/poison", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("import: %s", resp.Status)
		}
	}
	parked := consoletest.Await(t, s, "poison", func(e consolePoison) bool { return e.Total == 3 })
	if m := parked.Messages[0]; m.UUID != notJSON || m.Stage != "intake" || !strings.Contains(m.Reason, "not JSON") ||
		m.Payload != `{"users":["alice"],"data":` || m.PayloadBytes != len(m.Payload) || m.Attempts != 1 {
		t.Errorf("the body that is not JSON shows as %+v", m)
	}
	if m := parked.Messages[1]; m.UUID != "imported-1" || m.Stage != pipeline.StageDecode || m.Reason != "a transient failure" {
		t.Errorf("the imported request shows as %+v", m)
	}

	replayAll := func() (int, string) {
		resp, err := http.Post(p.URL()+"/poison/replay", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	if status, got := replayAll(); status != http.StatusOK || got != `{"replayed":2,"parked_again":1,"connecting":0,"failed":[]}` {
		t.Errorf("replay all: %d %s, want 2 replayed and the body that is not JSON parked again", status, got)
	}
	// Oldest first: one after the other, so alice gets them in the order they were parked.
	if got := []string{alice.Next(t), alice.Next(t)}; !slices.Equal(got, []string{`{"replayed":1}`, `{"replayed":2}`}) {
		t.Errorf("alice got %v, want the first parked first", got)
	}
	// Parked again, as a new message with its attempts counted on.
	again := consoletest.Await(t, s, "poison", func(e consolePoison) bool { return e.Total == 1 && e.Messages[0].UUID != notJSON })
	if m := again.Messages[0]; m.CorrelationID != notJSON || m.Attempts != 2 {
		t.Errorf("parked again as %+v, want the body that is not JSON, attempt 2", m)
	}
	if status, got := replayAll(); status != http.StatusOK || got != `{"replayed":0,"parked_again":1,"connecting":0,"failed":[]}` {
		t.Errorf("replay all again: %d %s, want the body that is not JSON parked again", status, got)
	}
	if n := len(p.Poison.Messages()); n != 1 {
		t.Errorf("%d messages parked after replaying all again, want the body that is not JSON", n)
	}

	resp, err := http.Post(p.URL()+"/poison/nope/replay", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || strings.TrimSpace(string(b)) != `{"error":"not parked"}` {
		t.Errorf("replay of a message not parked: %s %s", resp.Status, b)
	}
}

// TestConsoleGuard: on the listener of `pusher dev`, other sites' browser requests are
// refused, those of the console's own page and of clients that are not browsers pass,
// and WebSocket clients connect from anywhere, as to API Gateway.
func TestConsoleGuard(t *testing.T) {
	p := devWithFlags(t, io.Discard)
	addr := p.Listener.Addr().String()
	_, port, _ := strings.Cut(addr, ":")
	tests := []struct {
		name   string
		method string
		path   string
		host   string
		header []string
		status int
		says   string
	}{
		{name: "curl", method: "POST", path: "/notifications", status: 202},
		{name: "the console's page", method: "POST", path: "/notifications", header: []string{"Origin", p.URL(), "Sec-Fetch-Site", "same-origin"}, status: 202},
		{name: "a service at a name", method: "POST", path: "/notifications", host: "pusher:8080", status: 202},
		{name: "cross-site, Sec-Fetch-Site", method: "POST", path: "/notifications", header: []string{"Sec-Fetch-Site", "cross-site"},
			status: 403, says: "cross-origin request refused"},
		{name: "an Origin of another host", method: "DELETE", path: "/poison/x", header: []string{"Origin", "http://evil.example"},
			status: 403, says: "cross-origin request refused"},
		{name: "a browser at evil.example", method: "POST", path: "/poison/replay", host: "evil.example:" + port,
			header: []string{"Origin", "http://evil.example:" + port}, status: 403, says: "open " + p.URL() + "/"},
		{name: "the page at evil.example", method: "GET", path: "/", host: "evil.example:" + port, status: 403, says: "open " + p.URL() + "/"},
		{name: "the page", method: "GET", path: "/", status: 200, says: "<!doctype html>"},
		{name: "the page at localhost", method: "GET", path: "/", host: "localhost:" + port, status: 200, says: "<!doctype html>"},
		{name: "a $connect without an upgrade", method: "GET", path: "/?user_id=alice", status: 426},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, p.URL()+tt.path, strings.NewReader(`{"data":1}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			for i := 0; i+1 < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(strings.ToLower(string(b)), tt.says) {
				t.Errorf("%s %s (Host %q, %v): %s %.200s, want %d saying %q", tt.method, tt.path, tt.host, tt.header, resp.Status, b, tt.status, tt.says)
			}
		})
	}

	// A WebSocket client of another site, at another name, connects and gets its frames.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/?user_id=zoe", &websocket.DialOptions{Host: "app.example:" + port,
		HTTPHeader: http.Header{"Origin": {"https://app.example"}, "Sec-Fetch-Site": {"cross-site"}}})
	if err != nil {
		t.Fatalf("a WebSocket client of another site: %v", err)
	}
	defer ws.CloseNow()
	notify(t, p, `{"users":["zoe"],"data":"hi zoe"}`)
	if _, frame, err := ws.Read(ctx); err != nil || string(frame) != `"hi zoe"` {
		t.Errorf("zoe read %s, %v", frame, err)
	}
}

// TestConsoleStopsPromptly: `pusher dev` stops with a console stream open, ending it
// cleanly rather than waiting for it.
func TestConsoleStopsPromptly(t *testing.T) {
	p := buildDev(t, dev.Config{})
	stop := run(t, p)
	s := consoleEvents(t, p)
	consoletest.Await[consoleHello](t, s, "hello", nil)
	start := time.Now()
	if err := stop(); err != nil {
		t.Fatalf("pusher dev stopped with %v", err)
	}
	took := time.Since(start)
	if err := s.Ended(t); !errors.Is(err, io.EOF) {
		t.Errorf("the stream ended with %v, want a clean end (EOF)", err)
	}
	// httpserve.Stop gives a request in progress a second, then cuts it.
	if took >= time.Second {
		t.Errorf("stopped in %s with a console stream open", took)
	}
	t.Logf("stopped in %s with a console stream open", took)
}
