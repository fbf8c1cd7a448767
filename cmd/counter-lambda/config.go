package main

import (
	"cmp"
	"fmt"
	"net/url"
	"regexp"

	"github.com/apigw-pusher/apigw-pusher/cmd/pusher/settings"
)

// Config is the function's configuration, read from its environment by ConfigFromEnv.
// The AWS SDK's own settings (the role's credentials, AWS_REGION, AWS_ENDPOINT_URL_*)
// are read by the SDK.
type Config struct {
	// Table is the counter's DynamoDB table (COUNTER_TABLE); default DefaultTable, the
	// seed's websocketcounter.
	Table string
	// QueueURL is the pusher's notifications queue, where each click's broadcast goes
	// (NOTIFICATIONS_QUEUE_URL). Required.
	QueueURL string
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
	c := Config{
		Table:        get("COUNTER_TABLE"),
		QueueURL:     get("NOTIFICATIONS_QUEUE_URL"),
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
	case c.QueueURL == "":
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL is not set: the pusher's notifications queue, where clicks are broadcast")
	case !hasScheme(c.QueueURL, "https", "http"):
		return fmt.Errorf("NOTIFICATIONS_QUEUE_URL=%q is not an http(s) URL", c.QueueURL)
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
