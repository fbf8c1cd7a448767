package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// WebSocket serves the routes of an API Gateway WebSocket API: $connect stores the
// connection of the user the request names (see user), or refuses it with 401 when it
// names none, and subscribes it to the topics of its TopicParams query parameters once
// they are all valid and allowed (refused: 400, 403 or 503, and nothing written);
// $disconnect deletes it and its subscriptions, finding its user by its id when the
// event names none; subscribe and unsubscribe (route selection on $request.body.action)
// answer with an ack or error frame, which a two-way route sends back to the client;
// any other route is answered 200 and ignored. A store that fails makes the invocation
// fail, and API Gateway refuse the connection.
//
// Only $connect carries the client's query string; a message route and $disconnect
// carry the connection id, and a user only when an authorizer gave one ("Setting up
// routes for a WebSocket API", API Gateway Developer Guide): the connection's record in
// the store (handlers.Subscriptions) names the user of the others.
func (f *Function) WebSocket(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	start := time.Now()
	rc := req.RequestContext
	c := handlers.Connection{UserID: f.user(req), ConnectionID: rc.ConnectionID}
	if rc.ConnectedAt > 0 {
		c.ConnectedAt = time.UnixMilli(rc.ConnectedAt)
	}
	resp, err := f.route(ctx, req, c)
	level, attrs := slog.LevelInfo, []any{"event", "websocket", "route", rc.RouteKey, "connection_id", c.ConnectionID,
		"user_id", c.UserID, "status", resp.StatusCode, "elapsed_ms", time.Since(start).Milliseconds()}
	switch {
	case err != nil:
		level, attrs = slog.LevelError, append(attrs, "error", err)
	case resp.StatusCode >= 400:
		// The reason or error frame the client gets: it names the topic, never a token.
		attrs = append(attrs, "refused", resp.Body)
	}
	f.logger.Log(ctx, level, "invocation", attrs...)
	return resp, err
}

func (f *Function) route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) (events.APIGatewayProxyResponse, error) {
	var refused *handlers.ClientError
	switch route := req.RequestContext.RouteKey; route {
	case "$connect":
		if c.UserID == "" {
			return answer(http.StatusUnauthorized, nil), nil
		}
		err := f.connect(ctx, req, c)
		if errors.As(err, &refused) {
			return answer(refused.ConnectStatus(), []byte(refused.Reason)), nil
		} else if err != nil {
			return answer(http.StatusInternalServerError, nil), err
		}
	case "$disconnect":
		if err := f.conns.RemoveConnection(ctx, c); err != nil {
			return answer(http.StatusInternalServerError, nil), err
		}
	case "subscribe", "unsubscribe":
		msg := handlers.ParseClientMessage([]byte(req.Body))
		var err error
		if route == "subscribe" {
			err = f.topics.Subscribe(ctx, c, msg.Topic, msg.Token, f.grants(req))
		} else {
			err = f.topics.Unsubscribe(ctx, c, msg.Topic)
		}
		switch {
		case err == nil:
			return answer(http.StatusOK, handlers.AckFrame(route, msg.Topic)), nil
		case errors.As(err, &refused):
			return answer(http.StatusBadRequest, handlers.ErrorFrame(route, msg.Topic, err)), nil
		}
		return answer(http.StatusInternalServerError, handlers.ErrorFrame(route, msg.Topic, err)), err
	}
	// No body: a two-way route (such as $default) sends a body back to the client.
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// connect checks the topics the $connect request names, then stores c and subscribes
// it to them: a topic refused refuses the connection before anything is written, and a
// connection it cannot subscribe is removed again.
func (f *Function) connect(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) error {
	var topics []string
	for _, name := range f.cfg.Topics.Params {
		if values, ok := req.MultiValueQueryStringParameters[name]; ok {
			topics = append(topics, values...)
		} else if v := req.QueryStringParameters[name]; v != "" {
			topics = append(topics, v)
		}
	}
	token := req.QueryStringParameters[f.cfg.Topics.TokenParam]
	topics, err := f.topics.Check(ctx, c, topics, token, f.grants(req))
	if err != nil {
		return err
	}
	if err := f.conns.AddConnection(ctx, c); err != nil {
		return err
	}
	if err := f.topics.SubscribeChecked(ctx, c, topics); err != nil {
		if rerr := f.conns.RemoveConnection(ctx, c); rerr != nil {
			return errors.Join(err, fmt.Errorf("take the refused connection back: %w", rerr))
		}
		return err
	}
	return nil
}

// answer is a route's response; its body, if any, is what a two-way route sends back
// to the client, else the status text.
func answer(status int, body []byte) events.APIGatewayProxyResponse {
	if body == nil {
		body = []byte(http.StatusText(status))
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(body)}
}

// authorizerContext returns the context a Lambda authorizer gave the connection, nil
// without one.
func authorizerContext(req events.APIGatewayWebsocketProxyRequest) map[string]any {
	auth, _ := req.RequestContext.Authorizer.(map[string]any)
	return auth
}

// user names the user of a WebSocket request: the authorizer's context entry
// AuthorizerKey, else its principalId, else, unless AuthorizerRequired, the query
// parameter IdentityParam (which only $connect carries).
func (f *Function) user(req events.APIGatewayWebsocketProxyRequest) string {
	auth := authorizerContext(req)
	for _, key := range []string{f.cfg.AuthorizerKey, "principalId"} {
		if v, ok := auth[key].(string); ok && v != "" {
			return v
		}
	}
	if f.cfg.AuthorizerRequired {
		return ""
	}
	return req.QueryStringParameters[f.cfg.IdentityParam]
}

// grants returns the topic patterns the authorizer's context entry GrantsKey gives the
// connection, nil for none.
func (f *Function) grants(req events.APIGatewayWebsocketProxyRequest) []string {
	return auth.ParseGrants(authorizerContext(req)[f.cfg.Topics.GrantsKey])
}
