// Package service assembles the pusher's AWS modes: `pusher serve`, the long-running
// service that takes requests from SQS and SNS and posts through the Management API,
// and `pusher gateway`, the local WebSocket gateway storing its connections in DynamoDB.
package serve

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Config is the configuration of `pusher serve`. cmd/pusher fills it from environment
// variables and flags; the AWS SDK's own settings (credentials, AWS_REGION,
// AWS_ENDPOINT_URL and the per-service endpoint variables) are read by the SDK.
type Config struct {
	// APIGWEndpoint is the Management API endpoint (APIGW_ENDPOINT), such as
	// https://abc123.execute-api.eu-west-1.amazonaws.com/prod or a custom domain.
	APIGWEndpoint string
	// Table is the connections table (CONNECTIONS_TABLE_NAME and its keys).
	Table dynamodb.Config
	// QueueURL is the SQS queue of notification requests (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// TopicARN is an SNS topic of notification requests (NOTIFICATIONS_TOPIC_ARN): the
	// service subscribes a queue of its own to it. At least one of QueueURL and TopicARN.
	TopicARN string
	// PoisonQueueURL is the SQS queue parked messages go to (POISON_QUEUE_URL).
	PoisonQueueURL string
	// Concurrency is how many SQS messages are worked on at once; default 10.
	Concurrency int
	// WaitTime is the long-polling wait of a receive; default 20s.
	WaitTime time.Duration
	// VisibilityTimeout is how long a received message stays hidden; zero keeps the
	// queue's own. A request that takes longer keeps its message hidden: the subscriber
	// extends the timeout every third of it until the request settles.
	VisibilityTimeout time.Duration
	// OpsListen is the address of /metrics, /healthz and /readyz; default :9090.
	OpsListen string
	// Pipeline tunes the pipeline; its CloseTimeout is the grace period on SIGTERM.
	Pipeline pipeline.Config
}

func (c *Config) setDefaults() {
	if c.Concurrency == 0 {
		c.Concurrency = 10
	}
	if c.WaitTime == 0 {
		c.WaitTime = 20 * time.Second
	}
	if c.OpsListen == "" {
		c.OpsListen = ":9090"
	}
}

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that start-up stops with one clear line.
func (c Config) Validate() error {
	if err := c.ValidateOutputs(); err != nil {
		return err
	}
	switch {
	case c.QueueURL == "" && c.TopicARN == "":
		return errors.New("neither NOTIFICATIONS_QUEUE_URL nor NOTIFICATIONS_TOPIC_ARN is set: where do requests come from?")
	case c.QueueURL != "" && !absoluteURL(c.QueueURL):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is not an http(s) URL", c.QueueURL)
	case strings.HasSuffix(c.QueueURL, ".fifo"):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is a FIFO queue: pusher serve works on requests concurrently and would break its order; use a standard queue, or the Lambda function, which keeps a FIFO queue's order", c.QueueURL)
	case c.Concurrency < 0:
		return fmt.Errorf("concurrency %d is below 0", c.Concurrency)
	}
	if _, _, err := net.SplitHostPort(c.OpsListen); err != nil {
		return fmt.Errorf("ops listen address %q: %w", c.OpsListen, err)
	}
	return nil
}

// ValidateOutputs checks the settings of where the work goes, which every mode that
// runs the pipeline on AWS needs: the Management API, the table, the poison queue and
// the pipeline's tuning.
func (c Config) ValidateOutputs() error {
	switch {
	case c.APIGWEndpoint == "":
		return errors.New("APIGW_ENDPOINT is not set: the Management API endpoint, such as https://abc123.execute-api.eu-west-1.amazonaws.com/prod")
	case !absoluteURL(c.APIGWEndpoint):
		return fmt.Errorf("APIGW_ENDPOINT=%q is not an http(s) URL", c.APIGWEndpoint)
	case c.Table.Table == "":
		return errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	case c.PoisonQueueURL == "":
		return errors.New("POISON_QUEUE_URL is not set: the SQS queue that failed work is parked in")
	case !absoluteURL(c.PoisonQueueURL):
		return fmt.Errorf("POISON_QUEUE_URL=%q is not an http(s) URL", c.PoisonQueueURL)
	}
	if err := c.Table.Validate(); err != nil {
		return fmt.Errorf("connections table: %w", err)
	}
	return c.Pipeline.Validate()
}

// Defaults returns c with every unset field at its default, validated.
func Defaults(c Config) (Config, error) {
	c.setDefaults()
	return c, c.Validate()
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
