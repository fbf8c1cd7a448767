// Package gateway assembles `pusher gateway`: the local WebSocket gateway of `pusher dev`
// (package localgateway), storing its connections in the DynamoDB table as API Gateway's
// $connect and $disconnect routes would, for a local stack of `pusher serve` on
// emulators. With the $connect token settings (CONNECT_TOKEN_SECRET, ...) it checks
// tokens as the authorizer function does on AWS, and with LAMBDA_AUTHORIZER_URL it
// invokes that function, under the Runtime Interface Emulator, as API Gateway does.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/adapters/auth"
	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// DefaultListen is the address of the gateway and its Management API when GATEWAY_LISTEN
// is not set: this machine's alone.
const DefaultListen = "127.0.0.1:8080"

// Config is the configuration of `pusher gateway`.
type Config struct {
	// Listen is the address of the gateway and its Management API; default
	// DefaultListen.
	Listen httpserve.Address
	// IdentityParam is the query parameter naming a connecting user; default
	// settings.DefaultIdentityParam.
	IdentityParam string
	// AnonymousConnections accepts a $connect that names no user
	// (ANONYMOUS_CONNECTIONS); see localgateway.Config.AnonymousConnections. With an
	// Integration, the function's own setting decides.
	AnonymousConnections bool
	// Topics are the settings of subscriptions.
	Topics settings.Topics
	// Backend is where client messages of other actions than subscribe and unsubscribe
	// go (ROUTE_BACKEND); see localgateway.Config.Backend.
	Backend string
	// Integration is the invocation URL of the Lambda function that serves every route
	// (LAMBDA_INTEGRATION_URL), such as the function under the Runtime Interface
	// Emulator; see localgateway.Config.Integration. The gateway then stores nothing
	// itself, and the topic settings are the function's.
	Integration string
	// Connect are the settings of the $connect token check that the gateway runs as a
	// $connect authorizer (CONNECT_TOKEN_SECRET or CONNECT_TOKEN_JWKS_URL, ...), the
	// authorizer function's own; unset, with no LambdaAuthorizer, any client connects
	// as any user.
	Connect settings.Connect
	// LambdaAuthorizer is the invocation URL of a Lambda authorizer function, such as
	// the pusher's deployed with PUSHER_ROLE=authorizer under the Runtime Interface
	// Emulator (LAMBDA_AUTHORIZER_URL), that the gateway invokes on each $connect as
	// API Gateway does; see localgateway.LambdaAuthorizer. Set it or Connect, not both.
	LambdaAuthorizer string
	// AuthorizerUserKey is the key of the authorizer's context naming the user
	// (AUTHORIZER_USER_KEY), as the authorizer writes it; default auth.DefaultUserKey.
	AuthorizerUserKey string
	// ThrottleRPS is the rate, in calls per second, at which the Management API
	// throttles calls as API Gateway's account throttle does (GATEWAY_THROTTLE_RPS),
	// answering those past it 429 LimitExceededException; 0: no throttle. See
	// localgateway.Config.ThrottleRPS.
	ThrottleRPS int
	// ThrottleBurst is the throttle's bucket, the calls it lets through at once
	// (GATEWAY_THROTTLE_BURST); 0: half a second of ThrottleRPS. It needs a ThrottleRPS.
	ThrottleBurst int
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys); not used,
	// and not needed, with an Integration.
	Table dynamodb.Config
}

// Flags defines the settings of c.
func Flags(f *settings.Flags, c *Config) {
	f.String((*string)(&c.Listen), "listen", "GATEWAY_LISTEN", DefaultListen, "address of the WebSocket endpoint and its Management API")
	f.String(&c.IdentityParam, "identity-param", "IDENTITY_PARAM", settings.DefaultIdentityParam, "query parameter naming the connecting user")
	settings.AnonymousFlag(f, &c.AnonymousConnections)
	settings.TopicFlags(f, &c.Topics, false)
	f.String(&c.Backend, "route-backend", "ROUTE_BACKEND", "", "URL client messages of other actions go to, as an HTTP proxy integration")
	f.String(&c.Integration, "lambda-integration", "LAMBDA_INTEGRATION_URL", "",
		"invocation URL of a Lambda function (under the Runtime Interface Emulator) that serves every route, as a Lambda proxy integration")
	settings.ConnectFlags(f, &c.Connect)
	f.String(&c.LambdaAuthorizer, "lambda-authorizer", "LAMBDA_AUTHORIZER_URL", "",
		"invocation URL of a Lambda authorizer function (under the Runtime Interface Emulator) invoked on each $connect, as API Gateway does")
	f.String(&c.AuthorizerUserKey, "authorizer-user-key", "AUTHORIZER_USER_KEY", auth.DefaultUserKey, "key of the authorizer context naming the user")
	f.Int(&c.ThrottleRPS, "throttle-rps", "GATEWAY_THROTTLE_RPS", 0, "Management API calls per second past which the gateway answers 429, as API Gateway's account throttle (10000 on AWS); 0: no throttle")
	f.Int(&c.ThrottleBurst, "throttle-burst", "GATEWAY_THROTTLE_BURST", 0, "calls the throttle lets through at once (5000 on AWS); 0: half a second of --throttle-rps")
	settings.Table(f, &c.Table)
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.Listen = cmp.Or(c.Listen, DefaultListen)
	c.IdentityParam = cmp.Or(c.IdentityParam, settings.DefaultIdentityParam)
	c.AuthorizerUserKey = cmp.Or(c.AuthorizerUserKey, auth.DefaultUserKey)
	c.Topics = c.Topics.WithDefaults()
	c.Connect.UserKey, c.Connect.GrantsKey = c.AuthorizerUserKey, c.Topics.GrantsKey
	if c.Connect.Configured() && c.LambdaAuthorizer != "" {
		return c, errors.New("both the $connect token settings (CONNECT_TOKEN_SECRET, CONNECT_TOKEN_SECRET_ARN or CONNECT_TOKEN_JWKS_URL) " +
			"and LAMBDA_AUTHORIZER_URL are set: the gateway checks tokens itself or invokes the authorizer function, set one")
	}
	if c.Integration == "" && c.Table.Table == "" {
		return c, errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	}
	if err := c.Listen.Validate(); err != nil {
		return c, err
	}
	if err := c.Connect.Validate(); err != nil {
		return c, err
	}
	if c.Integration != "" {
		return c, nil // the function stores the connections
	}
	return c, c.Table.Validate()
}

