package intake_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"

	"github.com/apigw-pusher/apigw-pusher/adapters/intake"
	"github.com/apigw-pusher/apigw-pusher/adapters/memory"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// wait bounds how long a test waits for something that should happen at once.
const wait = 5 * time.Second

// env is an Intake served over HTTP on 127.0.0.1:0 with a subscription to its topic.
type env struct {
	in     *intake.Intake
	url    string
	cancel context.CancelFunc // cancels the Subscribe context
	// got receives, acked, the messages the subscription delivered, when consuming.
	got chan *message.Message
	// drained is closed once the subscription channel is closed, when consuming.
	drained chan struct{}
	// sub is the subscription channel, when not consuming.
	sub <-chan *message.Message
}

// start serves an Intake and subscribes to it. With consume, a goroutine takes and acks
// every message, as the pipeline's router does; without, nothing takes them.
func start(t *testing.T, consume bool) env {
	t.Helper()
	in := intake.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	mux := http.NewServeMux()
	in.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { _ = in.Close() })

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sub, err := in.Subscribe(ctx, intake.Topic)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	e := env{in: in, url: srv.URL + "/notifications", cancel: cancel}
	if !consume {
		e.sub = sub
		return e
	}
	e.got, e.drained = make(chan *message.Message, 64), make(chan struct{})
	go func() {
		defer close(e.drained)
		for m := range sub {
			m.Ack()
			e.got <- m
		}
	}()
	return e
}

// response is what a client of the intake sees.
type response struct {
	status      int
	contentType string
	body        map[string]string
}

// post posts body and fails the test if the intake cannot be reached or answers
// anything but a JSON object of strings.
func (e env) post(t *testing.T, body string, header http.Header) response {
	t.Helper()
	r, err := e.do(t.Context(), body, header)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// do posts body; it is post for goroutines other than the test's.
func (e env) do(ctx context.Context, body string, header http.Header) (response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, strings.NewReader(body))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return response{}, fmt.Errorf("POST: %w", err)
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, contentType: resp.Header.Get("Content-Type")}
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &r.body); err != nil {
		return r, fmt.Errorf("response %d body %q is not a JSON object of strings: %w", resp.StatusCode, raw, err)
	}
	return r, nil
}

// jsonString returns a JSON string literal that is exactly n bytes long, quotes included.
func jsonString(n int) string {
	return `"` + strings.Repeat("x", n-2) + `"`
}

