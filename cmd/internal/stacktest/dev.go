package stacktest

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/apigw"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/dev"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// BuildDev builds `pusher dev` of cfg as the dev command does (dev.Defaults, then
// pusher.BuildDev with the team's options opts), on a free port of 127.0.0.1 unless
// cfg.Listen names one, its parts released when the test ends. A nil logger is Quiet.
func BuildDev(t testing.TB, cfg dev.Config, logger *slog.Logger, opts ...custom.Option) *dev.Pusher {
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
	p, cleanup, err := pusher.BuildDev(t.Context(), cfg, opts, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	return p
}

// Dev runs BuildDev's `pusher dev` until the test ends, and returns once it takes
// requests.
func Dev(t testing.TB, cfg dev.Config, logger *slog.Logger, opts ...custom.Option) *dev.Pusher {
	t.Helper()
	p := BuildDev(t, cfg, logger, opts...)
	RunUntilCleanup(t, "pusher dev", p.Run)
	<-p.Pipeline.Running()
	return p
}

// DevWithFaults is Dev whose poster posts through an awstest.Faults proxy in front of
// its own Management API, so that a test makes deliveries fail.
func DevWithFaults(t testing.TB, cfg dev.Config, logger *slog.Logger) (*dev.Pusher, *awstest.Faults) {
	t.Helper()
	// The proxy needs the listener's address, known once `pusher dev` is built, and the
	// build needs the poster: the poster is given the proxy's afterwards.
	late := &latePoster{}
	p := BuildDev(t, cfg, logger, custom.WithPoster(late))
	faults := awstest.NewFaults(t, p.URL())
	poster, err := apigw.New(apigw.LocalConfig(""), apigw.Config{Endpoint: faults.URL})
	if err != nil {
		t.Fatal(err)
	}
	late.to.Store(poster)
	RunUntilCleanup(t, "pusher dev", p.Run)
	<-p.Pipeline.Running()
	return p, faults
}

// latePoster posts through the poster it is given once it is built.
type latePoster struct{ to atomic.Pointer[apigw.Poster] }

var _ handlers.Poster = (*latePoster)(nil)

func (l *latePoster) PostToConnection(ctx context.Context, connectionID string, frame []byte) error {
	to := l.to.Load()
	if to == nil {
		return errors.New("stacktest: a post before the poster was set")
	}
	return to.PostToConnection(ctx, connectionID, frame)
}
