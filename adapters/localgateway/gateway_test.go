package localgateway_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/smithy-go"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// registry is an in-memory Registry.
type registry struct {
	mu      sync.Mutex
	conns   map[string]handlers.Connection
	failAdd error
}

func newRegistry() *registry { return &registry{conns: map[string]handlers.Connection{}} }

func (r *registry) AddConnection(_ context.Context, c handlers.Connection) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failAdd != nil {
		return r.failAdd
	}
	r.conns[c.ConnectionID] = c
	return nil
}

func (r *registry) RemoveConnection(_ context.Context, c handlers.Connection) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, c.ConnectionID)
	return nil
}

func (r *registry) has(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.conns[id]
	return ok
}

// idOf returns the connection id of user's only connection, or "".
func (r *registry) idOf(user string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, c := range r.conns {
		if c.UserID == user {
			return id
		}
	}
	return ""
}

func (r *registry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

type env struct {
	gw     *localgateway.Gateway
	reg    *registry
	srv    *httptest.Server
	client *apigatewaymanagementapi.Client
}

// start serves a gateway on a real listener, with an SDK client pointed at it.
func start(t *testing.T, reg *registry) env {
	t.Helper()
	e := serve(t, reg)
	e.reg = reg
	return e
}

// serve serves a gateway registering connections in reg, with an SDK client pointed at
// it; env.reg is left nil.
func serve(t *testing.T, reg localgateway.Registry) env {
	t.Helper()
	gw, srv := serveGateway(t, localgateway.Config{}, reg)
	client := apigatewaymanagementapi.NewFromConfig(
		aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}},
		func(o *apigatewaymanagementapi.Options) {
			o.BaseEndpoint = aws.String(srv.URL)
			o.Retryer = aws.NopRetryer{}
		})
	return env{gw: gw, srv: srv, client: client}
}

// serveGateway serves, until the test ends, a gateway of cfg registering connections
// in reg; its Close waits for the connections' $disconnect work, so that the next test's
// gateway does not overlap it.
func serveGateway(t *testing.T, cfg localgateway.Config, reg localgateway.Registry) (*localgateway.Gateway, *httptest.Server) {
	t.Helper()
	gw, err := localgateway.New(cfg, reg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	gw.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := gw.Close(ctx); err != nil {
			t.Errorf("close gateway: %v", err)
		}
	})
	return gw, srv
}

func (e env) url(query string) string {
	return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/" + query
}

// dial connects user and returns the socket and its connection id.
func (e env) dial(t *testing.T, user string) (*websocket.Conn, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url("?user_id="+user), &websocket.DialOptions{
		HTTPHeader: http.Header{"User-Agent": {"test-client/1"}},
	})
	if err != nil {
		t.Fatalf("dial %s: %v", user, err)
	}
	ws.SetReadLimit(-1)
	t.Cleanup(func() { _ = ws.CloseNow() })
	id := e.reg.idOf(user)
	if id == "" {
		t.Fatalf("registry lacks %s once its dial returned", user)
	}
	return ws, id
}

func (e env) post(id string, frame []byte) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{
		ConnectionId: aws.String(id),
		Data:         frame,
	})
	return err
}

func read(t *testing.T, ws *websocket.Conn) (websocket.MessageType, []byte, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return ws.Read(ctx)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errorType returns the Go type of the API error in err, such as "*types.GoneException".
func errorType(err error) string {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return fmt.Sprintf("not an API error: %v", err)
	}
	return fmt.Sprintf("%T", apiErr)
}