// TestPost checks what a client is answered and what the subscriber receives.
func TestPost(t *testing.T) {
	tests := []struct {
		name        string
		body        string
		correlation string
		status      int
		wantError   string // in the response's "error"; empty for a 202
	}{
		{name: "multicast request", body: `{"users":["alice"],"data":{"msg":"hi"}}`, status: http.StatusAccepted},
		{name: "body kept byte for byte", body: "{ \"data\" :\n [1, 2,  3] }\n", status: http.StatusAccepted},
		{name: "any JSON value is taken; the pipeline judges its form", body: `[1,2]`, status: http.StatusAccepted},
		{name: "correlation id carried", body: `{"data":1}`, correlation: "corr-42", status: http.StatusAccepted},
		{name: "body exactly MaxBodyBytes", body: jsonString(intake.MaxBodyBytes), status: http.StatusAccepted},
		{name: "not JSON", body: `hello`, status: http.StatusBadRequest, wantError: "body is not JSON"},
		{name: "truncated JSON", body: `{"data":`, status: http.StatusBadRequest, wantError: "body is not JSON"},
		{name: "empty body", body: ``, status: http.StatusBadRequest, wantError: "body is not JSON"},
		{name: "body one byte over MaxBodyBytes", body: jsonString(intake.MaxBodyBytes + 1),
			status: http.StatusRequestEntityTooLarge, wantError: "body over 262144 bytes"},
		{name: "body far over MaxBodyBytes", body: jsonString(4 * intake.MaxBodyBytes),
			status: http.StatusRequestEntityTooLarge, wantError: "body over 262144 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			header := http.Header{}
			if tt.correlation != "" {
				header.Set("X-Correlation-Id", tt.correlation)
			}

			resp := e.post(t, tt.body, header)

			if resp.status != tt.status {
				t.Fatalf("status = %d (%v), want %d", resp.status, resp.body, tt.status)
			}
			if resp.contentType != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", resp.contentType)
			}
			if tt.status != http.StatusAccepted {
				if !strings.Contains(resp.body["error"], tt.wantError) {
					t.Errorf("error = %q, want it to say %q", resp.body["error"], tt.wantError)
				}
				select {
				case m := <-e.got:
					t.Errorf("refused request reached the subscriber as %s", m.UUID)
				case <-time.After(50 * time.Millisecond):
				}
				return
			}
			var m *message.Message
			select {
			case m = <-e.got:
			case <-time.After(wait):
				t.Fatal("accepted request never reached the subscriber")
			}
			if id := resp.body["message_id"]; id == "" || id != m.UUID {
				t.Errorf("message_id = %q, subscriber got message %q", id, m.UUID)
			}
			if string(m.Payload) != tt.body {
				t.Errorf("payload = %.100q, want the body %.100q", m.Payload, tt.body)
			}
			// Without the header, the request is its own correlation.
			wantCorr := tt.correlation
			if wantCorr == "" {
				wantCorr = m.UUID
			}
			if got := middleware.MessageCorrelationID(m); got != wantCorr {
				t.Errorf("correlation id = %q, want %q", got, wantCorr)
			}
			// The 202 names it, as the pusher's log lines and parked messages do.
			if got := resp.body["correlation_id"]; got != wantCorr {
				t.Errorf("the 202's correlation_id = %q, want %q", got, wantCorr)
			}
		})
	}
}

// TestPostOtherMethods checks that only POST is served.
func TestPostOtherMethods(t *testing.T) {
	tests := []struct {
		name   string
		method string
	}{
		{name: "GET", method: http.MethodGet},
		{name: "PUT", method: http.MethodPut},
		{name: "DELETE", method: http.MethodDelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, e.url, strings.NewReader(`{"data":1}`))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", tt.method, err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("status = %d, want 405", resp.StatusCode)
			}
		})
	}
}

// TestConcurrentPosts checks that requests posted at once each get their own message.
func TestConcurrentPosts(t *testing.T) {
	e := start(t, true)
	const n = 20
	ids := make(chan string, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			resp, err := e.do(t.Context(), `{"data":1}`, nil)
			if err != nil || resp.status != http.StatusAccepted {
				t.Errorf("status = %d, error %v; want 202", resp.status, err)
			}
			ids <- resp.body["message_id"]
		})
	}
	wg.Wait()
	close(ids)
	answered := map[string]bool{}
	for id := range ids {
		answered[id] = true
	}
	for range n {
		select {
		case m := <-e.got:
			if !answered[m.UUID] {
				t.Errorf("subscriber got %s, which no client was answered", m.UUID)
			}
			delete(answered, m.UUID)
		case <-time.After(wait):
			t.Fatalf("only some requests reached the subscriber; unmatched ids: %v", answered)
		}
	}
	if len(answered) != 0 {
		t.Errorf("ids answered but not delivered, or answered twice: %v", answered)
	}
}

// TestClose checks that an Intake closed, by Close or by cancelling the context of its
// subscription, closes the subscription channel and answers further posts 503.
func TestClose(t *testing.T) {
	tests := []struct {
		name  string
		close func(e env)
	}{
		{name: "Close", close: func(e env) { _ = e.in.Close() }},
		{name: "Close twice", close: func(e env) { _ = e.in.Close(); _ = e.in.Close() }},
		{name: "Subscribe context cancelled", close: func(e env) { e.cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			if resp := e.post(t, `{"data":1}`, nil); resp.status != http.StatusAccepted {
				t.Fatalf("before closing: status = %d, want 202", resp.status)
			}

			tt.close(e)

			select {
			case <-e.drained:
			case <-time.After(wait):
				t.Fatal("subscription channel not closed")
			}
			resp := e.post(t, `{"data":2}`, nil)
			if resp.status != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", resp.status)
			}
			if !strings.Contains(resp.body["error"], "closed") {
				t.Errorf("error = %q, want it to say the intake is closed", resp.body["error"])
			}
		})
	}
}

