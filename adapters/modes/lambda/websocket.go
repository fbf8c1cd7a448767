package lambda

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// WebSocket serves the routes of an API Gateway WebSocket API: $connect stores the
// connection of the user the request names (see user), or refuses it with 401 when it
// names none; $disconnect deletes it; any other route is answered 200 and ignored,
// clients having nothing to send. A store that fails makes the invocation fail, and API
// Gateway refuse the connection.
func (f *Function) WebSocket(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	start := time.Now()
	rc := req.RequestContext
	c := handlers.Connection{UserID: f.user(req), ConnectionID: rc.ConnectionID}
	status, err := f.route(ctx, rc.RouteKey, c)
	level, attrs := slog.LevelInfo, []any{"event", "websocket", "route", rc.RouteKey, "connection_id", c.ConnectionID,
		"user_id", c.UserID, "status", status, "elapsed_ms", time.Since(start).Milliseconds()}
	if err != nil {
		level, attrs = slog.LevelError, append(attrs, "error", err)
	}
	f.logger.Log(ctx, level, "invocation", attrs...)
	return events.APIGatewayProxyResponse{StatusCode: status, Body: http.StatusText(status)}, err
}

func (f *Function) route(ctx context.Context, route string, c handlers.Connection) (status int, err error) {
	switch route {
	case "$connect":
		if c.UserID == "" {
			return http.StatusUnauthorized, nil
		}
		err = f.conns.AddConnection(ctx, c)
	case "$disconnect":
		// Without an authorizer, API Gateway sends no query string on $disconnect: the
		// connection is then left to the table's TTL, or to the prune stage once a post
		// to it is answered 410.
		if c.UserID != "" {
			err = f.conns.RemoveConnection(ctx, c)
		}
	}
	if err != nil {
		return http.StatusInternalServerError, err
	}
	return http.StatusOK, nil
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
