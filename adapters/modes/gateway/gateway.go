// Package gateway assembles `pusher gateway`: the local WebSocket gateway of `pusher dev`
// (package localgateway), storing its connections in the DynamoDB table as API Gateway's
// $connect and $disconnect routes would, for a local stack of `pusher serve` on
// emulators.
package gateway

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/wire"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/httpserve"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/onaws"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/settings"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// Config is the configuration of `pusher gateway`.
type Config struct {
	// Listen is the address of the gateway and its Management API; default 127.0.0.1:8080.
	Listen httpserve.Address
	// IdentityParam is the query parameter naming a connecting user; default user_id.
	IdentityParam string
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
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys).
	Table dynamodb.Config
}

// Flags defines the settings of c.
func Flags(f *settings.Flags, c *Config) {
	f.String((*string)(&c.Listen), "listen", "GATEWAY_LISTEN", "127.0.0.1:8080", "address of the WebSocket endpoint and its Management API")
	f.String(&c.IdentityParam, "identity-param", "IDENTITY_PARAM", "user_id", "query parameter naming the connecting user")
	settings.TopicFlags(f, &c.Topics, false)
	f.String(&c.Backend, "route-backend", "ROUTE_BACKEND", "", "URL client messages of other actions go to, as an HTTP proxy integration")
	f.String(&c.Integration, "lambda-integration", "LAMBDA_INTEGRATION_URL", "",
		"invocation URL of a Lambda function (under the Runtime Interface Emulator) that serves every route, as a Lambda proxy integration")
	settings.Table(f, &c.Table)
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.Listen = cmp.Or(c.Listen, "127.0.0.1:8080")
	c.IdentityParam = cmp.Or(c.IdentityParam, "user_id")
	c.Topics = c.Topics.WithDefaults()
	if c.Table.Table == "" {
		return c, errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	}
	if err := c.Listen.Validate(); err != nil {
		return c, err
	}
	return c, c.Table.Validate()
}

// Set builds `pusher gateway` from a Config.
var Set = wire.NewSet(
	onaws.NewAWSConfig,
	onaws.NewDynamoDBClient,
	wire.FieldsOf(new(Config), "Table", "Listen"),
	dynamodb.New,
	httpserve.Listen,
	NewLocalGateway,
	wire.Struct(new(Gateway), "*"),
)

// Gateway is a running `pusher gateway`.
type Gateway struct {
	Listener net.Listener
	Gateway  *localgateway.Gateway
	Store    *dynamodb.Store
}

// NewLocalGateway returns the local gateway, registering connections in store, and
// subscriptions there by cfg's topic rules when it has a subscriptions table; or, with
// an Integration, invoking that function for every route, with no registry.
func NewLocalGateway(ctx context.Context, cfg Config, store *dynamodb.Store, logger *slog.Logger) (*localgateway.Gateway, error) {
	if cfg.Integration != "" {
		return localgateway.New(localgateway.Config{Integration: cfg.Integration, Backend: cfg.Backend, Logger: logger}, nil)
	}
	var subs handlers.Subscriptions
	if cfg.Table.SubscriptionsTable != "" {
		subs = store
	}
	topics, err := settings.NewSubscriber(ctx, cfg.Topics, subs, logger)
	if err != nil {
		return nil, err
	}
	return localgateway.New(localgateway.Config{IdentityParam: cfg.IdentityParam, TopicParams: cfg.Topics.Params,
		TokenParam: cfg.Topics.TokenParam, Topics: &topics, Backend: cfg.Backend, Logger: logger}, store)
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
