package localgateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// registryTimeout bounds the registry call made when a connection closes, which cannot
// use the request's context: by then that context may be done.
const registryTimeout = 10 * time.Second

// conn is one client connection.
type conn struct {
	id          string
	user        string
	sourceIP    string
	userAgent   string
	host        string // the Host of its $connect: the domain name of the integration's events
	connectedAt time.Time
	lastActive  atomic.Int64 // Unix nanoseconds of the last message read

	// connected is closed once the registry has taken the connection: $connect is over,
	// and the connection is established. Until then the Management API answers 410 for
	// it, as API Gateway does (see Gateway.lookup).
	connected chan struct{}
	// ready is closed once the upgrade is over too: ws is then the socket, or nil if the
	// connection was refused or the upgrade failed. The client may see its handshake
	// answered a moment before: a call between the two waits for it.
	ready chan struct{}
	ws    *websocket.Conn
}

func (c *conn) connection() handlers.Connection {
	return handlers.Connection{UserID: c.user, ConnectionID: c.id}
}

// connect is the $connect route: it registers the connection, upgrades the request to a
// WebSocket, routes what the client sends (see handleMessages), and unregisters the
// connection at the end.
//
// The order is that of API Gateway with a Lambda $connect integration: the registry
// stores the connection (the row a broadcast may read at once) while $connect is in
// progress, and only then is the connection established. A Management API call in
// between gets 410, as on AWS, so the race of a broadcast with a new connection happens
// here exactly as it does there.
func (g *Gateway) connect(w http.ResponseWriter, r *http.Request) {
	user := r.URL.Query().Get(g.cfg.IdentityParam)
	if user == "" && g.integration == nil { // an integration's function decides
		http.Error(w, "missing query parameter "+g.cfg.IdentityParam, http.StatusUnauthorized)
		return
	}
	c := g.add(user, r)
	if c == nil {
		http.Error(w, "gateway is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer g.open.Done()
	log := g.cfg.Logger.With("connection_id", c.id, "user_id", user)

	if err := g.register(r, c); err != nil {
		g.forget(c)
		close(c.connected)
		close(c.ready)
		var refused *handlers.ClientError
		if errors.As(err, &refused) {
			log.Debug("connection refused", "code", refused.Code, "reason", err)
			http.Error(w, refused.Reason, refused.ConnectStatus())
			return
		}
		var integrated *refusal
		if errors.As(err, &integrated) {
			log.Debug("connection refused by the integration", "status", integrated.status, "reason", err)
			integrated.write(w)
			return
		}
		log.Error("register connection", "error", err)
		http.Error(w, "register connection failed", http.StatusInternalServerError)
		return
	}
	close(c.connected)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // a dev tool: any origin may connect
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil { // Accept has answered the request
		g.forget(c)
		close(c.ready)
		g.remove(c, err, log)
		log.Debug("upgrade failed", "error", err)
		return
	}
	ws.SetReadLimit(int64(g.cfg.MaxPayloadBytes))
	c.ws = ws
	close(c.ready)
	log.Debug("connected")

	err = g.handleMessages(r.Context(), c)
	g.forget(c)
	_ = ws.CloseNow()
	g.remove(c, err, log)
	log.Debug("disconnected", "reason", err)
}

// add records a new connection of user, or returns nil once the gateway is closed.
func (g *Gateway) add(user string, r *http.Request) *conn {
	now := time.Now()
	c := &conn{
		user:        user,
		sourceIP:    remoteIP(r),
		userAgent:   r.UserAgent(),
		host:        r.Host,
		connectedAt: now,
		connected:   make(chan struct{}),
		ready:       make(chan struct{}),
	}
	c.lastActive.Store(now.UnixNano())

	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	for c.id == "" || g.conns[c.id] != nil {
		c.id = newConnectionID()
	}
	g.conns[c.id] = c
	g.open.Add(1)
	return c
}

// remove tells the registry that c is closed, or with an integration, invokes its
// $disconnect route; cause is why it closed (the read loop's error).
func (g *Gateway) remove(c *conn, cause error, log *slog.Logger) {
	if g.integration != nil {
		g.integration.disconnect(c, cause, log)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), registryTimeout)
	defer cancel()
	if err := g.reg.RemoveConnection(ctx, c.connection()); err != nil {
		log.Error("unregister connection", "error", err)
	}
}

// register is the work of the $connect integration: it checks the topics the request
// names, then stores c and subscribes it to them. A refused topic refuses the
// connection before anything is written; a connection it cannot subscribe is not kept.
// With an Integration, the function does that work instead.
func (g *Gateway) register(r *http.Request, c *conn) error {
	if g.integration != nil {
		return g.integration.connect(r, c)
	}
	topics, err := g.checkTopics(r.Context(), c, r)
	if err != nil {
		return err
	}
	if err := g.reg.AddConnection(r.Context(), c.connection()); err != nil {
		return err
	}
	if err := g.topics.SubscribeChecked(r.Context(), c.connection(), topics); err != nil {
		g.remove(c, nil, g.cfg.Logger)
		return err
	}
	return nil
}

// newConnectionID returns an id shaped like API Gateway's, such as "L0SM9cOFvHcCIhw=":
// 11 random bytes in 16 base64 characters. The URL alphabet keeps '/' out of paths.
func newConnectionID() string {
	var b [11]byte
	_, _ = rand.Read(b[:]) // never fails: crypto/rand crashes the program instead
	return base64.URLEncoding.EncodeToString(b[:])
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