func TestNew(t *testing.T) {
	tests := []struct {
		name    string
		cfg     localgateway.Config
		reg     localgateway.Registry
		wantErr bool
	}{
		{name: "defaults", reg: newRegistry()},
		{name: "negative payload", cfg: localgateway.Config{MaxPayloadBytes: -1}, reg: newRegistry(), wantErr: true},
		{name: "negative timeout", cfg: localgateway.Config{WriteTimeout: -time.Second}, reg: newRegistry(), wantErr: true},
		{name: "no registry", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := localgateway.New(tc.cfg, tc.reg)
			if (err != nil) != tc.wantErr {
				t.Fatalf("New() error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestConnect(t *testing.T) {
	tests := []struct {
		name       string
		query      string
		failAdd    error
		wantStatus int
	}{
		{name: "with user", query: "?user_id=u1", wantStatus: http.StatusSwitchingProtocols},
		{name: "no user", query: "", wantStatus: http.StatusUnauthorized},
		{name: "empty user", query: "?user_id=", wantStatus: http.StatusUnauthorized},
		{name: "other parameter", query: "?user=u1", wantStatus: http.StatusUnauthorized},
		{name: "registry fails", query: "?user_id=u1", failAdd: errors.New("store down"), wantStatus: http.StatusInternalServerError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reg := newRegistry()
			reg.failAdd = tc.failAdd
			e := start(t, reg)
			ws, resp, err := websocket.Dial(context.Background(), e.url(tc.query), nil)
			if resp == nil {
				t.Fatalf("dial: no response: %v", err)
			}
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (err %v)", resp.StatusCode, tc.wantStatus, err)
			}
			if tc.wantStatus != http.StatusSwitchingProtocols {
				if reg.len() != 0 || e.gw.Connections() != 0 {
					t.Fatalf("refused connection kept: registry %d, gateway %d", reg.len(), e.gw.Connections())
				}
				return
			}
			defer ws.CloseNow()
			id := reg.idOf("u1")
			if len(id) != 16 || !strings.HasSuffix(id, "=") {
				t.Errorf("connection id %q is not shaped like API Gateway's", id)
			}
			if n := e.gw.Connections(); n != 1 {
				t.Errorf("Connections() = %d, want 1", n)
			}
		})
	}
}

func TestConnectionIDsAreUnique(t *testing.T) {
	e := start(t, newRegistry())
	seen := map[string]bool{}
	for i := range 50 {
		_, id := e.dial(t, fmt.Sprint("u", i))
		if seen[id] {
			t.Fatalf("connection id %s given twice", id)
		}
		seen[id] = true
	}
}

func TestPostToConnection(t *testing.T) {
	tests := []struct {
		name     string
		unknown  bool // post to an id the gateway never gave
		frame    []byte
		wantType string // of the SDK's error; "" for delivered
	}{
		{name: "delivered", frame: []byte(`{"msg":"hello"}`)},
		{name: "largest frame", frame: []byte(strings.Repeat("x", handlers.MaxFrameBytes))},
		{name: "too large", frame: []byte(strings.Repeat("x", handlers.MaxFrameBytes+1)), wantType: "*types.PayloadTooLargeException"},
		{name: "unknown connection", unknown: true, frame: []byte(`{}`), wantType: "*types.GoneException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, newRegistry())
			ws, id := e.dial(t, "u1")
			if tc.unknown {
				id = "AAAAAAAAAAAAAAA="
			}
			err := e.post(id, tc.frame)
			if tc.wantType != "" {
				if got := errorType(err); got != tc.wantType {
					t.Fatalf("post error = %s (%v), want %s", got, err, tc.wantType)
				}
				return
			}
			if err != nil {
				t.Fatalf("post: %v", err)
			}
			typ, got, err := read(t, ws)
			if err != nil {
				t.Fatalf("client read: %v", err)
			}
			if typ != websocket.MessageText || string(got) != string(tc.frame) {
				t.Fatalf("client read %v frame of %d bytes, want text frame of %d", typ, len(got), len(tc.frame))
			}
		})
	}
}

func TestGetConnection(t *testing.T) {
	e := start(t, newRegistry())
	before := time.Now().Truncate(time.Millisecond)
	ws, id := e.dial(t, "u1")
	get := func() *apigatewaymanagementapi.GetConnectionOutput {
		t.Helper()
		out, err := e.client.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetConnection: %v", err)
		}
		return out
	}

	out := get()
	if out.ConnectedAt == nil || out.ConnectedAt.Before(before) || out.ConnectedAt.After(time.Now()) {
		t.Errorf("ConnectedAt = %v, want the time of the dial (after %v)", out.ConnectedAt, before)
	}
	if out.LastActiveAt == nil || !out.LastActiveAt.Equal(*out.ConnectedAt) {
		t.Errorf("LastActiveAt = %v, want ConnectedAt %v before any message", out.LastActiveAt, out.ConnectedAt)
	}
	if out.Identity == nil || aws.ToString(out.Identity.SourceIp) != "127.0.0.1" || aws.ToString(out.Identity.UserAgent) != "test-client/1" {
		t.Errorf("Identity = %+v, want 127.0.0.1 and test-client/1", out.Identity)
	}

	// A client message marks the connection active, and does not close it.
	time.Sleep(2 * time.Millisecond)
	if err := ws.Write(context.Background(), websocket.MessageText, []byte("ping")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "LastActiveAt to move", func() bool { return get().LastActiveAt.After(*out.ConnectedAt) })
	if err := e.post(id, []byte("still open")); err != nil {
		t.Fatalf("post after a client message: %v", err)
	}

	_, err := e.client.GetConnection(context.Background(), &apigatewaymanagementapi.GetConnectionInput{ConnectionId: aws.String("nope")})
	if got := errorType(err); got != "*types.GoneException" {
		t.Errorf("GetConnection of unknown id: error %s, want *types.GoneException", got)
	}
}

