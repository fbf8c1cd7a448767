package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// runner is a mode that runs until its context is done: pusher dev, serve or gateway.
type runner interface {
	Run(ctx context.Context) error
}

// runMode parses args with fs, makes the logger, builds the mode with build and runs it
// until ctx is done (Ctrl-C, SIGTERM).
func runMode(ctx context.Context, fs *flags, args []string, stderr io.Writer, build func(*slog.Logger) (runner, func(), error)) error {
	level := logLevelFlag(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger, err := newLogger(stderr, *level)
	if err != nil {
		return err
	}
	r, cleanup, err := build(logger)
	if err != nil {
		return err
	}
	defer cleanup()
	return r.Run(ctx)
}

func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}
