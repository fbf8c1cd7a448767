package cli

import (
	"context"
	"fmt"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func serveCommand() command {
	return command{
		name:    "serve",
		summary: "take requests from SQS or SNS and post them through the Management API",
		usage:   "usage: pusher serve [flags]\n\nflags:\n",
		define:  defineServe,
	}
}

func defineServe(fs *settings.Flags) runFunc {
	var cfg serve.Config
	serve.Flags(fs, &cfg)
	return mode(fs, func(ctx context.Context, e env, opts []custom.Option, logger *slog.Logger) (runner, func(), error) {
		cfg, err := serve.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		s, cleanup, err := pusher.BuildServe(ctx, cfg, opts, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(e.stdout, "pusher serve: posting to %s; metrics, health and readiness on http://%s\n", cfg.APIGWEndpoint, s.Ops.Addr())
		return s, cleanup, nil
	})
}
