package pipeline

import (
	"context"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
)

// newWatermillLogger adapts logger for Watermill. Watermill's info lines (handler
// started, router closed) become debug lines, and its per-message trace lines are
// dropped before their fields are built: they cost an allocation or two per message.
func newWatermillLogger(logger *slog.Logger) watermill.LoggerAdapter {
	return quietLogger{
		LoggerAdapter: watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}),
		debug:         logger.Enabled(context.Background(), slog.LevelDebug),
	}
}

type quietLogger struct {
	watermill.LoggerAdapter
	debug bool
}

func (l quietLogger) Info(msg string, fields watermill.LogFields) {
	if l.debug {
		l.LoggerAdapter.Info(msg, fields)
	}
}

func (l quietLogger) Debug(msg string, fields watermill.LogFields) {
	if l.debug {
		l.LoggerAdapter.Debug(msg, fields)
	}
}

func (l quietLogger) Trace(string, watermill.LogFields) {}

func (l quietLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietLogger{LoggerAdapter: l.LoggerAdapter.With(fields), debug: l.debug}
}
