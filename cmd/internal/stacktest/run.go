package stacktest

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
)

// RunUntilCleanup runs run in the background; the returned stop (also called when the
// test ends) cancels it and waits for it to return, failing the test if it returned an
// error. name says what stopped in that failure.
func RunUntilCleanup(t testing.TB, name string, run func(context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s stopped with %v", name, err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// Quiet is a logger that discards, for the parts of a test whose logs say nothing the
// test checks.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Logger is a debug logger whose lines are kept and printed only if the test fails, so
// that a failure under load says what the pusher was doing.
func Logger(t testing.TB) *slog.Logger {
	w := &awstest.Buffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs:\n%s", w.String())
		}
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
