package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/counter/app"
)

// TestPage: the page is the seed's three elements, with the WebSocket URL written into
// its script as a JavaScript string, escaped whatever the URL holds.
func TestPage(t *testing.T) {
	tests := []struct {
		name   string
		wsURL  string
		method string
		status int
		want   []string // parts of the body
		not    []string // what must not be in it
	}{
		{name: "beside pusher dev", wsURL: "ws://127.0.0.1:8080/", method: "GET", status: 200,
			want: []string{`const socketURL = "ws://127.0.0.1:8080/";`, `class="minus button"`, `class="value"`, `class="plus button"`,
				`{action: action}`, `send("state")`}},
		{name: "on AWS", wsURL: "wss://abc123.execute-api.eu-central-1.amazonaws.com/production", method: "GET", status: 200,
			want: []string{`const socketURL = "wss://abc123.execute-api.eu-central-1.amazonaws.com/production";`}},
		{name: "a URL that would end the script", wsURL: `ws://x/"</script><script>alert(1)//`, method: "GET", status: 200,
			want: []string{`const socketURL = "ws://x/\"\u003c/script\u003e\u003cscript\u003ealert(1)//";`},
			not:  []string{"<script>alert(1)"}},
		{name: "HEAD", wsURL: "ws://127.0.0.1:8080/", method: "HEAD", status: 200},
		{name: "POST", wsURL: "ws://127.0.0.1:8080/", method: "POST", status: 405, want: []string{"GET the page"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(app.Page(tt.wsURL))
			t.Cleanup(srv.Close)
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body := string(b)
			if resp.StatusCode != tt.status {
				t.Fatalf("answered %d %s, want %d", resp.StatusCode, body, tt.status)
			}
			if tt.status == 200 && resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("the page lacks %s", w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(body, n) {
					t.Errorf("the page holds %s", n)
				}
			}
		})
	}
}
