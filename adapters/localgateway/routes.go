package localgateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coder/websocket"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The routes of client messages: API Gateway selects a route by the action of a JSON
// message (route selection expression $request.body.action), and takes $default when
// no route has that key or the message has no action.
const (
	routeSubscribe   = "subscribe"
	routeUnsubscribe = "unsubscribe"
	routeDefault     = "$default"
)

// checkTopics returns the topics that the $connect request r names in the
// TopicParams query parameters, deduplicated, once they are valid, allowed for c (with
// the patterns its authorizer granted) and within the limit, as a $connect integration
// checks them before it writes anything.
func (g *Gateway) checkTopics(ctx context.Context, c *conn, r *http.Request) ([]string, error) {
	var topics []string
	for _, name := range g.cfg.TopicParams {
		topics = append(topics, r.URL.Query()[name]...)
	}
	return g.topics.Check(ctx, c.connection(), topics, r.URL.Query().Get(g.cfg.TokenParam), c.grants)
}

// handleMessages reads the client's messages until the connection fails or closes, and
// answers each as its route does: subscribe and unsubscribe are built in; any other
// action goes to the Backend.
func (g *Gateway) handleMessages(ctx context.Context, c *conn) error {
	for {
		_, r, err := c.ws.Reader(ctx)
		if err != nil {
			return err
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		c.lastActive.Store(time.Now().UnixNano())
		if reply := g.route(ctx, c, body); reply != nil {
			if err := g.write(ctx, c, reply); err != nil {
				return err
			}
		}
	}
}

// route answers one client message: the frame to send back, nil for none. With an
// Integration, the function answers it.
func (g *Gateway) route(ctx context.Context, c *conn, body []byte) []byte {
	if g.integration != nil {
		return g.integration.message(c, body)
	}
	msg := handlers.ParseClientMessage(body)
	log := g.cfg.Logger.With("connection_id", c.id, "user_id", c.user, "action", msg.Action, "topic", msg.Topic)
	switch msg.Action {
	case routeSubscribe, routeUnsubscribe:
		var err error
		if msg.Action == routeSubscribe {
			err = g.topics.Subscribe(ctx, c.connection(), msg.Topic, msg.Token, c.grants)
		} else {
			err = g.topics.Unsubscribe(ctx, c.connection(), msg.Topic)
		}
		if err != nil {
			log.Debug("client message refused", "error", err)
			return handlers.ErrorFrame(msg.Action, msg.Topic, err)
		}
		return handlers.AckFrame(msg.Action, msg.Topic)
	default:
		reply, err := g.forward(ctx, c, msg.Action, body)
		if err != nil {
			log.Debug("client message not forwarded", "error", err)
			return handlers.ErrorFrame(msg.Action, "", err)
		}
		return reply
	}
}

// forward posts a client message to the Backend, as API Gateway's HTTP proxy
// integration does: the body as the client sent it, and the connection id and route key
// in the ConnectionId and RouteKey headers, as the request parameters
// integration.request.header.ConnectionId = context.connectionId (and RouteKey =
// context.routeKey) map them (AWS's knowledge-center article on passing a connectionId
// to a WebSocket integration). A 2xx answer's body, if any, goes back to the client, as
// a two-way route's integration response does.
func (g *Gateway) forward(ctx context.Context, c *conn, action string, body []byte) ([]byte, error) {
	route := action
	if route == "" {
		route = routeDefault
	}
	if g.cfg.Backend == "" {
		return nil, &handlers.ClientError{Reason: fmt.Sprintf("no route for %q: the gateway has no backend", route)}
	}
	ctx, cancel := context.WithTimeout(ctx, g.cfg.BackendTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.cfg.Backend, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", g.cfg.Backend, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("ConnectionId", c.id)
	req.Header.Set("RouteKey", route)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("forward to %s: %w", g.cfg.Backend, err)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, int64(g.cfg.MaxPayloadBytes)+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("read the answer of %s: %w", g.cfg.Backend, err)
	case resp.StatusCode/100 != 2:
		return nil, &handlers.ClientError{Reason: fmt.Sprintf("the backend answered %s", resp.Status)}
	case len(reply) > g.cfg.MaxPayloadBytes:
		return nil, errors.New("the backend's answer is over the frame limit")
	case len(reply) == 0:
		return nil, nil
	}
	return reply, nil
}

// write sends frame to c, as a post to the Management API does.
func (g *Gateway) write(ctx context.Context, c *conn, frame []byte) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.WriteTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}
