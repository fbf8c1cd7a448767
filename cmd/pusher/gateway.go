package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/serve"
)

func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serve.GatewayConfig
	fs := newFlags("gateway", stderr)
	fs.String(&cfg.Listen, "listen", "GATEWAY_LISTEN", "127.0.0.1:8080", "address of the WebSocket endpoint and its Management API")
	fs.String(&cfg.IdentityParam, "identity-param", "IDENTITY_PARAM", "user_id", "query parameter naming the connecting user")
	tableFlags(fs, &cfg.Table)
	return runMode(ctx, fs, args, stderr, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := serve.GatewayDefaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		g, cleanup, err := pusher.BuildGateway(ctx, cfg, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, `pusher gateway listening on %[1]s, storing connections in %[3]s
  WebSocket clients:  ws://%[2]s/?%[4]s=USER
  Management API:     %[1]s  (APIGW_ENDPOINT for pusher serve)
`, g.URL(), g.Listener.Addr(), cfg.Table.Table, cfg.IdentityParam)
		return g, cleanup, nil
	})
}
