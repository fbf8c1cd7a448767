package console_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/console"
)

// TestGuard sends requests as browsers on this and other sites, and as clients that are
// not browsers, send them: other sites' browser requests are refused 403 with a reason,
// the others reach the routes.
func TestGuard(t *testing.T) {
	srv := httptest.NewServer(console.Guard(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "served")
	})))
	t.Cleanup(srv.Close)
	self := srv.Listener.Addr().String() // 127.0.0.1:PORT
	_, port, _ := strings.Cut(self, ":")
	open := "open http://" + self + "/"
	tests := []struct {
		name   string
		method string
		path   string
		host   string // the Host header; "" for self
		header map[string]string
		status int
		says   string
	}{
		{name: "curl posts a request", method: "POST", path: "/notifications", status: 200},
		{name: "the page posts a request", method: "POST", path: "/notifications",
			header: map[string]string{"Origin": "http://" + self, "Sec-Fetch-Site": "same-origin"}, status: 200},
		{name: "an older browser's page posts, Origin alone", method: "POST", path: "/notifications",
			header: map[string]string{"Origin": "http://" + self}, status: 200},
		{name: "the page at localhost posts", method: "POST", path: "/poison/replay", host: "localhost:" + port,
			header: map[string]string{"Origin": "http://localhost:" + port, "Sec-Fetch-Site": "same-origin"}, status: 200},
		{name: "a page under localhost deletes", method: "DELETE", path: "/poison/x", host: "console.localhost:" + port,
			header: map[string]string{"Origin": "http://console.localhost:" + port}, status: 200},
		{name: "the page at [::1] replays", method: "POST", path: "/poison/replay", host: "[::1]:" + port,
			header: map[string]string{"Origin": "http://[::1]:" + port}, status: 200},
		{name: "another site posts, Sec-Fetch-Site", method: "POST", path: "/notifications",
			header: map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}, status: 403, says: "cross-origin request refused"},
		{name: "another site posts, Origin alone", method: "POST", path: "/notifications",
			header: map[string]string{"Origin": "http://evil.example"}, status: 403, says: "cross-origin request refused"},
		{name: "another port of this machine deletes", method: "DELETE", path: "/poison/x",
			header: map[string]string{"Origin": "http://127.0.0.1:1", "Sec-Fetch-Site": "same-site"}, status: 403, says: "cross-origin request refused"},
		{name: "another site replays, Sec-Fetch-Site alone", method: "POST", path: "/poison/replay",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}, status: 403, says: "cross-origin request refused"},
		{name: "a rebound name posts from its own page", method: "POST", path: "/notifications", host: "evil.example:" + port,
			header: map[string]string{"Origin": "http://evil.example:" + port}, status: 403, says: open},
		{name: "a rebound name opens the page", method: "GET", path: "/", host: "evil.example:" + port, status: 403, says: open},
		{name: "a rebound name reads the events", method: "GET", path: "/console/events", host: "evil.example:" + port, status: 403, says: open},
		{name: "a rebound name reads the poison queue", method: "GET", path: "/poison", host: "evil.example:" + port, status: 403, says: open},
		{name: "a rebound name fetches with Sec-Fetch-Site", method: "GET", path: "/@connections/x", host: "evil.example:" + port,
			header: map[string]string{"Sec-Fetch-Site": "same-origin"}, status: 403, says: open},
		{name: "a service posts to a name, not a browser", method: "POST", path: "/notifications", host: "pusher:8080", status: 200},
		{name: "the SDK posts to a connection at a name", method: "POST", path: "/@connections/x", host: "pusher:8080", status: 200},
		{name: "a WebSocket client of another site connects", method: "GET", path: "/", host: "evil.example:" + port,
			header: map[string]string{"Upgrade": "websocket", "Connection": "Upgrade", "Origin": "http://evil.example"}, status: 200},
		{name: "a WebSocket client connects with a query", method: "GET", path: "/?user_id=alice", host: "app.example",
			header: map[string]string{"Upgrade": "WebSocket", "Origin": "https://app.example", "Sec-Fetch-Site": "cross-site"}, status: 200},
		{name: "an upgrade header does not open the poison queue", method: "POST", path: "/poison/replay",
			header: map[string]string{"Upgrade": "websocket", "Sec-Fetch-Site": "cross-site"}, status: 403, says: "cross-origin request refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("%s %s (Host %q, %v): %s %s, want %d", tt.method, tt.path, tt.host, tt.header, resp.Status, body, tt.status)
			}
			if tt.status == 200 && string(body) != "served" {
				t.Errorf("body %q, want the route's", body)
			}
			if !strings.Contains(string(body), tt.says) {
				t.Errorf("body %q, want it to say %q", body, tt.says)
			}
		})
	}
}
