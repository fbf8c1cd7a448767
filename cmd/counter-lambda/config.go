package main

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/send"
	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// Config is the function's configuration, read from its environment by ConfigFromEnv.
// The AWS SDK's own settings (the role's credentials, AWS_REGION, AWS_ENDPOINT_URL_*)
// are read by the SDK.
type Config struct {
	// Table is the counter's DynamoDB table (COUNTER_TABLE); default DefaultTable, the
	// seed's websocketcounter.
	Table string
	// Target is where each click's broadcast goes: a source the pusher reads, named by
	// the pusher's own variables, exactly one of them: its queue
	// (NOTIFICATIONS_QUEUE_URL, as deploy/examples/counter sets it), its topic
	// (NOTIFICATIONS_TOPIC_ARN) or its stream (NOTIFICATIONS_STREAM_NAME, the records
	// of partition key send.DefaultPartitionKey). Required.
	Target send.Target
	// WebSocketURL is the WebSocket API the page connects to,
	// wss://{api-id}.execute-api.{region}.amazonaws.com/{stage} (COUNTER_WEBSOCKET_URL).
	// Required.
	WebSocketURL string
	// LogLevel is debug, info, warn or error (LOG_LEVEL); default
	// settings.DefaultLogLevel, as the pusher's function's.
	LogLevel string
}

// ConfigFromEnv reads the configuration through lookup (such as os.LookupEnv), with
// defaults, validated.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	get := func(name string) string { v, _ := lookup(name); return v }
	// The target as `pusher send` picks it from the same variables, with no flag given.
	target, err := send.Pick(send.Target{}, send.Target{
		QueueURL:   get("NOTIFICATIONS_QUEUE_URL"),
		TopicARN:   get("NOTIFICATIONS_TOPIC_ARN"),
		StreamName: get("NOTIFICATIONS_STREAM_NAME"),
	})
	if err != nil {
		return Config{}, fmt.Errorf("where the clicks are broadcast: %w", err)
	}
	c := Config{
		Table:        get("COUNTER_TABLE"),
		Target:       target,
		WebSocketURL: get("COUNTER_WEBSOCKET_URL"),
		LogLevel:     get("LOG_LEVEL"),
	}
	c.setDefaults()
	return c, c.Validate()
}

func (c *Config) setDefaults() {
	c.Table = cmp.Or(c.Table, DefaultTable)
	c.LogLevel = cmp.Or(c.LogLevel, settings.DefaultLogLevel)
}

// tableName is DynamoDB's rule for a table's name.
var tableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// Validate reports the first setting that is missing or bad, naming its environment
// variable, so that the init stops with one clear line.
func (c Config) Validate() error {
	switch {
	case !tableName.MatchString(c.Table):
		return fmt.Errorf("COUNTER_TABLE=%q is not a DynamoDB table's name (3 to 255 letters, digits, _ . -)", c.Table)
	case c.Target.Validate() != nil:
		return fmt.Errorf("where the clicks are broadcast: %w", c.Target.Validate())
	case c.Target.QueueURL != "" && !hasScheme(c.Target.QueueURL, "https", "http"):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is not an http(s) URL", c.Target.QueueURL)
	case c.WebSocketURL == "":
		return fmt.Errorf("COUNTER_WEBSOCKET_URL is not set: the WebSocket API the page connects to, wss://API_ID.execute-api.REGION.amazonaws.com/STAGE")
	case !hasScheme(c.WebSocketURL, "wss", "ws"):
		return fmt.Errorf("COUNTER_WEBSOCKET_URL=%q is not a wss:// URL", c.WebSocketURL)
	}
	// The level as the logger reads it, and its error: LOG_LEVEL="loud" is not debug,
	// info, warn or error.
	return settings.Log{Level: c.LogLevel, Format: settings.LogJSON}.Validate()
}

// hasScheme reports whether s is an absolute URL of one of schemes, with a host.
func hasScheme(s string, schemes ...string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return false
	}
	for _, scheme := range schemes {
		if u.Scheme == scheme {
			return true
		}
	}
	return false
}
