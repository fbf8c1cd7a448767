// Package localgateway emulates, on a plain HTTP listener, the two faces of an API Gateway
// WebSocket API: the endpoint that clients connect to, and the Management API
// (POST, GET and DELETE /@connections/{id}) that the pusher posts frames through.
//
// The Management API is wire-compatible with AWS's, so the aws-sdk-go-v2
// apigatewaymanagementapi client works against it unchanged, through BaseEndpoint and
// anonymous credentials. It is what `pusher dev` runs instead of AWS.
//
// Like API Gateway, it can run a Lambda REQUEST authorizer on $connect
// (Config.Authorizer: a token check in the process, or a LambdaAuthorizer invoking a
// function under the Runtime Interface Emulator) and hand the routes to a Lambda proxy
// integration (Config.Integration); without them it serves $connect, $disconnect and
// the subscribe routes itself, with a Registry.
package localgateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Registry stores connections as they open and close ($connect / $disconnect).
type Registry interface {
	// AddConnection records a connection that is opening. An error refuses it.
	AddConnection(ctx context.Context, c handlers.Connection) error
	// RemoveConnection forgets a connection that has closed.
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// Gateway is a local API Gateway WebSocket endpoint and Management API.
type Gateway struct {
	cfg    Config
	reg    Registry
	topics handlers.Subscriber
	// apiID is the id of the API the gateway stands for, in its events and the
	// authorizer's methodArn, such as "gy415nuibc".
	apiID string
	// integration, when Config.Integration is set, serves $connect, the client
	// messages and $disconnect instead of reg and topics.
	integration *integration
	// throttle is the token bucket of the Management API's calls (Config.ThrottleRPS).
	throttle *throttle

	mu     sync.RWMutex
	conns  map[string]*conn
	closed bool
	// open counts the running connection handlers, for Close to wait on.
	open sync.WaitGroup
}

// New returns a Gateway that reports connections to reg. With cfg.Integration set, the
// function it names stores connections instead: reg is not used, and may be nil.
func New(cfg Config, reg Registry) (*Gateway, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("local gateway config: %w", err)
	}
	if reg == nil && cfg.Integration == "" {
		return nil, errors.New("local gateway: registry is nil")
	}
	g := &Gateway{cfg: cfg, reg: reg, conns: make(map[string]*conn), apiID: newAPIID(), throttle: newThrottle(cfg)}
	g.integration = newIntegration(cfg, g.apiID)
	if cfg.ThrottleRPS > 0 {
		cfg.Logger.Info("the Management API is throttled as API Gateway's account throttle: a call past the bucket is answered 429",
			"throttle_rps", cfg.ThrottleRPS, "throttle_burst", cfg.ThrottleBurst)
	}
	if cfg.Topics != nil {
		g.topics = *cfg.Topics
	} else if subs, ok := reg.(handlers.Subscriptions); ok {
		g.topics.Store = subs
	}
	return g, nil
}

// Register mounts the gateway's routes on mux: the WebSocket endpoint at GET / and the
// Management API at /@connections/{id}, whose every call takes a token of the
// throttle, if any.
func (g *Gateway) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", g.connect)
	mux.HandleFunc("POST /@connections/{id}", g.throttled(g.post))
	mux.HandleFunc("GET /@connections/{id}", g.throttled(g.get))
	mux.HandleFunc("DELETE /@connections/{id}", g.throttled(g.delete))
}

// Connections returns the number of open connections.
func (g *Gateway) Connections() int {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.conns)
}

// ConnectionInfo describes one open connection, as GetConnection does, with its id
// and user.
type ConnectionInfo struct {
	ID string
	// UserID is its user, empty for a connection without one.
	UserID       string
	ConnectedAt  time.Time
	LastActiveAt time.Time
	SourceIP     string
	UserAgent    string
}

// List returns the established connections (those whose $connect is over and whose
// handshake is done), oldest first.
func (g *Gateway) List() []ConnectionInfo {
	g.mu.RLock()
	out := make([]ConnectionInfo, 0, len(g.conns))
	for _, c := range g.conns {
		select {
		case <-c.ready:
		default:
			continue
		}
		if c.ws == nil {
			continue
		}
		out = append(out, ConnectionInfo{ID: c.id, UserID: c.user, ConnectedAt: c.connectedAt,
			LastActiveAt: time.Unix(0, c.lastActive.Load()), SourceIP: c.sourceIP, UserAgent: c.userAgent})
	}
	g.mu.RUnlock()
	slices.SortFunc(out, func(a, b ConnectionInfo) int {
		return cmp.Or(a.ConnectedAt.Compare(b.ConnectedAt), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Close refuses new connections, closes every open one with StatusGoingAway, and waits
// until each is removed from the registry or ctx is done.
func (g *Gateway) Close(ctx context.Context) error {
	g.mu.Lock()
	g.closed = true
	conns := make([]*conn, 0, len(g.conns))
	for _, c := range g.conns {
		conns = append(conns, c)
	}
	g.mu.Unlock()

	// A close handshake can take seconds with a slow client: run them side by side.
	for _, c := range conns {
		go func() {
			<-c.ready
			if c.ws != nil {
				_ = c.ws.Close(websocket.StatusGoingAway, "gateway shutting down")
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		g.open.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("close local gateway with %d connections: %w", g.Connections(), ctx.Err())
	}
}

// lookup returns the open connection id. It returns nil for a connection the gateway
// does not know, and at once for one whose $connect is still in progress.
//
// API Gateway answers 410 GoneException to a Management API call for a connection that
// is not established yet, as for one that is gone: "You must establish the connection
// before using this command" (Use @connections commands in your backend service,
// https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html),
// and the first cause of a 410 is "a message was posted to the WebSocket API before the
// connection was established" (How do I troubleshoot 410 GoneException errors with API
// Gateway WebSocket APIs, https://repost.aws/knowledge-center/410-gone-api-gateway). The
// gateway answers so rather than wait for $connect: a pusher must cope with that 410
// (and not prune a connection only being opened), and a kinder emulator would hide it.
// Once $connect is over, a call waits for the upgrade, which the client may see
// completed a moment before the gateway does.
func (g *Gateway) lookup(ctx context.Context, id string) *conn {
	g.mu.RLock()
	c := g.conns[id]
	g.mu.RUnlock()
	if c == nil {
		return nil
	}
	select {
	case <-c.connected:
	default:
		return nil // still in $connect
	}
	select {
	case <-c.ready:
	case <-ctx.Done():
		return nil
	}
	if c.ws == nil {
		return nil
	}
	return c
}

// forget removes c from the open connections.
func (g *Gateway) forget(c *conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.conns[c.id] == c {
		delete(g.conns, c.id)
	}
}