// TestList checks the listing the dev console shows: each established connection with
// its user, oldest first, and one that leaves gone from it.
func TestList(t *testing.T) {
	e := start(t, newRegistry())
	ids := func() string {
		var out []string
		for _, c := range e.gw.List() {
			out = append(out, c.UserID+"="+c.ID)
			if c.UserAgent != "test-client/1" || c.ConnectedAt.IsZero() || c.LastActiveAt.Before(c.ConnectedAt) {
				t.Errorf("connection %s listed as %+v", c.ID, c)
			}
		}
		return strings.Join(out, " ")
	}
	if got := ids(); got != "" {
		t.Fatalf("a new gateway lists %q", got)
	}
	u1, id1 := e.dial(t, "u1")
	_, id2 := e.dial(t, "u2")
	// A client may see its handshake done a moment before the gateway does (see lookup).
	want := "u1=" + id1 + " u2=" + id2
	waitFor(t, "both listed as "+want, func() bool { return ids() == want })
	_ = u1.Close(websocket.StatusNormalClosure, "")
	waitFor(t, "u1 to leave the list", func() bool { return ids() == "u2="+id2 })
}

func TestDisconnect(t *testing.T) {
	tests := []struct {
		name       string
		disconnect func(t *testing.T, e env, ws *websocket.Conn, id string)
		wantStatus websocket.StatusCode // the close status the client sees
	}{
		{
			name: "DeleteConnection",
			disconnect: func(t *testing.T, e env, _ *websocket.Conn, id string) {
				_, err := e.client.DeleteConnection(context.Background(), &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: aws.String(id)})
				if err != nil {
					t.Fatalf("DeleteConnection: %v", err)
				}
			},
			wantStatus: websocket.StatusNormalClosure,
		},
		{
			name: "client closes",
			disconnect: func(t *testing.T, _ env, ws *websocket.Conn, _ string) {
				go ws.Close(websocket.StatusNormalClosure, "bye")
			},
			wantStatus: -1, // the client's own close
		},
		{
			name: "gateway closes",
			disconnect: func(t *testing.T, e env, _ *websocket.Conn, _ string) {
				go e.gw.Close(context.Background())
			},
			wantStatus: websocket.StatusGoingAway,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, newRegistry())
			ws, id := e.dial(t, "u1")
			tc.disconnect(t, e, ws, id)

			_, _, err := read(t, ws)
			if tc.wantStatus > 0 && websocket.CloseStatus(err) != tc.wantStatus {
				t.Errorf("client read error = %v, want close status %v", err, tc.wantStatus)
			}
			waitFor(t, "the registry to lose the connection", func() bool { return !e.reg.has(id) })
			waitFor(t, "the gateway to lose the connection", func() bool { return e.gw.Connections() == 0 })
			if got := errorType(e.post(id, []byte("late"))); got != "*types.GoneException" {
				t.Errorf("post after disconnect: error %s, want *types.GoneException", got)
			}
		})
	}
}

