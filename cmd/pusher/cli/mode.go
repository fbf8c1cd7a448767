package cli

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/team"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// runner is a mode that runs until its context is done: pusher dev, serve or gateway.
type runner interface {
	Run(ctx context.Context) error
}

// newFlags returns the flags of the subcommand name, defaulting to the environment.
func newFlags(name string, stderr io.Writer) *settings.Flags {
	return settings.New("pusher "+name, stderr, os.LookupEnv)
}

// runMode parses args with fs, makes the logger (the team's, else that of LOG_LEVEL),
// builds the mode with build and runs it until ctx is done (Ctrl-C, SIGTERM).
func runMode(ctx context.Context, fs *settings.Flags, args []string, stderr io.Writer, opts []custom.Option, build func(*slog.Logger) (runner, func(), error)) error {
	level := settings.LogLevel(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := settings.Logger(stderr, *level)
	if err != nil {
		return err
	}
	logger = team.Resolve(opts).LoggerOr(logger)
	r, cleanup, err := build(logger)
	if err != nil {
		return err
	}
	defer cleanup()
	return r.Run(ctx)
}
