package stacktest

import (
	"log/slog"
	"testing"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
)

// BuildDev builds `pusher dev` of cfg as the dev command does (dev.Defaults, then
// pusher.BuildDev, without a team's options), on a free port of 127.0.0.1 unless
// cfg.Listen names one, its parts released when the test ends. A nil logger is Quiet.
func BuildDev(t testing.TB, cfg dev.Config, logger *slog.Logger) *dev.Pusher {
	t.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if logger == nil {
		logger = Quiet()
	}
	cfg, err := dev.Defaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, cleanup, err := pusher.BuildDev(t.Context(), cfg, nil, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return p
}

// Dev runs BuildDev's `pusher dev` until the test ends, and returns once it takes
// requests.
func Dev(t testing.TB, cfg dev.Config, logger *slog.Logger) *dev.Pusher {
	t.Helper()
	p := BuildDev(t, cfg, logger)
	RunUntilCleanup(t, "pusher dev", p.Run)
	<-p.Pipeline.Running()
	return p
}
