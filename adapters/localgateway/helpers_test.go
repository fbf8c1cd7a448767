package localgateway_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
)

// field returns the value at path in a decoded JSON object, nil if absent.
func field(ev map[string]any, path ...string) any {
	var v any = ev
	for _, key := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[key]
	}
	return v
}

// serveIntegration serves, until the test ends, a gateway of cfg without a registry,
// and returns its ws:// URL.
func serveIntegration(t *testing.T, cfg localgateway.Config) (*localgateway.Gateway, string) {
	t.Helper()
	gw, srv := serveGateway(t, cfg, nil)
	return gw, "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
}

func dialIntegration(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPHeader: http.Header{"User-Agent": {"test-client/1"}, "X-Test": {"1", "2"}}})
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = ws.CloseNow() })
	return ws
}

// exchange sends msg and returns the frame the client gets back, decoded.
func exchange(t *testing.T, ws *websocket.Conn, msg string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_, frame, err := ws.Read(ctx)
	if err != nil {
		t.Fatalf("no answer to %s: %v", msg, err)
	}
	var out map[string]any
	if err := json.Unmarshal(frame, &out); err != nil {
		t.Fatalf("answer to %s: %s", msg, frame)
	}
	return out
}
