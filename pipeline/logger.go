package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"maps"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// newWatermillLogger adapts logger for Watermill. Watermill's info lines (handler
// started, router closed) become debug lines, and its per-message trace lines are
// dropped before their fields are built: they cost an allocation or two per message.
// A whole message in a field (watermill-aws's publishers log one at debug) is logged
// as its UUID and size: logs never carry a payload.
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

func (l quietLogger) Error(msg string, err error, fields watermill.LogFields) {
	l.LoggerAdapter.Error(msg, err, redact(fields))
}

func (l quietLogger) Info(msg string, fields watermill.LogFields) {
	if l.debug {
		l.LoggerAdapter.Info(msg, redact(fields))
	}
}

func (l quietLogger) Debug(msg string, fields watermill.LogFields) {
	if l.debug {
		l.LoggerAdapter.Debug(msg, redact(fields))
	}
}

func (l quietLogger) Trace(string, watermill.LogFields) {}

func (l quietLogger) With(fields watermill.LogFields) watermill.LoggerAdapter {
	return quietLogger{LoggerAdapter: l.LoggerAdapter.With(redact(fields)), debug: l.debug}
}

// redact replaces each message in fields by its UUID and payload size.
func redact(fields watermill.LogFields) watermill.LogFields {
	var out watermill.LogFields
	for k, v := range fields {
		if m, ok := v.(*message.Message); ok {
			if out == nil {
				out = maps.Clone(fields)
			}
			out[k] = fmt.Sprintf("message %s (%d bytes)", m.UUID, len(m.Payload))
		}
	}
	if out == nil {
		return fields
	}
	return out
}
