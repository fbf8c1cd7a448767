package replay

import (
	"cmp"
	"time"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/onaws"
)

// The defaults of Config, and of SendConfig's Concurrency (which `pusher replay send
// --concurrency` sets).
const (
	// DefaultVisibilityTimeout is how long a listing hides the messages it received.
	DefaultVisibilityTimeout = 15 * time.Minute
	// DefaultWaitTime is the long poll of a receive.
	DefaultWaitTime = time.Second
	// DefaultSendConcurrency is how many messages a send replays at once.
	DefaultSendConcurrency = 32
)

// Config is the configuration of `pusher replay` on `pusher serve`'s AWS resources,
// from the same environment variables. The AWS SDK's own settings are read by the SDK.
type Config struct {
	// Config is that of `pusher serve`: its poison queue (POISON_QUEUE_URL), and its
	// Management API, table and pipeline, for the pipeline a send replays on; the
	// pipeline's CloseTimeout bounds each replay.
	onaws.Config
	// QueueURL is the notifications queue requests go back to with `--to queue`
	// (NOTIFICATIONS_QUEUE_URL).
	QueueURL string
	// VisibilityTimeout is how long a listing hides the messages it received; default
	// DefaultVisibilityTimeout. Those it did not delete are made visible again at its
	// end.
	VisibilityTimeout time.Duration
	// WaitTime is the long poll of a receive; the listing ends on an empty one.
	// Default DefaultWaitTime.
	WaitTime time.Duration
}

func (c *Config) setDefaults() {
	c.VisibilityTimeout = cmp.Or(c.VisibilityTimeout, DefaultVisibilityTimeout)
	c.WaitTime = cmp.Or(c.WaitTime, DefaultWaitTime)
}

// Validate reports the first setting a send to the stages cannot do without: those of
// `pusher serve`'s outputs.
func (c Config) Validate() error { return c.Config.Validate() }
