package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/internal/httpserve"
	"github.com/apigw-pusher/apigw-pusher/adapters/localgateway"
)

// GatewayConfig is the configuration of `pusher gateway`: the local WebSocket gateway
// of `pusher dev`, storing its connections in DynamoDB as API Gateway's $connect and
// $disconnect routes would.
type GatewayConfig struct {
	// Listen is the address of the gateway and its Management API; default 127.0.0.1:8080.
	Listen string
	// IdentityParam is the query parameter naming a connecting user; default user_id.
	IdentityParam string
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys).
	Table dynamodb.Config
}

// GatewayDefaults returns c with every unset field at its default, validated.
func GatewayDefaults(c GatewayConfig) (GatewayConfig, error) {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.IdentityParam == "" {
		c.IdentityParam = "user_id"
	}
	if c.Table.Table == "" {
		return c, errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return c, fmt.Errorf("listen address %q: %w", c.Listen, err)
	}
	return c, c.Table.Validate()
}

// Gateway is a running `pusher gateway`.
type Gateway struct {
	Listener net.Listener
	Gateway  *localgateway.Gateway
	Store    *dynamodb.Store
}

// NewGatewayListener opens the gateway's listener.
func NewGatewayListener(cfg GatewayConfig) (net.Listener, func(), error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	return ln, func() { _ = ln.Close() }, nil
}

// NewLocalGateway returns the local gateway, registering connections in store.
func NewLocalGateway(cfg GatewayConfig, store *dynamodb.Store, logger *slog.Logger) (*localgateway.Gateway, error) {
	return localgateway.New(localgateway.Config{IdentityParam: cfg.IdentityParam, Logger: logger}, store)
}

// NewGatewayStore returns the connection store of the gateway.
func NewGatewayStore(cfg GatewayConfig, client dynamodb.API) (*dynamodb.Store, error) {
	return dynamodb.New(client, cfg.Table)
}

// NewGateway gathers the parts.
func NewGateway(ln net.Listener, gw *localgateway.Gateway, store *dynamodb.Store) *Gateway {
	return &Gateway{Listener: ln, Gateway: gw, Store: store}
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
