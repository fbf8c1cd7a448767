package serve_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	pusher "github.com/apigw-pusher/apigw-pusher"
	"github.com/apigw-pusher/apigw-pusher/adapters/awstest"
	"github.com/apigw-pusher/apigw-pusher/cmd/internal/stacktest"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/serve"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// TestChecksToleratesADeniedNotificationsQueue: a role that may receive from and delete
// in the notifications queue but not read its attributes passes the start-up checks,
// VISIBILITY_TIMEOUT set or not, with a warning naming the queue: the service reads the
// attributes only for the visibility timeout, and goes on without it.
func TestChecksToleratesADeniedNotificationsQueue(t *testing.T) {
	s := stacktest.New(t)
	faults := awstest.NewSQSFaults(t, os.Getenv("AWS_ENDPOINT_URL_SQS"))
	t.Setenv("AWS_ENDPOINT_URL_SQS", faults.URL)
	faults.FailQueue(s.QueueURL, awstest.SQSAccessDenied)
	awsCfg, err := onaws.NewAWSConfig(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, visibility := range []string{"", "30s"} {
		t.Run("VISIBILITY_TIMEOUT="+visibility, func(t *testing.T) {
			cfg := serve.Config{Config: onaws.Config{APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(), PoisonQueueURL: s.PoisonURL}, QueueURL: s.QueueURL}
			if visibility != "" {
				cfg.VisibilityTimeout = 30 * time.Second
			}
			checks, err := serve.NewChecks(cfg, awsCfg, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			report := checks.Run(context.Background())
			if err := report.Err(); err != nil {
				t.Errorf("refused: %v", err)
			}
			want := "NOTIFICATIONS_QUEUE_URL=" + s.QueueURL + ": access denied to sqs:GetQueueAttributes"
			if w := report.Warnings(); len(w) != 1 || !strings.HasPrefix(w[0].String(), want) {
				t.Errorf("warnings %q, want one starting %q", w.Lines(), want)
			}
		})
	}
}

// TestChecksStoppedDuringARound: serve stopped while a start-up check is in flight
// stops with no refusal, whatever the check made of its call cut short (here, the worst:
// a failure for good), rather than exit non-zero naming a setting that may be right.
func TestChecksStoppedDuringARound(t *testing.T) {
	s := stacktest.New(t)
	cfg, err := serve.Defaults(serve.Config{
		Config:    onaws.Config{APIGWEndpoint: s.Faults.URL, Table: stacktest.Tables(), PoisonQueueURL: s.PoisonURL},
		QueueURL:  s.QueueURL,
		OpsListen: "127.0.0.1:0",
	})
	if err != nil {
		t.Fatal(err)
	}
	svc, cleanup, err := pusher.BuildServe(context.Background(), cfg, nil, stacktest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cleanup)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	svc.AddCheck(onaws.Check{Setting: "CUT_SHORT=1", Probe: func(ctx context.Context) error {
		stop() // SIGTERM while the check waits for its answer
		<-ctx.Done()
		return handlers.Permanent(ctx.Err())
	}})
	if err := svc.AwaitChecks(ctx); err != nil {
		t.Errorf("AwaitChecks: %v, want nil: the service was stopped, nothing refused", err)
	}
}
