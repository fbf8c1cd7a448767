package auth

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// hookServer is a topic hook on 127.0.0.1 that answers by the topic asked about:
// hook:allow 204, hook:deny 403, hook:unauthorized 401, hook:broken 500, hook:slow
// not before the client gives up. It keeps the requests it was sent.
type hookServer struct {
	*httptest.Server
	mu    sync.Mutex
	asked []map[string]string
}

func newHookServer(t testing.TB) *hookServer {
	t.Helper()
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req map[string]string
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "want a POST of JSON", http.StatusBadRequest)
			return
		}
		h.mu.Lock()
		h.asked = append(h.asked, req)
		h.mu.Unlock()
		switch req["topic"] {
		case "hook:allow":
			w.WriteHeader(http.StatusNoContent)
		case "hook:deny":
			w.WriteHeader(http.StatusForbidden)
		case "hook:unauthorized":
			w.WriteHeader(http.StatusUnauthorized)
		case "hook:slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(h.Close)
	return h
}

// requests returns what the hook was asked.
func (h *hookServer) requests() []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.asked)
}

// TestHook: the hook's answers, each within HookTimeout, and what it was asked.
func TestHook(t *testing.T) {
	srv := newHookServer(t)
	const timeout = 200 * time.Millisecond
	r := newRules(t, Config{Public: []string{"news:*"}, HookURL: srv.URL, HookTimeout: timeout})
	alice := handlers.Connection{UserID: "alice", ConnectionID: "c-alice"}

	cases := []struct {
		topic  string
		want   string // the code, "" for allowed
		reason string
	}{
		{topic: "hook:allow"},
		{topic: "hook:deny", want: handlers.CodeForbidden, reason: "not public; the hook refused it (403)"},
		{topic: "hook:unauthorized", want: handlers.CodeForbidden, reason: "the hook refused it (401)"},
		{topic: "hook:broken", want: handlers.CodeUnavailable, reason: "the hook answered 500"},
		{topic: "hook:slow", want: handlers.CodeUnavailable, reason: "the hook did not answer within 200ms"},
	}
	for _, tc := range cases {
		t.Run(tc.topic, func(t *testing.T) {
			start := time.Now()
			err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Connection: alice, Topic: tc.topic})
			if took := time.Since(start); took > timeout+time.Second {
				t.Errorf("took %s, over the %s timeout", took, timeout)
			}
			if got := code(err); got != tc.want {
				t.Fatalf("code %q (%v), want %q", got, err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("reason %q does not say %q", err, tc.reason)
			}
			if err != nil && strings.Contains(err.Error(), srv.URL) {
				t.Errorf("reason %q names the hook's URL", err)
			}
		})
	}

	asked := srv.requests()
	want := map[string]string{"user": "alice", "connection_id": "c-alice", "topic": "hook:allow"}
	if len(asked) != len(cases) || !maps.Equal(asked[0], want) {
		t.Errorf("the hook was asked %v, want %d requests, the first %v", asked, len(cases), want)
	}
}

// TestHookAskedLast: a topic another rule allows is not asked about, and a hook that
// cannot be reached leaves a topic unavailable.
func TestHookAskedLast(t *testing.T) {
	srv := newHookServer(t)
	r := newRules(t, Config{Public: []string{"news:*"}, HookURL: srv.URL})
	if err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Topic: "news:today"}); err != nil {
		t.Fatal(err)
	}
	if asked := srv.requests(); len(asked) != 0 {
		t.Errorf("the hook was asked %v", asked)
	}
	srv.Close()
	err := r.AuthorizeTopic(t.Context(), handlers.TopicRequest{Topic: "hook:allow"})
	if got := code(err); got != handlers.CodeUnavailable || !strings.Contains(err.Error(), "the hook could not be reached") {
		t.Fatalf("hook down: code %q (%v), want %q", got, err, handlers.CodeUnavailable)
	}
}
