package serve

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/sqs"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/httpserve"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// The defaults of Config.
const (
	// DefaultConcurrency is how many SQS messages are worked on at once.
	DefaultConcurrency = sqs.DefaultConcurrency
	// DefaultWaitTime is the long-polling wait of a receive: SQS's longest.
	DefaultWaitTime = 20 * time.Second
	// DefaultOpsListen is the address of /metrics, /healthz and /readyz.
	DefaultOpsListen = ":9090"
)

// Config is the configuration of `pusher serve`. The AWS SDK's own settings
// (credentials, AWS_REGION, AWS_ENDPOINT_URL and the per-service endpoint variables) are
// read by the SDK.
type Config struct {
	// Config is where the work goes: the Management API, the table, the poison queue.
	onaws.Config
	// QueueURL is the SQS queue of notification requests (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// TopicARN is an SNS topic of notification requests (NOTIFICATIONS_TOPIC_ARN): the
	// service subscribes a queue of its own to it. At least one of QueueURL and TopicARN.
	TopicARN string
	// Concurrency is how many SQS messages are worked on at once; default
	// DefaultConcurrency.
	Concurrency int
	// WaitTime is the long-polling wait of a receive; default DefaultWaitTime.
	WaitTime time.Duration
	// VisibilityTimeout is how long a received message stays hidden; zero keeps the
	// queue's own. A request that takes longer keeps its message hidden: the subscriber
	// extends the timeout every third of it until the request settles.
	VisibilityTimeout time.Duration
	// OpsListen is the address of /metrics, /healthz and /readyz; default
	// DefaultOpsListen.
	OpsListen httpserve.Address
	// SkipStartupChecks starts without the start-up checks (STARTUP_CHECKS=false):
	// for a team that wants no call to AWS before the first request. See Service.Run.
	SkipStartupChecks bool
}

// Flags defines the settings of c.
func Flags(f *settings.Flags, c *Config) {
	onaws.Flags(f, &c.Config)
	f.String(&c.QueueURL, "queue-url", "NOTIFICATIONS_QUEUE_URL", "", "SQS queue of notification requests")
	f.String(&c.TopicARN, "topic-arn", "NOTIFICATIONS_TOPIC_ARN", "", "SNS topic of notification requests")
	f.Int(&c.Concurrency, "concurrency", "CONCURRENCY", DefaultConcurrency, "SQS messages worked on at once")
	settings.Split(f, &c.Pipeline)
	f.Duration(&c.VisibilityTimeout, "visibility-timeout", "VISIBILITY_TIMEOUT", 0, "how long a received message stays hidden (default: the queue's)")
	settings.StartupChecks(f, &c.SkipStartupChecks)
	f.String((*string)(&c.OpsListen), "ops-listen", "OPS_LISTEN", DefaultOpsListen, "address of /metrics, /healthz and /readyz")
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that start-up stops with one clear line.
func (c Config) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	switch {
	case c.QueueURL == "" && c.TopicARN == "":
		return errors.New("neither NOTIFICATIONS_QUEUE_URL nor NOTIFICATIONS_TOPIC_ARN is set: where do requests come from?")
	case c.QueueURL != "" && !onaws.AbsoluteURL(c.QueueURL):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is not an http(s) URL", c.QueueURL)
	case strings.HasSuffix(c.QueueURL, ".fifo"):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is a FIFO queue: pusher serve works on requests concurrently and would break its order; use a standard queue, or the Lambda function, which keeps a FIFO queue's order", c.QueueURL)
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d is below 0", c.Concurrency)
	}
	if err := c.OpsListen.Validate(); err != nil {
		return fmt.Errorf("OPS_LISTEN: %w", err)
	}
	return nil
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.WaitTime = cmp.Or(c.WaitTime, DefaultWaitTime)
	c.OpsListen = cmp.Or(c.OpsListen, DefaultOpsListen)
	return c, c.Validate()
}
