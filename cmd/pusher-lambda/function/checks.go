package function

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// checkAtInit starts the start-up checks of cfg (onaws.Checks), with the AWS
// configuration the function is built with, while the init builds the function, so
// that they add to the cold start only what they take beyond it, and returns the wait
// for their end. Each failure is logged on one line; the wait returns an error naming
// the refused settings, which ends the init: Lambda then fails the invocation, and SQS
// keeps its messages for a retry, none acknowledged. A transient failure (a timeout, a
// 5xx, throttling) is logged as a warning and the init goes on: the pipeline retries
// what it meets. With cfg.SkipStartupChecks it checks nothing.
func checkAtInit(ctx context.Context, cfg Config, awsCfg aws.Config, opts []custom.Option, logger *slog.Logger) (wait func() error) {
	if cfg.SkipStartupChecks {
		return func() error { return nil }
	}
	done := make(chan error, 1)
	go func() { done <- runChecks(ctx, cfg, awsCfg, opts, logger) }()
	return func() error { return <-done }
}

// runChecks runs one round of the checks: those of every mode on AWS and, when the
// function splits broadcasts, the queue their segment tasks go on, which it only sends
// to (a refusal to read it is a warning).
func runChecks(ctx context.Context, cfg Config, awsCfg aws.Config, opts []custom.Option, logger *slog.Logger) error {
	start := time.Now()
	checks, err := onaws.NewChecks(cfg.Config, awsCfg, opts)
	if err != nil {
		return err
	}
	if cfg.Pipeline.Split.Above > 0 {
		checks.Add(onaws.QueueCheck(awsCfg, "NOTIFICATIONS_QUEUE_URL", cfg.QueueURL, true))
	}
	report := checks.Run(ctx)
	report.Log(logger)
	logger.Info("start-up checks done", "ms", float64(time.Since(start).Microseconds())/1000, "failed", len(report))
	if err := report.Err(); err != nil {
		return fmt.Errorf("start-up checks refused: %w", err)
	}
	return nil
}
