package replay

import (
	"errors"
	"time"

	"github.com/apigw-pusher/apigw-pusher/adapters/dynamodb"
	"github.com/apigw-pusher/apigw-pusher/pipeline"
)

// Config is the configuration of `pusher replay` on `pusher serve`'s AWS resources,
// from the same environment variables. The AWS SDK's own settings are read by the SDK.
type Config struct {
	// PoisonQueueURL is the SQS poison queue (POISON_QUEUE_URL).
	PoisonQueueURL string
	// QueueURL is the notifications queue requests go back to with `--to queue`
	// (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// APIGWEndpoint and Table are those of `pusher serve`, for the pipeline a send
	// replays on.
	APIGWEndpoint string
	Table         dynamodb.Config
	// Pipeline tunes that pipeline; its CloseTimeout bounds each replay.
	Pipeline pipeline.Config
	// VisibilityTimeout is how long a listing hides the messages it received; default
	// 15m. Those it did not delete are made visible again at its end.
	VisibilityTimeout time.Duration
	// WaitTime is the long poll of a receive; the listing ends on an empty one.
	// Default 1s.
	WaitTime time.Duration
}

func (c *Config) setDefaults() {
	if c.VisibilityTimeout == 0 {
		c.VisibilityTimeout = 15 * time.Minute
	}
	if c.WaitTime == 0 {
		c.WaitTime = time.Second
	}
}

// Validate reports the first setting a send to the stages cannot do without.
func (c Config) Validate() error {
	switch {
	case c.PoisonQueueURL == "":
		return errors.New("POISON_QUEUE_URL is not set: the SQS queue failed work is parked in")
	case c.APIGWEndpoint == "":
		return errors.New("APIGW_ENDPOINT is not set: the Management API endpoint the replayed deliveries are posted to")
	case c.Table.Table == "":
		return errors.New("CONNECTIONS_TABLE_NAME is not set: the DynamoDB table of connections")
	}
	return c.Pipeline.Validate()
}
