package lambda

import (
	"cmp"
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

// The $connect query parameters a client names itself and its topics with, by
// default: those of the function's routes, of the settings (IDENTITY_PARAM,
// TOPIC_PARAMS, TOPIC_TOKEN_PARAM) and of package localgateway, which serves the same
// routes on a laptop.
const (
	// DefaultIdentityParam is the $connect query parameter that names the user when no
	// authorizer does, unless RoutesConfig.IdentityParam says otherwise (IDENTITY_PARAM).
	DefaultIdentityParam = "user_id"
	// DefaultTopicParam is the $connect query parameter whose values subscribe the
	// connection, the one of TOPIC_PARAMS by default; RoutesConfig.TopicParams takes
	// the parameters as given.
	DefaultTopicParam = "topic"
	// DefaultTopicTokenParam is the $connect query parameter carrying a subscription
	// token, TOPIC_TOKEN_PARAM's default; RoutesConfig.TokenParam takes it as given.
	DefaultTopicTokenParam = "topic_token"
)

// Registry stores connections as the $connect and $disconnect routes open and close
// them; *dynamodb.Store and *memory.Store implement it.
type Registry interface {
	AddConnection(ctx context.Context, c handlers.Connection) error
	RemoveConnection(ctx context.Context, c handlers.Connection) error
}

// RoutesConfig configures Routes.
type RoutesConfig struct {
	// IdentityParam is the $connect query parameter naming the user when no authorizer
	// does (IDENTITY_PARAM). Empty means DefaultIdentityParam.
	IdentityParam string
	// UserKey is the key of the authorizer's context naming the user, before its
	// principalId (AUTHORIZER_USER_KEY). Empty means auth.DefaultUserKey.
	UserKey string
	// AuthorizerRequired refuses a $connect that no authorizer named a user for, with
	// 401, and never reads IdentityParam (AUTHORIZER_REQUIRED): what a deployment with
	// the $connect authorizer sets, so that a route left without it fails closed. With
	// AnonymousConnections, a $connect an authorizer allowed without naming a user is
	// accepted without one, and one that no authorizer ran for is still refused.
	AuthorizerRequired bool
	// AnonymousConnections accepts a $connect that names no user
	// (ANONYMOUS_CONNECTIONS): the connection is stored without one (its UserID is ""),
	// and is reached by topics and broadcasts, never by a users request. Off, such a
	// $connect is refused with 401.
	AnonymousConnections bool
	// GrantsKey is the key of the authorizer's context holding the topic patterns it
	// grants the connection, as auth.ParseGrants reads them (TOPIC_GRANTS_KEY). Empty
	// means auth.DefaultGrantsKey.
	GrantsKey string
	// TopicParams are the $connect query parameters whose values subscribe the
	// connection, each repeatable (?topic=a&topic=b) (TOPIC_PARAMS). None subscribes
	// it to nothing at $connect.
	TopicParams []string
	// TokenParam is the $connect query parameter carrying a subscription token for
	// those topics (TOPIC_TOKEN_PARAM). Empty reads no token.
	TokenParam string
}

func (c *RoutesConfig) setDefaults() {
	c.IdentityParam = cmp.Or(c.IdentityParam, DefaultIdentityParam)
	c.UserKey = cmp.Or(c.UserKey, auth.DefaultUserKey)
	c.GrantsKey = cmp.Or(c.GrantsKey, auth.DefaultGrantsKey)
}

// Routes serves the routes of an API Gateway WebSocket API whose integration is the
// Lambda function, on a Registry of connections and a handlers.Subscriber of topics.
type Routes struct {
	cfg    RoutesConfig
	conns  Registry
	topics handlers.Subscriber
	logger *slog.Logger
}

// NewRoutes returns the routes of cfg, storing connections in conns and subscribing
// them with topics, whose Store of nil turns topics off. It logs one line of each
// route it serves to logger; nil means slog.Default().
func NewRoutes(cfg RoutesConfig, conns Registry, topics handlers.Subscriber, logger *slog.Logger) (*Routes, error) {
	cfg.setDefaults()
	if conns == nil {
		return nil, errors.New("websocket routes: a registry of connections is required")
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &Routes{cfg: cfg, conns: conns, topics: topics, logger: logger}, nil
}

// Serve serves one route: $connect stores the connection of the user the request
// names (see user), or refuses it with 401 when it names none (unless
// AnonymousConnections) and with 400 when the user is reserved
// (handlers.ReservedUserPrefix), and subscribes it to the
// topics of its TopicParams query parameters once they are all valid and allowed
// (refused: 400, 403 or 503, and nothing written); $disconnect deletes it and its
// subscriptions, the store finding its user by its id when the event names none;
// subscribe and unsubscribe (route selection on $request.body.action) answer with an
// ack or error frame, which a two-way route sends back to the client; any other route
// is answered 200 and ignored. A store that fails makes the invocation fail, and API
// Gateway refuse the connection.
//
// Only $connect carries the client's query string; a message route and $disconnect
// carry the connection id, and a user only when an authorizer gave one ("Setting up
// routes for a WebSocket API", API Gateway Developer Guide): the connection's record in
// the store (handlers.Subscriptions) names the user of the others.
//
// It logs the route's one line, "invocation", with its route, connection, user, status
// and time, and the reason the client was given when it was refused.
func (r *Routes) Serve(ctx context.Context, req events.APIGatewayWebsocketProxyRequest) (events.APIGatewayProxyResponse, error) {
	start := time.Now()
	rc := req.RequestContext
	c := handlers.Connection{UserID: r.user(req), ConnectionID: rc.ConnectionID}
	if rc.ConnectedAt > 0 {
		c.ConnectedAt = time.UnixMilli(rc.ConnectedAt)
	}
	resp, err := r.route(ctx, req, c)
	level, attrs := slog.LevelInfo, []any{"event", "websocket", "route", rc.RouteKey, "connection_id", c.ConnectionID,
		"user_id", c.UserID, "status", resp.StatusCode, "elapsed_ms", time.Since(start).Milliseconds()}
	switch {
	case err != nil:
		level, attrs = slog.LevelError, append(attrs, "error", err)
	case resp.StatusCode >= 400:
		// The reason or error frame the client gets: it names the topic, never a token.
		attrs = append(attrs, "refused", resp.Body)
	}
	r.logger.Log(ctx, level, "invocation", attrs...)
	return resp, err
}

func (r *Routes) route(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) (events.APIGatewayProxyResponse, error) {
	var refused *handlers.ClientError
	switch route := req.RequestContext.RouteKey; route {
	case "$connect":
		if !r.identified(req, c) {
			return answer(http.StatusUnauthorized, nil), nil
		}
		err := handlers.ValidUser(c.UserID)
		if err == nil {
			err = r.connect(ctx, req, c)
		}
		if errors.As(err, &refused) {
			return answer(refused.ConnectStatus(), []byte(refused.Reason)), nil
		} else if err != nil {
			return answer(http.StatusInternalServerError, nil), fmt.Errorf("$connect of %s: %w", c.ConnectionID, err)
		}
	case "$disconnect":
		if err := r.conns.RemoveConnection(ctx, c); err != nil {
			return answer(http.StatusInternalServerError, nil), fmt.Errorf("$disconnect of %s: remove the connection: %w", c.ConnectionID, err)
		}
	case "subscribe", "unsubscribe":
		msg := handlers.ParseClientMessage([]byte(req.Body))
		var err error
		if route == "subscribe" {
			err = r.topics.Subscribe(ctx, c, msg.Topic, msg.Token, r.grants(req))
		} else {
			err = r.topics.Unsubscribe(ctx, c, msg.Topic)
		}
		switch {
		case err == nil:
			return answer(http.StatusOK, handlers.AckFrame(route, msg.Topic)), nil
		case errors.As(err, &refused):
			return answer(http.StatusBadRequest, handlers.ErrorFrame(route, msg.Topic, err)), nil
		}
		return answer(http.StatusInternalServerError, handlers.ErrorFrame(route, msg.Topic, err)), fmt.Errorf("%s %q of %s: %w", route, msg.Topic, c.ConnectionID, err)
	}
	// No body: a two-way route (such as $default) sends a body back to the client.
	return events.APIGatewayProxyResponse{StatusCode: http.StatusOK}, nil
}

// connect checks the topics the $connect request names, then stores c and subscribes
// it to them: a topic refused refuses the connection before anything is written, and a
// connection it cannot subscribe is removed again.
func (r *Routes) connect(ctx context.Context, req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) error {
	var topics []string
	for _, name := range r.cfg.TopicParams {
		if values, ok := req.MultiValueQueryStringParameters[name]; ok {
			topics = append(topics, values...)
		} else if v := req.QueryStringParameters[name]; v != "" {
			topics = append(topics, v)
		}
	}
	var token string
	if r.cfg.TokenParam != "" {
		token = req.QueryStringParameters[r.cfg.TokenParam]
	}
	topics, err := r.topics.Check(ctx, c, topics, token, r.grants(req))
	if err != nil {
		return err
	}
	if err := r.conns.AddConnection(ctx, c); err != nil {
		return fmt.Errorf("add the connection: %w", err)
	}
	if err := r.topics.SubscribeChecked(ctx, c, topics); err != nil {
		if rerr := r.conns.RemoveConnection(ctx, c); rerr != nil {
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
	ac, _ := req.RequestContext.Authorizer.(map[string]any)
	return ac
}

// identified reports whether the $connect of c may go on: it names a user, or it is
// allowed to name none (AnonymousConnections), in which case, with AuthorizerRequired,
// an authorizer must have run: a route left without it still fails closed.
func (r *Routes) identified(req events.APIGatewayWebsocketProxyRequest, c handlers.Connection) bool {
	switch {
	case c.UserID != "":
		return true
	case !r.cfg.AnonymousConnections:
		return false
	}
	return !r.cfg.AuthorizerRequired || authorizerContext(req) != nil
}

// user names the user of a WebSocket request: the authorizer's context entry UserKey,
// else its principalId, else, unless AuthorizerRequired, the query parameter
// IdentityParam (which only $connect carries).
func (r *Routes) user(req events.APIGatewayWebsocketProxyRequest) string {
	ac := authorizerContext(req)
	for _, key := range []string{r.cfg.UserKey, "principalId"} {
		if v, ok := ac[key].(string); ok && v != "" {
			return v
		}
	}
	if r.cfg.AuthorizerRequired {
		return ""
	}
	return req.QueryStringParameters[r.cfg.IdentityParam]
}

// grants returns the topic patterns the authorizer's context entry GrantsKey gives the
// connection, nil for none.
func (r *Routes) grants(req events.APIGatewayWebsocketProxyRequest) []string {
	return auth.ParseGrants(authorizerContext(req)[r.cfg.GrantsKey])
}
