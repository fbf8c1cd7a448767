package stacktest

import (
	"context"
	"testing"
	"time"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Serve runs `pusher serve` on the stack, posting through its faults proxy, with short
// retries (3 attempts), until stop is called or the test ends. tune, if not nil, changes
// the configuration before it is defaulted.
func (s *Stack) Serve(t testing.TB, tune func(*serve.Config)) (svc *serve.Service, stop func()) {
	t.Helper()
	cfg := serve.Config{
		Config: onaws.Config{
			APIGWEndpoint:  s.Faults.URL,
			Table:          Tables(),
			PoisonQueueURL: s.PoisonURL,
			Pipeline: pipeline.Config{
				Retry:        pipeline.RetryConfig{MaxAttempts: 3, InitialInterval: 10 * time.Millisecond, MaxInterval: 50 * time.Millisecond},
				CloseTimeout: 10 * time.Second,
			},
		},
		QueueURL:  s.QueueURL,
		WaitTime:  time.Second,
		OpsListen: "127.0.0.1:0",
	}
	if tune != nil {
		tune(&cfg)
	}
	cfg, err := serve.Defaults(cfg)
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := pusher.BuildServe(context.Background(), cfg, nil, Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	halt := RunUntilCleanup(t, "pusher serve", svc.Run)
	<-svc.Pipeline.Running()
	return svc, func() { halt(); cleanup() }
}
