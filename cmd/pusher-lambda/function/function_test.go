package function_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"

	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher-lambda/function"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// start builds the function on the stack as function.Build does in a deployment, runs its
// pipeline until the test ends, and returns it with the JSON log it writes.
func start(t *testing.T, s *stacktest.Stack, tune func(*function.Config)) (*function.Function, *logBuffer) {
	t.Helper()
	cfg := function.Config{
		Config: onaws.Config{
			APIGWEndpoint:  s.Faults.URL,
			Table:          stacktest.Tables(),
			PoisonQueueURL: s.PoisonURL,
			Pipeline: pipeline.Config{
				// A post that keeps failing is retried for 10s: still in flight at the deadline.
				Retry:        pipeline.RetryConfig{MaxAttempts: 50, InitialInterval: 200 * time.Millisecond, MaxInterval: 200 * time.Millisecond},
				CloseTimeout: 100 * time.Millisecond,
			},
		},
		DeadlineMargin: time.Second,
	}
	if tune != nil {
		tune(&cfg)
	}
	cfg, err := function.Defaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	fn, cleanup, err := function.Build(context.Background(), cfg, nil, slog.New(slog.NewJSONHandler(logs, nil)), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	ctx, cancel := context.WithCancel(context.Background())
	done, err := fn.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return fn, logs
}

// invoke calls the handler with a fixture of testdata, within timeout as Lambda would.
func invoke(t *testing.T, fn *function.Function, fixture string, timeout time.Duration) (any, error) {
	t.Helper()
	payload, err := os.ReadFile(filepath.Join("testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return fn.Handle(ctx, payload)
}

// logBuffer collects JSON log lines.
type logBuffer struct{ awstest.Buffer }

// lines returns the log lines whose msg is msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(b.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}
