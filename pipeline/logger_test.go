package pipeline

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

func TestWatermillLoggerNeverPrintsAPayload(t *testing.T) {
	const secret = `{"data":{"token":"s3cr3t"}}`
	msg := message.NewMessage("4f0c1c9e-6c2e-4f57-9a35-0d1c1f5b8a11", []byte(secret))
	for _, tc := range []struct {
		name string
		log  func(watermill.LoggerAdapter)
	}{
		{"debug", func(l watermill.LoggerAdapter) { l.Debug("Sending message", watermill.LogFields{"msg": msg}) }},
		{"info", func(l watermill.LoggerAdapter) { l.Info("Sending message", watermill.LogFields{"msg": msg}) }},
		{"error", func(l watermill.LoggerAdapter) { l.Error("send", errors.New("boom"), watermill.LogFields{"msg": msg}) }},
		{"with", func(l watermill.LoggerAdapter) { l.With(watermill.LogFields{"msg": msg}).Debug("sent", nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tc.log(newWatermillLogger(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			if strings.Contains(out.String(), "s3cr3t") || strings.Contains(out.String(), "Payload") {
				t.Errorf("the log holds the payload: %s", out.String())
			}
			if want := "message 4f0c1c9e-6c2e-4f57-9a35-0d1c1f5b8a11 (27 bytes)"; !strings.Contains(out.String(), want) {
				t.Errorf("the log does not name the message as %q: %s", want, out.String())
			}
		})
	}
}