func TestCloseRefusesNewConnections(t *testing.T) {
	e := start(t, newRegistry())
	if err := e.gw.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, resp, err := websocket.Dial(context.Background(), e.url("?user_id=u1"), nil)
	if resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after Close: %v, want 503", err)
	}
}

// TestConcurrentPosts posts to several connections at once, several posts each, as the
// post stage does; every client must read every frame, whole.
func TestConcurrentPosts(t *testing.T) {
	const clients, posts = 8, 50
	e := start(t, newRegistry())
	var wg sync.WaitGroup
	for c := range clients {
		ws, id := e.dial(t, fmt.Sprint("u", c))
		for p := range posts {
			wg.Go(func() {
				if err := e.post(id, []byte(fmt.Sprintf(`{"client":%d,"post":%d}`, c, p))); err != nil {
					t.Errorf("post %d to client %d: %v", p, c, err)
				}
			})
		}
		wg.Go(func() {
			seen := map[string]bool{}
			for range posts {
				_, frame, err := read(t, ws)
				if err != nil {
					t.Errorf("client %d read: %v", c, err)
					return
				}
				seen[string(frame)] = true
			}
			if len(seen) != posts {
				t.Errorf("client %d read %d distinct frames, want %d", c, len(seen), posts)
			}
		})
	}
	wg.Wait()
}

// heldRegistry is a registry whose AddConnection stores the connection, then holds
// $connect open until the test lets it go, as a slow $connect integration does.
type heldRegistry struct {
	*registry
	added   chan handlers.Connection
	release chan struct{}
}

func (r *heldRegistry) AddConnection(ctx context.Context, c handlers.Connection) error {
	if err := r.registry.AddConnection(ctx, c); err != nil {
		return err
	}
	r.added <- c
	select {
	case <-r.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// TestConnectionInProgressIsGone calls the Management API for a connection whose
// $connect has stored it but not completed: API Gateway answers 410 GoneException, at
// once, and so must the emulator; once $connect completes, the same calls pass.
func TestConnectionInProgressIsGone(t *testing.T) {
	reg := &heldRegistry{registry: newRegistry(), added: make(chan handlers.Connection, 1), release: make(chan struct{})}
	e := serve(t, reg)
	t.Cleanup(func() { // a failed test lets $connect go, for the gateway to close
		select {
		case <-reg.release:
		default:
			close(reg.release)
		}
	})

	type dialed struct {
		ws  *websocket.Conn
		err error
	}
	done := make(chan dialed, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, e.url("?user_id=u1"), nil)
		done <- dialed{ws, err}
	}()
	var c handlers.Connection
	select {
	case c = <-reg.added:
	case <-time.After(10 * time.Second):
		t.Fatal("$connect never reached the registry")
	}

	// Each call must be answered while $connect is held: a gateway that waited for the
	// upgrade would leave it to the call's own deadline.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := aws.String(c.ConnectionID)
	_, postErr := e.client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: id, Data: []byte(`{}`)})
	_, getErr := e.client.GetConnection(ctx, &apigatewaymanagementapi.GetConnectionInput{ConnectionId: id})
	_, deleteErr := e.client.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: id})
	for call, err := range map[string]error{"PostToConnection": postErr, "GetConnection": getErr, "DeleteConnection": deleteErr} {
		if got := errorType(err); got != "*types.GoneException" {
			t.Errorf("%s during $connect: error %s, want *types.GoneException", call, got)
		}
	}
	select {
	case d := <-done:
		t.Fatalf("the dial ended while $connect was held: %v", d.err)
	default:
	}

	close(reg.release)
	d := <-done
	if d.err != nil {
		t.Fatalf("dial: %v", d.err)
	}
	defer d.ws.CloseNow()
	if err := e.post(c.ConnectionID, []byte(`{"after":"connect"}`)); err != nil {
		t.Fatalf("post once connected: %v", err)
	}
	if _, frame, err := read(t, d.ws); err != nil || string(frame) != `{"after":"connect"}` {
		t.Errorf("client read %q, %v; want the frame posted once connected", frame, err)
	}
}
