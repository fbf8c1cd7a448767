package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer, opts []custom.Option) error {
	var cfg serve.Config
	fs := newFlags("serve", stderr)
	serve.Flags(fs, &cfg)
	return runMode(ctx, fs, args, stderr, opts, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := serve.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		s, cleanup, err := pusher.BuildServe(ctx, cfg, opts, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, "pusher serve: posting to %s; metrics, health and readiness on http://%s\n", cfg.APIGWEndpoint, s.Ops.Addr())
		return s, cleanup, nil
	})
}
