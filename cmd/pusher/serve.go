package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/modes/serve"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var cfg serve.Config
	fs := newFlags("serve", stderr)
	fs.String(&cfg.APIGWEndpoint, "apigw-endpoint", "APIGW_ENDPOINT", "", "Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
	tableFlags(fs, &cfg.Table)
	fs.String(&cfg.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue of notification requests")
	fs.String(&cfg.TopicARN, "topic-arn", "NOTIFICATIONS_TOPIC_ARN", "", "SNS topic of notification requests")
	fs.String(&cfg.PoisonQueueURL, "poison-queue-url", "POISON_QUEUE_URL", "", "SQS queue failed work is parked in")
	fs.Int(&cfg.Concurrency, "concurrency", "CONCURRENCY", 10, "SQS messages worked on at once")
	fs.Duration(&cfg.VisibilityTimeout, "visibility-timeout", "VISIBILITY_TIMEOUT", 0, "how long a received message stays hidden (default: the queue's)")
	fs.String(&cfg.OpsListen, "ops-listen", "OPS_LISTEN", ":9090", "address of /metrics, /healthz and /readyz")
	pipelineFlags(fs, &cfg.Pipeline)
	return runMode(ctx, fs, args, stderr, func(logger *slog.Logger) (runner, func(), error) {
		cfg, err := serve.Defaults(cfg)
		if err != nil {
			return nil, nil, err
		}
		s, cleanup, err := pusher.BuildService(ctx, cfg, logger)
		if err != nil {
			return nil, nil, err
		}
		fmt.Fprintf(stdout, "pusher serve: posting to %s; metrics, health and readiness on http://%s\n", cfg.APIGWEndpoint, s.Ops.Addr())
		return s, cleanup, nil
	})
}
