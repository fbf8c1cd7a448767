package cli

import (
	"context"
	"log/slog"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// runner is a mode that runs until its context is done: pusher dev, serve or gateway.
type runner interface {
	Run(ctx context.Context) error
}

// buildFunc builds a mode with its logger, and the cleanup of what it opened.
type buildFunc func(ctx context.Context, e env, opts []custom.Option, logger *slog.Logger) (runner, func(), error)

// mode defines the log settings on fs and returns the run of a mode: it makes the
// logger (the team's, else that of the log settings), builds the mode with build and
// runs it until ctx is done (Ctrl-C, SIGTERM).
func mode(fs *settings.Flags, build buildFunc) runFunc {
	var log settings.Log
	settings.LogFlags(fs, &log)
	return func(ctx context.Context, e env, opts []custom.Option) error {
		logger, err := log.Logger(e.stderr)
		if err != nil {
			return err
		}
		logger = team.Resolve(opts).LoggerOr(logger)
		r, cleanup, err := build(ctx, e, opts, logger)
		if err != nil {
			return err
		}
		defer cleanup()
		return r.Run(ctx)
	}
}
