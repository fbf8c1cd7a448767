package cli

import (
	"context"
	"fmt"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

func devCommand() command {
	return command{
		name:    "dev",
		summary: "run the pipeline, a local WebSocket gateway and its Management API in one process",
		usage:   "usage: pusher dev [--listen 127.0.0.1:8080] [flags]\n\nflags:\n",
		define:  defineDev,
	}
}

func defineDev(fs *settings.Flags) runFunc {
	var cfg dev.Config
	dev.Flags(fs, &cfg)
	return mode(fs, func(ctx context.Context, e env, opts []custom.Option, logger *slog.Logger) (runner, func(), error) {
		cfg, err := dev.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		p, cleanup, err := pusher.BuildDev(ctx, cfg, opts, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(e.stdout, `pusher dev listening on %[1]s
  console:            %[1]s/
  WebSocket clients:  %[2]s
  Management API:     %[1]s/@connections/{id}
  notifications:      curl -X POST %[1]s/notifications -d '{"data":{"hello":"world"}}'
  poison queue:       %[1]s/poison
`, p.URL(), clientURL(p.Listener.Addr().String(), cfg.Connect, false, cfg.IdentityParam,
			anonymousParam(cfg.AnonymousConnections, cfg.Topics.Params)))
		return p, cleanup, nil
	})
}
