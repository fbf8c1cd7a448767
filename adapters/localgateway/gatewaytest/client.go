// Package gatewaytest connects real WebSocket clients to a gateway in tests: package
// localgateway's, as `pusher dev` and `pusher gateway` serve it.
package gatewaytest

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Client is a WebSocket client that keeps the frames it receives.
type Client struct {
	Name string
	// Frames receives each text frame; it is closed when the connection closes.
	Frames chan string
	ws     *websocket.Conn
}

// Dial connects a client of user to the gateway listening on addr (host:port), and
// closes it when the test ends.
func Dial(t testing.TB, addr, name, user string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Open(ctx, t, addr, name, user)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Open is Dial for a test that connects many clients at once, from goroutines: it
// returns the error instead of failing the test, and waits for the connection as long
// as ctx lets it.
func Open(ctx context.Context, t testing.TB, addr, name, user string) (*Client, error) {
	return open(ctx, t, addr, name, "user_id="+url.QueryEscape(user))
}

// OpenQuery is Open with the query string query, such as "user_id=alice&topic=order-7".
func OpenQuery(ctx context.Context, t testing.TB, addr, name, query string) (*Client, error) {
	return open(ctx, t, addr, name, query)
}

// DialQuery connects a client with the query string query, such as
// "user_id=alice&topic=order-7", and closes it when the test ends.
func DialQuery(t testing.TB, addr, name, query string) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := open(ctx, t, addr, name, query)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func open(ctx context.Context, t testing.TB, addr, name, query string) (*Client, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+addr+"/?"+query, nil)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", name, err)
	}
	ws.SetReadLimit(handlers.MaxFrameBytes)
	c := &Client{Name: name, Frames: make(chan string, 1000), ws: ws}
	go func() {
		defer close(c.Frames)
		for {
			_, frame, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			c.Frames <- string(frame)
		}
	}()
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c, nil
}

// Send sends msg to the gateway as one text frame, as a client's message.
func (c *Client) Send(t testing.TB, msg string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		t.Fatalf("%s: send %s: %v", c.Name, msg, err)
	}
}

// Close closes the connection, as a client that leaves does.
func (c *Client) Close() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }

// Next returns the client's next frame, failing the test after 10s without one.
func (c *Client) Next(t testing.TB) string {
	t.Helper()
	select {
	case f, ok := <-c.Frames:
		if !ok {
			t.Fatalf("%s: connection closed", c.Name)
		}
		return f
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no frame in 10s", c.Name)
		return ""
	}
}

// Quiet fails the test if the client receives a frame within d.
func (c *Client) Quiet(t testing.TB, d time.Duration) {
	t.Helper()
	select {
	case f, ok := <-c.Frames:
		if ok {
			t.Errorf("%s: unexpected frame %s", c.Name, f)
		}
	case <-time.After(d):
	}
}