// TestCloseWhileWaiting checks that a post waiting for the subscriber to take its
// request is answered 503 once the Intake closes, instead of hanging.
func TestCloseWhileWaiting(t *testing.T) {
	tests := []struct {
		name  string
		close func(e env)
	}{
		{name: "Close", close: func(e env) { _ = e.in.Close() }},
		{name: "Subscribe context cancelled", close: func(e env) { e.cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, false)
			answered := make(chan response, 1)
			go func() {
				resp, err := e.do(t.Context(), `{"data":1}`, nil)
				if err != nil {
					t.Error(err)
				}
				answered <- resp
			}()

			select {
			case resp := <-answered:
				t.Fatalf("answered %d before anything took the request", resp.status)
			case <-time.After(100 * time.Millisecond):
			}
			tt.close(e)

			select {
			case resp := <-answered:
				if resp.status != http.StatusServiceUnavailable {
					t.Errorf("status = %d, want 503", resp.status)
				}
			case <-time.After(wait):
				t.Fatal("post still waiting after the intake closed")
			}
			select {
			case m, ok := <-e.sub:
				if ok {
					t.Errorf("subscription delivered %s after close, want it closed", m.UUID)
				}
			case <-time.After(wait):
				t.Fatal("subscription channel not closed")
			}
		})
	}
}

// TestSubscribeOtherTopic checks that the Intake serves only its own topic.
func TestSubscribeOtherTopic(t *testing.T) {
	tests := []struct {
		name  string
		topic string
	}{
		{name: "other topic", topic: "requests"},
		{name: "empty topic", topic: ""},
		{name: "different case", topic: strings.ToUpper(intake.Topic)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := intake.New(nil)
			t.Cleanup(func() { _ = in.Close() })
			ch, err := in.Subscribe(t.Context(), tt.topic)
			if err == nil {
				t.Fatalf("Subscribe(%q) = %v, nil; want an error", tt.topic, ch)
			}
			if !strings.Contains(err.Error(), intake.Topic) {
				t.Errorf("error %q does not name the topic served, %q", err, intake.Topic)
			}
		})
	}
}

var _ message.Subscriber = (*intake.Intake)(nil)

// TestPostParksBodiesThatAreNotJSON checks that a body that is not JSON is answered
// 400 once it is in the poison queue, and 503 when it could not be parked.
func TestPostParksBodiesThatAreNotJSON(t *testing.T) {
	tests := []struct {
		name       string
		closeQueue bool
		status     int
		parked     int
	}{
		{name: "parked", status: http.StatusBadRequest, parked: 1},
		{name: "poison queue closed", closeQueue: true, status: http.StatusServiceUnavailable, parked: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, true)
			q := memory.NewPoisonQueue()
			e.in.Poison = q
			if tt.closeQueue {
				_ = q.Close()
			}

			resp := e.post(t, `{"users":`, nil)

			if resp.status != tt.status {
				t.Fatalf("status = %d (%v), want %d", resp.status, resp.body, tt.status)
			}
			msgs := q.Messages()
			if len(msgs) != tt.parked {
				t.Fatalf("%d messages parked, want %d", len(msgs), tt.parked)
			}
			if tt.parked == 0 {
				return
			}
			p := pipeline.ParkedFrom(msgs[0])
			if p.UUID != resp.body["message_id"] || p.Stage != "intake" || p.Reason != "body is not JSON" || p.Payload != `{"users":` {
				t.Errorf("parked %+v, want the body of message %s, stage intake, its reason", p, resp.body["message_id"])
			}
		})
	}
}
