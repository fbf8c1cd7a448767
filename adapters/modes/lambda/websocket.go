package lambda

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// WebSocket serves the routes of an API Gateway WebSocket API: $connect stores the
// connection of the user the request names (see user), or refuses it with 401 when it
// names none, and subscribes it to the topics of its TopicParams query parameters;
// $disconnect deletes it and its subscriptions; subscribe and unsubscribe (route
// selection on $request.body.action) answer with an ack or error frame, which a two-way
// route sends back to the client; any other route is answered 200 and ignored. A store
// that fails makes the invocation fail, and API Gateway refuse the connection.
func (f *Function) WebSocket(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	start := time.Now()
	rc := req.RequestContext
	c := handlers.Connection{UserID: f.user(req), ConnectionID: rc.ConnectionID}
	resp, err := f.route(ctx, req, c)
	level, attrs := slog.LevelInfo, []any{"event", "websocket", "route", rc.RouteKey, "connection_id", c.ConnectionID,
		"user_id", c.UserID, "status", resp.StatusCode, "elapsed_ms", time.Since(start).Milliseconds()}
	if err != nil {
		level, attrs = slog.LevelError, append(attrs, "error", err)
	}
	f.logger.Log(ctx, level, "invocation", attrs...)
	return resp, err
}

func (f *Function) route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) (events.APIGatewayProxyResponse, error) {
	var err error
	switch route := req.RequestContext.RouteKey; route {
	case "$connect":
		if c.UserID == "" {
			return answer(http.StatusUnauthorized, nil), nil
		}
		if err = f.conns.AddConnection(ctx, c); err == nil {
			err = f.subscribeAtConnect(ctx, req, c)
		}
		var refused *handlers.ClientError
		if errors.As(err, &refused) {
			_ = f.conns.RemoveConnection(ctx, c)
			return answer(http.StatusBadRequest, []byte(refused.Reason)), nil
		}
	case "$disconnect":
		// Without an authorizer, API Gateway sends no user on $disconnect: the store then
		// forgets the connection's subscriptions, by its id, and leaves its row to the
		// table's TTL, or to the prune stage once a post to it is answered 410.
		err = f.conns.RemoveConnection(ctx, c)
	case "subscribe", "unsubscribe":
		msg := handlers.ParseClientMessage([]byte(req.Body))
		s, ok := f.subscriber()
		err = errNoTopics
		if ok && route == "subscribe" {
			err = s.Subscribe(ctx, c, msg.Topic)
		} else if ok {
			err = s.Unsubscribe(ctx, c, msg.Topic)
		}
		var refused *handlers.ClientError
		switch {
		case err == nil:
			return answer(http.StatusOK, handlers.AckFrame(route, msg.Topic)), nil
		case errors.As(err, &refused):
			return answer(http.StatusBadRequest, handlers.ErrorFrame(route, msg.Topic, err)), nil
		}
		return answer(http.StatusInternalServerError, handlers.ErrorFrame(route, msg.Topic, err)), err
	}
	if err != nil {
		return answer(http.StatusInternalServerError, nil), err
	}
	return answer(http.StatusOK, nil), nil
}

// answer is a route's response; its body, if any, is what a two-way route sends back
// to the client, else the status text.
func answer(status int, body []byte) events.APIGatewayProxyResponse {
	if body == nil {
		body = []byte(http.StatusText(status))
	}
	return events.APIGatewayProxyResponse{StatusCode: status, Body: string(body)}
}

// errNoTopics answers a subscription when the store keeps none.
var errNoTopics = &handlers.ClientError{Reason: "topics are not set up: SUBSCRIPTIONS_TABLE_NAME is not set"}

// subscriber returns the subscriber on the function's store, or false if it keeps no
// subscriptions.
func (f *Function) subscriber() (handlers.Subscriber, bool) {
	subs, ok := f.conns.(handlers.Subscriptions)
	return handlers.Subscriber{Store: subs, MaxTopics: f.cfg.Topics.MaxTopics, MaxTopicLength: f.cfg.Topics.MaxTopicLength}, ok
}

// subscribeAtConnect subscribes c to the topics its $connect request names in the
// TopicParams query parameters.
func (f *Function) subscribeAtConnect(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) error {
	var topics []string
	for _, name := range f.cfg.Topics.Params {
		if values, ok := req.MultiValueQueryStringParameters[name]; ok {
			topics = append(topics, values...)
		} else if v := req.QueryStringParameters[name]; v != "" {
			topics = append(topics, v)
		}
	}
	if len(topics) == 0 {
		return nil
	}
	s, ok := f.subscriber()
	if !ok {
		return errNoTopics
	}
	for _, topic := range topics {
		if err := s.Subscribe(ctx, c, topic); err != nil {
			return err
		}
	}
	return nil
}

// user names the user of a WebSocket request: the authorizer's context entry
// AuthorizerKey, else its principalId, else the query parameter IdentityParam.
func (f *Function) user(req events.APIGatewayWebsocketProxyRequest) string {
	if auth, ok := req.RequestContext.Authorizer.(map[string]any); ok {
		for _, key := range []string{f.cfg.AuthorizerKey, "principalId"} {
			if v, ok := auth[key].(string); ok && v != "" {
				return v
			}
		}
	}
	return req.QueryStringParameters[f.cfg.IdentityParam]
}
