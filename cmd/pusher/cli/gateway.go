package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/custom"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/gateway"
)

func runGateway(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg gateway.Config
	fs := newFlags("gateway", stderr)
	gateway.Flags(fs, &cfg)
	return runMode(ctx, fs, args, stderr, custom.Options{}, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := gateway.Defaults(cfg)
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
