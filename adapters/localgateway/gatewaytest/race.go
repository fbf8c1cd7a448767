package gatewaytest

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Recorder is a proxy in front of a gateway's Management API that records how each post
// was answered, by connection: a test tells by it a post that raced a $connect (410)
// from one that was delivered (200).
type Recorder struct {
	// URL is the Management API as the pusher sees it (APIGW_ENDPOINT).
	URL string

	mu      sync.Mutex
	answers map[string][]int
	// changed is closed, and replaced, at each answer.
	changed chan struct{}
}

// NewRecorder starts, until the test ends, a Recorder in front of the Management API at
// gateway (its base URL).
func NewRecorder(t testing.TB, gateway string) *Recorder {
	t.Helper()
	target, err := url.Parse(gateway)
	if err != nil {
		t.Fatal(err)
	}
	r := &Recorder{answers: map[string][]int{}, changed: make(chan struct{})}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// A post its caller gave up on is no news; the test says what went wrong.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	proxy.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		if id, ok := strings.CutPrefix(req.URL.Path, "/@connections/"); ok && req.Method == http.MethodPost {
			r.record(id, resp.StatusCode)
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Recorder) record(id string, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[id] = append(r.answers[id], status)
	close(r.changed)
	r.changed = make(chan struct{})
}

// Answers returns the statuses the posts to connection id were answered with, in order.
func (r *Recorder) Answers(id string) []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.answers[id]...)
}

// Answered waits until a post to connection id has been answered, and reports whether
// one was before ctx ended.
func (r *Recorder) Answered(ctx context.Context, id string) bool {
	for {
		r.mu.Lock()
		n, changed := len(r.answers[id]), r.changed
		r.mu.Unlock()
		if n > 0 {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}

// HeldConnects is a localgateway.Registry that stores each connection in Registry, then
// holds its $connect open until a post to it has been answered (Recorder sees the
// Management API), or for Limit at most: a $connect as slow as a cold Lambda function's,
// made certain to race a broadcast. A test checks with Recorder.Answers whether the race
// took place.
type HeldConnects struct {
	localgateway.Registry
	Recorder *Recorder
	Limit    time.Duration
}

// AddConnection stores c, then waits for a post to it, or for Limit.
func (h HeldConnects) AddConnection(ctx context.Context, c handlers.Connection) error {
	if err := h.Registry.AddConnection(ctx, c); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, h.Limit)
	defer cancel()
	h.Recorder.Answered(ctx, c.ConnectionID)
	return nil
}
