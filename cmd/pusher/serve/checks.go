package serve

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/custom"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/handlers"
)

// The backoff between rounds of start-up checks while one is pending: short at first,
// for a hiccup, then at most twice a minute, for an outage.
const (
	checksFirstBackoff = time.Second
	checksMaxBackoff   = 30 * time.Second
)

// newChecks returns the start-up checks of cfg: those of every mode on AWS
// (onaws.NewChecks) and the service's sources: the queue it receives from, and the
// topic's queue, which the check subscribes as the first receive would (topic, nil for
// none). A refusal to read the queue's attributes is only a warning: the service reads
// them for the queue's visibility timeout alone, when VISIBILITY_TIMEOUT is not set,
// and goes on without it (sqs.Subscriber), so a role that may only receive and delete
// works.
func newChecks(cfg Config, awsCfg aws.Config, opts []custom.Option, topic *sqs.Subscriber) (*onaws.Checks, error) {
	checks, err := onaws.NewChecks(cfg.Config, awsCfg, opts)
	if err != nil {
		return nil, err
	}
	if cfg.QueueURL != "" {
		checks.Add(onaws.QueueCheck(awsCfg, "NOTIFICATIONS_QUEUE_URL", cfg.QueueURL, true))
	}
	if topic != nil {
		checks.Add(onaws.Check{Setting: "NOTIFICATIONS_TOPIC_ARN=" + cfg.TopicARN, Probe: func(ctx context.Context) error {
			_, err := topic.QueueURL(ctx)
			return topicError(err)
		}})
	}
	return checks, nil
}

// topicRefusals are the codes of SNS and SQS that no retry of subscribing a queue to a
// topic passes: the topic is not there (NotFound), the role may not subscribe or make
// the queue (AuthorizationError, AccessDenied), or the ARN is not a topic's
// (InvalidParameter) (Subscribe, Errors, Amazon SNS API Reference,
// https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html).
var topicRefusals = map[string]bool{
	"NotFound": true, "AuthorizationError": true, "InvalidParameter": true,
	"AccessDenied": true, "AccessDeniedException": true,
}

// topicError marks permanent the failure of subscribing to the topic that no retry
// passes.
func topicError(err error) error {
	if err == nil {
		return nil
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && topicRefusals[apiErr.ErrorCode()] {
		return handlers.Permanent(fmt.Errorf("%s: %s (subscribing the service's queue)", apiErr.ErrorCode(), apiErr.ErrorMessage()))
	}
	return err
}

// awaitChecks runs the start-up checks until none fails, and returns at once with the
// refusals' lines as its error when one fails for good (not found, access denied, no
// credentials, a wrong endpoint): that setting cannot work, and the service exits
// rather than park every request. A transient failure (a timeout, a 5xx, throttling)
// must not stop a fleet that restarts during an AWS hiccup: the service stays up,
// /readyz answers 503 with the failing checks' lines, and the checks run again after a
// backoff (checksFirstBackoff doubling to checksMaxBackoff, with jitter) until they
// pass, or one fails for good, or ctx is done. Only then does the pipeline start
// receiving. Warnings are logged once. Once ctx is done (the service stopped during a
// round), what the round found is not read: a call cut short says nothing of a
// setting, and the service stops with no refusal.
func (s *Service) awaitChecks(ctx context.Context) error {
	if s.checks == nil {
		return nil
	}
	start, backoff, warned := time.Now(), checksFirstBackoff, false
	for {
		report := s.checks.Run(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !warned {
			report.Warnings().Log(s.logger)
			warned = true
		}
		if err := report.Err(); err != nil {
			return err
		}
		pending := report.Pending()
		if len(pending) == 0 {
			s.pending.Store(nil)
			s.logger.Info("start-up checks passed", "ms", time.Since(start).Milliseconds())
			return nil
		}
		lines := pending.Lines()
		s.pending.Store(&lines)
		pending.Log(s.logger)
		wait := backoff/2 + rand.N(backoff) // from half the backoff to one and a half
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		backoff = min(2*backoff, checksMaxBackoff)
	}
}