// Gateway is a running `pusher gateway`.
type Gateway struct {
	Listener net.Listener
	Gateway  *localgateway.Gateway
	// Store holds the connections: the connections table, or the team's store
	// (custom.WithStore); nil with an Integration, which stores them.
	Store custom.Store
}

// NewStore returns the team's store (custom.WithStore), else the connections table of
// cfg; nil with an Integration: the function stores the connections, and the gateway
// needs no table.
func NewStore(cfg Config, client dynamodb.API, opts []custom.Option) (custom.Store, error) {
	if cfg.Integration != "" {
		return nil, nil
	}
	if s := team.Resolve(opts).Store; s != nil {
		return s, nil
	}
	return dynamodb.New(client, cfg.Table)
}

// NewAuthorizer returns the $connect authorizer of cfg: the token check of its Connect
// settings in the gateway's process (reading CONNECT_TOKEN_SECRET_ARN's secret with
// awsCfg), or the authorizer function at LambdaAuthorizer; nil, with a warning that
// connections are not authenticated, when cfg sets neither.
func NewAuthorizer(ctx context.Context, cfg Config, awsCfg aws.Config, logger *slog.Logger) (localgateway.Authorizer, error) {
	switch {
	case cfg.LambdaAuthorizer != "":
		a, err := localgateway.NewLambdaAuthorizer(cfg.LambdaAuthorizer, 0)
		if err != nil {
			return nil, fmt.Errorf("LAMBDA_AUTHORIZER_URL: %w", err)
		}
		return a, nil
	case cfg.Connect.Configured():
		h, err := settings.NewConnectHandler(ctx, cfg.Connect, awsCfg, logger)
		if err != nil {
			return nil, err
		}
		return h, nil
	}
	logger.Warn("connections are not authenticated: any client may connect as any user with ?" + cfg.IdentityParam + "=; " +
		"set CONNECT_TOKEN_SECRET or CONNECT_TOKEN_JWKS_URL (or LAMBDA_AUTHORIZER_URL) to check $connect tokens")
	return nil, nil
}

// NewLocalGateway returns the local gateway, authorizing each $connect with authz if it
// is not nil and registering connections in store (those without a user too, saying so
// at start, with AnonymousConnections), and subscriptions there by cfg's topic rules
// when it has a subscriptions table; or, with an Integration, invoking that function
// for every route (after authz), with no registry. With a ThrottleRPS its Management
// API throttles calls, saying so at start; a throttle it cannot build is an error.
func NewLocalGateway(ctx context.Context, cfg Config, store custom.Store, authz localgateway.Authorizer, logger *slog.Logger) (*localgateway.Gateway, error) {
	lc := localgateway.Config{IdentityParam: cfg.IdentityParam, Backend: cfg.Backend, Logger: logger,
		Authorizer: authz, IdentitySource: cfg.Connect.TokenParam, AuthorizerUserKey: cfg.AuthorizerUserKey, AuthorizerGrantsKey: cfg.Topics.GrantsKey,
		ThrottleRPS: float64(cfg.ThrottleRPS), ThrottleBurst: cfg.ThrottleBurst}
	if cfg.Integration != "" {
		lc.Integration = cfg.Integration
		return localgateway.New(lc, nil)
	}
	var subs handlers.Subscriptions
	// The table keeps subscriptions only with a subscriptions table; a team's store
	// keeps them if it can.
	_, table := store.(*dynamodb.Store)
	if s, ok := store.(handlers.Subscriptions); ok && (!table || cfg.Table.SubscriptionsTable != "") {
		subs = s
	}
	topics, err := settings.NewSubscriber(ctx, cfg.Topics, subs, logger)
	if err != nil {
		return nil, err
	}
	lc.TopicParams, lc.TokenParam, lc.Topics = cfg.Topics.Params, cfg.Topics.TokenParam, &topics
	lc.AnonymousConnections = cfg.AnonymousConnections
	settings.WarnAnonymous(logger, cfg.AnonymousConnections)
	return localgateway.New(lc, store)
}

// URL is the base URL of the gateway: its Management API endpoint (APIGW_ENDPOINT).
func (g *Gateway) URL() string { return "http://" + g.Listener.Addr().String() }

// Run serves until ctx is done, then closes the connections.
func (g *Gateway) Run(ctx context.Context) error {
	mux := http.NewServeMux()
	g.Gateway.Register(mux)
	srv := httpserve.Start(g.Listener, mux)
	<-ctx.Done()
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return errors.Join(g.Gateway.Close(closeCtx), srv.Stop(closeCtx))
}
