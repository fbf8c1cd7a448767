package settings_test

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// TestLogFormat: the format a logger writes in, by the settings and what it writes to.
func TestLogFormat(t *testing.T) {
	tests := []struct {
		name string
		log  settings.Log
		json bool
	}{
		{name: "unset, to a buffer", log: settings.Log{Level: "info"}, json: true},
		{name: "text", log: settings.Log{Level: "info", Format: settings.LogText}},
		{name: "json", log: settings.Log{Level: "info", Format: settings.LogJSON}, json: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			logger, err := tt.log.Logger(&out)
			if err != nil {
				t.Fatal(err)
			}
			logger.Info("started", "stage", "post")
			line := strings.TrimSpace(out.String())
			if isJSON := json.Valid([]byte(line)); isJSON != tt.json {
				t.Errorf("logged %q, JSON: %v, want %v", line, isJSON, tt.json)
			}
			if !tt.json && !strings.Contains(line, "level=INFO msg=started stage=post") {
				t.Errorf("logged %q, want slog's text", line)
			}
		})
	}
}

// TestLoggerOfTheFunction: Logger, the Lambda function's, writes JSON to a terminal too.
func TestLoggerOfTheFunction(t *testing.T) {
	var out bytes.Buffer
	logger, err := settings.Logger(&out, "debug")
	if err != nil {
		t.Fatal(err)
	}
	logger.Debug("hello")
	if !json.Valid(bytes.TrimSpace(out.Bytes())) {
		t.Errorf("logged %q", out.String())
	}
	if _, err := settings.Logger(&out, "loud"); err == nil || err.Error() != `LOG_LEVEL="loud" is not debug, info, warn or error` {
		t.Errorf("a bad level: %v", err)
	}
}

// TestLogValidate reports every bad setting, the level before the format, always.
func TestLogValidate(t *testing.T) {
	tests := []struct {
		log  settings.Log
		want string
	}{
		{settings.Log{Level: "warn"}, ""},
		{settings.Log{Level: "warn", Format: "text"}, ""},
		{settings.Log{Level: "loud"}, `LOG_LEVEL="loud" is not debug, info, warn or error`},
		{settings.Log{Level: "info", Format: "xml"}, `LOG_FORMAT="xml" is not text or json`},
		{settings.Log{Level: "", Format: "TEXT"}, "LOG_LEVEL=\"\" is not debug, info, warn or error\nLOG_FORMAT=\"TEXT\" is not text or json"},
	}
	for _, tt := range tests {
		for range 10 {
			got := ""
			if err := tt.log.Validate(); err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("%+v: Validate() %q, want %q", tt.log, got, tt.want)
			}
		}
	}
}

// TestIsTerminal: a buffer and a pipe are not terminals; a character device is.
func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = r.Close(), w.Close() })
	if settings.IsTerminal(w) || settings.IsTerminal(&bytes.Buffer{}) {
		t.Error("a pipe or a buffer taken for a terminal")
	}
	// /dev/null is a character device, as a terminal is: the test of IsTerminal.
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { _ = null.Close() })
	if !settings.IsTerminal(null) {
		t.Errorf("%s, a character device, not taken for a terminal", os.DevNull)
	}
}
