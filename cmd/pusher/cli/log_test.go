package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// TestLogFormat runs a command that logs (`pusher replay export` of an empty pusher
// dev) and reads its log line on stderr: JSON when stderr is not a terminal (a buffer,
// a pipe), text when --log-format or LOG_FORMAT says so, the flag over the variable.
func TestLogFormat(t *testing.T) {
	dev := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || r.URL.Path != "/poison/messages" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("[]"))
	}))
	t.Cleanup(dev.Close)
	export := []string{"replay", "export", "--dev", dev.URL}
	tests := []struct {
		name string
		args []string
		env  string // LOG_FORMAT
		pipe bool   // stderr a pipe, not a buffer
		json bool
	}{
		{name: "a buffer", json: true},
		{name: "a pipe", pipe: true, json: true},
		{name: "the flag", args: []string{"--log-format", "text"}},
		{name: "the variable", env: "text"},
		{name: "the flag over the variable", args: []string{"--log-format=json"}, env: "text", json: true},
		{name: "text to a pipe", args: []string{"--log-format", "text"}, pipe: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("LOG_FORMAT", tt.env)
			t.Setenv("LOG_LEVEL", "")
			var stdout, stderr bytes.Buffer
			w := io.Writer(&stderr)
			var read func() string
			if tt.pipe {
				r, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
				done := make(chan string, 1)
				go func() {
					b, _ := io.ReadAll(r)
					done <- string(b)
				}()
				w, read = pw, func() string { _ = pw.Close(); return <-done }
			} else {
				read = stderr.String
			}
			if err := Run(context.Background(), append(export, tt.args...), &stdout, w); err != nil {
				t.Fatal(err)
			}
			line := strings.TrimSpace(read())
			var v map[string]any
			isJSON := json.Unmarshal([]byte(line), &v) == nil
			isText := strings.HasPrefix(line, "time=") && strings.Contains(line, "level=INFO msg=exported messages=0")
			if isJSON != tt.json || isJSON == isText {
				want := "text"
				if tt.json {
					want = "JSON"
				}
				t.Errorf("stderr %q, want one line of %s", line, want)
			}
			if isJSON && (v["msg"] != "exported" || v["messages"] != 0.0) {
				t.Errorf("logged %v", v)
			}
		})
	}
}
