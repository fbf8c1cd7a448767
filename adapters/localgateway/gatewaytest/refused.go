package gatewaytest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// Refused dials the gateway listening on addr with the query string query, as a client
// that expects to be refused, and returns the status and the body of the handshake's
// answer. It fails the test if the connection opens, or if no answer comes.
func Refused(t testing.TB, addr, query string) (status int, body string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, "ws://"+addr+"/?"+query, nil)
	if err == nil {
		_ = ws.CloseNow()
		t.Fatalf("connected with ?%s, expected a refusal", query)
	}
	if resp == nil {
		t.Fatalf("dial with ?%s: no answer: %v", query, err)
	}
	b, _ := io.ReadAll(resp.Body) // the library keeps the body's first 1,024 bytes
	return resp.StatusCode, strings.TrimSpace(string(b))
}
