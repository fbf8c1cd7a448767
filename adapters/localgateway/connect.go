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

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// registryTimeout bounds the registry call made when a connection closes, which cannot
// use the request's context: by then that context may be done.
const registryTimeout = 10 * time.Second

// conn is one client connection.
type conn struct {
	id   string
	user string
	// grants are the topic patterns its authorizer granted, nil without one.
	grants []string
	// authorizer is requestContext.authorizer of its events to an integration: the
	// authorizer's context, principalId and integrationLatency; nil without one.
	authorizer  map[string]any
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

// connect is the $connect route: it authorizes the connection if the gateway has an
// Authorizer, registers it, upgrades the request to a WebSocket, routes what the
// client sends (see handleMessages), and unregisters the connection at the end.
//
// The order is that of API Gateway with a Lambda $connect integration: the authorizer
// decides first, then the registry stores the connection (the row a broadcast may read
// at once) while $connect is in progress, and only then is the connection established.
// A Management API call in between gets 410, as on AWS, so the race of a broadcast
// with a new connection happens here exactly as it does there.
func (g *Gateway) connect(w http.ResponseWriter, r *http.Request) {
	var user string
	if g.cfg.Authorizer != nil {
		if refused := g.identitySourceMissing(r); refused != nil {
			g.cfg.Logger.Debug("connection refused", "status", refused.status, "reason", refused.reason)
			refused.write(w)
			return
		}
	} else if user = r.URL.Query().Get(g.cfg.IdentityParam); user == "" && g.integration == nil && !g.cfg.AnonymousConnections { // an integration's function decides
		http.Error(w, "missing query parameter "+g.cfg.IdentityParam, http.StatusUnauthorized)
		return
	}
	c := g.add(user, r)
	if c == nil {
		http.Error(w, "gateway is shutting down", http.StatusServiceUnavailable)
		return
	}
	defer g.open.Done()

	var ev events.APIGatewayWebsocketProxyRequest // the CONNECT event, for an authorizer and an integration
	if g.cfg.Authorizer != nil || g.integration != nil {
		ev = connectEvent(r, c, g.apiID, c.connectedAt)
	}
	err := g.authorizeConnect(r, c, &ev)
	log := g.cfg.Logger.With("connection_id", c.id, "user_id", c.user)
	if err == nil {
		err = g.register(r, c, ev)
	}
	if err != nil {
		g.forget(c)
		close(c.connected)
		close(c.ready)
		g.refuse(w, err, log)
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

// authorizeConnect runs the Authorizer, if the gateway has one, on the $connect of c,
// whose CONNECT event is ev: once it allows c, ev carries the authorizer's context on
// to the integration, as c's later events do.
func (g *Gateway) authorizeConnect(r *http.Request, c *conn, ev *events.APIGatewayWebsocketProxyRequest) error {
	if g.cfg.Authorizer == nil {
		return nil
	}
	if err := g.authorize(r.Context(), c, *ev); err != nil {
		return err
	}
	ev.RequestContext.Authorizer = c.authorizer
	return nil
}

// refuse answers the handshake of a $connect that err refused, as API Gateway answers
// it: the client's fault, the authorizer's answer, the integration's, or a failure of
// the registry.
func (g *Gateway) refuse(w http.ResponseWriter, err error, log *slog.Logger) {
	var refused *handlers.ClientError
	var denied *authRefusal
	var integrated *refusal
	switch {
	case errors.As(err, &denied):
		// The reason names no token: the authorizer's errors never hold it.
		log.Debug("connection refused by the authorizer", "status", denied.status, "reason", denied.reason)
		denied.write(w)
	case errors.As(err, &refused):
		log.Debug("connection refused", "code", refused.Code, "reason", err)
		http.Error(w, refused.Reason, refused.ConnectStatus())
	case errors.As(err, &integrated):
		log.Debug("connection refused by the integration", "status", integrated.status, "reason", err)
		integrated.write(w)
	default:
		log.Error("register connection", "error", err)
		http.Error(w, "register connection failed", http.StatusInternalServerError)
	}
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

// register is the work of the $connect integration: it checks the user (a reserved one,
// handlers.ReservedUserPrefix, is refused 400, as the function refuses it) and the
// topics the request names, then stores c and subscribes it to them. A refused user or
// topic refuses the connection before anything is written; a connection it cannot
// subscribe is not kept. With an Integration, the function does that work instead,
// invoked with ev.
func (g *Gateway) register(r *http.Request, c *conn, ev events.APIGatewayWebsocketProxyRequest) error {
	if g.integration != nil {
		return g.integration.connect(ev)
	}
	if err := handlers.ValidUser(c.user); err != nil {
		return err
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
